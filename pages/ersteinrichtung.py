"""Ersteinrichtung / Tutorial: owner login → Einstellungen → own Person → fertig."""

import streamlit as st

from kms.db import session_scope
from kms.modules.contacts import service as contacts
from kms.modules.contacts.models import SALUTATIONS
from kms.onboarding import mark_done, steps
from kms.ui.forms import saving
from kms.ui.page import PageContext, run_page


def mark(done: bool) -> str:
    """A check mark from Streamlit's own icon font (emoji fonts are missing on many systems)."""
    return ":material/check_circle:" if done else ":material/radio_button_unchecked:"


def render(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        progress = steps(session)
    st.write(
        "In drei Schritten ist KMS eingerichtet. Sie können diese Schritte später jederzeit "
        "unter Sonstiges → Tutorial Ersteinrichtung wiederholen."
    )
    done = sum([progress.owner, progress.settings, progress.person])
    st.progress(done / 3, text=f"{done} von 3 Schritten erledigt")
    st.markdown(f"{mark(progress.owner)} **1. Inhaber-Zugang anlegen** – erledigt.")
    st.markdown(
        f"{mark(progress.settings)} **2. Firmendaten eintragen** – Name, Anschrift, "
        "Kontakt, Steuernummer: sie stehen auf Rechnungen und Briefen."
    )
    if not progress.settings:
        st.page_link("pages/einstellungen.py", label="Zu den Einstellungen", icon="▶️")
    st.markdown(
        f"{mark(progress.person)} **3. Sich selbst als Person anlegen** – für "
        "Absenderangaben und als Ansprechperson."
    )
    if not progress.person:
        with st.form("owner_person"):
            c1, c2, c3 = st.columns([1, 2, 2])
            salutation = c1.selectbox(
                "Anrede", list(SALUTATIONS), format_func=SALUTATIONS.get, index=0
            )
            first = c2.text_input("Vorname")
            last = c3.text_input("Nachname")
            email = st.text_input("E-Mail")
            phone = st.text_input("Telefon")
            if st.form_submit_button("Person anlegen", type="primary"):
                with saving({"last_name": "Nachname", "email": "E-Mail", "phone": "Telefon"}) as r:
                    with session_scope() as session:
                        contacts.create_person(
                            session,
                            salutation=salutation,
                            first_name=first,
                            last_name=last,
                            email=email,
                            phone=phone,
                            is_owner=True,
                        )
                if r["ok"]:
                    st.rerun()
    if progress.settings and progress.person and not progress.done:
        st.success("Alles eingerichtet.")
        if st.button("Ersteinrichtung abschließen", type="primary"):
            with session_scope() as session:
                mark_done(session)
            st.switch_page("pages/start.py")
    elif not progress.done:
        if st.button("Später fortsetzen"):
            with session_scope() as session:
                mark_done(session)
            st.switch_page("pages/start.py")
    else:
        st.info("Die Ersteinrichtung ist abgeschlossen.")


run_page("ersteinrichtung", render)

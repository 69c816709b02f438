"""Streamlit parts of Hilfe and Tutorial Ersteinrichtung.

Ersteinrichtung: owner login → Einstellungen → Besteuerung → own Person → fertig. Hilfe:
every function (▶) and automatism (⊕) with its schedule, last and next run.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kms import functions, onboarding
from kms.db import session_scope
from kms.formatting import format_datetime
from kms.modules.contacts import service as contacts
from kms.modules.contacts.models import SALUTATIONS
from kms.modules.settings import ui as settings_ui
from kms.registry import automatisms, pages
from kms.ui.forms import CHOOSE, labels_of, saving
from kms.ui.page import PageContext

# --- Tutorial Ersteinrichtung ---------------------------------------------------------------


def mark(done: bool) -> str:
    """A check mark from Streamlit's own icon font (emoji fonts are missing on many systems)."""
    return ":material/check_circle:" if done else ":material/radio_button_unchecked:"


def render_onboarding_page(ctx: PageContext) -> None:
    """The Tutorial Ersteinrichtung: four steps, each with its link or form."""
    with session_scope(write=False) as session:
        progress = onboarding.steps(session)
    st.write(
        "In vier Schritten ist KMS eingerichtet. Sie können diese Schritte später jederzeit "
        "unter Sonstiges → Tutorial Ersteinrichtung wiederholen."
    )
    done = sum([progress.owner, progress.settings, progress.taxation, progress.person])
    st.progress(done / 4, text=f"{done} von 4 Schritten erledigt")
    st.markdown(f"{mark(progress.owner)} **1. Inhaber-Zugang anlegen** – erledigt.")
    st.markdown(
        f"{mark(progress.settings)} **2. Firmendaten eintragen** – Name, Anschrift, "
        "Kontakt, Steuernummer: sie stehen auf Rechnungen und Briefen."
    )
    if not progress.settings:
        st.page_link("pages/einstellungen.py", label="Zu den Einstellungen", icon="▶️")
    st.markdown(
        f"{mark(progress.taxation)} **3. Besteuerung festlegen** – Regelbesteuerung oder "
        "Kleinunternehmer (§ 19 UStG) ab einem Datum: davon hängt ab, ob Rechnungen "
        "Umsatzsteuer ausweisen."
    )
    # A slot of its own: after saving, the rerun leaves it empty instead of drawing the next
    # step into the place where the form's frame was.
    with st.container(key="onboarding_taxation"):
        if not progress.taxation and settings_ui.regime_form("onboarding_regime"):
            st.rerun()
    st.markdown(
        f"{mark(progress.person)} **4. Sich selbst als Person anlegen** – für "
        "Absenderangaben und als Ansprechperson."
    )
    if not progress.person:
        with st.form("owner_person"):
            c1, c2, c3 = st.columns([1, 2, 2])
            salutation = c1.selectbox(
                "Anrede",
                list(SALUTATIONS),
                format_func=labels_of(SALUTATIONS),
                index=0,
                placeholder=CHOOSE,
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
    if progress.settings and progress.taxation and progress.person and not progress.done:
        st.success("Alles eingerichtet.")
        if st.button("Ersteinrichtung abschließen", type="primary"):
            with session_scope() as session:
                onboarding.mark_done(session)
            st.switch_page("pages/start.py")
    elif not progress.done:
        if st.button("Später fortsetzen"):
            with session_scope() as session:
                onboarding.mark_done(session)
            st.switch_page("pages/start.py")
    else:
        st.info("Die Ersteinrichtung ist abgeschlossen.")


# --- Hilfe ----------------------------------------------------------------------------------


def _when(value) -> str:  # type: ignore[no-untyped-def]
    return format_datetime(value) if value else "–"


def render_help_page(ctx: PageContext) -> None:
    """The Hilfe page: every function (▶) and automatism (⊕) with its runs."""
    with session_scope(write=False) as session:
        runs = functions.last_runs(session)
        state = functions.states(session)
    st.subheader("▶ Funktionen")
    st.caption("Funktionen starten Sie selbst, in der Seitenleiste der jeweiligen Seite.")
    rows = [
        {
            "Funktion": f"▶ {fn.label}",
            "Seite": page.title,
            "Was sie tut": fn.description,
            "Zuletzt ausgeführt": _when(runs[fn.key].started_at) if fn.key in runs else "–",
        }
        for page in pages()
        for fn in page.functions
    ]
    st.table(pd.DataFrame(rows), hide_index=True)
    st.subheader("⊕ Automatismen")
    st.caption("Automatismen führt KMS selbst aus; Sie können sie weder starten noch anhalten.")
    rows = []
    for spec in automatisms():
        s = state.get(spec.key)
        rows.append(
            {
                "Automatismus": f"⊕ {spec.label}",
                "Was er tut": spec.description,
                "Zeitplan": spec.schedule_text,
                "Zuletzt": _when(s.last_finished_at) if s else "noch nie",
                "Ergebnis": (s.last_message if s else "") or "–",
                "Nächster Lauf": _when(s.next_run_at)
                if s and s.next_run_at
                else "beim nächsten Takt",
            }
        )
    st.table(pd.DataFrame(rows), hide_index=True)

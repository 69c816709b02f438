"""Personen: list with search and paging (in SQL), create and edit."""

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.modules.contacts import service
from kms.registry import contact_panels
from kms.ui.forms import saving
from kms.ui.page import PageContext, run_page

LABELS = {
    "first_name": "Vorname",
    "last_name": "Nachname",
    "street": "Straße und Hausnummer",
    "postcode": "PLZ",
    "city": "Ort",
    "country": "Land (ISO-Code)",
    "email": "E-Mail",
    "phone": "Telefon",
    "notes": "Notizen",
}
PAGE_SIZE = 25


def person_form(key: str, values: dict[str, str]) -> dict[str, str] | None:
    """The person form; returns the entered values when submitted."""
    with st.form(key):
        c1, c2 = st.columns(2)
        out = {
            "first_name": c1.text_input(LABELS["first_name"], values.get("first_name", "")),
            "last_name": c2.text_input(LABELS["last_name"], values.get("last_name", "")),
            "street": st.text_input(LABELS["street"], values.get("street", "")),
        }
        c1, c2, c3 = st.columns([1, 3, 1])
        out["postcode"] = c1.text_input(LABELS["postcode"], values.get("postcode", ""))
        out["city"] = c2.text_input(LABELS["city"], values.get("city", ""))
        out["country"] = c3.text_input(LABELS["country"], values.get("country", "DE"), max_chars=2)
        c1, c2 = st.columns(2)
        out["email"] = c1.text_input(LABELS["email"], values.get("email", ""))
        out["phone"] = c2.text_input(LABELS["phone"], values.get("phone", ""))
        out["notes"] = st.text_area(LABELS["notes"], values.get("notes", ""))
        submitted = st.form_submit_button("Speichern", type="primary")
    return out if submitted else None


def render(ctx: PageContext) -> None:
    tab_list, tab_new = st.tabs(["Liste", "Neue Person"])
    with tab_new:
        values = person_form("person_new", {})
        if values is not None:
            with saving(LABELS) as result, session_scope() as session:
                person = service.create_person(session, **values)
                name = person.full_name
            if result["ok"]:
                st.success(f"{name} wurde angelegt.")
    with tab_list:
        search = st.text_input("Suche (Name, E-Mail, PLZ, Ort)", key="person_search")
        c1, c2 = st.columns([1, 3])
        sort = c1.selectbox(
            "Sortierung",
            list(service.SORTS),
            key="person_sort",
            format_func={"name": "Name", "ort": "Ort", "neu": "Neueste zuerst"}.get,
        )
        page_no = int(st.session_state.get("person_page", 1))
        with session_scope(write=False) as session:
            result_page = service.list_persons(
                session, search=search, page=page_no, page_size=PAGE_SIZE, sort=sort
            )
        if result_page.total == 0:
            st.info("Keine Personen gefunden." if search else "Noch keine Personen angelegt.")
            return
        rows = [
            {
                "Nr.": p.id,
                "Name": p.full_name,
                "E-Mail": p.email,
                "Telefon": p.phone,
                "PLZ": p.postcode,
                "Ort": p.city,
            }
            for p in result_page.items
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        c2.number_input(
            f"Seite (von {result_page.pages}, {result_page.total} Personen)",
            min_value=1,
            max_value=result_page.pages,
            key="person_page",
        )
        options = {p.id: f"{p.full_name} ({p.city or 'ohne Ort'})" for p in result_page.items}
        chosen = st.selectbox(
            "Person bearbeiten",
            list(options),
            format_func=options.get,
            index=None,
            placeholder="Person auswählen …",
            key="person_edit_pick",
        )
        if chosen is not None:
            edit(chosen)


def edit(person_id: int) -> None:
    """Edit form with optimistic locking: the version read is sent back on save."""
    with session_scope(write=False) as session:
        person = service.get_person(session, person_id)
        values = {k: getattr(person, k) for k in service.PERSON_FIELDS}
        version = person.version
    version_key = f"person_version_{person_id}"
    st.session_state.setdefault(version_key, version)
    submitted = person_form(f"person_edit_{person_id}", values)
    if submitted is not None:
        with saving(LABELS) as result, session_scope() as session:
            saved = service.update_person(
                session, person_id, version=st.session_state[version_key], **submitted
            )
            new_version = saved.version
        if result["ok"]:
            st.session_state[version_key] = new_version
            st.success("Gespeichert.")
    # What other modules hold for this contact (letters, invoices, documents …).
    for title, panel in contact_panels():
        st.subheader(title)
        panel(person_id)


run_page("personen", render)

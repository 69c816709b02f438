"""Personen and Organisationen pages: list, detail view, forms, import/export, DSGVO functions.

Both pages render through `render_contacts_page(ctx, kind)`; they differ in their fields and
sidebar functions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.einvoice.messages import BUYER_REFERENCE_EXPLANATION
from kms.einvoice.model import EINVOICE_FORMAT_LABELS
from kms.errors import KmsError
from kms.formatting import format_datetime
from kms.functions import log_function_run
from kms.modules.contacts import privacy, service, transfer
from kms.modules.contacts.models import KINDS, ROLES, SALUTATIONS, Contact
from kms.permissions import carry
from kms.registry import contact_panels
from kms.ui.forms import CHOOSE, has_extension, saving
from kms.ui.inputs import int_param
from kms.ui.page import PageContext
from kms.ui.paging import pager, requested_page
from kms.ui.tables import download_buttons, show_plan
from kms.ui.text import plain

PAGE_SIZE = 25


@dataclass(frozen=True)
class KindText:
    """The German words a page uses for its kind of contact."""

    one: str  # "Person"
    many: str  # "Personen"
    new: str  # "Neue Person"
    script: str


TEXT = {
    "person": KindText("Person", "Personen", "Neue Person", "pages/personen.py"),
    "organisation": KindText(
        "Organisation", "Organisationen", "Neue Organisation", "pages/organisationen.py"
    ),
}


# --- navigation state --------------------------------------------------------------------------


def _selected_id() -> int | None:
    return int_param("id")


def _open(contact_id: int) -> None:
    st.query_params["id"] = str(contact_id)
    st.rerun()


def _back_to_list(kind: str) -> None:
    st.query_params.pop("id", None)
    # A fresh table key forgets the row selection that opened the detail view.
    st.session_state[f"{kind}_table_gen"] = st.session_state.get(f"{kind}_table_gen", 0) + 1
    st.rerun()


def render_contacts_page(ctx: PageContext, kind: str) -> None:
    """The whole page: sidebar functions, then the detail view or list + new form."""
    page = ctx.page.url_path
    _function_panels(ctx, page, kind)
    contact_id = _selected_id()
    if contact_id is not None:
        detail(ctx, contact_id, kind)
        return
    tab_list, tab_new = st.tabs(["Liste", TEXT[kind].new])
    with tab_list:
        list_view(kind)
    with tab_new:
        new_form(ctx, kind)


# --- list --------------------------------------------------------------------------------------


def list_view(kind: str) -> None:
    """Search, filters, sorting and paging, all done by the database."""
    text = TEXT[kind]
    with session_scope(write=False) as session:
        tags = service.tag_names(session)
    c1, c2, c3, c4, c5 = st.columns([3, 1.3, 1.3, 1.3, 1.3])
    search = c1.text_input(
        "Suche (Name, E-Mail, Nummer, PLZ, Ort)", key=f"{kind}_search", placeholder="z. B. müller"
    )
    role = c2.selectbox(
        "Rolle",
        [None, *ROLES],
        key=f"{kind}_role",
        format_func=lambda r: ROLES.get(r, "alle"),
        placeholder=CHOOSE,
    )
    tag = c3.selectbox(
        "Tag",
        [None, *tags],
        key=f"{kind}_tag",
        format_func=lambda t: t or "alle",
        placeholder=CHOOSE,
    )
    archived = c4.selectbox(
        "Archiv",
        list(service.ARCHIVE_FILTERS),
        key=f"{kind}_archived",
        format_func=lambda k: service.ARCHIVE_FILTERS[k],
        placeholder=CHOOSE,
    )
    sort_keys: list[str] = list(service.SORT_LABELS)
    sort = c5.selectbox(
        "Sortierung",
        sort_keys,
        key=f"{kind}_sort",
        format_func=lambda k: service.SORT_LABELS[k],
        placeholder=CHOOSE,
    )
    page_key = f"{kind}_page"
    page_no = requested_page(page_key, (search, role, tag, archived, sort))
    with session_scope(write=False) as session:
        result = service.list_contacts(
            session,
            kind=kind,
            search=search,
            role=role,
            tag=tag,
            archived=archived,
            sort=sort or "name",
            page=page_no,
            page_size=PAGE_SIZE,
        )
        rows = [_list_row(c, kind) for c in result.items]
        ids = [c.id for c in result.items]
    if result.total == 0:
        filtered = search or role or tag or archived != "active"
        st.info(f"Keine {text.many} gefunden." if filtered else f"Noch keine {text.many} angelegt.")
        return
    gen = st.session_state.get(f"{kind}_table_gen", 0)
    event = st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key=f"{kind}_table_{gen}",
    )
    st.caption(f"{text.one} in der Tabelle anklicken, um sie zu öffnen und zu bearbeiten.")
    selected = event.selection.rows if event is not None else []
    c1, _ = st.columns([1, 4])
    pager(result, key=page_key, one=text.one, many=text.many, where=c1)
    if selected:
        _open(ids[selected[0]])


def _list_row(contact: Contact, kind: str) -> dict[str, str]:
    row = {"Nr.": contact.customer_number or "", "Name": contact.display_name}
    if kind == "person":
        row["Organisation"] = contact.organisation.name if contact.organisation else ""
    row |= {
        "Rollen": ", ".join(ROLES[r] for r in sorted(contact.role_keys)),
        "Tags": ", ".join(sorted(t.name for t in contact.tags)),
        "E-Mail": contact.email,
        "Telefon": contact.phone,
        "PLZ": contact.postcode,
        "Ort": contact.city,
    }
    if contact.archived_at:
        row["Name"] += " (archiviert)"
    return row


# --- forms -------------------------------------------------------------------------------------


def _form_fields(
    kind: str, prefix: str, values: dict[str, Any], roles: set[str], tags: list[str]
) -> dict[str, Any]:
    """The contact form's widgets (inside an st.form); returns the entered values."""
    with session_scope(write=False) as session:
        all_tags = service.tag_names(session)
        orgs = service.organisation_choices(session) if kind == "person" else {}
    countries = service.country_names()
    labels = service.FIELD_LABELS
    out: dict[str, Any] = {}

    def text(col: Any, name: str, **kw: Any) -> None:
        out[name] = col.text_input(
            labels[name], values.get(name) or "", key=f"{prefix}_{name}", **kw
        )

    def country(col: Any, name: str) -> None:
        current = values.get(name) or "DE"
        options = list(countries)
        out[name] = col.selectbox(
            labels[name],
            options,
            index=options.index(current) if current in options else options.index("DE"),
            format_func=lambda c: f"{countries[c]} ({c})",
            key=f"{prefix}_{name}",
            placeholder=CHOOSE,
        )

    if kind == "person":
        c1, c2, c3, c4 = st.columns([1, 1, 2, 2])
        out["salutation"] = c1.selectbox(
            labels["salutation"],
            list(SALUTATIONS),
            index=list(SALUTATIONS).index(values.get("salutation") or ""),
            format_func=lambda k: SALUTATIONS[k],
            key=f"{prefix}_salutation",
            placeholder=CHOOSE,
        )
        text(c2, "title")
        text(c3, "first_name")
        text(c4, "last_name")
        c1, c2 = st.columns(2)
        text(c1, "job_title")
        org_ids = [None, *orgs]
        current_org = values.get("organisation_id")
        if current_org and current_org not in orgs:
            org_ids.append(current_org)
        out["organisation_id"] = c2.selectbox(
            labels["organisation_id"],
            org_ids,
            index=org_ids.index(current_org) if current_org in org_ids else 0,
            format_func=lambda i: orgs.get(i, "(archiviert)") if i else "keine",
            key=f"{prefix}_organisation_id",
            placeholder=CHOOSE,
        )
    else:
        c1, c2 = st.columns([3, 1])
        text(c1, "name")
        text(c2, "legal_form")
    c1, c2, c3 = st.columns([1, 2, 2])
    text(
        c1,
        "customer_number",
        help="Leer lassen: KMS vergibt die nächste Nummer, sobald die Rolle Kunde gesetzt ist.",
    )
    out["roles"] = c2.multiselect(
        labels["roles"],
        list(ROLES),
        default=sorted(roles),
        format_func=lambda k: ROLES[k],
        key=f"{prefix}_roles",
        placeholder=CHOOSE,
    )
    out["tags"] = c3.multiselect(
        labels["tags"],
        sorted(set(all_tags) | set(tags)),
        default=tags,
        accept_new_options=True,
        key=f"{prefix}_tags",
        placeholder="Tag wählen oder neu eingeben",
    )
    c1, c2, c3, c4 = st.columns(4)
    text(c1, "email")
    text(c2, "phone")
    text(c3, "website")
    text(c4, "vat_id")
    _einvoice_fields(out, values, prefix, text)
    st.markdown("**Rechnungsadresse**")
    c1, c2 = st.columns(2)
    text(c1, "street")
    text(c2, "address_extra")
    c1, c2, c3 = st.columns([1, 2, 2])
    text(c1, "postcode")
    text(c2, "city")
    country(c3, "country")
    with st.expander("Lieferadresse (falls abweichend)"):
        c1, c2 = st.columns(2)
        text(c1, "delivery_street")
        text(c2, "delivery_extra")
        c1, c2, c3 = st.columns([1, 2, 2])
        text(c1, "delivery_postcode")
        text(c2, "delivery_city")
        country(c3, "delivery_country")
    out["notes"] = st.text_area(labels["notes"], values.get("notes") or "", key=f"{prefix}_notes")
    return out


def _einvoice_fields(out: dict[str, Any], values: dict[str, Any], prefix: str, text: Any) -> None:
    """E-invoice format and buyer reference, with why XRechnung needs the reference."""
    labels = service.FIELD_LABELS
    formats = list(EINVOICE_FORMAT_LABELS)
    current = values.get("einvoice_format") or formats[0]
    c1, c2 = st.columns(2)
    out["einvoice_format"] = c1.selectbox(
        labels["einvoice_format"],
        formats,
        index=formats.index(current) if current in formats else 0,
        format_func=lambda k: EINVOICE_FORMAT_LABELS[k],
        key=f"{prefix}_einvoice_format",
        placeholder=CHOOSE,
        help="Was dieser Kunde beim Abschließen einer Rechnung erhält. Das PDF mit "
        "eingebetteten E-Rechnungsdaten (ZUGFeRD/Factur-X) gibt es immer; öffentliche "
        "Auftraggeber verlangen meist zusätzlich eine XRechnung (CII oder UBL, wie vom "
        "Eingangsportal gewünscht).",
    )
    text(c2, "buyer_reference", help=BUYER_REFERENCE_EXPLANATION)
    st.caption(BUYER_REFERENCE_EXPLANATION)


def new_form(ctx: PageContext, kind: str) -> None:
    """Create a person or organisation; on success open its detail view."""
    prefix = f"new_{kind}"
    with st.form(f"{prefix}_form"):
        values = _form_fields(kind, prefix, {}, {"kunde"}, [])
        submitted = st.form_submit_button("Anlegen", type="primary", icon=":material/add:")
    if not submitted:
        return
    with saving(service.FIELD_LABELS) as result, session_scope() as session:
        contact = service.create_contact(session, kind=kind, **values)
        new_id = contact.id
    if result["ok"]:
        for key in [k for k in st.session_state if str(k).startswith(f"{prefix}_")]:
            del st.session_state[key]
        _open(new_id)


# --- detail view -------------------------------------------------------------------------------


def detail(ctx: PageContext, contact_id: int, kind: str) -> None:
    """Everything KMS knows about one contact, with edit, archive and delete."""
    try:
        with session_scope(write=False) as session:
            contact = service.get_contact(session, contact_id, kind=kind)
            members = service.members(session, contact_id) if kind == "organisation" else []
            values = service.contact_values(contact)
            snapshot = _Snapshot.of(contact)
            card = transfer.vcard(contact)
    except KmsError as exc:
        st.error(plain(exc.message))
        if st.button("Zur Liste", icon=":material/arrow_back:"):
            _back_to_list(kind)
        return
    c1, c2, c3, c4, _ = st.columns([1, 1, 1.2, 1.2, 3])
    if c1.button("Zur Liste", icon=":material/arrow_back:", key="detail_back"):
        _back_to_list(kind)
    c2.download_button(
        "vCard",
        card.encode("utf-8"),
        file_name=snapshot.vcard_name,
        mime="text/vcard",
        icon=":material/contact_page:",
    )
    archive_label = "Wiederherstellen" if snapshot.archived else "Archivieren"
    if c3.button(
        archive_label, key="detail_archive", disabled=ctx.read_only, icon=":material/archive:"
    ):
        with saving() as result, session_scope() as session:
            service.archive_contact(session, contact_id, archived=not snapshot.archived)
        if result["ok"]:
            st.rerun()
    if c4.button(
        "Löschen …", key="detail_delete", disabled=ctx.read_only, icon=":material/delete:"
    ):
        st.session_state["contacts_delete"] = contact_id
    if st.session_state.get("contacts_delete") == contact_id:
        _delete_dialog(contact_id, kind)

    st.subheader(plain(snapshot.name), anchor=False)
    st.caption(plain(snapshot.caption))
    if snapshot.anonymised:
        st.info("Dieser Kontakt wurde anonymisiert; seine personenbezogenen Daten sind gelöscht.")
    tab_view, tab_edit = st.tabs(["Übersicht", "Bearbeiten"])
    with tab_view:
        _overview(snapshot, members)
        with session_scope(write=False) as session:
            panels = contact_panels(session)
        for title, panel in panels:
            st.markdown(f"#### {plain(title)}")
            with st.container(border=True):
                panel(contact_id)
    with tab_edit:
        if snapshot.anonymised:
            st.info("Anonymisierte Kontakte können nicht bearbeitet werden.")
        else:
            edit_form(ctx, contact_id, kind, values, snapshot)


@dataclass(frozen=True)
class _Snapshot:
    """What the detail view shows, read inside the session."""

    name: str
    caption: str
    version: int
    roles: set[str]
    tags: list[str]
    archived: bool
    anonymised: bool
    vcard_name: str
    facts: list[tuple[str, str]]
    organisation: tuple[int, str] | None

    @classmethod
    def of(cls, contact: Contact) -> _Snapshot:
        values = service.contact_values(contact)
        countries = service.country_names()
        labels = service.FIELD_LABELS
        caption = [KINDS[contact.kind]]
        if contact.customer_number:
            caption.append(f"Kundennummer {contact.customer_number}")
        if contact.role_keys:
            caption.append(", ".join(ROLES[r] for r in sorted(contact.role_keys)))
        if contact.tags:
            caption.append("Tags: " + ", ".join(sorted(t.name for t in contact.tags)))
        if contact.archived_at:
            caption.append(f"archiviert am {format_datetime(contact.archived_at)}")
        facts: list[tuple[str, str]] = []
        if contact.kind == "person" and contact.salutation:
            facts.append((labels["salutation"], SALUTATIONS[contact.salutation]))
        for name in ("job_title", "legal_form", "buyer_reference", "email", "phone", "website"):
            if values.get(name):
                facts.append((labels[name], values[name]))
        if values.get("vat_id"):
            facts.append((labels["vat_id"], values["vat_id"]))
        fmt = values.get("einvoice_format") or ""
        facts.append((labels["einvoice_format"], EINVOICE_FORMAT_LABELS.get(fmt, fmt)))
        address = _address(contact, "", countries)
        if address:
            facts.append(("Rechnungsadresse", address))
        delivery = _address(contact, "delivery_", countries)
        if delivery:
            facts.append(("Lieferadresse", delivery))
        if contact.notes:
            facts.append((labels["notes"], contact.notes))
        facts.append(("Angelegt", format_datetime(contact.created_at)))
        facts.append(("Zuletzt geändert", format_datetime(contact.updated_at)))
        org = contact.organisation
        return cls(
            name=contact.display_name,
            caption=" · ".join(caption),
            version=contact.version,
            roles=contact.role_keys,
            tags=sorted(t.name for t in contact.tags),
            archived=contact.archived_at is not None,
            anonymised=contact.anonymised_at is not None,
            vcard_name=transfer.vcard_filename(contact),
            facts=facts,
            organisation=(org.id, org.name) if org is not None else None,
        )


def _address(contact: Contact, prefix: str, countries: dict[str, str]) -> str:
    street = getattr(contact, f"{prefix}street")
    if not street:
        return ""
    extra = getattr(contact, f"{prefix}extra" if prefix else "address_extra")
    town = f"{getattr(contact, f'{prefix}postcode')} {getattr(contact, f'{prefix}city')}".strip()
    country = getattr(contact, f"{prefix}country")
    lines = [street, extra, town, countries.get(country, country) if country != "DE" else ""]
    return "\n".join(line for line in lines if line)


def _overview(snapshot: _Snapshot, members: list[Contact]) -> None:
    left, right = st.columns([3, 2])
    with left:
        for label, value in snapshot.facts:
            c1, c2 = st.columns([1, 3])
            c1.markdown(f"**{plain(label)}**")
            c2.markdown("  \n".join(plain(line) for line in value.splitlines()))
    with right:
        if snapshot.organisation is not None:
            st.markdown("**Organisation**")
            org_id, org_name = snapshot.organisation
            st.page_link(
                TEXT["organisation"].script,
                label=plain(org_name),
                icon=":material/apartment:",
                query_params={"id": str(org_id)},
            )
        if members:
            st.markdown("**Personen dieser Organisation**")
            for person in members:
                label = person.display_name + (f" – {person.job_title}" if person.job_title else "")
                st.page_link(
                    TEXT["person"].script,
                    label=plain(label),
                    icon=":material/person:",
                    query_params={"id": str(person.id)},
                )


def edit_form(
    ctx: PageContext, contact_id: int, kind: str, values: dict[str, Any], snapshot: _Snapshot
) -> None:
    """Edit with optimistic locking: the version read first is sent back with the save."""
    version_key = f"contact_version_{contact_id}"
    st.session_state.setdefault(version_key, snapshot.version)
    loaded = st.session_state[version_key]
    # Widget keys carry the version the form was filled from: after a reload or a save the
    # form shows the stored data; after a conflict it keeps what the user typed.
    prefix = f"edit_{contact_id}_v{loaded}"
    with st.form(f"{prefix}_form"):
        entered = _form_fields(kind, prefix, values, snapshot.roles, snapshot.tags)
        submitted = st.form_submit_button("Speichern", type="primary", icon=":material/save:")
    if submitted:
        with saving(service.FIELD_LABELS) as result, session_scope() as session:
            saved = service.update_contact(session, contact_id, version=loaded, **entered)
            new_version = saved.version
        if result["ok"]:
            st.session_state[version_key] = new_version
            st.toast("Gespeichert.", icon=":material/check:")
            st.rerun()
    if loaded != snapshot.version and st.button(
        "Neu laden (aktuelle Daten anzeigen, Eingaben verwerfen)",
        key=f"{prefix}_reload",
        icon=":material/refresh:",
    ):
        st.session_state[version_key] = snapshot.version
        st.rerun()


def _close_delete() -> None:
    st.session_state.pop("contacts_delete", None)


@st.dialog("Kontakt löschen?", on_dismiss=_close_delete)
def _delete_dialog(contact_id: int, kind: str) -> None:
    with session_scope(write=False) as session:
        contact = service.get_contact(session, contact_id)
        name = contact.display_name
        counts = service.reference_counts(session, contact_id)
        owner = contact.is_owner
    if owner or counts:
        reason = (
            "Ihre eigene Person (Inhaber/in) bleibt immer erhalten."
            if owner
            else "Auf diesen Kontakt wird noch verwiesen: "
            + ", ".join(f"{title} ({count})" for title, count in counts.items())
            + ". Er kann deshalb nicht gelöscht werden; archivieren Sie ihn stattdessen, "
            "dann bleiben alle Verweise gültig."
        )
        st.warning(f"„{plain(name)}“ kann nicht gelöscht werden. {plain(reason)}")
        c1, c2 = st.columns(2)
        if not owner and c1.button("Stattdessen archivieren", type="primary"):
            with saving() as result, session_scope() as session:
                service.archive_contact(session, contact_id)
            if result["ok"]:
                _close_delete()
                st.rerun()
        if c2.button("Abbrechen", key="delete_cancel"):
            _close_delete()
            st.rerun()
        return
    st.write(f"„{plain(name)}“ wird endgültig gelöscht. Das lässt sich nicht rückgängig machen.")
    c1, c2 = st.columns(2)
    if c1.button("Endgültig löschen", type="primary", key="delete_confirm"):
        with saving() as result, session_scope() as session:
            service.delete_contact(session, contact_id)
        if result["ok"]:
            _close_delete()
            st.toast(f"„{plain(name)}“ wurde gelöscht.")
            _back_to_list(kind)
    if c2.button("Abbrechen", key="delete_cancel"):
        _close_delete()
        st.rerun()


# --- sidebar functions -------------------------------------------------------------------------


def _function_panels(ctx: PageContext, page: str, kind: str) -> None:
    """Show the panel or dialog of a ▶ function the user clicked in the sidebar."""
    if ctx.function_requested(f"{page}_import"):
        _panel(ctx, f"{page}_import", "Import (CSV)", lambda: _import_panel(ctx, f"{page}_import"))
    if ctx.function_requested(f"{page}_export"):
        _panel(ctx, f"{page}_export", "Export", lambda: _export_panel(kind))
    if ctx.function_requested("kunden_nummernformat"):
        _panel(ctx, "kunden_nummernformat", "Kundennummern-Format", lambda: _number_panel(ctx))
    if ctx.function_requested(f"{page}_auskunft"):
        _panel(
            ctx, f"{page}_auskunft", "Auskunft (Art. 15 DSGVO)", lambda: _access_panel(ctx, page)
        )
    if ctx.function_requested(f"{page}_anonymisieren"):
        _anonymise_dialog(ctx, f"{page}_anonymisieren")


def _panel(ctx: PageContext, key: str, title: str, body: Any) -> None:
    with st.container(border=True, key=f"panel_{key}"):
        c1, c2 = st.columns([5, 1])
        c1.markdown(f"### ▶ {title}")
        if c2.button("Schließen", key=f"close_{key}", icon=":material/close:"):
            ctx.close_function(key)
            st.rerun()
        body()


def _import_panel(ctx: PageContext, key: str) -> None:
    st.caption(
        "CSV mit Semikolon oder Komma, UTF-8 oder Windows-1252. Erkannte Spalten u. a.: Firma, "
        "Anrede, Vorname, Nachname, Straße, PLZ, Ort, Land, E-Mail, Telefon, Kundennummer, "
        "USt-IdNr., Rollen, Tags. Importiert wird nur, wenn keine Zeile fehlerhaft ist."
    )
    upload = st.file_uploader("CSV-Datei (.csv oder .txt)", key=f"{key}_file")
    skip = st.checkbox(
        "Kontakte, die es schon gibt, überspringen (statt als Fehler zu melden)",
        key=f"{key}_skip",
    )
    if upload is None or not has_extension(upload.name, ("csv", "txt"), "CSV-Dateien"):
        return
    data = upload.getvalue()
    with session_scope(write=False) as session:
        plan = transfer.plan_import(session, data, skip_duplicates=skip)
    if plan.columns:
        st.caption(
            "Zugeordnete Spalten: "
            + plain(", ".join(f"{h} → {service.FIELD_LABELS.get(f, f)}" for f, h in _col(plan)))
        )
    show_plan(plan, plan.preview())
    count = sum(1 for r in plan.rows if not r.skipped)
    if st.button(
        f"{count} Zeilen importieren",
        type="primary",
        disabled=not plan.ok or ctx.read_only or count == 0,
        key=f"{key}_go",
    ):
        with saving() as result, session_scope() as session:
            done = transfer.import_contacts(session, data, skip_duplicates=skip)
            if not done.ok:
                raise KmsError(
                    "Die Daten haben sich inzwischen geändert: "
                    + " ".join(done.problem_lines()[:5])
                )
        if result["ok"]:
            message = (
                f"{done.created_persons} Personen und {done.created_organisations} "
                "Organisationen importiert."
            )
            log_function_run(key, ctx.user.username, "ok", message)
            st.success(message)


def _col(plan: transfer.ImportPlan) -> list[tuple[str, str]]:
    return [(f, h) for f, h in plan.columns.items() if f in service.FIELD_LABELS]


def _export_panel(kind: str) -> None:
    text = TEXT[kind]
    c1, c2 = st.columns(2)
    scope = c1.radio(
        "Welche Kontakte?",
        [kind, None],
        format_func=lambda k: text.many if k else "Personen und Organisationen",
        key="export_scope",
    )
    archived = c2.checkbox("Archivierte einschließen", key="export_archived")
    filters = {"kind": scope, "archived": "all" if archived else "active"}

    def make(fmt: str) -> bytes:
        with session_scope(write=False) as session:
            if fmt == "xlsx":
                return transfer.export_xlsx(session, **filters)
            return transfer.export_csv(session, **filters)

    name = "kontakte" if scope is None else text.many.lower()
    download_buttons(make, name)


def _number_panel(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        current = service.customer_number_format(session)
        following = service.preview_customer_number(session)
    st.write(
        f"Aktuelles Format: `{plain(current)}` – nächste Nummer: **{plain(following)}**. "
        "{NNNNN} ist der Zähler (so viele Stellen wie N), {JJJJ} das Jahr."
    )
    with st.form("number_format"):
        fmt = st.text_input("Format", current, key="number_format_value")
        ok = st.form_submit_button("Speichern", type="primary", disabled=ctx.read_only)
    if ok:
        with saving({"format": "Format"}) as result, session_scope() as session:
            service.set_customer_number_format(session, fmt)
            preview = service.preview_customer_number(session)
        if result["ok"]:
            st.success(f"Gespeichert. Die nächste Kundennummer lautet {plain(preview)}.")


def _current_person() -> int | None:
    return _selected_id()


def _access_panel(ctx: PageContext, page: str) -> None:
    contact_id = _current_person()
    if contact_id is None:
        st.info("Bitte öffnen Sie zuerst die Person (in der Liste anklicken).")
        return
    with session_scope(write=False) as session:
        contact = service.get_contact(session, contact_id)
        name = contact.display_name
        file_name = privacy.subject_access_filename(contact)
    st.write(
        f"Auskunft über **{plain(name)}**: alle gespeicherten Daten aus allen Modulen als ZIP "
        "(auskunft.json, vCard, Dateien)."
    )

    def make() -> bytes:
        with session_scope(write=False) as session:
            data = privacy.subject_access(session, contact_id)
        log_function_run(f"{page}_auskunft", ctx.user.username, "ok", f"Auskunft für {name}")
        return data

    st.download_button(
        "Auskunft herunterladen (ZIP)",
        carry(make),
        file_name=file_name,
        mime="application/zip",
        type="primary",
        icon=":material/download:",
    )


def _anonymise_dialog(ctx: PageContext, key: str) -> None:
    @st.dialog("Person anonymisieren?", on_dismiss=lambda: ctx.close_function(key))
    def dialog() -> None:
        contact_id = _current_person()
        if contact_id is None:
            st.info("Bitte öffnen Sie zuerst die Person (in der Liste anklicken).")
            if st.button("Schließen", key="anon_close"):
                ctx.close_function(key)
                st.rerun()
            return
        with session_scope(write=False) as session:
            name = service.get_contact(session, contact_id).display_name
        st.write(
            f"Die personenbezogenen Daten von **{plain(name)}** (Name, Anschrift, E-Mail, "
            "Telefon, Notizen, Tags) werden unwiderruflich gelöscht. Der Datensatz bleibt als "
            "„Anonymisiert“ bestehen, damit Rechnungen und andere Verweise gültig bleiben; "
            "ausgestellte Rechnungen behalten ihre Empfängerangaben (Aufbewahrungspflicht)."
        )
        confirmed = st.checkbox(
            "Ich habe geprüft, dass keine Aufbewahrungspflicht entgegensteht.", key="anon_ok"
        )
        c1, c2 = st.columns(2)
        if c1.button(
            "Endgültig anonymisieren",
            type="primary",
            disabled=not confirmed or ctx.read_only,
            key="anon_go",
        ):
            with saving() as result, session_scope() as session:
                privacy.anonymise_contact(session, contact_id)
            if result["ok"]:
                log_function_run(key, ctx.user.username, "ok", f"Kontakt {contact_id} anonymisiert")
                ctx.close_function(key)
                st.session_state.pop("anon_ok", None)
                st.rerun()
        if c2.button("Abbrechen", key="anon_cancel"):
            ctx.close_function(key)
            st.rerun()

    dialog()

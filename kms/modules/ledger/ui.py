"""Einnahmen/Ausgaben UI: bookings (list, form with lines, receipts), categories, settings,
accounts, ▶ Zeitraum festschreiben and ▶ Gegenbuchung, the contact panel (▶ DATEV-Export,
▶ Kanzleipaket and the DATEV settings at the end).

User text is shown with kms.ui.text.plain; every selectbox has the German placeholder.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import periods
from kms.db import session_scope
from kms.formatting import format_date, format_money
from kms.modules.documents.models import Document
from kms.modules.ledger import categories as cats
from kms.modules.ledger import datev, kanzlei, service, taxkeys
from kms.modules.ledger.models import (
    ACCOUNT_KINDS,
    BOOKING_KINDS,
    GELDTRANSIT,
    UST_ERSTATTUNG,
    UST_ZAHLUNG,
    WITH_CATEGORY,
    Booking,
)
from kms.permissions import Permission
from kms.ui import forms
from kms.ui.forms import CHOOSE, attempt, has_extension, labels_of, saving
from kms.ui.page import PageContext
from kms.ui.text import plain

T = TypeVar("T")
FLASH = "ledger_flash"
SELECTED = "ledger_selected"
PAGE_SIZE = 50
MAX_LINES = 6
RECEIPT_EXTENSIONS = ("pdf", "png", "jpg", "jpeg", "xml", "txt")
LABELS = {
    "booking_date": "Datum",
    "account_id": "Konto",
    "transfer_account_id": "Zielkonto",
    "kind": "Art",
    "amount": "Betrag",
    "category_id": "Kategorie",
    "tax_key": "Steuerschlüssel",
    "contact_id": "Kontakt",
    "counterparty": "Gegenüber",
    "receipt_number": "Belegnummer",
    "tax_period": "Zeitraum der Steuer",
    "name": "Name",
    "iban": "IBAN",
    "bic": "BIC",
    "euer_field": "EÜR-Feld",
    "opening_balance": "Anfangsbestand",
    "month": "Monat",
}


def flash(message: str) -> None:
    st.session_state[FLASH] = message


def show_flash() -> None:
    forms.show_flash(FLASH)


def run_write(action: Callable[[Session], T]) -> T | None:
    """A write in a session of its own: committed on success, German errors shown."""
    with saving(LABELS) as result, session_scope() as session:
        value = action(session)
    return value if result["ok"] else None


# --- the Einnahmen/Ausgaben page --------------------------------------------------------


def render_bookings(ctx: PageContext) -> None:
    show_flash()
    functions(ctx)
    with session_scope(write=False) as session:
        has_accounts = bool(service.list_accounts(session))
        has_categories = bool(service.list_categories(session))
    if not has_categories and not ctx.read_only:
        with session_scope() as session:
            service.ensure_defaults(session)
    if not has_accounts:
        st.info("Bitte legen Sie zuerst auf der Seite „Konten“ ein Bank- oder Kassenkonto an.")
    tabs = st.tabs(["Buchungen", "Neue Buchung", "Anlagen", "Kategorien", "Einstellungen"])
    with tabs[0]:
        booking_list(ctx)
    with tabs[1]:
        if ctx.may(Permission.LEDGER_WRITE) and not ctx.read_only and has_accounts:
            booking_form(ctx, None)
        else:
            st.info("Sie können hier nur ansehen.")
    with tabs[2]:
        assets_tab(ctx)
    with tabs[3]:
        categories_tab(ctx)
    with tabs[4]:
        settings_tab(ctx)
        datev_settings_section(ctx)


def booking_list(ctx: PageContext) -> None:
    c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
    search = c1.text_input("Suche (Gegenüber, Belegnummer, Text)", key="ledger_search")
    date_from = c2.date_input("von", value=None, format="DD.MM.YYYY", key="ledger_from")
    date_to = c3.date_input("bis", value=None, format="DD.MM.YYYY", key="ledger_to")
    kind = c4.selectbox(
        "Art",
        list(BOOKING_KINDS),
        index=None,
        format_func=labels_of(BOOKING_KINDS),
        placeholder="alle",
        key="ledger_kind",
    )
    page_no = int(st.session_state.get("ledger_page", 1))
    with session_scope(write=False) as session:
        filters: dict[str, Any] = {
            "search": search,
            "date_from": date_from,
            "date_to": date_to,
            "kind": kind,
        }
        total = service.count_bookings(session, **filters)
        pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
        page_no = min(max(1, page_no), pages)
        rows = service.list_bookings(
            session, **filters, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    if not rows:
        st.info("Keine Buchungen gefunden.")
        return
    table = [
        {
            "Nr.": r.id,
            "Datum": format_date(r.booking_date),
            "Art": BOOKING_KINDS.get(r.kind, r.kind),
            "Konto": r.account,
            "Gegenüber": r.counterparty,
            "Beleg": r.receipt_number,
            "Text": r.text,
            "Betrag": format_money(r.total),
            "Status": "festgeschrieben" if r.locked else "offen",
        }
        for r in rows
    ]
    st.dataframe(table, hide_index=True, width="stretch")
    p1, p2, p3 = st.columns([1, 2, 1])
    if p1.button("← Zurück", disabled=page_no <= 1, key="ledger_prev"):
        st.session_state["ledger_page"] = page_no - 1
        st.rerun()
    p2.caption(f"Seite {page_no} von {pages} · {total} Buchungen")
    if p3.button("Weiter →", disabled=page_no >= pages, key="ledger_next"):
        st.session_state["ledger_page"] = page_no + 1
        st.rerun()
    choices = {
        r.id: f"{r.id} · {format_date(r.booking_date)} · {format_money(r.total)}" for r in rows
    }
    selected = st.selectbox(
        "Buchung öffnen",
        list(choices),
        index=None,
        format_func=labels_of(choices),
        placeholder=CHOOSE,
        key="ledger_open",
    )
    st.session_state[SELECTED] = selected
    if selected is not None:
        st.divider()
        booking_detail(ctx, selected)


def booking_detail(ctx: PageContext, booking_id: int) -> None:
    with session_scope(write=False) as session:
        booking = session.get(Booking, booking_id)
        if booking is None:
            st.info("Diese Buchung gibt es nicht mehr.")
            return
        locked = periods.is_locked(session, booking.booking_date)
        category_names = {c.id: c.name for c in service.list_categories(session)}
        lines = [
            {
                "Text": ln.text,
                "Kategorie": category_names.get(ln.category_id or 0, ""),
                "Steuerschlüssel": taxkeys.label(ln.tax_key, booking.booking_date),
                "Betrag": format_money(ln.amount),
                "Netto": format_money(ln.net),
                "USt/VSt": format_money(ln.tax),
                "Nicht abziehbar": format_money(ln.nondeductible),
            }
            for ln in booking.lines
        ]
        from_invoice = booking.payment_id is not None or booking.refund_invoice_id is not None
        values = _values_of(booking)
        receipt = session.get(Document, booking.document_id) if booking.document_id else None
        receipt_name = ""
        if receipt is not None:
            receipt_name = receipt.filename
            if receipt.title and receipt.title != receipt.filename:
                receipt_name = f"{receipt.title} ({receipt.filename})"
    st.markdown(
        plain(f"Buchung {booking_id} vom {format_date(values['booking_date'])}")
        + (" · **festgeschrieben**" if locked else "")
    )
    st.dataframe(lines, hide_index=True, width="stretch")
    if receipt_name:
        st.caption(plain(f"Beleg: {receipt_name} (in Dokumente)"))
    if locked:
        st.caption("Festgeschrieben: Korrektur nur über ▶ Gegenbuchung in einem offenen Zeitraum.")
        return
    if from_invoice:
        st.caption("Diese Buchung folgt einer Rechnungszahlung; Korrekturen im Modul Rechnungen.")
        return
    if not ctx.may(Permission.LEDGER_WRITE) or ctx.read_only:
        return
    with st.expander("Bearbeiten"):
        booking_form(ctx, booking_id, values)
    confirm = f"ledger_delete_confirm_{booking_id}"
    if not st.session_state.get(confirm):
        if st.button(
            "Buchung löschen", key=f"ledger_delete_{booking_id}", icon=":material/delete:"
        ):
            st.session_state[confirm] = True
            st.rerun()
        return
    st.warning(
        f"Buchung {booking_id} wirklich löschen? Das lässt sich nicht rückgängig machen.",
        icon=":material/warning:",
    )
    c1, c2 = st.columns(2)
    if c2.button("Abbrechen", key=f"ledger_delete_cancel_{booking_id}"):
        st.session_state.pop(confirm, None)
        st.rerun()
    if c1.button("Ja, löschen", type="primary", key=f"ledger_delete_yes_{booking_id}"):

        def delete(s: Session) -> bool:
            service.delete_booking(
                s, booking_id, version=values["version"], actor=ctx.user.username
            )
            return True

        done = run_write(delete)
        st.session_state.pop(confirm, None)
        if done:
            flash(f"Buchung {booking_id} gelöscht.")
            st.session_state.pop("ledger_open", None)
            st.rerun()


def _values_of(booking: Booking) -> dict[str, Any]:
    return {
        "version": booking.version,
        "booking_date": booking.booking_date,
        "account_id": booking.account_id,
        "transfer_account_id": booking.transfer_account_id,
        "kind": booking.kind,
        "contact_id": booking.contact_id,
        "counterparty": booking.counterparty,
        "receipt_number": booking.receipt_number,
        "document_id": booking.document_id,
        "note": booking.note,
        "tax_period": booking.tax_period,
        "lines": [
            {
                "amount": str(ln.amount).replace(".", ","),
                "category_id": ln.category_id,
                "tax_key": ln.tax_key,
                "text": ln.text,
            }
            for ln in booking.lines
        ],
    }


def booking_form(
    ctx: PageContext, booking_id: int | None, values: dict[str, Any] | None = None
) -> None:
    """The booking form: header, up to six lines, receipt upload."""
    values = values or {}
    key = f"ledger_form_{booking_id or 'new'}"
    with session_scope(write=False) as session:
        accounts = {a.id: f"{a.name} · {a.kind_label}" for a in service.list_accounts(session)}
        income_cats = {c.id: c.name for c in service.list_categories(session, "einnahme")}
        expense_cats = {c.id: c.name for c in service.list_categories(session, "ausgabe")}
        contacts = _contact_choices(session, st.session_state.get(f"{key}_contact_search", ""))
    c1, c2, c3 = st.columns(3)
    kinds = list(BOOKING_KINDS)
    kind = c1.selectbox(
        "Art",
        kinds,
        index=kinds.index(values.get("kind", "ausgabe")),
        format_func=labels_of(BOOKING_KINDS),
        placeholder=CHOOSE,
        key=f"{key}_kind",
    )
    booking_date = c2.date_input(
        "Datum",
        value=values.get("booking_date", service.today()),
        format="DD.MM.YYYY",
        key=f"{key}_date",
    )
    account_ids = list(accounts)
    current_account = values.get("account_id")
    account_id = c3.selectbox(
        "Konto",
        account_ids,
        index=account_ids.index(current_account) if current_account in account_ids else None,
        format_func=labels_of(accounts),
        placeholder=CHOOSE,
        key=f"{key}_account",
    )
    transfer_account_id = None
    if kind == GELDTRANSIT:
        current = values.get("transfer_account_id")
        transfer_account_id = st.selectbox(
            "Zielkonto",
            account_ids,
            index=account_ids.index(current) if current in account_ids else None,
            format_func=labels_of(accounts),
            placeholder=CHOOSE,
            key=f"{key}_transfer",
        )
    d1, d2, d3 = st.columns(3)
    d1.text_input("Kontakt suchen", key=f"{key}_contact_search")
    contact_ids = list(contacts)
    current_contact = values.get("contact_id")
    contact_id = d1.selectbox(
        "Kontakt (optional)",
        contact_ids,
        index=contact_ids.index(current_contact) if current_contact in contact_ids else None,
        format_func=labels_of(contacts),
        placeholder=CHOOSE,
        key=f"{key}_contact",
    )
    counterparty = d2.text_input(
        "Gegenüber (ohne Kontakt)", value=values.get("counterparty", ""), key=f"{key}_counterparty"
    )
    receipt_number = d3.text_input(
        "Belegnummer", value=values.get("receipt_number", ""), key=f"{key}_receipt_no"
    )
    tax_period = ""
    if kind in (UST_ZAHLUNG, UST_ERSTATTUNG):
        tax_period = st.text_input(
            "Zeitraum der Steuer (z. B. 2025-Q4 oder 2025-12)",
            value=values.get("tax_period", ""),
            key=f"{key}_tax_period",
            help="Entscheidet über die 10-Tage-Regel (§ 11 Abs. 2 EStG): eine Vorauszahlung für "
            "das alte Jahr, gezahlt bis 10. Januar, zählt in der EÜR im alten Jahr.",
        )
    lines = _line_inputs(
        key, kind, income_cats, expense_cats, booking_date, values.get("lines") or []
    )
    note = st.text_area("Notiz", value=values.get("note", ""), key=f"{key}_note", height=68)
    upload = st.file_uploader(
        "Beleg hochladen (PDF, Bild, XML; wird in Dokumente als Buchungsbeleg 8 Jahre aufbewahrt)",
        key=f"{key}_receipt",
    )
    if not st.button("Speichern", type="primary", key=f"{key}_save", icon=":material/save:"):
        return
    receipt = None
    if upload is not None:
        if not has_extension(upload.name, RECEIPT_EXTENSIONS, "Belege"):
            return
        receipt = (upload.name, upload.getvalue())
    data: dict[str, Any] = {
        "booking_date": booking_date,
        "account_id": account_id or 0,
        "kind": kind,
        "lines": lines,
        "contact_id": contact_id,
        "counterparty": counterparty,
        "receipt_number": receipt_number,
        "document_id": values.get("document_id") if receipt is None else None,
        "receipt": receipt,
        "note": note,
        "transfer_account_id": transfer_account_id,
        "tax_period": tax_period,
        "actor": ctx.user.username,
    }
    if booking_id is None:
        saved = run_write(lambda s: service.create_booking(s, **data).id)
    else:
        saved = run_write(
            lambda s: (
                service.update_booking(s, booking_id, version=values.get("version"), **data).id
            )
        )
    if saved:
        flash(f"Buchung {saved} gespeichert.")
        for k in [k for k in st.session_state if str(k).startswith(key)]:
            st.session_state.pop(k, None)
        st.rerun()


def _line_inputs(
    key: str,
    kind: str,
    income_cats: dict[int, str],
    expense_cats: dict[int, str],
    day: date,
    existing: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    count = st.number_input(
        "Anzahl Positionen (z. B. zwei bei 19 % und 7 % auf einem Beleg)",
        min_value=1,
        max_value=MAX_LINES if kind in WITH_CATEGORY else 1,
        value=min(max(1, len(existing)), MAX_LINES if kind in WITH_CATEGORY else 1),
        key=f"{key}_count",
    )
    lines = []
    cat_choices = income_cats if kind == "einnahme" else expense_cats
    tax_choices = taxkeys.choices("aus" if kind == "einnahme" else "ein", day)
    for i in range(int(count)):
        old = existing[i] if i < len(existing) else {}
        cols = st.columns([1, 2, 2, 2]) if kind in WITH_CATEGORY else st.columns([1, 3])
        amount = cols[0].text_input(
            "Betrag (€)", value=old.get("amount", ""), key=f"{key}_amount_{i}",
            help="Bei § 13b und innergemeinschaftlichem Erwerb der Nettobetrag, sonst brutto.",
        )  # fmt: skip
        line: dict[str, Any] = {"amount": amount}
        if kind in WITH_CATEGORY:
            ids = list(cat_choices)
            line["category_id"] = cols[1].selectbox(
                "Kategorie",
                ids,
                index=ids.index(old["category_id"]) if old.get("category_id") in ids else None,
                format_func=labels_of(cat_choices),
                placeholder=CHOOSE,
                key=f"{key}_cat_{i}",
            )
            codes = list(tax_choices)
            line["tax_key"] = cols[2].selectbox(
                "Steuerschlüssel",
                codes,
                index=codes.index(old["tax_key"]) if old.get("tax_key") in codes else None,
                format_func=labels_of(tax_choices),
                placeholder=CHOOSE,
                key=f"{key}_tax_{i}",
                help="Leer lassen: der Standard der Kategorie.",
            )
            line["text"] = cols[3].text_input(
                "Text", value=old.get("text", ""), key=f"{key}_text_{i}"
            )
        else:
            line["text"] = cols[1].text_input(
                "Text", value=old.get("text", ""), key=f"{key}_text_{i}"
            )
        lines.append(line)
    return lines


def _contact_choices(session: Session, search: str) -> dict[int, str]:
    from kms.modules.documents.service import contact_choices

    return contact_choices(session, search=search, limit=200)


# --- Anlagenverzeichnis -----------------------------------------------------------------


def assets_tab(ctx: PageContext) -> None:
    from kms.modules.ledger import afa_table, assets
    from kms.modules.ledger.models import AFA_METHODS

    year = service.today().year
    with session_scope(write=False) as session:
        items = assets.list_assets(session)
        table = []
        for a in items:
            figures = assets.year_figures(a, year)
            table.append(
                {
                    "Anlagegut": a.name,
                    "Angeschafft": format_date(a.acquired_on),
                    "Anschaffungskosten": format_money(a.cost),
                    "Methode": assets.method_text(a),
                    f"AfA {year}": format_money(figures.afa) if figures else "–",
                    f"Buchwert 31.12.{year}": format_money(figures.closing) if figures else "–",
                    "Abgang": format_date(a.disposed_on) if a.disposed_on else "",
                }
            )
        choices = {a.id: f"{a.name} ({format_date(a.acquired_on)})" for a in items}
        held = {a.id: choices[a.id] for a in items if a.disposed_on is None}
        versions = {a.id: a.version for a in items}
    if table:
        st.dataframe(table, hide_index=True, width="stretch")
    else:
        st.info("Noch keine Anlagegüter.")
    st.caption(
        "Eine Anschaffung wird mit der Kategorie „Anlagevermögen“ gebucht und hier eingetragen; "
        "die jährliche AfA fließt in die EÜR, das Verzeichnis steht unter Berichte "
        "(Anlage AVEÜR). Bis "
        + format_money(afa_table.GWG_LIMIT)
        + " netto ist die Sofortabschreibung als GWG möglich; degressive AfA nur bei "
        "Anschaffung " + afa_table.WINDOWS_TEXT + "."
    )
    if not ctx.may(Permission.LEDGER_WRITE) or ctx.read_only:
        return
    with st.expander("Neues Anlagegut"):
        table_key = st.selectbox(
            "Vorschlag aus der AfA-Tabelle (optional)", list(afa_table.choices()), index=None,
            format_func=labels_of(afa_table.choices()), placeholder=CHOOSE,
            key="ledger_asset_table",
        )  # fmt: skip
        entry = afa_table.suggestion(table_key) if table_key else None
        if entry is not None:
            st.caption(plain(f"Quelle: {entry.source}"))
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("Bezeichnung", key="ledger_asset_name")
        acquired = c2.date_input(
            "Anschaffungsdatum", value=service.today(), format="DD.MM.YYYY", key="ledger_asset_day"
        )
        cost = c3.text_input("Anschaffungskosten netto (€)", key="ledger_asset_cost")
        c4, c5, c6 = st.columns(3)
        life = c4.number_input(
            "Nutzungsdauer (Jahre)", min_value=1, max_value=50,
            value=entry.years if entry else 3, key=f"ledger_asset_life_{table_key or ''}",
        )  # fmt: skip
        method = c5.selectbox(
            "AfA-Methode", list(AFA_METHODS), index=0, format_func=labels_of(AFA_METHODS),
            placeholder=CHOOSE, key="ledger_asset_method",
        )  # fmt: skip
        fields = list(afa_table.FIELDS)
        field = c6.selectbox(
            "Art", fields, index=fields.index(entry.field) if entry else 0,
            format_func=labels_of(afa_table.FIELDS), placeholder=CHOOSE,
            key=f"ledger_asset_field_{table_key or ''}",
        )  # fmt: skip
        if st.button("Anlagegut speichern", key="ledger_asset_save"):
            saved = run_write(
                lambda s: assets.create_asset(
                    s, name=name, acquired_on=acquired, cost=cost, useful_life_years=int(life),
                    method=method or "", euer_field=field or "", actor=ctx.user.username,
                ).name
            )  # fmt: skip
            if saved:
                flash(f"Anlagegut „{saved}“ gespeichert.")
                st.rerun()
    if held:
        with st.expander("Abgang erfassen (Verkauf, Entnahme, Verschrottung)"):
            chosen = st.selectbox(
                "Anlagegut", list(held), index=None, format_func=labels_of(held),
                placeholder=CHOOSE, key="ledger_asset_dispose_id",
            )  # fmt: skip
            day = st.date_input(
                "Abgangsdatum", value=service.today(), format="DD.MM.YYYY",
                key="ledger_asset_dispose_day",
            )  # fmt: skip
            st.caption("Ein Verkaufserlös wird als Einnahme gebucht (Kategorie Anlagenverkauf).")
            if st.button("Abgang speichern", key="ledger_asset_dispose", disabled=chosen is None):
                done = run_write(
                    lambda s: assets.dispose_asset(
                        s, int(chosen or 0), disposed_on=day,
                        version=versions.get(int(chosen or 0)), actor=ctx.user.username,
                    ).name
                )  # fmt: skip
                if done:
                    flash(f"Abgang von „{done}“ gespeichert.")
                    st.rerun()
    if choices:
        with st.expander("Anlagegut löschen (nur Fehleingaben)"):
            gone = st.selectbox(
                "Anlagegut", list(choices), index=None, format_func=labels_of(choices),
                placeholder=CHOOSE, key="ledger_asset_delete_id",
            )  # fmt: skip
            if st.button("Endgültig löschen", key="ledger_asset_delete", disabled=gone is None):

                def delete(s: Session) -> bool:
                    asset_id = int(gone or 0)
                    assets.delete_asset(
                        s, asset_id, version=versions.get(asset_id), actor=ctx.user.username
                    )
                    return True

                ok = run_write(delete)
                if ok:
                    flash("Anlagegut gelöscht.")
                    st.rerun()


# --- categories -------------------------------------------------------------------------


def categories_tab(ctx: PageContext) -> None:
    year = service.today().year
    with session_scope(write=False) as session:
        rows = service.list_categories(session)
        table = [
            {
                "Kategorie": c.name,
                "Seite": "Einnahmen" if c.side == "einnahme" else "Ausgaben",
                "EÜR": _field_label(c.euer_field, year),
                "Standard-Steuerschlüssel": c.default_tax_key,
                "Besonderheit": {
                    "bewirtung": "70 % abziehbar",
                    "geschenk": "Grenze 50 € je Empfänger",
                }.get(c.special, ""),
            }
            for c in rows
        ]
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        "Die Kennzahlen folgen der Anlage EÜR des Jahres; "
        "jede eigene Kategorie braucht ein EÜR-Feld."
    )
    if not ctx.may(Permission.LEDGER_WRITE) or ctx.read_only:
        return
    with st.expander("Neue Kategorie"):
        c1, c2 = st.columns(2)
        name = c1.text_input("Name", key="ledger_cat_name")
        sides = {"ausgabe": "Ausgaben", "einnahme": "Einnahmen"}
        side = c2.selectbox(
            "Seite",
            list(sides),
            format_func=labels_of(sides),
            placeholder=CHOOSE,
            key="ledger_cat_side",
        )
        fields = cats.field_choices(side or "ausgabe", year)
        if side == "einnahme":
            fields = {cats.BY_TAX_KEY: "nach Steuerschlüssel (Kz 111/112/103)", **fields}
        field = st.selectbox(
            "EÜR-Feld", list(fields), index=None, format_func=labels_of(fields), placeholder=CHOOSE,
            key="ledger_cat_field",
        )  # fmt: skip
        keys = taxkeys.choices("aus" if side == "einnahme" else "ein", service.today())
        tax_key = st.selectbox(
            "Standard-Steuerschlüssel", list(keys), index=None, format_func=labels_of(keys),
            placeholder=CHOOSE, key="ledger_cat_tax",
        )  # fmt: skip
        if st.button("Kategorie anlegen", key="ledger_cat_save"):
            saved = run_write(
                lambda s: service.save_category(
                    s, name=name, side=side or "", euer_field=field or "",
                    default_tax_key=tax_key or "", actor=ctx.user.username,
                ).name
            )  # fmt: skip
            if saved:
                flash(f"Kategorie „{saved}“ angelegt.")
                st.rerun()


def _field_label(key: str, year: int) -> str:
    if key == cats.BY_TAX_KEY:
        return "nach Steuerschlüssel"
    field = cats.form(year).get(key)
    return f"Kz {field.kz} – {field.label}" if field else "nicht zugeordnet"


# --- settings ---------------------------------------------------------------------------


def settings_tab(ctx: PageContext) -> None:
    from kms.modules.settings.taxation import FILING_PERIODS, REGIMES, regime_on

    day = service.today()
    with session_scope(write=False) as session:
        regime = regime_on(session, day)
        cfg = service.settings_on(session, day)
        extension = bool(cfg and cfg.permanent_extension)
        prepayment = cfg.special_prepayment if cfg else Decimal("0.00")
    if regime is None:
        st.info("Bitte die Besteuerung unter Einstellungen → Besteuerung eintragen.")
    else:
        basis = "Ist-Versteuerung" if regime.cash_basis else "Soll-Versteuerung"
        st.markdown(
            plain(
                f"Besteuerung heute: {REGIMES.get(regime.kind, regime.kind)}"
                + (
                    f", {basis}, Voranmeldung {FILING_PERIODS.get(regime.filing_period, '')}"
                    if regime.kind == "regel"
                    else ""
                )
            )
        )
    st.caption(
        "Soll oder Ist und der Voranmeldungszeitraum werden datiert unter Einstellungen → "
        "Besteuerung gepflegt. Die Ist-Versteuerung (Umsatzsteuer nach erhaltenen Zahlungen) "
        "muss beim Finanzamt beantragt und genehmigt sein (§ 20 UStG). Die EÜR ist immer nach "
        "Zahlungen (§ 11 EStG)."
    )
    st.subheader("Dauerfristverlängerung")
    st.write(
        plain(
            "Aktuell: "
            + (f"ja, Sondervorauszahlung {format_money(prepayment)}" if extension else "nein")
        )
    )
    if not ctx.may(Permission.SETTINGS) or ctx.read_only:
        return
    c1, c2, c3 = st.columns(3)
    valid_from = c1.date_input(
        "gültig ab", value=date(day.year, 1, 1), format="DD.MM.YYYY", key="ledger_set_from"
    )
    on = c2.checkbox("Dauerfristverlängerung (§ 46 UStDV)", value=extension, key="ledger_set_ext")
    amount = c3.text_input(
        "Sondervorauszahlung (€)", value=str(prepayment).replace(".", ","), key="ledger_set_svz"
    )
    if st.button("Speichern", key="ledger_set_save"):
        saved = run_write(
            lambda s: service.save_settings(
                s, valid_from=valid_from, permanent_extension=on, special_prepayment=amount,
                actor=ctx.user.username,
            ).id
        )  # fmt: skip
        if saved:
            flash("Einstellung gespeichert.")
            st.rerun()


# --- ▶ functions ------------------------------------------------------------------------


def functions(ctx: PageContext) -> None:
    from kms.modules.ledger import DATEV_EXPORT, KANZLEIPAKET, LOCK, REVERSE

    if ctx.function_requested(LOCK.key):
        lock_dialog(ctx)
    elif ctx.function_requested(REVERSE.key):
        reverse_dialog(ctx)
    elif ctx.function_requested(DATEV_EXPORT.key):
        datev_dialog(ctx)
    elif ctx.function_requested(KANZLEIPAKET.key):
        kanzlei_dialog(ctx)


def _previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def lock_dialog(ctx: PageContext) -> None:
    from kms.modules.ledger import LOCK

    st.subheader("Zeitraum festschreiben")
    st.warning(
        "Festschreiben ist endgültig (GoBD): Buchungen und Rechnungszahlungen des Monats und "
        "aller offenen Monate davor können danach nicht mehr geändert oder gelöscht werden.",
        icon=":material/lock:",
    )
    last = _previous_month(service.today())
    months = [last]
    for _ in range(23):
        months.append(_previous_month(months[-1]))
    labels = {m: periods.month_label(m) for m in months}
    month = st.selectbox(
        "Bis einschließlich", months, index=0, format_func=labels_of(labels), placeholder=CHOOSE,
        key="ledger_lock_month",
    )  # fmt: skip
    c1, c2 = st.columns(2)
    if c1.button("Festschreiben", type="primary", key="ledger_lock_go", icon=":material/lock:"):
        locked = run_write(lambda s: service.lock_period(s, month or last, actor=ctx.user.username))
        if locked is not None:
            ctx.close_function(LOCK.key)
            names = ", ".join(periods.month_label(m) for m in locked) or "nichts Neues"
            flash(f"Festgeschrieben: {names}.")
            st.rerun()
    if c2.button("Abbrechen", key="ledger_lock_cancel"):
        ctx.close_function(LOCK.key)
        st.rerun()


def reverse_dialog(ctx: PageContext) -> None:
    from kms.modules.ledger import REVERSE

    booking_id = st.session_state.get(SELECTED)
    if booking_id is None:
        ctx.close_function(REVERSE.key)
        st.info("Bitte wählen Sie zuerst unter „Buchungen“ eine Buchung aus.")
        return
    st.subheader(f"Gegenbuchung zu Buchung {booking_id}")
    day = st.date_input(
        "Datum der Gegenbuchung", value=service.today(), format="DD.MM.YYYY", key="ledger_rev_day"
    )
    c1, c2 = st.columns(2)
    if c1.button("Gegenbuchen", type="primary", key="ledger_rev_go"):
        new_id = run_write(
            lambda s: (
                service.reverse_booking(s, booking_id, booking_date=day, actor=ctx.user.username).id
            )
        )
        if new_id:
            ctx.close_function(REVERSE.key)
            flash(f"Gegenbuchung {new_id} angelegt.")
            st.rerun()
    if c2.button("Abbrechen", key="ledger_rev_cancel"):
        ctx.close_function(REVERSE.key)
        st.rerun()


# --- Konten page ------------------------------------------------------------------------


def render_accounts(ctx: PageContext) -> None:
    show_flash()
    with session_scope(write=False) as session:
        accounts = service.list_accounts(session, active_only=False)
        balances = service.balances(session)
        table = [
            {
                "Konto": a.name,
                "Art": a.kind_label,
                "IBAN": a.iban,
                "Bestand": format_money(balances[a.id]),
                "Standard": "ja" if a.is_default else "",
                "Aktiv": "ja" if a.active else "nein",
            }
            for a in accounts
        ]
        values: dict[int, dict[str, Any]] = {
            a.id: {
                "name": a.name,
                "kind": a.kind,
                "iban": a.iban,
                "bic": a.bic,
                "opening_balance": a.opening_balance,
                "opening_date": a.opening_date,
                "is_default": a.is_default,
                "active": a.active,
                "version": a.version,
            }
            for a in accounts
        }
    if table:
        st.dataframe(table, hide_index=True, width="stretch")
    else:
        st.info("Noch keine Konten. Legen Sie Ihr Bankkonto und gegebenenfalls eine Kasse an.")
    if not ctx.may(Permission.LEDGER_WRITE) or ctx.read_only:
        return
    names = {0: "Neues Konto", **{aid: v["name"] for aid, v in values.items()}}
    chosen = st.selectbox(
        "Konto bearbeiten", list(names), index=0, format_func=labels_of(names), placeholder=CHOOSE,
        key="ledger_acc_pick",
    )  # fmt: skip
    current: dict[str, Any] = values.get(chosen or 0, {})
    key = f"ledger_acc_{chosen or 0}"
    c1, c2 = st.columns(2)
    name = c1.text_input("Name", value=current.get("name", ""), key=f"{key}_name")
    kinds = list(ACCOUNT_KINDS)
    kind = c2.selectbox(
        "Art", kinds, index=kinds.index(current.get("kind", "bank")),
        format_func=labels_of(ACCOUNT_KINDS), placeholder=CHOOSE, key=f"{key}_kind",
    )  # fmt: skip
    c3, c4 = st.columns(2)
    iban = c3.text_input("IBAN", value=current.get("iban", ""), key=f"{key}_iban")
    bic = c4.text_input("BIC", value=current.get("bic", ""), key=f"{key}_bic")
    c5, c6 = st.columns(2)
    opening = c5.text_input(
        "Anfangsbestand (€)",
        value=str(current.get("opening_balance", "0.00")).replace(".", ","),
        key=f"{key}_open",
    )
    opening_date = c6.date_input(
        "Anfangsbestand am",
        value=current.get("opening_date"),
        format="DD.MM.YYYY",
        key=f"{key}_open_date",
    )
    is_default = st.checkbox(
        "Standardkonto für Rechnungszahlungen",
        value=current.get("is_default", False),
        key=f"{key}_default",
    )
    active = st.checkbox("aktiv", value=current.get("active", True), key=f"{key}_active")
    if st.button("Konto speichern", type="primary", key=f"{key}_save"):
        saved = run_write(
            lambda s: service.save_account(
                s, account_id=chosen or None, version=current.get("version"), name=name,
                kind=kind or "", iban=iban, bic=bic, opening_balance=opening,
                opening_date=opening_date, is_default=is_default, active=active,
                actor=ctx.user.username,
            ).name
        )  # fmt: skip
        if saved:
            flash(f"Konto „{saved}“ gespeichert.")
            st.rerun()


# --- contact panel ----------------------------------------------------------------------


def panel(contact_id: int) -> None:
    """The contact's bookings on its detail view."""
    with session_scope(write=False) as session:
        rows = session.scalars(
            select(Booking)
            .where(Booking.contact_id == contact_id)
            .order_by(Booking.booking_date.desc(), Booking.id.desc())
            .limit(50)
        ).all()
        table = [
            {
                "Datum": format_date(b.booking_date),
                "Art": b.kind_label,
                "Beleg": b.receipt_number,
                "Betrag": format_money(b.total),
            }
            for b in rows
        ]
    if not table:
        return
    st.markdown("**Einnahmen/Ausgaben**")
    st.dataframe(table, hide_index=True, width="stretch")


# --- DATEV and Kanzleipaket ----------------------------------------------------------------

DATEV_LABELS = {
    "advisor_number": "Berater-Nr.",
    "client_number": "Mandanten-Nr.",
    "chart": "Kontenrahmen",
    "account_length": "Sachkontenlänge",
    "fiscal_start": "Beginn des Wirtschaftsjahres",
    "money_account": "DATEV-Geldkonto",
    "skr03": "Sachkonto SKR 03",
    "skr04": "Sachkonto SKR 04",
}
KANZLEI_STATE = "ledger_kanzlei_package"
DATEV_RESULT = "ledger_datev_result"


# --- Einstellungen → DATEV ------------------------------------------------------------------


def datev_settings_section(ctx: PageContext) -> None:
    import pandas as pd

    st.subheader("DATEV")
    st.caption(
        "Für den DATEV-Export und das Kanzleipaket: die Nummern erfahren Sie von Ihrer "
        "Steuerkanzlei. Leere Kontofelder bedeuten: Standardkonto des Kontenrahmens."
    )
    with session_scope(write=False) as session:
        cfg = datev.get_settings(session)
        accounts = service.list_accounts(session, active_only=False)
        categories = service.list_categories(session)
        n = cfg.account_length
        money = {a.id: datev.money_account(session, a, cfg.chart, n) for a in accounts}
        account_names = {a.id: a.name for a in accounts}
        mapping = [
            {
                "Kategorie": c.name,
                "SKR 03": datev.category_account(session, c, "03", length=n) or "–",
                "SKR 04": datev.category_account(session, c, "04", length=n) or "–",
            }
            for c in categories
        ]
        category_names = {c.id: c.name for c in categories}
        own = {
            c.id: (
                datev.category_account(session, c, "03", length=n),
                datev.category_account(session, c, "04", length=n),
            )
            for c in categories
        }
    st.dataframe(
        pd.DataFrame(
            [{"Konto": account_names[i], "DATEV-Geldkonto": n} for i, n in money.items()]
            or [{"Konto": "–", "DATEV-Geldkonto": "–"}]
        ),
        hide_index=True,
    )
    with st.expander("Sachkonten der Kategorien"):
        st.caption("„Erlöse“ folgt dem Steuerschlüssel (19 %: 8400/4400, 7 %: 8300/4300 …).")
        st.dataframe(pd.DataFrame(mapping), hide_index=True)
    if not ctx.may(Permission.SETTINGS) or ctx.read_only:
        return
    with st.form("ledger_datev_form"):
        c1, c2, c3 = st.columns(3)
        advisor = c1.text_input("Berater-Nr.", value=str(cfg.advisor_number or ""))
        client = c2.text_input("Mandanten-Nr.", value=str(cfg.client_number or ""))
        chart = c3.selectbox(
            "Kontenrahmen", list(datev.CHARTS), index=list(datev.CHARTS).index(cfg.chart),
            format_func=labels_of(datev.CHARTS), placeholder="Kontenrahmen wählen …",
        )  # fmt: skip
        c4, c5 = st.columns(2)
        length = c4.text_input("Sachkontenlänge", value=str(cfg.account_length))
        start = c5.text_input(
            "Beginn des Wirtschaftsjahres (TT.MM.)",
            value=f"{cfg.fiscal_start_day:02d}.{cfg.fiscal_start_month:02d}.",
        )
        if st.form_submit_button("DATEV-Einstellungen speichern"):
            saved = run_write(
                lambda s: datev.save_settings(
                    s, advisor_number=advisor, client_number=client, chart=chart or "03",
                    account_length=length, fiscal_start=start, actor=ctx.user.username,
                )
            )  # fmt: skip
            if saved is not None:
                flash("DATEV-Einstellungen gespeichert.")
                st.rerun()
    c1, c2, c3 = st.columns([2, 1, 1])
    account_id = c1.selectbox(
        "Geldkonto für Konto", list(account_names), index=None, placeholder=CHOOSE,
        format_func=labels_of(account_names), key="ledger_datev_acc",
    )  # fmt: skip
    number = c2.text_input(
        "DATEV-Geldkonto", key="ledger_datev_acc_no", placeholder=money.get(account_id or 0, "")
    )
    if c3.button("Geldkonto speichern", key="ledger_datev_acc_save") and account_id is not None:
        if run_write(
            lambda s: (
                datev.set_money_account(s, account_id, number, actor=ctx.user.username) or True
            )
        ):
            flash("Geldkonto gespeichert.")
            st.rerun()
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    category_id = c1.selectbox(
        "Sachkonto für Kategorie", list(category_names), index=None, placeholder=CHOOSE,
        format_func=labels_of(category_names), key="ledger_datev_cat",
    )  # fmt: skip
    defaults = own.get(category_id or 0, ("", ""))
    skr03 = c2.text_input("SKR 03", key="ledger_datev_cat_03", placeholder=defaults[0])
    skr04 = c3.text_input("SKR 04", key="ledger_datev_cat_04", placeholder=defaults[1])
    if c4.button("Sachkonto speichern", key="ledger_datev_cat_save") and category_id is not None:
        if run_write(
            lambda s: (
                datev.set_category_account(
                    s, category_id, skr03=skr03, skr04=skr04, actor=ctx.user.username
                )
                or True
            )
        ):
            flash("Sachkonten gespeichert.")
            st.rerun()


# --- ▶ DATEV-Export and ▶ Kanzleipaket ----------------------------------------------------


def _previous_quarter(today: date) -> tuple[date, date]:
    first = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    end = first - timedelta(days=1)
    return date(end.year, 3 * ((end.month - 1) // 3) + 1, 1), end


def _period(prefix: str, default: tuple[date, date]) -> tuple[date, date]:
    c1, c2 = st.columns(2)
    start = c1.date_input("von", value=default[0], format="DD.MM.YYYY", key=f"{prefix}_from")
    end = c2.date_input("bis", value=default[1], format="DD.MM.YYYY", key=f"{prefix}_to")
    return start, end  # type: ignore[return-value]


def datev_dialog(ctx: PageContext) -> None:
    from kms.modules.ledger import DATEV_EXPORT

    st.subheader("DATEV-Export")
    start, end = _period("ledger_datev", _previous_quarter(service.today()))
    c1, c2 = st.columns(2)
    if c1.button("Export erstellen", type="primary", key="ledger_datev_go"):
        st.session_state.pop(DATEV_RESULT, None)
        with st.status("DATEV-Buchungsstapel wird erstellt …", expanded=False) as status:

            def run() -> datev.Export:
                with session_scope(write=False) as session:
                    return datev.export(session, start, end, exported_by=ctx.user.username)

            result = attempt(run, DATEV_LABELS)
            status.update(
                label="DATEV-Buchungsstapel erstellt." if result else "Nicht erstellt.",
                state="complete" if result else "error",
            )
        if result is not None:
            st.session_state[DATEV_RESULT] = (result, start, end)
    shown = st.session_state.get(DATEV_RESULT)
    if shown is not None:
        result, first, last = shown
        st.success(
            f"{result.rows} Buchungszeilen vom {first:%d.%m.%Y} bis {last:%d.%m.%Y}"
            + (" (festgeschrieben)." if result.locked else "."),
            icon=":material/check_circle:",
        )
        for warning in result.warnings:
            st.warning(plain(warning), icon=":material/info:")
        st.download_button(
            "Herunterladen", result.content, mime="text/csv", key="ledger_datev_download",
            file_name=f"EXTF_Buchungsstapel_{first:%Y%m%d}_{last:%Y%m%d}.csv",
            icon=":material/download:",
        )  # fmt: skip
    if c2.button("Schließen", key="ledger_datev_close"):
        st.session_state.pop(DATEV_RESULT, None)
        ctx.close_function(DATEV_EXPORT.key)
        st.rerun()


def kanzlei_dialog(ctx: PageContext) -> None:
    from kms.modules.ledger import KANZLEIPAKET
    from kms.modules.ledger.routes import download_url

    st.subheader("Kanzleipaket")
    st.caption(
        "Ein ZIP mit EÜR, USt-Voranmeldungen, Journal, DATEV-Datei, Anlagenverzeichnis und "
        "allen Belegen des Zeitraums. Der Download steht 24 Stunden bereit."
    )
    today = service.today()
    start, end = _period(
        "ledger_kanzlei", (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    )
    c1, c2 = st.columns(2)
    if c1.button("Paket erstellen", type="primary", key="ledger_kanzlei_go"):
        job_id = run_write(
            lambda s: kanzlei.start_package_job(s, start, end, actor=ctx.user.username)
        )
        if job_id is not None:
            st.session_state[KANZLEI_STATE] = job_id
    job_id = st.session_state.get(KANZLEI_STATE) or _last_package_job(ctx.user.username)
    if job_id is not None:
        _package_status(job_id, download_url)
    if c2.button("Schließen", key="ledger_kanzlei_close"):
        st.session_state.pop(KANZLEI_STATE, None)
        ctx.close_function(KANZLEIPAKET.key)
        st.rerun()


def _last_package_job(username: str) -> int | None:
    """The user's newest Kanzleipaket of the last day (also after leaving the page)."""
    from kms.jobs import recent_jobs
    from kms.types import utcnow

    since = utcnow() - timedelta(hours=kanzlei.KEEP_HOURS)
    with session_scope(write=False) as session:
        for job in recent_jobs(session, kanzlei.JOB_KIND, 10):
            if job.username == username and job.created_at >= since:
                return job.id
    return None


def _package_status(job_id: int, download_url: Callable[[str], str]) -> None:
    """The Kanzleipaket job: progress polled from its row while it runs, then the link."""
    from kms.jobs import FAILED, STALE_MESSAGE, get_job

    with session_scope(write=False) as session:
        job = get_job(session, job_id)
        active, stale = job.is_active, job.is_stale()
        status, message, result = job.status, job.message, dict(job.result or {})

    def poll() -> None:
        with session_scope(write=False) as session:
            now = get_job(session, job_id)
            still, percent, text = now.is_active, now.percent, now.message
        if not still:
            st.rerun()  # finished meanwhile: redraw the page once with the link
        st.progress(percent / 100, text=f"{percent} % – {plain(text or 'wartet …')}")

    if stale:
        st.warning(STALE_MESSAGE, icon=":material/warning:")
    elif active:
        with st.status("Kanzleipaket wird erstellt …", expanded=True):
            st.fragment(run_every=1.0)(poll)()
    elif status == FAILED:
        st.error(plain(message), icon=":material/error:")
    else:
        st.success(plain(message), icon=":material/check_circle:")
        for warning in result.get("warnings", []):
            st.warning(plain(str(warning)), icon=":material/info:")
        st.link_button(
            "Kanzleipaket herunterladen",
            download_url(str(result.get("token", ""))),
            icon=":material/download:",
        )

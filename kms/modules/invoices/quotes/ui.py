"""Streamlit parts of "Angebote an Kunden": the list (paged in SQL), the detail with its
actions (each confirmed), and the draft editor with the invoices' positions editor."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.formatting import format_date, format_money, format_number
from kms.modules.contacts.models import Contact
from kms.modules.invoices import service as invoices
from kms.modules.invoices import ui as invoice_ui
from kms.modules.invoices.quotes import service
from kms.modules.invoices.quotes.models import ACCEPTED, DRAFT, SENT, STATUS_LABELS
from kms.permissions import Permission
from kms.ui.forms import CHOOSE, flash, labels_of, saving, show_flash
from kms.ui.lazy import LazyModule
from kms.ui.page import PageContext
from kms.ui.paging import pager, requested_page
from kms.ui.text import plain

pdf = LazyModule("kms.modules.invoices.quotes.pdf")
mailing = LazyModule("kms.modules.invoices.quotes.mailing")

PAGE_SIZE = 25
SELECTED = "quote_selected"
FLASH = "quote_flash"
CONFIRM = "quote_confirm"
LABELS = {
    "contact_id": "Kunde",
    "valid_until": "Gültig bis",
    "intro_text": "Einleitung",
    "closing_text": "Schlusstext",
}


def _selected() -> int | None:
    value = st.session_state.get(SELECTED)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pick() -> None:
    value = st.session_state.get("quote_pick")
    if isinstance(value, int):
        st.session_state[SELECTED] = value


# --- list -----------------------------------------------------------------------------


def quote_list() -> None:
    c1, c2 = st.columns([1, 2])
    statuses = {"": "alle", **STATUS_LABELS}
    status = c1.selectbox(
        "Status",
        list(statuses),
        format_func=labels_of(statuses),
        key="quote_status",
        placeholder=CHOOSE,
    )
    search = c2.text_input("Suche (Nummer, Kunde, Position)", key="quote_search")
    page_no = requested_page("quote_page", (status, search))
    with session_scope(write=False) as session:
        page = service.list_quotes(
            session, status=status or None, search=search, page=page_no, page_size=PAGE_SIZE
        )
    if page.total == 0:
        st.info(
            "Keine Angebote gefunden."
            if status or search
            else "Noch keine Angebote. Legen Sie unter „Angebot bearbeiten“ das erste an."
        )
        return
    rows = [
        {
            "Nummer": r.number or f"Entwurf {r.id}",
            "Datum": format_date(r.quote_date) if r.quote_date else "",
            "Kunde": r.customer,
            "Betrag": format_money(r.gross_total),
            "Gültig bis": format_date(r.valid_until),
            "Status": r.status_label,
        }
        for r in page.items
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    pager(page, key="quote_page", one="Angebot", many="Angebote")
    options = {r.id: f"{r.number or f'Entwurf {r.id}'} – {r.customer}" for r in page.items}
    current = _selected()
    st.session_state["quote_pick"] = current if current in options else None
    st.selectbox(
        "Angebot öffnen",
        list(options),
        format_func=labels_of(options),
        placeholder="Angebot auswählen …",
        key="quote_pick",
        on_change=_pick,
    )


# --- detail and actions ---------------------------------------------------------------


ACTIONS = {
    "finalize": (
        "Angebot abschließen",
        "{label} erhält die nächste Angebotsnummer und das heutige Datum und ist danach "
        "nicht mehr änderbar.",
    ),
    "accept": ("Als angenommen markieren", "{label} wird als vom Kunden angenommen markiert."),
    "reject": ("Als abgelehnt markieren", "{label} wird als vom Kunden abgelehnt markiert."),
    "invoice": (
        "In Rechnung übernehmen",
        "Aus den gewählten Positionen von {label} wird ein Rechnungsentwurf angelegt.",
    ),
    "delete": ("Entwurf löschen", "{label} wird endgültig gelöscht."),
}
# The confirming button says what happens ("Ja, übernehmen"); lower-casing the action's
# title would misspell its nouns ("in rechnung übernehmen").
CONFIRM_LABELS = {
    "finalize": "Ja, abschließen",
    "accept": "Ja, angenommen",
    "reject": "Ja, abgelehnt",
    "invoice": "Ja, übernehmen",
    "delete": "Ja, löschen",
}


# ▶ In Rechnung übernehmen as …: the positions as an ordinary invoice, an Abschlags- or
# the Schlussrechnung of the quote (the quote number is the order).
TAKE_OVER = {
    "rechnung": "Rechnung",
    "abschlag": "Abschlagsrechnung",
    "schluss": "Schlussrechnung",
}
TAKE_OVER_TEXT = {
    "rechnung": ACTIONS["invoice"][1],
    "abschlag": "Zu {label} wird eine Abschlagsrechnung als Entwurf angelegt.",
    "schluss": "Aus allen Positionen von {label} wird eine Schlussrechnung als Entwurf "
    "angelegt; die abgeschlossenen Abschlagsrechnungen zum Angebot werden abgezogen.",
}


def _act(ctx: PageContext, name: str, quote_id: int, request: dict[str, Any]) -> str:
    actor = ctx.user.username
    with session_scope() as session:
        if name == "finalize":
            quote = service.finalize_quote(session, quote_id, actor=actor)
            return f"Angebot {quote.number} ist abgeschlossen."
        if name == "accept":
            return f"{service.accept_quote(session, quote_id, actor=actor).label} ist angenommen."
        if name == "reject":
            return f"{service.reject_quote(session, quote_id, actor=actor).label} ist abgelehnt."
        if name == "invoice":
            return _take_over(session, quote_id, request, actor)
        service.delete_quote(session, quote_id, actor=actor)
        st.session_state.pop(SELECTED, None)
        return f"Angebotsentwurf {quote_id} ist gelöscht."


def _take_over(session: Any, quote_id: int, request: dict[str, Any], actor: str) -> str:
    kind, again = request.get("kind", "rechnung"), bool(request.get("again"))
    if kind == "abschlag":
        share = request.get("share")
        draft = service.to_advance_invoice(
            session,
            quote_id,
            percent=request.get("number") if share == "percent" else None,
            amount=request.get("number") if share == "amount" else None,
            tax=request.get("tax"),
            again=again,
            actor=actor,
            service_date=invoices.today(),
        )
    elif kind == "schluss":
        draft = service.to_final_invoice(
            session, quote_id, again=again, actor=actor, service_date=invoices.today()
        )
    else:
        draft = service.to_invoice(
            session, quote_id, positions=request.get("positions"), again=again, actor=actor
        )
        return (
            f"Rechnungsentwurf {draft.id} ist angelegt; Sie finden ihn auf der Seite „Rechnungen“."
        )
    return (
        f"{TAKE_OVER[kind]} als Entwurf {draft.id} über {format_money(draft.gross_total)} "
        "ist angelegt; Sie finden sie auf der Seite „Rechnungen“."
    )


@st.dialog("Bitte bestätigen")
def confirm_dialog(
    ctx: PageContext, name: str, quote_id: int, label: str, request: dict[str, Any]
) -> None:
    text = ACTIONS[name][1]
    warning = ""
    if name == "invoice":
        text = TAKE_OVER_TEXT[request.get("kind", "rechnung")]
        with session_scope(write=False) as session:
            warning = service.already_invoiced(
                session, quote_id, advances_ok=request.get("kind") != "rechnung"
            )
    st.warning(text.format(label=plain(label)))
    if warning:
        st.error(plain(warning))
    c1, c2 = st.columns(2)
    if c2.button("Abbrechen", key=f"quote_{name}_cancel"):
        st.session_state.pop(CONFIRM, None)
        st.rerun()
    go = "Ja, trotzdem übernehmen" if warning else CONFIRM_LABELS[name]
    if c1.button(go, type="primary", key=f"quote_{name}_go"):
        with saving({**LABELS, **invoice_ui.ADVANCE_LABELS, "tax": "Steuersatz"}) as result:
            message = _act(ctx, name, quote_id, {**request, "again": bool(warning)})
        if result["ok"]:
            st.session_state.pop(CONFIRM, None)
            flash(FLASH, message)
            st.rerun()


@st.dialog("▶ Angebot per E-Mail senden", width="large")
def mail_dialog(ctx: PageContext, quote_id: int) -> None:
    with session_scope(write=False) as session:
        draft = mailing.quote_mail_draft(session, quote_id)
    with st.form("quote_mail"):
        to = st.text_input("Empfänger", value=draft.to)
        subject = st.text_input("Betreff", value=draft.subject)
        body = st.text_area("Text", value=draft.body, height=200)
        copy = st.checkbox("Kopie an mich", value=True)
        sent = st.form_submit_button("Senden", type="primary")
    if st.button("Abbrechen", key="quote_mail_cancel"):
        st.session_state.pop(CONFIRM, None)
        st.rerun()
    if sent:
        with saving({"to": "Empfänger", "subject": "Betreff"}) as result:
            with session_scope() as session:
                mailing.send_quote_mail(
                    session,
                    quote_id,
                    to=to,
                    subject=subject,
                    body=body,
                    copy_to_self=copy,
                    actor=ctx.user.username,
                )
        if result["ok"]:
            st.session_state.pop(CONFIRM, None)
            flash(FLASH, f"Das Angebot wurde an {to} gesendet.")
            st.rerun()


def _position_label(line: Any) -> str:
    return (
        f"{line.position}. {line.description.splitlines()[0][:60]} "
        f"({format_number(line.quantity, 4)} × {format_money(line.unit_price)})"
    )


def quote_detail(ctx: PageContext, quote_id: int) -> None:
    with session_scope(write=False) as session:
        quote = service.get_quote(session, quote_id)
        status = quote.status_on(invoices.today())
        contact = session.get(Contact, quote.contact_id)
        customer = contact.display_name if contact else ""
        made = [(inv.id, inv.label) for inv in service.invoices_of(session, quote_id)]
        lines = list(quote.lines)
        rates = service.advance_rates(quote)
        label, number = quote.label, quote.number
    st.subheader(f"{plain(label)} · {STATUS_LABELS[status]}", anchor=False)
    st.markdown(f"Kunde: **{plain(customer)}**")
    c1, c2, c3 = st.columns(3)
    c1.metric("Betrag (brutto)", format_money(quote.gross_total))
    c2.metric("Gültig bis", format_date(quote.valid_until))
    c3.metric("Angebotsdatum", format_date(quote.quote_date) if quote.quote_date else "–")
    if quote.accepted_on:
        st.caption(f"Angenommen am {format_date(quote.accepted_on)}")
    if quote.rejected_on:
        st.caption(f"Abgelehnt am {format_date(quote.rejected_on)}")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Pos.": ln.position,
                    "Beschreibung": ln.description,
                    "Menge": format_number(ln.quantity, 4),
                    "Einzelpreis": format_money(ln.unit_price),
                    "Steuer": invoices.TAX_OPTIONS[invoices.tax_key(ln)].label,
                    "Netto": format_money(ln.net),
                }
                for ln in lines
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        f"Summe netto {format_money(quote.net_total)} · USt {format_money(quote.tax_total)} · "
        f"Gesamtbetrag {format_money(quote.gross_total)}"
    )
    if made:
        st.markdown("**Rechnungen aus diesem Angebot:** " + ", ".join(plain(m[1]) for m in made))
    if number:
        _downloads(quote_id, status)
    if ctx.may(Permission.INVOICES_WRITE):
        _actions(ctx, quote_id, label, status, lines, rates)


def _downloads(quote_id: int, status: str) -> None:
    with session_scope(write=False) as session:
        name, data = pdf.quote_pdf(session, quote_id)
        confirmation = pdf.confirmation_pdf(session, quote_id) if status == ACCEPTED else None
    c1, c2 = st.columns(2)
    c1.download_button("Angebot (PDF)", data, name, "application/pdf", key="quote_pdf")
    if confirmation is not None:
        c2.download_button(
            "Auftragsbestätigung (PDF)",
            confirmation[1],
            confirmation[0],
            "application/pdf",
            key="quote_confirmation_pdf",
        )


def _take_over_inputs(quote_id: int, lines: list, rates: dict[str, Any]) -> dict[str, Any]:
    """The inputs of ▶ In Rechnung übernehmen: as what, and its positions or share."""
    kind = st.radio(
        "Übernehmen als",
        list(TAKE_OVER),
        format_func=labels_of(TAKE_OVER),
        horizontal=True,
        key=f"quote_take_kind_{quote_id}",
    )
    if kind == "abschlag":
        net = ", ".join(
            f"{format_money(value)} ({invoices.TAX_OPTIONS[key].label})"
            for key, value in rates.items()
        )
        st.caption(f"Angebotswert netto: {net}")
        share = st.radio(
            "Abschlag als",
            list(invoice_ui.ADVANCE_SHARES),
            format_func=labels_of(invoice_ui.ADVANCE_SHARES),
            horizontal=True,
            key=f"quote_take_share_{quote_id}",
        )
        number = st.text_input(
            "Prozent" if share == "percent" else "Betrag (netto)",
            key=f"quote_take_number_{quote_id}",
        )
        tax = None
        if len(rates) > 1:
            tax = st.selectbox(
                "Steuersatz",
                list(rates),
                index=None,
                format_func=lambda k: invoices.TAX_OPTIONS[k].label,
                placeholder=CHOOSE,
                key=f"quote_take_tax_{quote_id}",
            )
        return {"kind": kind, "share": share, "number": number, "tax": tax}
    if kind == "schluss":
        st.caption(
            "Alle Positionen des Angebots; jede abgeschlossene Abschlagsrechnung zu diesem "
            "Angebot wird abgezogen."
        )
        return {"kind": kind}
    options = {ln.position: _position_label(ln) for ln in lines}
    positions = st.multiselect(
        "Positionen für die Rechnung",
        list(options),
        default=list(options),
        format_func=labels_of(options),
        key=f"quote_positions_{quote_id}",
        placeholder="Positionen wählen …",
    )
    return {"kind": kind, "positions": positions}


def _actions(
    ctx: PageContext, quote_id: int, label: str, status: str, lines: list, rates: dict
) -> None:
    names = {DRAFT: ["finalize", "delete"], SENT: ["accept", "reject", "invoice"]}.get(status, [])
    if status in (ACCEPTED, "abgelaufen"):
        names = ["invoice"] if status == ACCEPTED else ["accept", "reject", "invoice"]
    request: dict[str, Any] = {}
    if "invoice" in names and lines:
        request = _take_over_inputs(quote_id, lines, rates)
    if status != DRAFT:
        names = [*names, "mail"]
    cols = st.columns(max(1, len(names)))
    for col, name in zip(cols, names, strict=False):
        title = "Per E-Mail senden" if name == "mail" else ACTIONS[name][0]
        if col.button(f"▶ {title}", key=f"quote_btn_{name}"):
            st.session_state[CONFIRM] = (name, quote_id)
    pending = st.session_state.get(CONFIRM)
    if pending and pending[1] == quote_id:
        if pending[0] == "mail":
            mail_dialog(ctx, quote_id)
        else:
            confirm_dialog(ctx, pending[0], quote_id, label, request)


# --- draft editor ---------------------------------------------------------------------


def quote_editor(ctx: PageContext) -> None:
    quote_id = _selected()
    with session_scope(write=False) as session:
        quote = service.get_quote(session, quote_id) if quote_id else None
        if quote is not None and quote.is_sent:
            quote = None
        allowed = invoices.allowed_tax_options(session, invoices.today())
        default_until = service.default_valid_until(session)
    contacts = invoice_ui._contact_options()
    if not contacts:
        st.info("Bitte legen Sie zuerst einen Kunden an (Kunden → Personen).")
        return
    if not allowed:
        st.warning(
            "Für heute ist keine Besteuerung hinterlegt (Einstellungen → Besteuerung): ohne "
            "sie ist unklar, ob das Angebot Umsatzsteuer ausweist."
        )
        return
    key = f"quote_{quote.id if quote else 'new'}"
    st.caption(f"Angebotsentwurf {quote.id} bearbeiten" if quote else "Neues Angebot")
    tax_labels = [invoices.TAX_OPTIONS[k].label for k in allowed]
    frame, generation, choices = invoice_ui.positions_state(key, quote, tax_labels[0])
    with st.form(key):
        contact_id = st.selectbox(
            LABELS["contact_id"],
            list(contacts),
            format_func=labels_of(contacts),
            index=list(contacts).index(quote.contact_id)
            if quote and quote.contact_id in contacts
            else None,
            placeholder="Kunde wählen …",
        )
        valid_until: date = st.date_input(
            LABELS["valid_until"],
            value=quote.valid_until if quote else default_until,
            format="DD.MM.YYYY",
        )
        lines, insert, chosen = invoice_ui.positions_editor(
            key, frame, generation, tax_labels, choices
        )
        intro = st.text_area(
            LABELS["intro_text"],
            value=quote.intro_text if quote else "gern bieten wir Ihnen an:",
        )
        closing = st.text_area(
            LABELS["closing_text"],
            value=quote.closing_text if quote else "Wir freuen uns auf Ihren Auftrag.",
        )
        submitted = st.form_submit_button("Angebot speichern", type="primary")
    if insert:
        invoice_ui.insert_picked(key, lines, chosen, allowed, generation)
    if submitted:
        with saving(LABELS) as result, session_scope() as session:
            saved = service.save_quote(
                session,
                quote_id=quote.id if quote else None,
                version=quote.version if quote else None,
                actor=ctx.user.username,
                contact_id=contact_id,
                valid_until=valid_until,
                intro_text=intro,
                closing_text=closing,
                lines=invoice_ui.positions_from_editor(lines, allowed),
            )
            saved_id, total = saved.id, saved.gross_total
        if result["ok"]:
            invoice_ui.forget_picked(key)
            st.session_state[SELECTED] = saved_id
            st.success(
                f"Angebotsentwurf {saved_id} gespeichert: {format_money(total)} brutto. "
                "Zum Versenden ▶ „Angebot abschließen“ in der Liste „Angebote“."
            )


def render_quotes_page(ctx: PageContext) -> None:
    """The Angebote an Kunden page: flash, then the tabs list (with detail) and editor."""
    show_flash(FLASH)
    names = ["Angebote"]
    may_write = ctx.may(Permission.INVOICES_WRITE)
    names += ["Angebot bearbeiten"] if may_write else []
    tabs = iter(st.tabs(names))
    with next(tabs):
        quote_list()
        selected = _selected()
        if selected is not None:
            st.divider()
            quote_detail(ctx, selected)
    if may_write:
        with next(tabs):
            if st.button("Neues Angebot", key="quote_new", icon=":material/add:"):
                st.session_state.pop(SELECTED, None)
                for suffix in ("rows", "gen", "note"):
                    st.session_state.pop(f"quote_new_{suffix}", None)
                st.rerun()
            quote_editor(ctx)

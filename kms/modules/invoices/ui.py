"""Streamlit parts of Rechnungen: the page (list with filters and sums, draft editor, detail
with originals and history; ▶ abschließen, stornieren, korrigieren, Zahlung, Mahnung, E-Mail as
confirmed dialogs) and the invoices section on a contact's detail view."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import pandas as pd
import streamlit as st

from kms.audit import history
from kms.db import session_scope
from kms.einvoice.messages import BUYER_REFERENCE_EXPLANATION
from kms.einvoice.model import EINVOICE_FORMAT_LABELS, GERMAN_UNITS
from kms.errors import KmsError
from kms.formatting import (
    count_noun,
    format_amount,
    format_date,
    format_datetime,
    format_money,
    format_number,
    format_unit_price,
)
from kms.functions import log_function_run
from kms.mail import MailError
from kms.modules.invoices import (
    FUNCTIONS,
    articles,
    config,
    payments,
    service,
    storage,
)
from kms.modules.invoices.models import (
    PAYMENT_METHODS,
    Article,
    Invoice,
    InvoiceAllowance,
    InvoiceLine,
    Payment,
)
from kms.modules.invoices.quotes import service as quotes
from kms.modules.invoices.sepa.ui import mandate_caption, mandate_choice
from kms.modules.settings import ui as settings_ui
from kms.permissions import Permission
from kms.ui import forms
from kms.ui.forms import CHOOSE, has_extension, labels_of, saving
from kms.ui.lazy import LazyModule
from kms.ui.page import PageContext
from kms.ui.paging import pager, requested_page
from kms.ui.tables import download_buttons, show_plan
from kms.ui.text import plain

# PDF, e-invoice and mail code loads when a dialog or the detail first needs it.
dunning = LazyModule("kms.modules.invoices.dunning")
issuing = LazyModule("kms.modules.invoices.issuing")
mailing = LazyModule("kms.modules.invoices.mailing")

FN = {f.key.removeprefix("invoices_"): f.key for f in FUNCTIONS}
PAGE_SIZE = 25
SELECTED = "inv_selected"
UNIT_LABELS = [u.label for u in GERMAN_UNITS]
UNIT_BY_LABEL = {u.label: u.code for u in GERMAN_UNITS}
DISCOUNTS = {"": "—", "percent": "%", "amount": "€"}
ALLOWANCE_DIRECTIONS = {False: "Rabatt", True: "Zuschlag"}
FORMAT_CHOICES = {"": "wie beim Kunden hinterlegt", **EINVOICE_FORMAT_LABELS}
LABELS = {
    "contact_id": "Kunde",
    "period_end": "Leistungszeitraum",
    "payment_term_days": "Zahlungsziel",
    "skonto_percent": "Skonto",
    "buyer_reference": "Käuferreferenz / Leitweg-ID",
    "einvoice_format": "E-Rechnungsformat",
    "allowances": "Rabatte und Zuschläge",
    "amount": "Betrag",
    "paid_on": "Zahlungsdatum",
    "skonto": "Skonto",
    "to": "Empfänger",
    "subject": "Betreff",
    "level": "Mahnstufe",
    "letter_date": "Datum",
    "invoice_format": "Rechnungsnummern",
    "cancellation_format": "Stornonummern",
    "base_rate": "Basiszinssatz",
    "reminder_days": "Zahlungsfrist in Mahnungen",
    "quote_format": "Angebotsnummern",
    "quote_valid_days": "Angebote gültig",
    "sepa_notice_days": "Vorabankündigung SEPA-Lastschrift",
    "mail_subject": "Betreff",
    "mail_body": "Text",
}


def _selected() -> int | None:
    value = st.session_state.get(SELECTED)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pick() -> None:
    """Remember the invoice picked in the list (only real ids: after a number was assigned
    the browser may send back the old label of the option)."""
    value = st.session_state.get("inv_pick")
    if isinstance(value, int):
        st.session_state[SELECTED] = value


def _close(ctx: PageContext, name: str) -> None:
    ctx.close_function(FN[name])
    st.rerun()


def _done(ctx: PageContext, name: str, message: str) -> None:
    """Close the dialog and show the outcome on the page after the rerun."""
    log_function_run(FN[name], ctx.user.username, "ok", message)
    st.session_state["inv_flash"] = message
    _close(ctx, name)


def _need_selection(ctx: PageContext, name: str) -> int | None:
    """The selected invoice, or a hint in the dialog."""
    invoice_id = _selected()
    if invoice_id is None:
        st.info("Bitte wählen Sie zuerst in der Liste eine Rechnung aus.")
        if st.button("Schließen", key=f"close_{name}"):
            _close(ctx, name)
    return invoice_id


# --- ▶ dialogs ----------------------------------------------------------------------


@st.dialog("▶ Rechnung abschließen", width="large")
def issue_dialog(ctx: PageContext) -> None:
    invoice_id = _need_selection(ctx, "issue")
    if invoice_id is None:
        return
    with session_scope(write=False) as session:
        invoice = service.get_invoice(session, invoice_id)
        label, gross, issued = invoice.label, invoice.gross_total, invoice.is_issued
    if issued:
        st.info(f"{plain(label)} ist bereits abgeschlossen.")
        return
    st.write(
        f"{plain(label)} über **{format_money(gross)}** wird geprüft, erhält die nächste "
        "Rechnungsnummer und das heutige Datum und ist danach **nicht mehr änderbar**."
    )
    c1, c2 = st.columns(2)
    if c2.button("Abbrechen", key="issue_cancel"):
        _close(ctx, "issue")
    if c1.button("Prüfen und abschließen", type="primary", key="issue_go"):
        try:
            with st.spinner("Prüfe Pflichtangaben und E-Rechnung (EN 16931, XRechnung) …"):
                invoice = issuing.issue_invoice(invoice_id, actor=ctx.user.username)
        except issuing.IssueRefused as exc:
            st.error("Die Rechnung kann noch nicht abgeschlossen werden:")
            st.markdown("\n".join(f"- {plain(line)}" for line in issuing.describe_refusal(exc)))
            log_function_run(FN["issue"], ctx.user.username, "fehler", exc.message[:500])
            return
        st.session_state[SELECTED] = invoice.id
        _done(ctx, "issue", f"Rechnung {invoice.number} ist ausgestellt.")


def _confirm_dialog(ctx: PageContext, name: str, action, text: str) -> None:  # type: ignore[no-untyped-def]
    invoice_id = _need_selection(ctx, name)
    if invoice_id is None:
        return
    with session_scope(write=False) as session:
        label = service.get_invoice(session, invoice_id).label
    st.warning(text.format(label=plain(label)))
    c1, c2 = st.columns(2)
    if c2.button("Abbrechen", key=f"{name}_cancel"):
        _close(ctx, name)
    if c1.button("Ja, ausführen", type="primary", key=f"{name}_go"):
        with saving() as result, session_scope() as session:
            message = action(session, invoice_id)
        if result["ok"]:
            _done(ctx, name, message)


@st.dialog("▶ Stornieren")
def cancel_dialog(ctx: PageContext) -> None:
    def act(session, invoice_id):  # type: ignore[no-untyped-def]
        storno = issuing.cancel(session, invoice_id, actor=ctx.user.username)
        return f"Stornorechnung {storno.number} wurde erstellt."

    _confirm_dialog(
        ctx,
        "cancel",
        act,
        "{label} wird durch eine Stornorechnung mit eigener "
        "Nummer vollständig aufgehoben. Das lässt sich nicht rückgängig machen.",
    )


@st.dialog("▶ Korrigieren")
def correct_dialog(ctx: PageContext) -> None:
    def act(session, invoice_id):  # type: ignore[no-untyped-def]
        storno, draft = issuing.correct(session, invoice_id, actor=ctx.user.username)
        st.session_state[SELECTED] = draft.id
        return f"Stornorechnung {storno.number} erstellt; neuer Entwurf {draft.id} ist angelegt."

    _confirm_dialog(
        ctx,
        "correct",
        act,
        "{label} wird storniert, und ein neuer Entwurf mit "
        "denselben Daten wird angelegt. Die Stornierung ist endgültig.",
    )


AMEND_EXPLANATION = (
    "Eine **Rechnungskorrektur** ändert nur einen Teil der Rechnung: sie bekommt eine eigene "
    "Rechnungsnummer und enthält nur die Differenz (z. B. eine Position mit Menge -1). Die "
    "Rechnung bleibt bestehen; ihr offener Betrag ist danach Rechnungsbetrag plus Korrektur. "
    "▶ Stornieren hebt dagegen die ganze Rechnung auf, ▶ Korrigieren storniert sie und legt "
    "sie neu an."
)


@st.dialog("▶ Teilkorrektur erstellen", width="large")
def amend_dialog(ctx: PageContext) -> None:
    invoice_id = _selected()
    chosen: list[int] = []
    if invoice_id is not None:
        with session_scope(write=False) as session:
            lines = {
                ln.position: f"{ln.position}: {ln.description} ({format_number(ln.quantity, 4)})"
                for ln in service.get_invoice(session, invoice_id).lines
            }
        st.markdown(AMEND_EXPLANATION)
        chosen = st.multiselect(
            "Positionen übernehmen (mit negativer Menge, im Entwurf anpassbar)",
            options=list(lines),
            format_func=lambda position: plain(lines[position]),
            placeholder="keine: leerer Entwurf",
            key="amend_positions",
        )

    def act(session, invoice_id):  # type: ignore[no-untyped-def]
        draft = issuing.create_correction(
            session, invoice_id, positions=tuple(chosen), actor=ctx.user.username
        )
        st.session_state[SELECTED] = draft.id
        return f"Entwurf {draft.id} der Rechnungskorrektur ist angelegt."

    _confirm_dialog(
        ctx,
        "amend",
        act,
        "Für {label} wird der Entwurf einer Rechnungskorrektur angelegt. Sie bearbeiten ihn "
        "unter „Entwurf bearbeiten“ und schließen ihn wie eine Rechnung ab.",
    )


@st.dialog("▶ Zahlung erfassen")
def payment_dialog(ctx: PageContext) -> None:
    invoice_id = _need_selection(ctx, "payment")
    if invoice_id is None:
        return
    with session_scope(write=False) as session:
        invoice = service.get_invoice(session, invoice_id)
        open_now = service.open_amount(session, invoice)
        offer = payments.skonto_offer(invoice)
        label = invoice.label
    st.write(f"{plain(label)}: offen **{format_money(open_now)}**")
    if offer:
        st.caption(
            f"Skonto {format_number(offer.percent)} % bis {format_date(offer.until)}: "
            f"{format_money(offer.amount)}"
        )
    with st.form("payment_form"):
        paid_on = st.date_input(LABELS["paid_on"], value=service.today(), format="DD.MM.YYYY")
        amount = st.text_input(LABELS["amount"], value=format_amount(open_now))
        method = st.selectbox(
            "Zahlungsart",
            list(PAYMENT_METHODS),
            format_func=labels_of(PAYMENT_METHODS),
            placeholder=CHOOSE,
        )
        skonto = st.checkbox("mit Skonto", disabled=offer is None)
        over = st.checkbox("Mehrbetrag als Überzahlung buchen")
        note = st.text_input("Notiz")
        submitted = st.form_submit_button("Zahlung speichern", type="primary")
    if submitted:
        with saving(LABELS) as result, session_scope() as session:
            payments.record_payment(
                session,
                invoice_id,
                paid_on=paid_on,
                amount=amount,
                method=cast(str, method),  # never None: the box has a default
                skonto=skonto,
                overpayment=over,
                note=note,
                actor=ctx.user.username,
            )
        if result["ok"]:
            _done(ctx, "payment", f"Zahlung zu {label} gespeichert.")
    if st.button("Schließen", key="payment_close"):
        _close(ctx, "payment")


@st.dialog("▶ Rückbuchung erfassen")
def return_dialog(ctx: PageContext) -> None:
    """A Rücklastschrift or chargeback by hand (the bank import books those it recognises)."""
    invoice_id = _need_selection(ctx, "payment_return")
    if invoice_id is None:
        return
    with session_scope(write=False) as session:
        label = service.get_invoice(session, invoice_id).label
        returned = payments.returned_payment_ids(session, invoice_id)
        choices = {
            p.id: f"{format_date(p.paid_on)}: {format_money(p.amount)} "
            f"({PAYMENT_METHODS[p.method]})"
            for p in payments.payments_of(session, invoice_id)
            if p.returns_payment_id is None and p.id not in returned
        }
    if not choices:
        st.info(f"Zu {plain(label)} gibt es keine Zahlung, die zurückgebucht werden kann.")
    else:
        st.caption(
            "Eine zurückgegebene Lastschrift oder eine Rückbuchung des Zahlungsdienstes: die "
            "Zahlung bleibt erhalten, eine Gegenbuchung nimmt sie zurück, und die Rechnung ist "
            "wieder offen. Die Rückbuchung ist endgültig."
        )
        with st.form("payment_return_form"):
            payment_id = st.selectbox(
                "Zahlung",
                list(choices),
                format_func=choices.__getitem__,
                index=None,
                placeholder=CHOOSE,
            )
            returned_on = st.date_input(
                "Datum der Rückbuchung", value=service.today(), format="DD.MM.YYYY"
            )
            reason = st.text_input("Grund (z. B. Konto erloschen, Widerspruch)")
            submitted = st.form_submit_button("Rückbuchung speichern", type="primary")
        if submitted and payment_id is None:
            st.error("Bitte die zurückgebuchte Zahlung wählen.")
        elif submitted and payment_id is not None:
            with saving({"returned_on": "Datum der Rückbuchung"}) as result:
                with session_scope() as session:
                    payments.return_payment(
                        session,
                        payment_id,
                        returned_on=returned_on,
                        reason=reason,
                        actor=ctx.user.username,
                    )
            if result["ok"]:
                _done(ctx, "payment_return", f"Rückbuchung zu {label} gespeichert.")
    if st.button("Schließen", key="payment_return_close"):
        _close(ctx, "payment_return")


@st.dialog("▶ Zahlungserinnerung/Mahnung", width="large")
def dunning_dialog(ctx: PageContext) -> None:
    invoice_id = _need_selection(ctx, "dunning")
    if invoice_id is None:
        return
    with session_scope(write=False) as session:
        invoice = service.get_invoice(session, invoice_id)
        level = dunning.next_level(session, invoice_id)
        label = invoice.label
    if level > 3:
        st.info(
            "Die 3. Mahnung wurde bereits erstellt; als nächstes käme das gerichtliche "
            "Mahnverfahren."
        )
        return
    st.write(f"{plain(label)}: **{dunning.LEVELS[level]}**")
    day = st.date_input(
        LABELS["letter_date"], value=service.today(), format="DD.MM.YYYY", key="dunning_date"
    )
    with session_scope(write=False) as session:
        reason = dunning.refusal(session, service.get_invoice(session, invoice_id), day)
    if reason:
        # No preview of charges for an invoice that cannot be dunned (it spoke of
        # "fällig seit" a date still to come).
        st.info(plain(reason))
        return
    with saving(LABELS), session_scope(write=False) as session:
        invoice = service.get_invoice(session, invoice_id)
        charges = dunning.compute_charges(session, invoice, level, day)
        st.markdown("\n".join(f"- {plain(line)}" for line in charges.explanation))
        st.write(
            f"Gesamt: **{format_money(charges.total)}**, neue Frist "
            f"{format_date(charges.new_due_date)}"
        )
    c1, c2 = st.columns(2)
    if c2.button("Abbrechen", key="dunning_cancel"):
        _close(ctx, "dunning")
    if c1.button("Schreiben erstellen", type="primary", key="dunning_go"):
        with saving(LABELS) as result, session_scope() as session:
            reminder = dunning.create_reminder(
                session, invoice_id, level=level, letter_date=day, actor=ctx.user.username
            )
            text = f"{dunning.LEVELS[reminder.level]} erstellt."
        if result["ok"]:
            _done(ctx, "dunning", text + " Sie finden das Schreiben unten bei der Rechnung.")


@st.dialog("▶ Per E-Mail senden", width="large")
def mail_dialog(ctx: PageContext) -> None:
    invoice_id = _need_selection(ctx, "mail")
    if invoice_id is None:
        return
    with session_scope(write=False) as session:
        letters = dunning.reminders_of(session, invoice_id)
        has_xr = storage.has_xrechnung(session, invoice_id)
        options = {0: "Rechnung / Stornorechnung"} | {
            r.id: dunning.LEVELS[r.level] for r in letters
        }
    which = st.selectbox(
        "Dokument",
        list(options),
        format_func=labels_of(options),
        key="mail_which",
        placeholder=CHOOSE,
    )
    reminder_id = which or None
    with saving(LABELS) as result, session_scope(write=False) as session:
        draft = mailing.mail_draft(session, invoice_id, reminder_id)
    if not result["ok"]:
        return
    with st.form(f"mail_form_{which}"):
        to = st.text_input(LABELS["to"], value=draft.to)
        subject = st.text_input(LABELS["subject"], value=draft.subject)
        body = st.text_area("Text", value=draft.body, height=180)
        xr = st.checkbox(
            "XRechnung (XML) anhängen",
            value=bool(has_xr),
            disabled=not has_xr or reminder_id is not None,
        )
        copy = st.checkbox("Kopie an mich", value=True)
        sent = st.form_submit_button("Senden", type="primary")
    if sent:
        error = None
        with st.spinner("Wird gesendet …"), saving(LABELS) as result, session_scope() as session:
            try:
                mailing.send_invoice_mail(
                    session,
                    invoice_id,
                    to=to,
                    subject=subject,
                    body=body,
                    reminder_id=reminder_id,
                    with_xrechnung=xr,
                    copy_to_self=copy,
                    actor=ctx.user.username,
                )
            except MailError as exc:
                error = exc.message
        if error:
            st.error(f"Nicht gesendet: {plain(error)}")
            log_function_run(FN["mail"], ctx.user.username, "fehler", error)
        elif result["ok"]:
            _done(ctx, "mail", f"„{subject}“ wurde gesendet.")
    if st.button("Schließen", key="mail_close"):
        _close(ctx, "mail")


DIALOGS = {
    "issue": issue_dialog,
    "cancel": cancel_dialog,
    "correct": correct_dialog,
    "amend": amend_dialog,
    "payment": payment_dialog,
    "payment_return": return_dialog,
    "dunning": dunning_dialog,
    "mail": mail_dialog,
}


# --- list and detail ----------------------------------------------------------------


def invoice_list() -> None:
    c1, c2, c3 = st.columns([1, 1, 2])
    statuses = {"": "alle", **service.STATUS_LABELS}
    status = c1.selectbox(
        "Status",
        list(statuses),
        format_func=labels_of(statuses),
        key="inv_status",
        placeholder=CHOOSE,
    )
    with session_scope(write=False) as session:
        years = service.invoice_years(session)
    year = c2.selectbox(
        "Jahr",
        [0, *years],
        format_func=lambda y: str(y) if y else "alle",
        key="inv_year",
        placeholder=CHOOSE,
    )
    search = c3.text_input("Suche (Nummer, Kunde, Position)", key="inv_search")
    page_no = requested_page("inv_page", (status, year, search))
    with session_scope(write=False) as session:
        found = service.list_invoices(
            session,
            status=status or None,
            year=year or None,
            search=search,
            page=page_no,
            page_size=PAGE_SIZE,
        )
    page = found.page
    if page.total == 0:
        st.info(
            "Keine Rechnungen gefunden."
            if status or year or search
            else "Noch keine Rechnungen. Legen Sie unter „Neuer Entwurf“ die erste an."
        )
        return
    rows = [
        {
            "Nummer": r.number or f"Entwurf {r.id}",
            "Datum": format_date(r.issue_date) if r.issue_date else "",
            "Kunde": r.customer,
            "Betrag": format_money(-r.gross if r.kind == "storno" else r.gross),
            "Offen": format_money(r.open) if r.open else "",
            "Fällig": format_date(r.due_date) if r.due_date else "",
            "Status": r.status_label + (" · versendet" if r.sent else ""),
        }
        for r in page.items
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(f"Summe {format_money(found.sum_gross)} · offen {format_money(found.sum_open)}")
    pager(page, key="inv_page", one="Rechnung", many="Rechnungen")
    options = {r.id: f"{r.number or f'Entwurf {r.id}'} – {r.customer}" for r in page.items}
    current = _selected()
    # The picker shows the invoice shown below, also when a dialog (Korrigieren, abschließen)
    # or "Neuer Entwurf" changed the selection: its own state would keep the old pick.
    st.session_state["inv_pick"] = current if current in options else None
    st.selectbox(
        "Rechnung öffnen",
        list(options),
        format_func=labels_of(options),
        placeholder="Rechnung auswählen …",
        key="inv_pick",
        on_change=_pick,
    )


def _download(label: str, file: storage.StoredFile, key: str) -> None:
    st.download_button(
        label,
        data=file.content,
        file_name=file.filename,
        mime=file.mime_type,
        key=key,
        icon=":material/download:",
    )


def _discount_text(line: InvoiceLine) -> str:
    """ "10 % (Treuerabatt)" or "2,00 € (Treuerabatt)"; empty without a discount."""
    if not line.discount_kind or line.discount_value is None:
        return ""
    if line.discount_kind == "percent":
        amount = f"{format_number(line.discount_value)} %"
    else:
        amount = format_money(line.discount_value)
    return f"{amount} ({line.discount_reason})" if line.discount_reason else amount


def _file_label(file: storage.StoredFile) -> str:
    """Download button text; the XRechnung names its syntax."""
    if file.role == "xrechnung_xml":
        return "XRechnung (UBL)" if file.filename.endswith("-ubl.xml") else "XRechnung (CII)"
    labels = {"pdf": "PDF (Factur-X)", "facturx_xml": "Factur-X-XML"}
    return labels.get(file.role, file.role)


def _allowance_value(row: InvoiceAllowance) -> str:
    """ "5 %" or "4,90 €"."""
    if row.kind == "percent":
        return f"{format_number(row.value)} %"
    return format_money(row.value)


def _payment_kind(payment: Payment, returned: set[int]) -> str:
    """The payments table's "Art": a return reads "Rücklastschrift", a returned payment
    says so (the note of the return carries the bank's reason)."""
    if payment.is_return:
        return "Rücklastschrift"
    kind = PAYMENT_METHODS.get(payment.method, payment.method)
    return f"{kind} (zurückgebucht)" if payment.id in returned else kind


def _correction_links(session: Any, invoice: Invoice) -> list[str]:
    """Both directions: the invoice a Rechnungskorrektur corrects, an invoice's corrections."""
    original = invoice.corrects if invoice.is_correction else None
    if original is not None:
        when = f" vom {format_date(original.issue_date)}" if original.issue_date else ""
        return [f"Korrektur zu {original.label}{when}"]
    links = [
        f"korrigiert durch {c.label} über {format_money(c.gross_total)}"
        for c in issuing.corrections_of(session, invoice.id)
    ]
    drafts = issuing.corrections_of(session, invoice.id, issued=False)
    links += [f"Korrektur in Arbeit: {d.label}" for d in drafts]
    return links


def invoice_detail(invoice_id: int) -> None:
    with session_scope(write=False) as session:
        invoice = service.get_invoice(session, invoice_id)
        status = service.status_of(session, invoice)
        open_now = service.open_amount(session, invoice)
        files = storage.files_of(session, invoice_id)
        paid = payments.payments_of(session, invoice_id)
        returned = payments.returned_payment_ids(session, invoice_id)
        letters = dunning.reminders_of(session, invoice_id)
        mails = mailing.sendings_of(session, invoice_id)
        events = history(session, "invoice", invoice_id)
        customer = service.customer_name(session, invoice)
        origin = quotes.quote_of(session, invoice_id)
        origin_label = origin.label if origin is not None else ""
        correction_links = _correction_links(session, invoice)
    st.subheader(f"{plain(invoice.label)} · {service.STATUS_LABELS[status]}", anchor=False)
    if origin_label:
        st.caption(f"aus {plain(origin_label)} (Seite „Angebote an Kunden“)")
    for link in correction_links:
        st.caption(plain(link))
    # A long customer name would be cut off in a metric tile; it gets its own line.
    st.markdown(f"Kunde: **{plain(customer)}**")
    c1, c2, c3 = st.columns(3)
    c1.metric("Betrag (brutto)", format_money(invoice.gross_total))
    c2.metric("Offen", format_money(open_now))
    c3.metric("Fällig", format_date(invoice.due_date) if invoice.due_date else "–")
    if not invoice.is_issued:
        st.info(
            "Entwurf: bearbeiten unter „Entwurf bearbeiten“; abschließen mit ▶ in der Seitenleiste."
        )
        if service.amount_problem(invoice):
            # The draft is kept as typed; only issuing and sending refuse it.
            st.warning(service.amount_problem(invoice))
    invoice_files = [f for f in files if f.reminder_id is None]
    if invoice_files:
        cols = st.columns(len(invoice_files))
        for col, f in zip(cols, invoice_files, strict=True):
            with col:
                _download(_file_label(f), f, f"dl_{f.id}")
    st.caption(
        f"{LABELS['einvoice_format']}: "
        f"{EINVOICE_FORMAT_LABELS.get(invoice.einvoice_format, invoice.einvoice_format)}"
    )
    if invoice.sepa_mandate_id:
        st.caption(plain(mandate_caption(invoice.sepa_mandate_id)))
    if invoice.lines:
        discounted = any(ln.discount_kind for ln in invoice.lines)
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Pos.": i,
                        "Beschreibung": ln.description,
                        "Menge": format_number(ln.quantity, 4),
                        "Einheit": service.UNIT_CODES.get(ln.unit_code, ln.unit_code),
                        "Einzelpreis": format_unit_price(ln.unit_price),
                        **({"Rabatt": _discount_text(ln)} if discounted else {}),
                        "Steuer": service.TAX_OPTIONS[service.tax_key(ln)].label,
                        "Netto": format_money(ln.net),
                    }
                    for i, ln in enumerate(invoice.lines, 1)
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    if invoice.allowances:
        st.markdown(f"**{LABELS['allowances']}**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Art": ALLOWANCE_DIRECTIONS[a.charge],
                        "Grund": a.reason,
                        "Wert": _allowance_value(a),
                        "Steuer": service.TAX_OPTIONS[service.tax_key(a)].label,
                        "Betrag": format_money(a.amount if a.charge else -a.amount),
                    }
                    for a in invoice.allowances
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    if paid:
        st.markdown("**Zahlungen**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Datum": format_date(p.paid_on),
                        "Betrag": format_money(p.amount),
                        "Skonto": format_money(p.skonto) if p.skonto else "",
                        "Überzahlung": format_money(p.overpayment) if p.overpayment else "",
                        "Art": _payment_kind(p, returned),
                        "Notiz": p.note,
                    }
                    for p in paid
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    for letter in letters:
        pdf = next((f for f in files if f.reminder_id == letter.id), None)
        st.write(
            f"**{dunning.LEVELS[letter.level]}** vom {format_date(letter.letter_date)}: "
            f"{format_money(letter.total)} bis {format_date(letter.new_due_date)}"
        )
        if pdf is not None:
            _download("Mahnschreiben (PDF)", pdf, f"dl_r_{pdf.id}")
    for mail in mails:
        st.caption(f"versendet {format_datetime(mail.sent_at)} an {plain(mail.recipients)}")
    with st.expander("Verlauf (Prüfprotokoll)"):
        for event in events:
            st.caption(
                f"{format_datetime(event.at)} · {plain(event.action)} · {plain(event.actor)}"
            )


# --- draft editor -------------------------------------------------------------------


def _contact_options() -> dict[int, str]:
    with session_scope(write=False) as session:
        return service.customer_choices(session)


def _editor_row(
    description: str,
    quantity: Decimal,
    unit_code: str,
    unit_price: Decimal,
    tax_label: str,
    discount_kind: str = "",
    discount_value: Decimal | None = None,
    discount_reason: str = "",
) -> dict[str, str]:
    """One row of the positions editor, as it shows a stored or a picked position."""
    return {
        "Beschreibung": description,
        "Menge": format_number(quantity, 4),
        "Einheit": service.UNIT_CODES.get(unit_code, "Stück"),
        "Einzelpreis": format_unit_price(unit_price),
        "Steuer": tax_label,
        "Rabatt": DISCOUNTS[discount_kind],
        "Rabattwert": format_number(discount_value) if discount_value else "",
        "Rabattgrund": discount_reason,
    }


def _line_frame(invoice, default_tax: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    lines = invoice.lines if invoice is not None else []
    rows = [
        _editor_row(
            ln.description,
            ln.quantity,
            ln.unit_code,
            ln.unit_price,
            service.TAX_OPTIONS[service.tax_key(ln)].label,
            ln.discount_kind,
            ln.discount_value,
            ln.discount_reason,
        )
        for ln in lines
    ]
    if not rows:
        rows = [
            {
                "Beschreibung": "",
                "Menge": "1",
                "Einheit": "Stunde",
                "Einzelpreis": "",
                "Steuer": default_tax,  # the first option of the Besteuerung, never "None"
                "Rabatt": "—",
                "Rabattwert": "",
                "Rabattgrund": "",
            }
        ]
    return pd.DataFrame(rows)


def _editor_records(lines: pd.DataFrame) -> list[dict[str, Any]]:
    """The positions editor's rows; cells of added rows come back as NaN, which is no value."""
    return cast(
        list[dict[str, Any]], lines.astype(object).where(lines.notna(), None).to_dict("records")
    )


def positions_from_editor(lines: pd.DataFrame, allowed: tuple[str, ...]) -> list[dict[str, Any]]:
    """The positions editor's rows as the service takes them (drafts, recurring templates)."""
    return [
        {
            "description": r.get("Beschreibung"),
            "quantity": r.get("Menge"),
            "unit_code": UNIT_BY_LABEL.get(r.get("Einheit") or "", ""),
            "unit_price": r.get("Einzelpreis"),
            "tax": next(
                (k for k in allowed if service.TAX_OPTIONS[k].label == r.get("Steuer")), ""
            ),
            "discount_kind": next((k for k, v in DISCOUNTS.items() if v == r.get("Rabatt")), ""),
            "discount_value": r.get("Rabattwert"),
            "discount_reason": r.get("Rabattgrund"),
        }
        for r in _editor_records(lines)
    ]


def line_columns(tax_labels: list[str]) -> dict[str, Any]:
    """The positions editor's column configuration (defaults for added rows)."""
    return {
        "Beschreibung": st.column_config.TextColumn(width="large", default=""),
        "Menge": st.column_config.TextColumn(help="z. B. 2,5", default=""),
        "Einheit": st.column_config.SelectboxColumn(options=UNIT_LABELS, default="Stunde"),
        "Einzelpreis": st.column_config.TextColumn(
            help="netto, bis 4 Nachkommastellen", default=""
        ),
        "Steuer": st.column_config.SelectboxColumn(options=tax_labels, default=tax_labels[0]),
        "Rabatt": st.column_config.SelectboxColumn(
            options=list(DISCOUNTS.values()), default=DISCOUNTS[""]
        ),
        "Rabattwert": st.column_config.TextColumn(default=""),
        "Rabattgrund": st.column_config.TextColumn(default=""),
    }


def _typed(row: dict[str, Any]) -> bool:
    """Whether anybody typed into a row (a new draft's prefilled row is not)."""
    return any(str(row.get(k) or "").strip() for k in ("Beschreibung", "Einzelpreis", "Rabattwert"))


def _picked_row(article_id: int, allowed: tuple[str, ...]) -> tuple[dict[str, str], str]:
    """The editor row of a position filled from an item, and a note when its tax had to
    change (the Besteuerung on the invoice date does not allow the item's)."""
    with session_scope(write=False) as session:
        position = articles.line_from_article(articles.get_article(session, article_id))
    key, note = position["tax"], ""
    if key not in allowed:
        note = (
            f"„{service.TAX_OPTIONS[key].label}“ der Leistung ist mit Ihrer Besteuerung nicht "
            f"möglich; die Position hat „{service.TAX_OPTIONS[allowed[0]].label}“ erhalten. "
            "Bitte prüfen."
        )
        key = allowed[0]
    row = _editor_row(
        position["description"],
        position["quantity"],
        position["unit_code"],
        position["unit_price"],
        service.TAX_OPTIONS[key].label,
    )
    return row, note


def _allowance_frame(invoice) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    rows = [
        {
            "Art": ALLOWANCE_DIRECTIONS[a.charge],
            "Grund": a.reason,
            "Wert": format_number(a.value),
            "Einheit": service.ALLOWANCE_KINDS[a.kind],
            "Steuer": service.TAX_OPTIONS[service.tax_key(a)].label,
        }
        for a in (invoice.allowances if invoice is not None else [])
    ]
    columns = ["Art", "Grund", "Wert", "Einheit", "Steuer"]
    return pd.DataFrame(rows, columns=columns).astype("object")


# --- the positions editor (invoice drafts and quotes) --------------------------------


def positions_state(key: str, document, default_tax: str):  # type: ignore[no-untyped-def]
    """(editor frame, generation, article choices) of a positions editor, and the note
    of the last "Artikel einfügen". After inserting, the editor starts again from the rows
    as they were plus the picked one (a new editor key): typed, unsaved positions are kept."""
    picked, generation = st.session_state.get(f"{key}_rows"), st.session_state.get(f"{key}_gen", 0)
    frame = pd.DataFrame(picked) if picked else _line_frame(document, default_tax)
    with session_scope(write=False) as session:
        choices = articles.article_choices(session)
    note = st.session_state.pop(f"{key}_note", None)
    if note:
        st.warning(plain(note))
    return frame, generation, choices


def positions_editor(
    key: str, frame: pd.DataFrame, generation: int, tax_labels: list[str], choices: dict[int, str]
) -> tuple[pd.DataFrame, bool, int | None]:
    """The positions table and "Artikel einfügen" (inside the caller's form): the edited
    rows, whether ▶ Einfügen was pressed, and the chosen item."""
    # Every cell has a value and a default for new rows: the editor draws a missing value
    # as "None", and a required column's empty cell says "Please fill out this cell.";
    # an incomplete row is reported by the service in German instead.
    lines = st.data_editor(
        frame,
        num_rows="dynamic",
        width="stretch",
        key=f"{key}_lines_{generation}" if generation else f"{key}_lines",
        # No column is `required`: Streamlit's browser side silently leaves out a new row
        # with an empty required cell, so a half-filled row would vanish on saving. The
        # service checks every row instead and names the incomplete one.
        # Defaults for added rows: an empty cell of a new row is drawn as "None".
        column_config=line_columns(tax_labels),
    )
    insert, chosen = False, None
    if choices:
        c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
        chosen = c1.selectbox(
            "Artikel einfügen",
            list(choices),
            index=None,
            format_func=labels_of(choices),
            placeholder="Leistung oder Artikel wählen …",
            key=f"{key}_article_{generation}",
            help="Fügt eine Position mit Text, Einheit, Preis und Steuer aus „Leistungen & "
            "Artikel“ an; sie bleibt hier änderbar. Ungespeicherte Eingaben bleiben erhalten.",
        )
        insert = c2.form_submit_button("Einfügen", icon=":material/playlist_add:")
    return lines, insert, chosen


def insert_picked(
    key: str, lines: pd.DataFrame, chosen: int | None, allowed: tuple[str, ...], generation: int
) -> None:
    """After ▶ Einfügen: keep the typed rows, append the picked item's position, rerun."""
    if chosen is None:
        st.warning("Bitte zuerst eine Leistung oder einen Artikel wählen.")
        return
    row, note = _picked_row(chosen, allowed)
    st.session_state[f"{key}_rows"] = [*(r for r in _editor_records(lines) if _typed(r)), row]
    st.session_state[f"{key}_gen"] = generation + 1
    if note:
        st.session_state[f"{key}_note"] = note
    st.rerun()


TAX_DIALOG = "inv_tax_dialog"


def _close_tax_dialog() -> None:
    st.session_state.pop(TAX_DIALOG, None)


@st.dialog("Besteuerung festlegen", on_dismiss=_close_tax_dialog)
def taxation_dialog() -> None:
    """The Einstellungen form for the Besteuerung, right here: the Rechnungen page (and what
    is on it) stays where it is."""
    if settings_ui.regime_form("invoice_regime"):
        _close_tax_dialog()
        st.session_state["inv_flash"] = "Besteuerung gespeichert."
        st.rerun()


def _needs_taxation() -> None:
    """Without a Besteuerung no draft can be saved: say so before anything is typed, and
    offer the setting in a dialog instead of a trip to Einstellungen."""
    st.warning(
        "Für heute ist keine Besteuerung hinterlegt: ohne sie ist unklar, ob Rechnungen "
        "Umsatzsteuer ausweisen. Bitte legen Sie sie zuerst fest; danach steht hier der "
        "Entwurf."
    )
    if st.button("Besteuerung festlegen", key="inv_tax_open", type="primary"):
        st.session_state[TAX_DIALOG] = True
    if st.session_state.get(TAX_DIALOG):
        taxation_dialog()


def draft_editor(ctx: PageContext) -> None:
    invoice_id = _selected()
    with session_scope(write=False) as session:
        invoice = service.get_invoice(session, invoice_id) if invoice_id else None
        if invoice is not None and invoice.is_issued:
            invoice = None
        allowed = service.allowed_tax_options(session, service.today())
    contacts = _contact_options()
    if not contacts:
        st.info("Bitte legen Sie zuerst einen Kunden an (Kunden → Personen).")
        return
    if not allowed:
        _needs_taxation()
        return
    key = f"draft_{invoice.id if invoice else 'new'}"
    st.caption(f"Entwurf {invoice.id} bearbeiten" if invoice else "Neuer Entwurf")
    tax_labels = [service.TAX_OPTIONS[k].label for k in allowed]
    frame, generation, choices = positions_state(key, invoice, tax_labels[0])
    with st.form(key):
        contact_id = st.selectbox(
            LABELS["contact_id"],
            list(contacts),
            format_func=labels_of(contacts),
            index=list(contacts).index(invoice.contact_id)
            if invoice and invoice.contact_id in contacts
            else None,
            placeholder="Kunde wählen …",
        )
        mode_options = ["Leistungsdatum", "Leistungszeitraum", "Leistungsdatum = Rechnungsdatum"]
        mode_index = 0
        if invoice is not None and invoice.period_start:
            mode_index = 1
        elif invoice is not None and invoice.service_date_is_issue_date:
            mode_index = 2
        mode = st.radio(
            "Leistung (§ 14 Abs. 4 Nr. 6 UStG)", mode_options, index=mode_index, horizontal=True
        )
        c1, c2, c3 = st.columns(3)
        today = service.today()
        service_date = c1.date_input(
            "Leistungsdatum",
            value=(invoice.service_date if invoice else None) or today,
            format="DD.MM.YYYY",
        )
        period_start = c2.date_input(
            "Zeitraum von",
            value=(invoice.period_start if invoice else None) or today.replace(day=1),
            format="DD.MM.YYYY",
        )
        period_end = c3.date_input(
            "Zeitraum bis",
            value=(invoice.period_end if invoice else None) or today,
            format="DD.MM.YYYY",
        )
        lines, insert, chosen = positions_editor(key, frame, generation, tax_labels, choices)
        st.markdown(f"**{LABELS['allowances']}** (auf die ganze Rechnung, je Steuersatz)")
        extras = st.data_editor(
            _allowance_frame(invoice),
            num_rows="dynamic",
            width="stretch",
            key=f"{key}_allowances",
            column_config={
                # Defaults for added rows: an empty cell of a new row is drawn as "None".
                "Art": st.column_config.SelectboxColumn(
                    options=list(ALLOWANCE_DIRECTIONS.values()),
                    default=next(iter(ALLOWANCE_DIRECTIONS.values())),
                ),
                "Grund": st.column_config.TextColumn(
                    width="large",
                    default="",
                    help="z. B. " + ", ".join(service.ALLOWANCE_PRESETS) + " (Pflichtangabe)",
                ),
                "Wert": st.column_config.TextColumn(default="", help="z. B. 4,90 oder 5"),
                "Einheit": st.column_config.SelectboxColumn(
                    options=list(service.ALLOWANCE_KINDS.values()),
                    default=next(iter(service.ALLOWANCE_KINDS.values())),
                ),
                "Steuer": st.column_config.SelectboxColumn(
                    options=tax_labels,
                    default=tax_labels[0],
                    help="Der Steuersatz der Positionen, auf die sich Rabatt oder Zuschlag "
                    "bezieht; Prozente werden von diesen Positionen berechnet.",
                ),
            },
        )
        c1, c2, c3 = st.columns(3)
        term = c1.number_input(
            "Zahlungsziel (Tage)", 0, 365, value=invoice.payment_term_days if invoice else 14
        )
        skonto = c2.text_input(
            "Skonto %",
            value=format_number(invoice.skonto_percent)
            if invoice and invoice.skonto_percent
            else "",
        )
        skonto_days = c3.number_input(
            "Skontofrist (Tage)", 0, 365, value=invoice.skonto_days or 0 if invoice else 0
        )
        intro = st.text_area(
            "Einleitung",
            value=invoice.intro_text
            if invoice
            else "Vielen Dank für Ihren Auftrag. Wir berechnen Ihnen:",
        )
        closing = st.text_area("Schlusstext", value=invoice.closing_text if invoice else "")
        c1, c2 = st.columns(2)
        formats = list(FORMAT_CHOICES)
        einvoice_format = c1.selectbox(
            LABELS["einvoice_format"],
            formats,
            index=formats.index(invoice.einvoice_format) if invoice else 0,
            format_func=labels_of(FORMAT_CHOICES),
            placeholder=CHOOSE,
            help="Vorgabe ist das Format, das beim Kunden hinterlegt ist.",
        )
        reference = c2.text_input(
            LABELS["buyer_reference"],
            value=invoice.buyer_reference if invoice else "",
            placeholder="leer: Angabe beim Kunden",
            help=BUYER_REFERENCE_EXPLANATION,
        )
        st.caption(BUYER_REFERENCE_EXPLANATION)
        mandate_id = mandate_choice(invoice)
        submitted = st.form_submit_button("Entwurf speichern", type="primary")
    if insert:
        insert_picked(key, lines, chosen, allowed, generation)
    if submitted:
        rows = positions_from_editor(lines, allowed)
        values: dict[str, Any] = {
            "contact_id": contact_id,
            "service_date": service_date if mode == mode_options[0] else None,
            "service_date_is_issue_date": mode == mode_options[2],
            "period_start": period_start if mode == mode_options[1] else None,
            "period_end": period_end if mode == mode_options[1] else None,
            "payment_term_days": term,
            "skonto_percent": skonto,
            "skonto_days": skonto_days,
            "intro_text": intro,
            "closing_text": closing,
            "buyer_reference": reference,
            "einvoice_format": einvoice_format,
            "sepa_mandate_id": mandate_id,
            "lines": rows,
            "allowances": [
                {
                    # None when the cell is empty: the service then goes by the reason
                    # (Versandkosten is a charge, Gesamtrabatt an allowance).
                    "charge": {v: k for k, v in ALLOWANCE_DIRECTIONS.items()}.get(r.get("Art")),
                    "reason": r.get("Grund"),
                    "value": r.get("Wert"),
                    "kind": next(
                        (k for k, v in service.ALLOWANCE_KINDS.items() if v == r.get("Einheit")),
                        "amount",
                    ),
                    "tax": next(
                        (k for k in allowed if service.TAX_OPTIONS[k].label == r.get("Steuer")),
                        "",
                    ),
                }
                for r in extras.to_dict("records")
            ],
        }
        with saving(LABELS) as result, session_scope() as session:
            saved = service.save_draft(
                session,
                invoice_id=invoice.id if invoice else None,
                version=invoice.version if invoice else None,
                actor=ctx.user.username,
                **values,
            )
            saved_id, total, problem = saved.id, saved.gross_total, service.amount_problem(saved)
        if result["ok"]:
            forget_picked(key)
            st.session_state[SELECTED] = saved_id
            st.success(
                f"Entwurf {saved_id} gespeichert: {format_money(total)} brutto."
                + (
                    ""
                    if problem
                    else " Zum Ausstellen ▶ „Rechnung abschließen“ in der Seitenleiste."
                )
            )
            if problem:
                st.warning(problem)
    if invoice is not None:
        if st.button("Entwurf löschen", key="draft_delete", icon=":material/delete:"):
            st.session_state["inv_confirm_delete"] = invoice.id
        if st.session_state.get("inv_confirm_delete") == invoice.id:
            delete_dialog(ctx, invoice.id)


def forget_picked(key: str) -> None:
    """Drop the editor rows kept after inserting items (the draft now holds them)."""
    for suffix in ("rows", "gen", "note"):
        st.session_state.pop(f"{key}_{suffix}", None)


@st.dialog("Entwurf löschen?")
def delete_dialog(ctx: PageContext, invoice_id: int) -> None:
    st.warning(f"Entwurf {invoice_id} wird endgültig gelöscht.")
    c1, c2 = st.columns(2)
    if c1.button("Löschen", type="primary", key="delete_go"):
        with saving() as result, session_scope() as session:
            service.delete_draft(session, invoice_id, actor=ctx.user.username)
        st.session_state.pop("inv_confirm_delete", None)
        if result["ok"]:
            st.session_state.pop(SELECTED, None)
            st.rerun()
    if c2.button("Abbrechen", key="delete_cancel"):
        st.session_state.pop("inv_confirm_delete", None)
        st.rerun()


def settings_form() -> None:
    with session_scope(write=False) as session:
        current = config.get_settings(session)
    with st.form("invoice_settings"):
        c1, c2 = st.columns(2)
        invoice_format = c1.text_input(
            LABELS["invoice_format"],
            current.invoice_format,
            help="{JJJJ} Jahr, {NNNN} laufende Nummer",
        )
        invoice_yearly = c2.checkbox("jährlich neu beginnen", current.invoice_yearly)
        cancel_format = c1.text_input(LABELS["cancellation_format"], current.cancellation_format)
        cancel_yearly = c2.checkbox("jährlich neu beginnen ", current.cancellation_yearly)
        base_rate = c1.text_input(
            f"{LABELS['base_rate']} (%, § 247 BGB)", format_number(current.base_rate)
        )
        base_since = c2.date_input("gültig seit", current.base_rate_since, format="DD.MM.YYYY")
        reminder_days = c1.number_input(
            LABELS["reminder_days"] + " (Tage)", 1, 60, current.reminder_days
        )
        quote_format = c1.text_input(LABELS["quote_format"], current.quote_format)
        quote_yearly = c2.checkbox("jährlich neu beginnen  ", current.quote_yearly)
        quote_days = c1.number_input(
            LABELS["quote_valid_days"] + " (Tage)", 1, 365, current.quote_valid_days
        )
        notice_days = c2.number_input(
            LABELS["sepa_notice_days"] + " (Tage vor dem Einzug)",
            1,
            14,
            current.sepa_notice_days,
            help="Nach dem SEPA-Regelwerk 14 Tage; kürzer nur, wenn mit den Kunden vereinbart.",
        )
        subject = st.text_input(f"E-Mail: {LABELS['mail_subject']}", current.mail_subject)
        body = st.text_area(
            f"E-Mail: {LABELS['mail_body']}",
            current.mail_body,
            height=160,
            help="Platzhalter: {anrede} {dokument} {nummer} {datum} {betrag} {absender}",
        )
        submitted = st.form_submit_button("Speichern", type="primary")
    if submitted:
        with saving(LABELS) as result, session_scope() as session:
            config.save_settings(
                session,
                invoice_format=invoice_format,
                invoice_yearly=invoice_yearly,
                cancellation_format=cancel_format,
                cancellation_yearly=cancel_yearly,
                base_rate=base_rate,
                base_rate_since=base_since,
                reminder_days=reminder_days,
                quote_format=quote_format,
                quote_yearly=quote_yearly,
                quote_valid_days=quote_days,
                sepa_notice_days=notice_days,
                mail_subject=subject,
                mail_body=body,
            )
        if result["ok"]:
            st.success("Gespeichert.")


def render_invoices_page(ctx: PageContext) -> None:
    """The Rechnungen page: flash, ▶ dialogs, then the tabs list, draft editor, settings."""
    forms.show_flash("inv_flash")
    for name, dialog in DIALOGS.items():
        if ctx.function_requested(FN[name]):
            dialog(ctx)
            break
    # Tabs a role may not use are left out (the services refuse them anyway).
    may_draft, may_configure = ctx.may(Permission.INVOICES_WRITE), ctx.may(Permission.SETTINGS)
    names = ["Rechnungen"]
    names += ["Entwurf bearbeiten"] if may_draft else []
    names += ["Einstellungen"] if may_configure else []
    tabs = iter(st.tabs(names))
    with next(tabs):
        invoice_list()
        selected = _selected()
        if selected is not None:
            st.divider()
            invoice_detail(selected)
    if may_draft:
        with next(tabs):
            if st.button("Neuer Entwurf", key="draft_new", icon=":material/add:"):
                st.session_state.pop(SELECTED, None)
                forget_picked("draft_new")
                st.rerun()
            _advance_form()
            draft_editor(ctx)
    if may_configure:
        with next(tabs):
            settings_form()


# --- contact detail view -------------------------------------------------------------


def panel(contact_id: int) -> None:
    """The contact's invoices (newest 20) with status, and open/total sums."""
    with session_scope(write=False) as session:
        found = service.list_invoices(session, contact_id=contact_id, page_size=20)
    page = found.page
    if page.total == 0:
        st.caption("Keine Rechnungen.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Nummer": r.number or f"Entwurf {r.id}",
                    "Datum": format_date(r.issue_date) if r.issue_date else "",
                    "Betrag": format_money(r.gross),
                    "Offen": format_money(r.open) if r.open else "",
                    "Status": r.status_label,
                }
                for r in page.items
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        f"{count_noun(page.total, 'Rechnung', 'Rechnungen')} · "
        f"Summe {format_money(found.sum_gross)} · "
        f"offen {format_money(found.sum_open)}"
    )


# --- Leistungen & Artikel -----------------------------------------------------------------

ARTICLE = "art_selected"
ARTICLE_PAGE_SIZE = 25
ARTICLE_LABELS = articles.FIELD_LABELS


def _article_tax_options() -> dict[str, str]:
    """Tax options of the form: those the Besteuerung allows today (all without one)."""
    with session_scope(write=False) as session:
        allowed = service.allowed_tax_options(session, service.today())
    return {k: service.TAX_OPTIONS[k].label for k in allowed or service.TAX_OPTIONS}


def _articles_list(ctx: PageContext) -> None:
    c1, c2 = st.columns([3, 1])
    search = c1.text_input("Suche", key="art_search", placeholder="Nummer, Bezeichnung, Text …")
    archived = c2.selectbox(
        "Anzeigen",
        list(articles.ARCHIVE_FILTERS),
        format_func=labels_of(articles.ARCHIVE_FILTERS),
        key="art_archived",
        placeholder=CHOOSE,
    )
    archived = archived or "active"
    page_no = requested_page("art_page", (search, archived))
    with session_scope(write=False) as session:
        found = articles.list_articles(
            session, search=search, archived=archived, page=page_no, page_size=ARTICLE_PAGE_SIZE
        )
        rows = [
            {
                "Nummer": a.number or "",
                "Bezeichnung": a.name,
                "Einheit": service.UNIT_CODES.get(a.unit_code, a.unit_code),
                "Einzelpreis netto": format_unit_price(a.unit_price),
                "Steuer": service.TAX_OPTIONS[service.tax_key(a)].label,
                "Status": "archiviert" if a.archived else "aktiv",
            }
            for a in found.items
        ]
        options = {a.id: (f"{a.number} · " if a.number else "") + a.name for a in found.items}
    if not rows:
        st.info("Keine Leistungen oder Artikel gefunden.")
    else:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    pager(found, key="art_page", one="Eintrag", many="Einträge")
    current = st.session_state.get(ARTICLE)
    st.session_state["art_pick"] = current if current in options else None
    st.selectbox(
        "Eintrag bearbeiten oder archivieren",
        list(options),
        format_func=labels_of(options),
        key="art_pick",
        placeholder="Eintrag wählen …",
        on_change=lambda: st.session_state.__setitem__(ARTICLE, st.session_state.get("art_pick")),
    )


def _article_form(ctx: PageContext) -> None:
    article_id = st.session_state.get(ARTICLE)
    with session_scope(write=False) as session:
        article = session.get(Article, article_id) if article_id else None
        pricing = articles.pricing_usable(session)
        if article is not None:
            session.expunge(article)
    taxes = _article_tax_options()
    tax_keys = list(taxes)
    if article is not None:
        st.caption(
            plain(f"„{article.name}“ bearbeiten" + (" (archiviert)" if article.archived else ""))
        )
        if st.button("Neuer Eintrag", key="art_new", icon=":material/add:"):
            st.session_state.pop(ARTICLE, None)
            st.rerun()
    else:
        st.caption("Neue Leistung oder neuer Artikel")
    current_tax = service.tax_key(article) if article is not None else tax_keys[0]
    with st.form(f"art_form_{article.id if article else 'new'}"):
        c1, c2 = st.columns([1, 3])
        number = c1.text_input(
            ARTICLE_LABELS["number"], value=article.number or "" if article else ""
        )
        name = c2.text_input(ARTICLE_LABELS["name"], value=article.name if article else "")
        description = st.text_area(
            ARTICLE_LABELS["description"],
            value=article.description if article else "",
            help="Erscheint in der Position unter der Bezeichnung.",
        )
        c1, c2, c3 = st.columns(3)
        unit = c1.selectbox(
            ARTICLE_LABELS["unit_code"],
            UNIT_LABELS,
            index=UNIT_LABELS.index(service.UNIT_CODES[article.unit_code])
            if article and article.unit_code in service.UNIT_CODES
            else UNIT_LABELS.index("Stunde"),
            placeholder=CHOOSE,
        )
        price = c2.text_input(
            ARTICLE_LABELS["unit_price"] + " (€)",
            value=format_unit_price(article.unit_price) if article else "",
            help="netto, bis 4 Nachkommastellen, z. B. 0,3995",
        )
        tax = c3.selectbox(
            ARTICLE_LABELS["tax"],
            tax_keys,
            index=tax_keys.index(current_tax) if current_tax in tax_keys else 0,
            format_func=labels_of(taxes),
            placeholder=CHOOSE,
        )
        offering = ""
        if pricing:
            offering = st.text_input(
                "Angebot der Preiskalkulation (Nr., optional)",
                value=str(article.offering_id or "") if article else "",
            )
        submitted = st.form_submit_button("Speichern", type="primary", disabled=ctx.read_only)
    if submitted:
        values: dict[str, Any] = {
            "number": number,
            "name": name,
            "description": description,
            "unit_code": UNIT_BY_LABEL.get(unit or "", ""),
            "unit_price": price,
            "tax": tax,
        }
        if pricing:
            values["offering_id"] = offering
        elif article is not None:
            values["offering_id"] = article.offering_id  # kept while the add-on is locked
        with saving(ARTICLE_LABELS) as result, session_scope() as session:
            if article is None:
                saved = articles.create_article(session, actor=ctx.user.username, **values)
            else:
                saved = articles.update_article(
                    session,
                    article.id,
                    version=article.version,
                    actor=ctx.user.username,
                    **values,
                )
            saved_id, saved_name = saved.id, saved.name
        if result["ok"]:
            st.session_state[ARTICLE] = saved_id
            st.session_state["art_flash"] = f"„{saved_name}“ gespeichert."
            st.rerun()
    if article is not None:
        if article.archived:
            if st.button("Wieder anbieten", key="art_unarchive", icon=":material/unarchive:"):
                with saving() as result, session_scope() as session:
                    articles.unarchive_article(session, article.id, actor=ctx.user.username)
                if result["ok"]:
                    st.session_state["art_flash"] = f"„{article.name}“ wird wieder angeboten."
                    st.rerun()
        else:
            if st.button("Archivieren", key="art_archive", icon=":material/archive:"):
                st.session_state["art_confirm_archive"] = article.id
            if st.session_state.get("art_confirm_archive") == article.id:
                archive_article_dialog(ctx, article.id, article.name)


@st.dialog("Leistung archivieren?")
def archive_article_dialog(ctx: PageContext, article_id: int, name: str) -> None:
    st.text(
        f"„{name}“ wird nicht mehr zur Auswahl angeboten. Rechnungen und Entwürfe, die den "
        "Eintrag schon enthalten, behalten ihre Positionen unverändert."
    )
    c1, c2 = st.columns(2)
    if c1.button("Archivieren", type="primary", key="art_archive_go"):
        with saving() as result, session_scope() as session:
            articles.archive_article(session, article_id, actor=ctx.user.username)
        st.session_state.pop("art_confirm_archive", None)
        if result["ok"]:
            st.session_state["art_flash"] = f"„{name}“ archiviert."
            st.rerun()
    if c2.button("Abbrechen", key="art_archive_cancel"):
        st.session_state.pop("art_confirm_archive", None)
        st.rerun()


def _articles_import(ctx: PageContext) -> None:
    st.caption(
        "CSV (Semikolon oder Komma, UTF-8 oder Windows-1252) oder Excel (XLSX). Pflichtspalten: "
        "Bezeichnung, Einheit, Einzelpreis netto; dazu Nummer, Beschreibung, Steuer, "
        "Archiviert. Importiert wird nur, wenn keine Zeile fehlerhaft ist."
    )
    upload = st.file_uploader("Datei (.csv, .txt oder .xlsx)", key="art_import_file")
    if upload is None or not has_extension(
        upload.name, ("csv", "txt", "xlsx"), "CSV- oder XLSX-Dateien"
    ):
        return
    data = upload.getvalue()
    with session_scope(write=False) as session:
        plan = articles.plan_import(session, data)
    show_plan(plan, plan.preview())
    if st.button(
        f"{len(plan.rows)} Zeilen importieren",
        type="primary",
        disabled=not plan.ok or ctx.read_only or not plan.rows,
        key="art_import_go",
    ):
        with saving() as result, session_scope() as session:
            done = articles.import_articles(session, data, actor=ctx.user.username)
            if not done.ok:
                raise KmsError(
                    "Die Daten haben sich inzwischen geändert: "
                    + " ".join(done.problem_lines()[:5])
                )
        if result["ok"]:
            st.success(f"{done.created} Einträge importiert.")


def _articles_export() -> None:
    archived = st.checkbox("Archivierte einschließen", value=True, key="art_export_archived")
    filters = {"archived": "all" if archived else "active"}

    def make(fmt: str) -> bytes:
        with session_scope(write=False) as session:
            if fmt == "xlsx":
                return articles.export_xlsx(session, **filters)
            return articles.export_csv(session, **filters)

    download_buttons(make, "leistungen-artikel", key="art_export")


def render_articles_page(ctx: PageContext) -> None:
    """Leistungen & Artikel: the list, the form (new or selected), import and export."""
    forms.show_flash("art_flash")
    may_write, may_export = ctx.may(Permission.INVOICES_WRITE), ctx.may(Permission.EXPORT)
    names = ["Liste"]
    names += ["Eintrag bearbeiten"] if may_write else []
    names += ["Import"] if may_write else []
    names += ["Export"] if may_export else []
    tabs = iter(st.tabs(names))
    with next(tabs):
        _articles_list(ctx)
    if may_write:
        with next(tabs):
            _article_form(ctx)
        with next(tabs):
            _articles_import(ctx)
    if may_export:
        with next(tabs):
            _articles_export()


# --- Abschlags- und Schlussrechnungen (kms.modules.invoices.advance) ---------------

ADVANCE_KINDS = {"abschlag": "Abschlagsrechnung", "schluss": "Schlussrechnung"}
ADVANCE_SHARES = {"percent": "Prozent des Auftragswerts", "amount": "Betrag (netto)"}
ADVANCE_LABELS = {
    "order_reference": "Auftrag",
    "order_value": "Auftragswert (netto)",
    "percent": "Prozent",
    "amount": "Betrag",
    "contact_id": "Kunde",
}


def _advance_form() -> None:
    """▸ Abschlags- oder Schlussrechnung anlegen: collects the inputs, calls the service;
    the new draft is then selected, checked and issued like every other draft."""
    from kms.modules.invoices import advance

    with session_scope(write=False) as session:
        allowed = service.allowed_tax_options(session, service.today())
    contacts = _contact_options()
    if not contacts or not allowed:
        return
    with st.expander("Abschlags- oder Schlussrechnung anlegen"):
        kind = st.radio(
            "Art",
            list(ADVANCE_KINDS),
            format_func=labels_of(ADVANCE_KINDS),
            horizontal=True,
            key="adv_kind",
        )
        contact_id = st.selectbox(
            "Kunde",
            list(contacts),
            index=None,
            format_func=labels_of(contacts),
            placeholder=CHOOSE,
            key="adv_contact",
        )
        order = st.text_input(
            "Auftrag",
            key="adv_order",
            help="Verbindet die Abschlagsrechnungen mit der Schlussrechnung, z. B. "
            "„Auftrag 2026-17 Dachsanierung“.",
        )
        day = service.today()
        if kind == "abschlag":
            value = st.text_input("Auftragswert (netto, zu diesem Steuersatz)", key="adv_value")
            share = st.radio(
                "Abschlag als",
                list(ADVANCE_SHARES),
                format_func=labels_of(ADVANCE_SHARES),
                key="adv_share",
            )
            number = st.text_input("Prozent" if share == "percent" else "Betrag", key="adv_num")
            tax = st.selectbox(
                "Steuersatz",
                list(allowed),
                format_func=lambda k: service.TAX_OPTIONS[k].label,
                placeholder=CHOOSE,
                key="adv_tax",
            )
            if st.button("Abschlagsrechnung anlegen", key="adv_create"):
                created = forms.in_session(
                    lambda s: (
                        advance.create_advance_draft(
                            s,
                            contact_id=contact_id or 0,
                            order_reference=order,
                            order_value=value,
                            percent=number if share == "percent" else None,
                            amount=number if share == "amount" else None,
                            tax=tax or "",
                            service_date=day,
                        ).id
                    ),
                    ADVANCE_LABELS,
                )
                _advance_created(created)
            return
        st.caption("Gesamtleistung des Auftrags (die Abschläge werden automatisch abgezogen):")
        tax_labels = [service.TAX_OPTIONS[k].label for k in allowed]
        columns = line_columns(tax_labels)
        lines = st.data_editor(
            pd.DataFrame(columns=list(columns), dtype=object),
            num_rows="dynamic",
            column_config=columns,
            key="adv_lines",
            hide_index=True,
        )
        if st.button("Schlussrechnung anlegen", key="adv_final"):
            created = forms.in_session(
                lambda s: (
                    advance.create_final_draft(
                        s,
                        contact_id=contact_id or 0,
                        order_reference=order,
                        lines=positions_from_editor(lines, allowed),
                        service_date=day,
                    ).id
                ),
                ADVANCE_LABELS,
            )
            _advance_created(created)


def _advance_created(draft_id: int | None) -> None:
    if draft_id is None:
        return  # the German error is shown already
    st.session_state[SELECTED] = draft_id
    forms.flash(
        "inv_flash",
        f"Entwurf {draft_id} angelegt: bitte prüfen und ▶ Rechnung abschließen (bei einer "
        "Schlussrechnung berechnet jedes Speichern die Abzüge der Abschlagsrechnungen neu).",
    )
    st.rerun()

"""Rechnungseingang UI: upload, list, detail view, ▶ Als Ausgabe buchen, Verwerfen, Download.

Every text from a supplier's file is shown through st.dataframe, st.text or st.caption
with plain strings that went through kms.ui.text.plain where Streamlit renders Markdown:
no Markdown or HTML of a supplier ever reaches the page.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from kms.db import session_scope
from kms.einvoice.model import unit_label
from kms.errors import KmsError
from kms.formatting import format_date, format_money
from kms.modules.intake import service
from kms.modules.intake.models import BOOKED, NEW, SOURCES, STATUSES, ReceivedInvoice
from kms.modules.intake.parse import TYPE_CODES, VAT_CATEGORIES, ParsedInvoice
from kms.modules.ledger import service as ledger
from kms.modules.ledger import taxkeys
from kms.permissions import Permission
from kms.ui.forms import CHOOSE, labels_of, saving
from kms.ui.page import PageContext
from kms.ui.paging import pager, requested_page
from kms.ui.text import plain

PAGE_SIZE = 25
SELECTED = "intake_selected"
FLASH = "intake_flash"


def _money(value: Any, currency: str = "EUR") -> str:
    if value is None:
        return ""
    if currency and currency != "EUR":
        return f"{value} {currency}"
    return format_money(value)


def _day(value: Any) -> str:
    return format_date(value) if value else ""


def render_intake(ctx: PageContext) -> None:
    for kind, text in st.session_state.pop(FLASH, []):
        (st.success if kind == "ok" else st.error)(plain(text))
    writable = ctx.may(Permission.LEDGER_WRITE) and not ctx.read_only
    if writable:
        upload_form(ctx)
    if ctx.may(Permission.SETTINGS) and not ctx.read_only:
        mailbox_settings()
    invoice_list()
    selected = st.session_state.get(SELECTED)
    if selected:
        detail(ctx, int(selected), writable)
    elif ctx.function_requested("intake.book"):
        st.info("Bitte zuerst eine Eingangsrechnung in der Liste auswählen.")
        ctx.close_function("intake.book")


def upload_form(ctx: PageContext) -> None:
    with st.form("intake_upload", clear_on_submit=True):
        files = st.file_uploader(
            "Eingangsrechnungen hochladen (XRechnung, ZUGFeRD/Factur-X, PDF, JPEG, PNG)",
            accept_multiple_files=True,
            key="intake_files",
        )
        submitted = st.form_submit_button("Einlesen", key="intake_upload_submit")
    if not submitted or not files:
        return
    messages: list[tuple[str, str]] = []
    for upload in files:
        name = upload.name
        try:
            with session_scope() as session:
                result = service.receive(
                    session, upload.getvalue(), name, source="upload", actor=ctx.user.username
                )
                messages.append(("ok", f"{name}: angenommen – {result.summary}"))
        except KmsError as exc:
            messages.append(("error", f"{name}: {exc.message}"))
    st.session_state[FLASH] = messages
    st.rerun()


def invoice_list() -> None:
    c1, c2 = st.columns([3, 1])
    search = c1.text_input("Suche (Lieferant, Rechnungsnummer, Dateiname)", key="intake_search")
    status = c2.selectbox(
        "Status",
        list(STATUSES),
        index=None,
        format_func=labels_of(STATUSES),
        placeholder="alle",
        key="intake_status",
    )
    page_no = requested_page("intake_page", (search, status))
    with session_scope(write=False) as session:
        result = service.list_invoices(
            session, status=status or "", search=search, page=page_no, size=PAGE_SIZE
        )
        rows = [
            {
                "Nr.": r.id,
                "Eingang": _day(r.received_at.date()),
                "Lieferant": r.seller_name,
                "Rechnungsnr.": r.invoice_number,
                "Datum": _day(r.issue_date),
                "Brutto": _money(r.gross, r.currency),
                "Art": "E-Rechnung" if r.kind == "erechnung" else "sonstige Rechnung / Beleg",
                "Prüfung": r.validation_label,
                "Status": r.status_label,
                "Datei": r.filename,
            }
            for r in result.items
        ]
    if not rows:
        st.info("Noch keine Eingangsrechnungen.")
        return
    event = st.dataframe(
        rows,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="intake_table",
    )
    chosen = getattr(getattr(event, "selection", None), "rows", None) or []
    if chosen:
        st.session_state[SELECTED] = rows[chosen[0]]["Nr."]
    pager(result, key="intake_page", one="Eingangsrechnung", many="Eingangsrechnungen")
    ids = [r["Nr."] for r in rows]
    names = {
        r["Nr."]: " · ".join(str(v) for v in (r["Lieferant"], r["Rechnungsnr."]) if v) for r in rows
    }
    st.selectbox(
        "Eingangsrechnung anzeigen",
        ids,
        index=None,
        format_func=lambda n: f"Nr. {n} – {names[n]}" if names.get(n) else f"Nr. {n}",
        placeholder=CHOOSE,
        key="intake_pick",
        on_change=_pick,
    )


def _pick() -> None:
    st.session_state[SELECTED] = st.session_state.get("intake_pick")


def detail(ctx: PageContext, invoice_id: int, writable: bool) -> None:
    try:
        with session_scope(write=False) as session:
            record = service.get(session, invoice_id)
            parsed = service.parsed_of(session, record)
            content = service.original(session, record)
            session.expunge(record)
    except KmsError as exc:
        st.error(plain(exc.message))
        st.session_state.pop(SELECTED, None)
        return
    st.subheader(f"Eingang Nr. {record.id}")
    st.text(
        f"{parsed.kind_label}"
        + (f" · Profil: {record.profile_label}" if record.profile_label else "")
        + (f" · {parsed.syntax}" if parsed.syntax else "")
        + f" · Status: {record.status_label}"
        + f" · Quelle: {SOURCES.get(record.source, record.source)}"
    )
    for note in parsed.notes:
        st.caption(plain(note))
    if parsed.syntax:
        _invoice_view(parsed)
    _findings(record)
    st.download_button(
        "Original herunterladen",
        data=content,
        file_name=record.filename or f"eingang-{record.id}",
        mime="application/octet-stream",
        key="intake_download",
    )
    if not writable:
        return
    if record.status == NEW:
        booking_form(ctx, record, parsed)
        discard_form(ctx, record)
    elif record.status == BOOKED:
        st.caption(f"Gebucht als Buchung {record.booking_id}.")


def _party_lines(label: str, party: Any) -> None:
    st.text(label)
    parts = [
        party.name,
        party.street,
        " ".join(p for p in (party.postcode, party.city) if p),
        party.country,
        f"USt-IdNr.: {party.vat_id}" if party.vat_id else "",
        f"Steuernummer: {party.tax_number}" if party.tax_number else "",
        f"E-Mail: {party.email}" if party.email else "",
    ]
    st.text("\n".join(p for p in parts if p) or "–")


def _invoice_view(parsed: ParsedInvoice) -> None:
    c1, c2 = st.columns(2)
    with c1:
        _party_lines("Verkäufer (Lieferant)", parsed.seller)
    with c2:
        _party_lines("Käufer", parsed.buyer)
    period = ""
    if parsed.period_start or parsed.period_end:
        period = f"{_day(parsed.period_start)} – {_day(parsed.period_end)}"
    head = [
        ("Rechnungsnummer", parsed.number),
        ("Art", TYPE_CODES.get(parsed.type_code, parsed.type_code)),
        ("Rechnungsdatum", _day(parsed.issue_date)),
        ("Fällig am", _day(parsed.due_date)),
        ("Leistungszeitraum", period),
        ("Währung", parsed.currency),
    ]
    st.dataframe(
        [{"Angabe": k, "Wert": v} for k, v in head if v], hide_index=True, key="intake_head"
    )
    if parsed.positions:
        st.text("Positionen")
        st.dataframe(
            [
                {
                    "Bezeichnung": p.name,
                    "Menge": "" if p.quantity is None else f"{p.quantity.normalize():f}",
                    "Einheit": unit_label(p.unit) if p.unit else "",
                    "Einzelpreis netto": _money(p.net_price, parsed.currency),
                    "Netto": _money(p.net_amount, parsed.currency),
                    "USt": f"{p.category} {'' if p.rate is None else f'{p.rate.normalize():f} %'}",
                }
                for p in parsed.positions
            ],
            hide_index=True,
            key="intake_positions",
        )
    if parsed.taxes:
        st.text("Umsatzsteuer")
        st.dataframe(
            [
                {
                    "Kategorie": VAT_CATEGORIES.get(t.category, t.category),
                    "Satz": "" if t.rate is None else f"{t.rate.normalize():f} %",
                    "Netto": _money(t.basis, parsed.currency),
                    "Steuer": _money(t.tax, parsed.currency),
                    "Befreiungsgrund": t.exemption_reason,
                }
                for t in parsed.taxes
            ],
            hide_index=True,
            key="intake_taxes",
        )
    totals = parsed.totals
    st.dataframe(
        [
            {"Summe": "Netto", "Betrag": _money(totals.net, parsed.currency)},
            {"Summe": "Umsatzsteuer", "Betrag": _money(totals.tax, parsed.currency)},
            {"Summe": "Brutto", "Betrag": _money(totals.gross, parsed.currency)},
            {"Summe": "Zahlbetrag", "Betrag": _money(totals.due, parsed.currency)},
        ],
        hide_index=True,
        key="intake_totals",
    )
    _payment(parsed)


def _payment(parsed: ParsedInvoice) -> None:
    lines = [
        f"IBAN: {parsed.iban}" if parsed.iban else "",
        f"BIC: {parsed.bic}" if parsed.bic else "",
        f"Kontoinhaber: {parsed.account_name}" if parsed.account_name else "",
        f"Verwendungszweck: {parsed.payment_reference}" if parsed.payment_reference else "",
        f"Zahlungsbedingungen: {parsed.payment_terms}" if parsed.payment_terms else "",
    ]
    text = "\n".join(x for x in lines if x)
    if not text:
        return
    st.text("Zahlung")
    st.text(text)
    due = parsed.totals.due
    if parsed.iban and due is not None and due > 0 and parsed.currency in ("", "EUR"):
        from kms.rendering.girocode import GiroCode, girocode_png

        try:
            png = girocode_png(
                GiroCode(
                    name=(parsed.account_name or parsed.seller.name)[:70],
                    iban=parsed.iban,
                    amount=due,
                    remittance=(parsed.payment_reference or parsed.number)[:140],
                    bic=parsed.bic,
                )
            )
        except (KmsError, ValueError) as exc:  # RenderError: a German message
            st.caption(plain(f"Kein GiroCode: {exc}"))
        else:
            st.image(png, caption="GiroCode zum Bezahlen", width=180)


def _findings(record: ReceivedInvoice) -> None:
    findings = record.findings or []
    if record.validation == "ungeprueft":
        st.caption("Nicht als E-Rechnung geprüft (sonstige Rechnung / Beleg).")
        return
    if not findings:
        st.success("Prüfung: gültig (XSD und EN-16931-Regeln).")
        return
    errors = sum(1 for f in findings if f.get("severity") == "error")
    summary = f"Prüfung: {errors} Fehler, {len(findings) - errors} Hinweise."
    if errors:
        st.warning(summary + " Das Original ist trotzdem archiviert; Sie entscheiden.")
    else:
        st.info(summary)
    st.dataframe(
        [
            {
                "Regel": f.get("rule", ""),
                "Art": "Fehler" if f.get("severity") == "error" else "Hinweis",
                "Meldung": f.get("message", ""),
                "Stelle": f.get("location", ""),
            }
            for f in findings
        ],
        hide_index=True,
        key="intake_findings",
    )


def booking_form(ctx: PageContext, record: ReceivedInvoice, parsed: ParsedInvoice) -> None:
    st.subheader("Als Ausgabe buchen")
    try:
        with session_scope(write=False) as session:
            plan = service.proposal(session, record, parsed)
            accounts = {a.id: a.name for a in ledger.list_accounts(session)}
            categories = {c.id: c.name for c in ledger.list_categories(session, "ausgabe")}
            supplier = plan.contact.display_name if plan.contact is not None else ""
    except KmsError as exc:
        st.info(plain(exc.message))
        return
    if not accounts:
        st.info("Bitte legen Sie zuerst auf der Seite „Konten“ ein Bank- oder Kassenkonto an.")
        return
    day = plan.booking_date
    st.dataframe(
        [
            {
                "Text": ln.text,
                "Steuerschlüssel": taxkeys.label(ln.tax_key, day),
                "Netto": format_money(ln.net),
                "USt laut Rechnung": format_money(ln.tax),
                "Buchungsbetrag": format_money(ln.amount),
            }
            for ln in plan.lines
        ],
        hide_index=True,
        key="intake_plan",
    )
    st.caption(
        plain(
            f"Lieferant: {supplier} (vorhandener Kontakt)"
            if supplier
            else "Lieferant: wird als Organisation angelegt."
        )
    )
    for remark in plan.remarks:
        st.caption(plain(remark))
    key = f"intake_book_{record.id}"
    account = st.selectbox(
        "Konto", list(accounts), index=None, format_func=labels_of(accounts),
        placeholder=CHOOSE, key=f"{key}_account",
    )  # fmt: skip
    category = st.selectbox(
        "Kategorie", list(categories), index=None, format_func=labels_of(categories),
        placeholder=CHOOSE, key=f"{key}_category",
    )  # fmt: skip
    booking_date = st.date_input("Buchungsdatum", value=day, format="DD.MM.YYYY", key=f"{key}_date")
    confirm = st.checkbox("Buchung so bestätigen", key=f"{key}_confirm")
    if not st.button("Als Ausgabe buchen", key=f"{key}_save", disabled=not confirm):
        return
    if account is None or category is None:
        st.error("Bitte Konto und Kategorie wählen.")
        return
    try:
        with session_scope() as session:
            booked = service.book_expense(
                session,
                record.id,
                account_id=account,
                category_id=category,
                booking_date=booking_date,
                actor=ctx.user.username,
            )
            text = f"Eingang Nr. {booked.id} als Buchung {booked.booking_id} gebucht."
    except KmsError as exc:
        st.error(plain(exc.message))
        return
    ctx.close_function("intake.book")
    st.session_state[FLASH] = [("ok", text)]
    st.rerun()


def discard_form(ctx: PageContext, record: ReceivedInvoice) -> None:
    st.subheader("Verwerfen")
    key = f"intake_discard_{record.id}"
    sure = st.checkbox(
        "Ja, diese Eingangsrechnung verwerfen (das Original bleibt archiviert)",
        key=f"{key}_confirm",
    )
    if not st.button("Verwerfen", key=f"{key}_go", disabled=not sure):
        return
    try:
        with session_scope() as session:
            service.discard(session, record.id, actor=ctx.user.username)
    except KmsError as exc:
        st.error(plain(exc.message))
        return
    st.session_state[FLASH] = [("ok", f"Eingang Nr. {record.id} verworfen.")]
    st.rerun()


def mailbox_settings() -> None:
    """⊕ The IMAP folder polled for invoices (the password is stored encrypted)."""
    from kms.modules.intake import imap

    with session_scope(write=False) as session:
        cfg = imap.settings(session)
    with st.expander("E-Mail-Postfach für Rechnungen (IMAP)"):
        with st.form("intake_imap"):
            enabled = st.checkbox("Postfach regelmäßig abrufen", value=cfg.enabled, key="imap_on")
            host = st.text_input("IMAP-Server", value=cfg.host, key="imap_host")
            port = st.number_input("Port", 1, 65535, value=cfg.port, key="imap_port")
            options = list(imap.SECURITY)
            security = st.selectbox(
                "Verschlüsselung", options, index=options.index(cfg.security),
                format_func=labels_of(imap.SECURITY), placeholder=CHOOSE, key="imap_security",
            )  # fmt: skip
            username = st.text_input("Benutzername", value=cfg.username, key="imap_user")
            password = st.text_input(
                "Passwort"
                + (" (gespeichert; leer lassen = unverändert)" if cfg.has_password else ""),
                type="password",
                key="imap_password",
            )
            folder = st.text_input("Ordner mit Rechnungen", value=cfg.folder, key="imap_folder")
            done = st.text_input(
                "Ordner für verarbeitete E-Mails", value=cfg.done_folder, key="imap_done"
            )
            if not st.form_submit_button("Postfach speichern", key="imap_save"):
                return
        with saving(IMAP_LABELS) as result, session_scope() as session:
            imap.save_settings(
                session, host=host, port=int(port), security=security or "ssl",
                username=username, folder=folder, done_folder=done, enabled=enabled,
                password=password or None,
            )  # fmt: skip
        if result["ok"]:
            st.success("Postfach gespeichert.")


IMAP_LABELS = {
    "host": "IMAP-Server",
    "port": "Port",
    "security": "Verschlüsselung",
    "username": "Benutzername",
    "folder": "Ordner mit Rechnungen",
    "done_folder": "Ordner für verarbeitete E-Mails",
}

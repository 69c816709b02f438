"""Demo invoices: a Kleinunternehmer year (2024), then Regelbesteuerung with S, AE and K lines,
public-sector customers with Leitweg-ID (XRechnung CII and UBL), a business customer with
XRechnung UBL and a Käuferreferenz (its Storno is a UBL CreditNote), an invoice with document
level allowances and charges at two VAT rates, and paid, partly paid, Skonto-paid, overdue,
reminded and cancelled examples. Idempotent: nothing is added once demo invoices exist.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import create_contact
from kms.modules.invoices import dunning, issuing, payments, service
from kms.modules.invoices.models import Article, Invoice
from kms.modules.invoices.quotes import service as quotes

MARK = "Demo:"
# Fictitious Leitweg-IDs whose check digits (ISO 7064 MOD 97-10) validate.
LEITWEG_ID = "04011000-12345-03"
LEITWEG_ID_KREIS = "08111000-4711-27"
ORGANISATIONS = [
    {
        "name": "Musterfirma GmbH",
        "legal_form": "GmbH",
        "vat_id": "DE136695976",
        "street": "Beispielweg 2",
        "postcode": "54321",
        "city": "Beispielhausen",
        "email": "einkauf@example.org",
    },
    {
        "name": "Beispielbau AG",
        "legal_form": "AG",
        "vat_id": "DE136695976",
        "street": "Baustraße 9",
        "postcode": "50667",
        "city": "Köln",
        "email": "bau@example.org",
        # A business customer whose invoice portal takes XRechnung UBL with its order key.
        "einvoice_format": "xrechnung_ubl",
        "buyer_reference": "BB-EINKAUF-2025",
    },
    {
        "name": "Voorbeeld B.V.",
        "vat_id": "NL123456782B01",  # check-digit-valid test number
        "street": "Voorbeeldstraat 3",
        "postcode": "1234 AB",
        "city": "Amsterdam",
        "country": "NL",
        "email": "inkoop@example.org",
    },
    {
        "name": "Stadtverwaltung Musterstadt",
        "einvoice_format": "xrechnung_cii",
        "buyer_reference": LEITWEG_ID,
        "street": "Rathausplatz 1",
        "postcode": "12345",
        "city": "Musterstadt",
        "email": "rechnungseingang@example.org",
    },
    {
        "name": "Landratsamt Beispielkreis",
        "einvoice_format": "xrechnung_ubl",
        "buyer_reference": LEITWEG_ID_KREIS,
        "street": "Kreisstraße 5",
        "postcode": "54321",
        "city": "Beispielhausen",
        "email": "e-rechnung@landratsamt.example.org",
    },
]


def _organisation(session: Session, values: dict[str, Any]) -> Contact:
    found = session.scalar(
        select(Contact).where(Contact.kind == "organisation", Contact.name == values["name"])
    )
    if found is not None:
        return found
    # Through the contacts service: validated, and a customer number like any new customer.
    return create_contact(session, kind="organisation", roles=["kunde"], **values)


def _person(session: Session, email: str) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.email == email))


def _line(text: str, qty: str, price: str, tax: str, unit: str = "HUR", **kw: Any) -> dict:
    return {
        "description": text,
        "quantity": qty,
        "unit_price": price,
        "tax": tax,
        "unit_code": unit,
        **kw,
    }


def _issue(session: Session, contact: Contact, day: date, lines: list[dict], **values: Any):
    draft = service.save_draft(
        session,
        contact_id=contact.id,
        as_of=day,
        service_date=values.pop("service_date", day - timedelta(days=3)),
        payment_term_days=values.pop("payment_term_days", 14),
        intro_text=values.pop("intro_text", "Vielen Dank für Ihren Auftrag. Wir berechnen Ihnen:"),
        closing_text=f"{MARK} fiktive Beispielrechnung.",
        lines=lines,
        actor="demo",
        **values,
    )
    prepared = issuing.prepare_issue(session, draft.id, issue_date=day)
    return issuing.issue(session, prepared, actor="demo")


# The demo price list (Leistungen und Artikel): obviously fictitious items.
ARTICLES: tuple[dict[str, str], ...] = (
    {
        "number": "DEMO-BER",
        "name": "Beratungsstunde (Beispiel)",
        "description": "Beratung nach Aufwand, Beispielleistung der Demo",
        "unit_code": "HUR",
        "unit_price": "85",
        "tax": "S19",
    },
    {
        "number": "DEMO-WS",
        "name": "Workshop Musterthema, 1 Tag",
        "description": "Ganztägiger Workshop für bis zu 12 Personen (fiktiv)",
        "unit_code": "DAY",
        "unit_price": "1200",
        "tax": "S19",
    },
    {
        "number": "DEMO-PFL",
        "name": "Website-Pflege Monatspauschale",
        "unit_code": "MON",
        "unit_price": "49.9",
        "tax": "S19",
    },
    {
        "number": "DEMO-BUCH",
        "name": "Fachbuch „Musterwissen“ (Beispielverlag)",
        "unit_code": "C62",
        "unit_price": "24.9",
        "tax": "S7",
    },
    {
        "number": "DEMO-KWH",
        "name": "Ladestrom (Beispieltarif)",
        "unit_code": "KWH",
        "unit_price": "0.3995",
        "tax": "S19",
    },
)


def load_articles(session: Session) -> int:
    """Add the demo price list once (items found by their DEMO- numbers are left alone)."""
    from kms.modules.invoices import articles

    existing = set(
        session.scalars(select(Article.number).where(Article.number.startswith("DEMO-")))
    )
    added = 0
    for values in ARTICLES:
        if values["number"] not in existing:
            articles.create_article(session, actor="demo", **values)
            added += 1
    return added


def load(session: Session) -> str:
    """Issue the demo invoices in date order (numbers must ascend with the date)."""
    load_articles(session)
    if session.scalar(select(Invoice.id).where(Invoice.closing_text.startswith(MARK))):
        return "Rechnungen (bereits vorhanden)"
    orgs = [_organisation(session, values) for values in ORGANISATIONS]
    firm, builder, dutch, city, district = orgs
    # Private customers with their own address (persons of an organisation are billed there).
    max_ = _person(session, "juergen.mueller@example.org") or firm
    lena = _person(session, "anna@example.org") or firm
    today = service.today()
    count = 0

    # 2024: Kleinunternehmer (§ 19 UStG), paid; its payments count as § 19 turnover.
    small = _issue(session, max_, date(2024, 5, 6), [_line("Logo-Entwurf", "1", "450", "E", "LS")])
    payments.record_payment(
        session, small.id, paid_on=date(2024, 5, 15), amount=small.gross_total, actor="demo"
    )
    small2 = _issue(
        session,
        lena,
        date(2024, 11, 4),
        [_line("Website-Pflege", "6", "55", "E"), _line("Domain", "1", "12", "E", "ANN")],
    )
    payments.record_payment(
        session, small2.id, paid_on=date(2024, 11, 20), amount=small2.gross_total, actor="demo"
    )
    count += 2

    # From 2025: Regelbesteuerung.
    paid = _issue(
        session,
        firm,
        date(2025, 3, 3),
        [
            _line("Webdesign Startseite", "12", "85", "S19"),
            _line("Fachbuch Barrierefreiheit", "2", "24.90", "S7", "C62"),
        ],
    )
    payments.record_payment(
        session,
        paid.id,
        paid_on=date(2025, 3, 12),
        amount=paid.gross_total,
        method="ueberweisung",
        actor="demo",
    )
    reverse = _issue(
        session,
        builder,
        date(2025, 6, 2),
        [_line("Montage Trockenbau (Bauleistung)", "24", "52", "AE")],
    )
    payments.record_payment(
        session, reverse.id, paid_on=date(2025, 6, 20), amount=reverse.gross_total, actor="demo"
    )
    eu = _issue(
        session, dutch, date(2025, 9, 1), [_line("Messestand-Module", "4", "1250", "K", "C62")]
    )
    payments.record_payment(
        session, eu.id, paid_on=date(2025, 9, 10), amount=eu.gross_total, actor="demo"
    )
    public = _issue(
        session,
        city,
        date(2025, 11, 3),
        [_line("Barrierefreiheitsprüfung Bürgerportal", "16", "95", "S19")],
        period_start=date(2025, 10, 1),
        period_end=date(2025, 10, 31),
        service_date=None,
    )
    payments.record_payment(
        session, public.id, paid_on=date(2025, 11, 28), amount=public.gross_total, actor="demo"
    )
    # XRechnung UBL with Gesamtrabatt, Versandkosten and a book discount at 19 % and 7 %.
    district_invoice = _issue(
        session,
        district,
        date(2025, 12, 1),
        [
            _line("Schulung Barrierefreiheit (Tagessatz)", "2", "780", "S19", "DAY"),
            _line("Fachbuch Barrierefreiheit", "12", "24.90", "S7", "C62"),
        ],
        allowances=[
            {"reason": "Gesamtrabatt", "kind": "percent", "value": "5", "tax": "S19"},
            {"reason": "Versandkosten", "kind": "amount", "value": "6.90", "tax": "S19"},
            {"reason": "Mengenrabatt Bücher", "kind": "percent", "value": "10", "tax": "S7"},
        ],
    )
    payments.record_payment(
        session,
        district_invoice.id,
        paid_on=date(2025, 12, 15),
        amount=district_invoice.gross_total,
        actor="demo",
    )
    count += 5

    # This year: Skonto-paid, partly paid, cancelled and corrected, overdue and reminded.
    base = max(date(today.year, 1, 5), today - timedelta(days=120))
    skonto = _issue(
        session,
        firm,
        base,
        [_line("Wartungsvertrag Quartal", "3", "240", "S19", "MON")],
        skonto_percent="2",
        skonto_days=10,
    )
    offer = payments.skonto_offer(skonto)
    if offer is not None:
        payments.record_payment(
            session,
            skonto.id,
            paid_on=base + timedelta(days=7),
            amount=skonto.gross_total - offer.amount,
            skonto=True,
            actor="demo",
        )
    wrong = _issue(
        session,
        builder,
        base + timedelta(days=25),
        [_line("Beratung (falscher Stundensatz)", "8", "59", "S19")],
    )
    _storno, draft = issuing.correct(
        session, wrong.id, actor="demo", issue_date=base + timedelta(days=26)
    )
    session.delete(draft)  # the demo keeps the cancellation, not the follow-up draft
    _issue(
        session,
        max_,
        base + timedelta(days=30),
        [_line("Fotoshooting Bewerbungsfotos", "2", "75", "S19")],
    )
    reminded = _issue(
        session,
        lena,
        base + timedelta(days=31),
        [_line("Einrichtung E-Mail-Postfächer", "3", "65", "S19")],
    )
    partly = _issue(
        session,
        firm,
        max(base + timedelta(days=32), today - timedelta(days=6)),
        [_line("Relaunch Onlineshop, 1. Abschlag", "1", "2400", "S19", "LS")],
        payment_term_days=30,
    )
    payments.record_payment(
        session, partly.id, paid_on=today - timedelta(days=2), amount="1000.00", actor="demo"
    )
    count += 6
    reminded_due = reminded.due_date or today
    if today > reminded_due + timedelta(days=2):
        dunning.create_reminder(
            session, reminded.id, letter_date=reminded_due + timedelta(days=2), actor="demo"
        )
    session.flush()
    count += _advance_pair(session, firm, partly.issue_date or today, today)
    _subscription(session, firm, today)
    _quote(session, firm, today)
    return f"{count} Rechnungen, 1 Abo, 1 Angebot"


DEMO_ORDER = "Auftrag DEMO-17 Umbau Büroetage (Beispiel)"


def _advance_pair(session: Session, customer: Contact, first: date, today: date) -> int:
    """Abschlags- und Schlussrechnung: two advances at 19 % and 7 %, then the final invoice
    that deducts both (dates ascend with the numbers; the last is issued today)."""
    from kms.modules.invoices import advance

    header: dict[str, Any] = {
        "payment_term_days": 14,
        "closing_text": f"{MARK} fiktive Beispielrechnung.",
    }
    advances = [
        advance.create_advance_draft(
            session,
            contact_id=customer.id,
            order_reference=DEMO_ORDER,
            as_of=first,
            service_date=first,
            actor="demo",
            **values,
            **header,
        )
        for values in (
            {"order_value": "10000", "percent": "30", "tax": "S19"},
            {"order_value": "2000", "amount": "1000", "tax": "S7"},
        )
    ]
    for draft in advances:
        issuing.issue(
            session, issuing.prepare_issue(session, draft.id, issue_date=first), actor="demo"
        )
    final = advance.create_final_draft(
        session,
        contact_id=customer.id,
        order_reference=DEMO_ORDER,
        lines=[
            _line("Umbau Büroetage laut Auftrag", "1", "10000", "S19", "LS"),
            _line("Fachliteratur Brandschutz", "1", "2000", "S7", "C62"),
        ],
        as_of=today,
        service_date=today,
        actor="demo",
        **header,
    )
    issuing.issue(session, issuing.prepare_issue(session, final.id, issue_date=today), actor="demo")
    return 3


def _subscription(session: Session, firm: Contact, today: date) -> None:
    """Wiederkehrende Rechnungen: a monthly maintenance subscription collected by SEPA
    direct debit under the customer's mandate (created here; the demo has no other)."""
    from kms.modules.invoices.recurring import service as recurring
    from kms.modules.invoices.sepa import service as sepa

    mandate = next(iter(sepa.mandates(session, contact_id=firm.id)), None)
    if mandate is None:
        mandate = sepa.create_mandate(
            session,
            contact_id=firm.id,
            reference="DEMO-ABO-1",
            signed_on=today - timedelta(days=30),
            iban="DE89370400440532013000",
            actor="demo",
        )
    first = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    recurring.save_template(
        session,
        name="Wartungsvertrag Website (Demo)",
        contact_id=firm.id,
        interval="monthly",
        day_of_month=1,
        start_date=first,
        mode="issue",
        payment_term_days=14,
        intro_text="Vereinbarungsgemäß berechnen wir Ihnen für den Leistungszeitraum:",
        closing_text=f"{MARK} fiktive Beispielrechnung aus einem Abo.",
        sepa_mandate_id=mandate.id,
        lines=[_line("Wartung und Updates der Website, monatlich", "1", "89", "S19", "MON")],
        actor="demo",
    )


def _quote(session: Session, customer: Contact, today: date) -> None:
    """An Angebot an Kunden, sent five days ago and accepted since (its Auftragsbestätigung
    can be printed and it can be taken over into an invoice)."""
    sent_on = today - timedelta(days=5)
    quote = quotes.save_quote(
        session,
        contact_id=customer.id,
        as_of=sent_on,
        intro_text="gern bieten wir Ihnen den Relaunch Ihres Onlineshops an:",
        closing_text=f"Wir freuen uns auf Ihren Auftrag.\n\n{MARK}",
        lines=[
            _line("Konzept und Gestaltung Onlineshop", "24", "85", "S19"),
            _line("Umsetzung und Einrichtung", "40", "85", "S19"),
            _line("Fachbuch E-Commerce-Recht", "1", "39.90", "S7", "C62"),
        ],
    )
    quotes.finalize_quote(session, quote.id, actor="demo", day=sent_on)
    quotes.accept_quote(session, quote.id, actor="demo", day=today - timedelta(days=2))

"""Receiving, duplicates, validation, discarding and booking (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.errors import KmsError
from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import create_organisation
from kms.modules.documents.models import Document
from kms.modules.intake import service
from kms.modules.intake.models import BOOKED, DISCARDED, INVALID, UNCHECKED, VALID, ReceivedInvoice
from kms.modules.intake.parse import FileRefused
from kms.modules.ledger import service as ledger
from kms.modules.ledger.models import Account

from .conftest import plain_pdf, png, sample, with_profile

DAY = date(2026, 3, 10)
EXTENDED = "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended"
BASIC = "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic"


def _count(session: Session) -> tuple[int, int]:
    invoices = len(session.scalars(select(ReceivedInvoice)).all())
    return invoices, len(session.scalars(select(Document)).all())


def test_cii_is_archived_unchanged_and_valid(session: Session) -> None:
    data = sample("two_rates_cii.xml")
    result = service.receive(session, data, "rechnung.xml", actor="test")
    session.commit()
    record = result.invoice
    assert record.validation == VALID and record.kind == "erechnung"
    assert record.status == "neu" and record.source == "upload"
    assert (record.seller_name, record.seller_vat_id, record.invoice_number) == (
        "Erika Mustermann Webdesign", "DE136695976", "RE-2025-0001",
    )  # fmt: skip
    assert (record.net, record.tax, record.gross) == (
        Decimal("167.79"), Decimal("25.91"), Decimal("193.70"),
    )  # fmt: skip
    stored = service.original(session, record)
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(data).hexdigest()
    assert stored == data
    document = session.get(Document, record.document_id)
    assert document is not None and document.doc_type == "booking_receipt"


def test_xrechnung_is_checked_with_the_xrechnung_rules(session: Session) -> None:
    result = service.receive(session, sample("xrechnung_cii.xml"), "x.xml")
    assert result.invoice.validation == VALID
    assert result.invoice.profile_label == "XRechnung 3.0"


def test_ubl_invoice_is_received(session: Session) -> None:
    result = service.receive(session, sample("two_rates_ubl.xml"), "ubl.xml", source="cli")
    assert result.invoice.syntax == "UBL" and result.invoice.validation == VALID


def test_invalid_invoice_is_archived_with_german_findings(session: Session) -> None:
    data = sample("two_rates_cii.xml").replace(
        b"<ram:GrandTotalAmount>193.70</ram:GrandTotalAmount>",
        b"<ram:GrandTotalAmount>999.70</ram:GrandTotalAmount>",
    )
    result = service.receive(session, data, "falsch.xml")
    session.commit()
    record = result.invoice
    assert record.validation == INVALID
    rules = {f["rule"] for f in record.findings or []}
    assert "BR-CO-15" in rules
    assert all(f["message"] for f in record.findings or [])
    assert service.original(session, record) == data
    assert "Fehler" in result.summary


@pytest.mark.parametrize(
    "make",
    [
        lambda: sample("minimum.xml"),
        lambda: with_profile(sample("two_rates_cii.xml"), "urn:factur-x.eu:1p0:basicwl"),
        plain_pdf,
        png,
    ],
)
def test_sonstige_rechnung_and_receipts_are_archived_unchecked(session: Session, make) -> None:
    data = make()
    record = service.receive(session, data, "beleg").invoice
    assert record.kind == "sonstige" and record.validation == UNCHECKED
    assert service.original(session, record) == data


def test_refused_file_stores_nothing(session: Session) -> None:
    for data in (b"", sample("billion_laughs.xml"), sample("two_rates_cii.xml")[:2000]):
        with pytest.raises(FileRefused):
            service.receive(session, data, "kaputt.xml")
    assert _count(session) == (0, 0)


def test_duplicate_by_hash_stores_nothing_twice(session: Session) -> None:
    data = sample("two_rates_cii.xml")
    service.receive(session, data, "a.xml")
    session.commit()
    before = _count(session)
    with pytest.raises(service.DuplicateInvoice, match="Diese Datei wurde bereits"):
        service.receive(session, data, "b.xml")
    assert _count(session) == before


def test_duplicate_by_seller_and_number_in_another_file(session: Session) -> None:
    service.receive(session, sample("two_rates_cii.xml"), "a.xml")
    session.commit()
    before = _count(session)
    # The same invoice as UBL: other bytes, same seller VAT id and number.
    with pytest.raises(service.DuplicateInvoice, match="RE-2025-0001"):
        service.receive(session, sample("two_rates_ubl.xml"), "a-ubl.xml")
    # Same number and seller name without the VAT id.
    other = sample("two_rates_cii.xml").replace(
        b'<ram:ID schemeID="VA">DE136695976</ram:ID>', b'<ram:ID schemeID="VA"></ram:ID>'
    )
    with pytest.raises(service.DuplicateInvoice):
        service.receive(session, other, "ohne-ustid.xml")
    assert _count(session) == before


def test_two_rate_invoice_books_exact_cents(session: Session, bank: Account) -> None:
    record = service.receive(session, sample("two_rates_cii.xml"), "a.xml").invoice
    session.commit()
    category = ledger.category_by_key(session, "fremdleistungen").id
    service.book_expense(
        session, record.id, account_id=bank.id, category_id=category, booking_date=DAY
    )
    session.commit()
    assert record.status == BOOKED and record.booking_id is not None
    booking = ledger.get_booking(session, record.booking_id)
    assert booking.document_id == record.document_id
    assert booking.receipt_number == "RE-2025-0001"
    assert [(ln.tax_key, ln.amount, ln.net, ln.tax, ln.deductible) for ln in booking.lines] == [
        ("V19", Decimal("140.41"), Decimal("117.99"), Decimal("22.42"), Decimal("22.42")),
        ("V7", Decimal("53.29"), Decimal("49.80"), Decimal("3.49"), Decimal("3.49")),
    ]
    assert booking.total == Decimal("-193.70")
    # The supplier was created as an organisation with its VAT id and linked.
    supplier = session.get(Contact, booking.contact_id)
    assert supplier is not None and supplier.kind == "organisation"
    assert (supplier.name, supplier.vat_id) == ("Erika Mustermann Webdesign", "DE136695976")
    assert "lieferant" in supplier.role_keys
    assert record.contact_id == supplier.id
    # Booking twice is refused.
    with pytest.raises(KmsError, match="bereits als Ausgabe gebucht"):
        service.book_expense(session, record.id, account_id=bank.id, category_id=category)
    assert ledger.count_bookings(session) == 1


def test_reverse_charge_books_13b_as_recipient(session: Session, bank: Account) -> None:
    record = service.receive(session, sample("reverse_charge_cii.xml"), "rc.xml").invoice
    category = ledger.category_by_key(session, "fremdleistungen").id
    service.book_expense(
        session, record.id, account_id=bank.id, category_id=category, booking_date=DAY
    )
    booking = ledger.get_booking(session, record.booking_id)
    ((line),) = booking.lines
    assert line.tax_key == "RC19"  # German supplier: § 13b (e.g. Bauleistung)
    assert (line.amount, line.net, line.tax, line.deductible, line.paid_tax) == (
        Decimal("650.00"), Decimal("650.00"), Decimal("123.50"), Decimal("123.50"), Decimal("0.00"),
    )  # fmt: skip
    assert booking.total == Decimal("-650.00")


def test_supplier_is_matched_by_vat_id_then_by_iban(session: Session, bank: Account) -> None:
    existing = create_organisation(session, name="Webdesign Mustermann", vat_id="DE136695976")
    category = ledger.category_by_key(session, "fremdleistungen").id
    first = service.receive(session, sample("two_rates_cii.xml"), "a.xml").invoice
    service.book_expense(session, first.id, account_id=bank.id, category_id=category,
                         booking_date=DAY)  # fmt: skip
    assert first.contact_id == existing.id
    # Without a VAT id, the IBAN of the earlier invoice finds the same supplier.
    no_vat = sample("reverse_charge_cii.xml").replace(
        b'<ram:ID schemeID="VA">DE136695976</ram:ID>', b""
    )
    second = service.receive(session, no_vat, "b.xml").invoice
    assert second.seller_vat_id == ""
    service.book_expense(session, second.id, account_id=bank.id, category_id=category,
                         booking_date=DAY)  # fmt: skip
    assert second.contact_id == existing.id
    assert len(session.scalars(select(Contact)).all()) == 1


def test_tax_keys_per_category() -> None:
    from kms.modules.intake.parse import TaxRow

    def key(cat: str, rate: str, country: str = "DE", reason: str = "") -> str:
        return service.tax_key_for(
            TaxRow(cat, Decimal(rate), Decimal("1"), Decimal("0"), reason), country
        )

    assert key("S", "19") == "V19" and key("S", "7.00") == "V7"
    assert key("S", "21", "NL") == "VOHNE"  # foreign VAT is no German Vorsteuer
    assert key("AE", "0", "DE") == "RC19" and key("AE", "0", "AT") == "RCEU19"
    assert key("K", "0", "FR") == "IGE19"
    assert key("Z", "0") == "NSTB" and key("O", "0") == "NSTB" and key("E", "0") == "NSTB"
    assert key("E", "0", reason="Kleinunternehmer gemäß § 19 UStG") == "VOHNE"


def test_minimum_cannot_be_booked_automatically(session: Session, bank: Account) -> None:
    record = service.receive(session, sample("minimum.xml"), "min.xml").invoice
    category = ledger.category_by_key(session, "buerobedarf").id
    with pytest.raises(KmsError, match="keine Umsatzsteuer-Aufschlüsselung"):
        service.book_expense(session, record.id, account_id=bank.id, category_id=category)
    assert record.status == "neu" and ledger.count_bookings(session) == 0


def test_discard_and_no_booking_after(session: Session, bank: Account) -> None:
    record = service.receive(session, sample("two_rates_cii.xml"), "a.xml").invoice
    service.discard(session, record.id)
    assert record.status == DISCARDED
    category = ledger.category_by_key(session, "fremdleistungen").id
    with pytest.raises(KmsError, match="verworfen"):
        service.book_expense(session, record.id, account_id=bank.id, category_id=category)
    # The original stays archived.
    assert service.original(session, record) == sample("two_rates_cii.xml")


def test_list_is_paged_newest_first(session: Session) -> None:
    for name in ("two_rates_cii.xml", "reverse_charge_cii.xml", "minimum.xml"):
        service.receive(session, sample(name), name)
    session.commit()
    page = service.list_invoices(session, page=1, size=2)
    assert page.total == 3 and len(page.items) == 2
    assert page.items[0].invoice_number == "MIN-2026-17"
    assert service.list_invoices(session, search="min-2026").total == 1
    assert service.list_invoices(session, status="gebucht").total == 0


def test_facturx_pdf_of_our_own_issuing_is_read(session: Session, make_draft, issue) -> None:
    """A Factur-X PDF as KMS issues it: the embedded XML is extracted, validated, booked data."""
    from kms.modules.invoices.storage import original_bytes
    from tests.modules.invoices.conftest import line

    invoice = issue(make_draft([line(price="100.00"), line("Druck", "1", "50.00", "S7")]))
    pdf = original_bytes(session, invoice.id, "pdf").content
    result = service.receive(session, pdf, "RE.pdf")
    record = result.invoice
    assert (record.container, record.kind, record.syntax) == ("pdf", "erechnung", "CII")
    assert record.validation == VALID, record.findings
    assert record.invoice_number == invoice.number
    assert (record.net, record.tax, record.gross) == (
        invoice.net_total,
        invoice.tax_total,
        invoice.gross_total,
    )
    assert [(t.category, t.rate) for t in result.parsed.taxes] == [
        ("S", Decimal("19")), ("S", Decimal("7")),
    ]  # fmt: skip
    assert service.original(session, record) == pdf


def test_tax_adviser_may_view_but_not_import_or_book(session: Session) -> None:
    from kms import auth
    from kms.permissions import PermissionDenied, Role, acting_as

    record = service.receive(session, sample("two_rates_cii.xml"), "a.xml").invoice
    auth.create_user(session, username="stefan", password="Anderes-Passwort-2026",
                     role=Role.ADVISER)  # fmt: skip
    session.commit()
    with acting_as("stefan"):
        assert service.list_invoices(session).total == 1
        assert service.original(session, record) == sample("two_rates_cii.xml")
        with pytest.raises(PermissionDenied):
            service.receive(session, sample("reverse_charge_cii.xml"), "b.xml")
        with pytest.raises(PermissionDenied):
            service.discard(session, record.id)
    assert record.status == "neu"


def test_basic_and_extended_are_checked_against_their_own_factur_x_level() -> None:
    from kms.modules.intake.parse import parse

    extended = parse(with_profile(sample("two_rates_cii.xml"), EXTENDED))
    assert service.validate_parsed(extended) == (VALID, [])
    # Our EN 16931 (COMFORT) content uses elements BASIC does not have.
    basic = parse(with_profile(sample("two_rates_cii.xml"), BASIC))
    status, findings = service.validate_parsed(basic)
    assert status == INVALID
    assert any("Factur-X BASIC XSD" in f["message"] for f in findings)
    assert all(f["rule"] != "FX-SCH-A-000556" for f in findings)  # BT-24 itself is fine

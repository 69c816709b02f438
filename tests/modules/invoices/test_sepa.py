"""SEPA-Lastschrift: Gläubiger-ID check, mandates, invoices paid by direct debit (XML and
PDF), and the pain.008 file: XSD-valid, sums, FRST/RCUR, dates, the run's life cycle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.einvoice.validate import validate
from kms.errors import KmsError, ValidationError, ValidationErrors
from kms.modules.contacts.models import Contact
from kms.modules.invoices import issuing, service
from kms.modules.invoices.models import (
    RUN_CONFIRMED,
    RUN_DISCARDED,
    Invoice,
    InvoiceFile,
    Payment,
    SepaMandate,
)
from kms.modules.invoices.sepa import service as sepa
from kms.modules.settings.models import CompanyProfile
from kms.validation import validate_creditor_id
from tests.modules.invoices.conftest import ISSUE_DAY, line

CREDITOR_ID = "DE98ZZZ09999999999"
DEBTOR_IBAN = "DE89370400440532013000"
PAIN = "urn:iso:std:iso:20022:tech:xsd:" + sepa.SCHEMA
XSD = Path(sepaxml.__file__).parent / "schemas" / f"{sepa.SCHEMA}.xsd"


def mod97_10_check_digits(country: str, national: str) -> str:
    """ISO 7064 MOD 97-10 check digits of a creditor id, written independently of stdnum:
    national part (business code skipped) + country + "00", letters as 10..35."""
    digits = "".join(str(int(c, 36)) for c in f"{national}{country}00")
    return f"{98 - int(digits) % 97:02d}"


# --- Gläubiger-ID --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["DE98ZZZ09999999999", "de98zzz09999999999", "DE98 ZZZ 09999999999", "DE98ABC09999999999"],
)
def test_valid_creditor_ids(value: str) -> None:
    """The Bundesbank's example id, in any case and spacing; the business code is free."""
    assert validate_creditor_id(value) == value.replace(" ", "").upper()


def test_check_digits_agree_with_an_independent_mod97() -> None:
    assert mod97_10_check_digits("DE", "09999999999") == "98"
    for national in ("01234567890", "00000012345", "12345678901"):
        number = f"DE{mod97_10_check_digits('DE', national)}ZZZ{national}"
        assert validate_creditor_id(number) == number


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("DE97ZZZ09999999999", "Prüfziffer"),
        ("DE98ZZZ0999999999", "Prüfziffer"),  # one digit short
        # Check digits right (MOD 97-10), but not the German layout of 11 digits:
        (f"DE{mod97_10_check_digits('DE', '0999999999X')}ZZZ0999999999X", "18 Zeichen"),
        (f"DE{mod97_10_check_digits('DE', '099999999999')}ZZZ099999999999", "18 Zeichen"),
        ("", "Gläubiger-Identifikationsnummer"),
    ],
)
def test_invalid_creditor_ids_are_refused_in_german(value: str, reason: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_creditor_id(value)
    assert reason in str(err.value)


def test_settings_store_the_creditor_id(session: Session, seller: None) -> None:
    from kms.modules.settings import service as settings

    profile = settings.get_profile(session)
    fields = {
        c.key: getattr(profile, c.key)
        for c in CompanyProfile.__table__.columns
        if c.key not in ("id", "version", "updated_at", "logo_file", "logo_mime")
    }
    with pytest.raises(ValidationErrors) as err:
        settings.save_profile(
            session, version=profile.version, **(fields | {"creditor_id": "DE97ZZZ09999999999"})
        )
    assert "creditor_id" in err.value.errors
    saved = settings.save_profile(
        session, version=profile.version, **(fields | {"creditor_id": "de98 zzz 09999999999"})
    )
    assert saved.creditor_id == CREDITOR_ID


# --- mandates ------------------------------------------------------------------------


@pytest.fixture
def creditor(session: Session, seller: None) -> None:
    profile = session.scalar(select(CompanyProfile))
    assert profile is not None
    profile.creditor_id = CREDITOR_ID
    session.commit()


def new_mandate(session: Session, contact: Contact, **values: object) -> SepaMandate:
    fields = {
        "contact_id": contact.id,
        "reference": f"KMS-{contact.id}-1",
        "signed_on": date(2026, 1, 15),
        "scheme": "CORE",
        "iban": DEBTOR_IBAN,
        **values,
    }
    mandate = sepa.create_mandate(session, **fields)
    session.commit()
    return mandate


def test_mandate_defaults_and_sequence(session: Session, customer: Contact) -> None:
    mandate = new_mandate(session, customer, iban="de89 3704 0044 0532 0130 00")
    assert mandate.iban == DEBTOR_IBAN
    assert mandate.debtor_name == "Musterfirma GmbH"
    assert mandate.sequence == "FRST" and mandate.active


@pytest.mark.parametrize(
    ("values", "field", "text"),
    [
        ({"reference": ""}, "reference", "Bitte eine Mandatsreferenz"),
        ({"reference": "A" * 36}, "reference", "höchstens 35"),
        ({"reference": "MANDAT 1"}, "reference", "unzulässige Zeichen"),
        ({"reference": "MÜLLER-1"}, "reference", "Umlaute"),
        ({"iban": "DE89370400440532013001"}, "iban", "Prüfziffer"),
        ({"iban": ""}, "iban", "IBAN"),
        ({"bic": "XYZ"}, "bic", "BIC"),
        ({"signed_on": date(2099, 1, 1)}, "signed_on", "Zukunft"),
        ({"signed_on": None}, "signed_on", "Datum"),
        ({"scheme": "COR1"}, "scheme", "CORE"),
        ({"debtor_name": "x" * 71}, "debtor_name", "70 Zeichen"),
    ],
)
def test_bad_mandates_are_refused_with_all_problems(
    session: Session, customer: Contact, values: dict, field: str, text: str
) -> None:
    with pytest.raises(ValidationErrors) as err:
        new_mandate(session, customer, **values)
    assert text in err.value.errors[field]
    session.rollback()
    assert session.scalar(select(SepaMandate)) is None  # nothing half-saved


def test_reference_unique_regardless_of_case(session: Session, customer: Contact) -> None:
    new_mandate(session, customer, reference="ABC-1")
    with pytest.raises(ValidationErrors) as err:
        new_mandate(session, customer, reference="abc-1")
    assert "schon vergeben" in err.value.errors["reference"]


def test_b2b_only_with_businesses(session: Session, consumer: Contact) -> None:
    with pytest.raises(ValidationErrors) as err:
        new_mandate(session, consumer, scheme="B2B")
    assert "Verbrauchern" in err.value.errors["scheme"]


def test_revoked_mandate_cannot_be_chosen(
    session: Session, customer: Contact, make_draft: Callable[..., Invoice]
) -> None:
    mandate = new_mandate(session, customer)
    sepa.revoke_mandate(session, mandate.id, version=mandate.version, revoked_on=date(2026, 2, 1))
    session.commit()
    assert not mandate.active
    with pytest.raises(ValidationErrors) as err:
        make_draft(sepa_mandate_id=mandate.id)
    assert "widerrufen" in err.value.errors["sepa_mandate_id"]


def test_stale_version_is_a_conflict(session: Session, customer: Contact) -> None:
    from kms.errors import ConflictError

    mandate = new_mandate(session, customer)
    with pytest.raises(ConflictError):
        sepa.update_mandate(session, mandate.id, version=mandate.version + 1, iban=DEBTOR_IBAN)


def kept(mandate: SepaMandate) -> dict[str, object]:
    """The values a used mandate keeps (update_mandate refuses to change them)."""
    return {
        "reference": mandate.reference,
        "signed_on": mandate.signed_on,
        "scheme": mandate.scheme,
        "iban": mandate.iban,
        "one_off": mandate.one_off,
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [({"reference": "KMS-NEU-1"}, "reference"), ({"iban": "DE02120300000000202051"}, "iban")],
)
def test_a_used_mandate_keeps_reference_and_iban(
    session: Session, customer: Contact, change: dict[str, str], field: str
) -> None:
    """After a booked debit a new Mandatsreferenz or IBAN means a new mandate; the
    account holder's name may still be corrected."""
    mandate = new_mandate(session, customer)
    current = kept(mandate)
    sepa.update_mandate(session, mandate.id, version=mandate.version, **{**current, **change})
    session.rollback()  # unused: allowed (the change is not kept for the next step)
    mandate.last_used_on = date(2026, 2, 16)
    session.commit()
    with pytest.raises(ValidationError) as err:
        sepa.update_mandate(session, mandate.id, version=mandate.version, **{**current, **change})
    assert err.value.field == field and "neues Mandat" in str(err.value)
    session.rollback()
    fixed = sepa.update_mandate(
        session, mandate.id, version=mandate.version, **current, debtor_name="Musterfirma KG"
    )
    assert fixed.debtor_name == "Musterfirma KG" and fixed.iban == DEBTOR_IBAN


def test_mandate_expires_after_36_unused_months(session: Session, customer: Contact) -> None:
    mandate = new_mandate(session, customer, signed_on=date(2023, 3, 2))
    assert not sepa.expired(mandate, date(2026, 3, 1))
    assert sepa.expired(mandate, date(2026, 3, 2))


# --- an invoice paid by direct debit -------------------------------------------------


@pytest.fixture
def debit_invoice(
    session: Session,
    customer: Contact,
    creditor: None,
    make_draft: Callable[..., Invoice],
    issue: Callable[..., Invoice],
) -> Invoice:
    mandate = new_mandate(session, customer)
    return issue(make_draft(sepa_mandate_id=mandate.id))


def _file(session: Session, invoice: Invoice, role: str) -> bytes:
    from kms.modules.documents.service import read_verified

    row = session.scalar(
        select(InvoiceFile).where(InvoiceFile.invoice_id == invoice.id, InvoiceFile.role == role)
    )
    assert row is not None
    return read_verified(session, row.document_id, row.sha256)


def test_issued_debit_invoice_carries_bg19_and_prenotification(
    session: Session, debit_invoice: Invoice
) -> None:
    from tests.rendering.conftest import open_pdf

    xml = _file(session, debit_invoice, "facturx_xml")
    assert b"<ram:TypeCode>59</ram:TypeCode>" in xml
    assert f"<ram:CreditorReferenceID>{CREDITOR_ID}<".encode() in xml
    assert f"<ram:IBANID>{DEBTOR_IBAN}</ram:IBANID>".encode() in xml
    assert validate(xml, xrechnung=False) == []
    assert debit_invoice.snapshot and debit_invoice.snapshot["direct_debit"]["creditor_id"]
    with open_pdf(_file(session, debit_invoice, "pdf")) as pdf:
        text = " ".join(" ".join(p.extract_text().replace("\xa0", " ").split()) for p in pdf.pages)
    assert (
        "Der Betrag von 357,00 € wird am 16.03.2026 per SEPA-Lastschrift mit der "
        f"Mandatsreferenz KMS-{debit_invoice.contact_id}-1 und unserer Gläubiger-ID "
        f"{CREDITOR_ID} von Ihrem Konto DE89 **** 3000 abgebucht."
    ) in text
    assert "GiroCode" not in text


def test_xrechnung_with_direct_debit_passes_kosit(
    session: Session,
    customer: Contact,
    creditor: None,
    make_draft: Callable[..., Invoice],
    issue: Callable[..., Invoice],
) -> None:
    mandate = new_mandate(session, customer)
    for chosen in ("xrechnung_cii", "xrechnung_ubl"):
        invoice = issue(
            make_draft(
                sepa_mandate_id=mandate.id,
                einvoice_format=chosen,
                buyer_reference="04011000-12345-03",
            )
        )
        xml = _file(session, invoice, "xrechnung_xml")
        assert validate(xml, xrechnung=True) == []
        assert CREDITOR_ID.encode() in xml and DEBTOR_IBAN.encode() in xml


def test_issue_refuses_debit_without_creditor_id_or_with_skonto(
    session: Session, customer: Contact, seller: None, make_draft: Callable[..., Invoice]
) -> None:
    mandate = new_mandate(session, customer)
    draft = make_draft(sepa_mandate_id=mandate.id, skonto_percent="2", skonto_days=7)
    with pytest.raises(issuing.IssueRefused) as err:
        issuing.prepare_issue(session, draft.id, issue_date=ISSUE_DAY)
    rules = {p.rule for p in err.value.problems}
    assert {"BR-DE-30", "SKONTO"} <= rules


def test_storno_of_a_debit_invoice_refunds_by_transfer(
    session: Session, debit_invoice: Invoice
) -> None:
    storno = issuing.cancel(session, debit_invoice.id, issue_date=date(2026, 3, 3))
    session.commit()
    xml = _file(session, storno, "facturx_xml")
    assert b"<ram:TypeCode>58</ram:TypeCode>" in xml and b"DirectDebitMandateID" not in xml
    assert validate(xml, xrechnung=False) == []


# --- the pain.008 file ---------------------------------------------------------------


def test_collection_dates_respect_target_days() -> None:
    assert sepa.earliest_collection_date(date(2026, 3, 10)) == date(2026, 3, 11)  # Tue → Wed
    assert sepa.earliest_collection_date(date(2026, 3, 13)) == date(2026, 3, 16)  # Fri → Mon
    assert sepa.earliest_collection_date(date(2026, 4, 2)) == date(2026, 4, 7)  # Easter 2026
    assert sepa.target_holiday(date(2026, 12, 26)) and sepa.target_holiday(date(2026, 5, 1))
    assert not sepa.target_holiday(date(2025, 10, 3))  # a German holiday (Friday), not TARGET


def _parse(xml: str) -> etree._Element:
    root = etree.fromstring(xml.encode())
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    schema.assertValid(root)  # the official pain.008 XSD shipped with sepaxml
    return root


def _text(root: etree._Element, path: str) -> list[str]:
    return [str(t) for t in root.xpath(path, namespaces={"p": PAIN})]


@pytest.fixture
def two_customers(
    session: Session,
    customer: Contact,
    consumer: Contact,
    creditor: None,
    make_draft: Callable[..., Invoice],
    issue: Callable[..., Invoice],
) -> tuple[Invoice, Invoice, Invoice]:
    """Musterfirma (mandate used before: RCUR) and Max Mustermann (new mandate: FRST)."""
    used = new_mandate(session, customer)
    used.last_used_on = date(2026, 2, 16)
    fresh = new_mandate(session, consumer, reference="KMS-MAX-1", bic="COBADEFFXXX")
    session.commit()
    a = issue(make_draft(sepa_mandate_id=used.id))
    b = issue(make_draft(lines=[line(price="12.34", quantity="1")], sepa_mandate_id=used.id))
    c = issue(
        make_draft(
            contact_id=consumer.id,
            sepa_mandate_id=fresh.id,
            lines=[line(price="0.10", quantity="7")],
        )
    )
    return a, b, c


def test_pain008_is_xsd_valid_with_sums_sequences_and_dates(
    session: Session, two_customers: tuple[Invoice, Invoice, Invoice]
) -> None:
    a, b, c = two_customers
    assert {a.due_date, b.due_date, c.due_date} == {date(2026, 3, 16)}
    run = sepa.create_run(
        session,
        start=date(2026, 3, 1),
        end=date(2026, 3, 16),
        collection_date=date(2026, 3, 16),
        day=date(2026, 3, 12),
        actor="test",
    )
    session.commit()
    expected = a.gross_total + b.gross_total + c.gross_total
    assert run.count == 3 and run.total == expected
    root = _parse(run.xml)
    assert _text(root, "//p:GrpHdr/p:NbOfTxs/text()") == ["3"]
    assert _text(root, "//p:GrpHdr/p:CtrlSum/text()") == [f"{expected:.2f}"]
    assert Decimal(_text(root, "//p:GrpHdr/p:CtrlSum/text()")[0]) == expected
    by_seq = {
        _text(info, "p:PmtTpInf/p:SeqTp/text()")[0]: info for info in root.xpath(
            "//p:PmtInf", namespaces={"p": PAIN}
        )
    }  # fmt: skip
    assert set(by_seq) == {"FRST", "RCUR"}
    rcur, frst = by_seq["RCUR"], by_seq["FRST"]
    assert _text(rcur, "p:NbOfTxs/text()") == ["2"]
    assert _text(rcur, "p:CtrlSum/text()") == [f"{a.gross_total + b.gross_total:.2f}"]
    assert _text(frst, ".//p:InstdAmt/text()") == [f"{c.gross_total:.2f}"] == ["0.83"]
    assert _text(frst, ".//p:MndtId/text()") == ["KMS-MAX-1"]
    assert _text(frst, ".//p:DbtrAgt//p:BICFI/text()") == ["COBADEFFXXX"]
    for info in (rcur, frst):
        assert _text(info, "p:ReqdColltnDt/text()") == ["2026-03-16"]
        assert _text(info, "p:PmtTpInf/p:LclInstrm/p:Cd/text()") == ["CORE"]
        assert _text(info, ".//p:CdtrSchmeId//p:Id/text()") == [CREDITOR_ID]
    assert set(_text(root, "//p:DtOfSgntr/text()")) == {"2026-01-15"}
    assert sorted(_text(root, "//p:EndToEndId/text()")) == sorted(
        f"KMS-{i.number}" for i in (a, b, c)
    )
    # A second file leaves out what the first already holds.
    assert sepa.due_debits(session, date(2026, 3, 1), date(2026, 3, 16)) == []


def test_run_refuses_early_or_closed_collection_dates(
    session: Session, two_customers: tuple[Invoice, Invoice, Invoice]
) -> None:
    def attempt(collection: date, end: date = date(2026, 3, 16)) -> str:
        with pytest.raises(ValidationError) as err:
            sepa.create_run(
                session,
                start=date(2026, 3, 1),
                end=end,
                collection_date=collection,
                day=date(2026, 3, 12),
            )
        return str(err.value)

    assert "frühestens 13.03.2026" in attempt(date(2026, 3, 12))
    assert "nächster Bankarbeitstag: 16.03.2026" in attempt(date(2026, 3, 14))
    assert "Fälligkeitstag" in attempt(date(2026, 3, 16), end=date(2026, 3, 20))


def test_nothing_due_and_no_creditor_id(session: Session, customer: Contact) -> None:
    with pytest.raises(KmsError, match="Gläubiger-Identifikationsnummer"):
        sepa.create_run(session, start=ISSUE_DAY, end=ISSUE_DAY, collection_date=date(2026, 3, 16))
    profile = session.scalar(select(CompanyProfile))
    assert profile is not None
    profile.creditor_id = CREDITOR_ID
    with pytest.raises(KmsError, match="keine Lastschriften fällig"):
        sepa.create_run(
            session,
            start=ISSUE_DAY,
            end=date(2026, 3, 16),
            collection_date=date(2026, 3, 16),
            day=ISSUE_DAY,
        )


def test_confirmed_run_pays_invoices_and_moves_mandates_to_rcur(
    session: Session, two_customers: tuple[Invoice, Invoice, Invoice]
) -> None:
    _a, _b, c = two_customers
    fresh = session.get(SepaMandate, c.sepa_mandate_id)
    assert fresh is not None and fresh.sequence == "FRST"
    run = sepa.create_run(
        session,
        start=date(2026, 3, 1),
        end=date(2026, 3, 16),
        collection_date=date(2026, 3, 16),
        day=date(2026, 3, 12),
    )
    session.commit()
    assert fresh.sequence == "FRST"  # a file alone collects nothing
    sepa.confirm_run(session, run.id, version=run.version, booked_on=date(2026, 3, 16))
    session.commit()
    assert run.status == RUN_CONFIRMED and fresh.sequence == "RCUR"
    payments = session.scalars(select(Payment).where(Payment.method == "lastschrift")).all()
    assert sum(p.amount for p in payments) == run.total
    assert all(
        service.open_amount(session, session.get(Invoice, i.invoice_id)) == 0 for i in run.items
    )  # type: ignore[arg-type]
    with pytest.raises(KmsError, match="bereits abgeschlossen"):
        sepa.discard_run(session, run.id, version=run.version)


def test_discarded_run_frees_its_invoices(
    session: Session, two_customers: tuple[Invoice, Invoice, Invoice]
) -> None:
    kwargs = {
        "start": date(2026, 3, 1),
        "end": date(2026, 3, 16),
        "collection_date": date(2026, 3, 16),
        "day": date(2026, 3, 12),
    }
    run = sepa.create_run(session, **kwargs)  # type: ignore[arg-type]
    sepa.discard_run(session, run.id, version=run.version)
    session.commit()
    assert run.status == RUN_DISCARDED
    again = sepa.create_run(session, **kwargs)  # type: ignore[arg-type]
    assert again.count == 3 and again.message_id != run.message_id
    root = _parse(again.xml)
    # Only a booked (confirmed) file makes a mandate RCUR; the discarded one does not count.
    assert _sequences(root) == {
        "FRST": ["KMS-MAX-1"],
        "RCUR": [f"KMS-{two_customers[0].contact_id}-1"] * 2,
    }


def test_cents_refuse_fractions() -> None:
    assert sepa.cents(Decimal("1234.56")) == 123456
    with pytest.raises(ValueError):
        sepa.cents(Decimal("0.005"))


def test_a_customer_with_a_mandate_is_referenced_and_in_the_auskunft(
    session: Session, consumer: Contact
) -> None:
    from kms.modules.invoices.contact_hooks import export_for_contact

    assert service.count_invoices_for_contact(session, consumer.id) == 0
    new_mandate(session, consumer)
    assert service.count_invoices_for_contact(session, consumer.id) == 1  # archived, not deleted
    [record] = export_for_contact(session, consumer.id)
    assert record["SEPA-Mandat"] == f"KMS-{consumer.id}-1" and record["IBAN"] == DEBTOR_IBAN


# --- sequence types and pre-notification ------------------------------------------------


def _sequences(root: etree._Element) -> dict[str, list[str]]:
    """SeqTp of each PmtInf block -> the mandate references in it."""
    out: dict[str, list[str]] = {}
    for info in root.xpath("//p:PmtInf", namespaces={"p": PAIN}):
        (seq,) = _text(info, "p:PmtTpInf/p:SeqTp/text()")
        assert seq not in out, "one PmtInf block per sequence type"
        out[seq] = sorted(_text(info, ".//p:MndtId/text()"))
    return out


@pytest.fixture
def fresh_mandate(session: Session, customer: Contact, creditor: None) -> SepaMandate:
    """A mandate nothing was collected under yet."""
    return new_mandate(session, customer)


@pytest.fixture
def bill(
    fresh_mandate: SepaMandate, make_draft: Callable[..., Invoice], issue: Callable[..., Invoice]
) -> Callable[..., Invoice]:
    """Issue an invoice (on ISSUE_DAY) to be collected under `fresh_mandate`."""

    def make(payment_term_days: int = 14, mandate: SepaMandate | None = None) -> Invoice:
        chosen = mandate or fresh_mandate
        return issue(make_draft(sepa_mandate_id=chosen.id, payment_term_days=payment_term_days))

    return make


def test_only_the_first_debit_of_a_new_mandate_is_frst(
    session: Session, fresh_mandate: SepaMandate, bill: Callable[..., Invoice]
) -> None:
    """Two invoices under a fresh mandate in one file: FRST + RCUR in separate PmtInf
    blocks; after the bank booked them, the next file holds only RCUR."""
    mandate = fresh_mandate
    first = bill(14)
    second = bill(15)
    debits = sepa.due_debits(session, date(2026, 3, 1), date(2026, 3, 17))
    assert [(d.invoice_id, d.sequence) for d in debits] == [
        (first.id, "FRST"),
        (second.id, "RCUR"),
    ]
    run = sepa.create_run(
        session,
        start=date(2026, 3, 1),
        end=date(2026, 3, 17),
        collection_date=date(2026, 3, 17),
        day=date(2026, 3, 12),
    )
    session.commit()
    assert _sequences(_parse(run.xml)) == {"FRST": [mandate.reference], "RCUR": [mandate.reference]}
    assert {i.invoice_id: i.sequence for i in run.items} == {first.id: "FRST", second.id: "RCUR"}
    sepa.confirm_run(session, run.id, version=run.version, booked_on=date(2026, 3, 17))
    third = bill(30)
    session.commit()
    later = sepa.create_run(
        session,
        start=date(2026, 3, 1),
        end=date(2026, 4, 1),
        collection_date=date(2026, 4, 1),
        day=date(2026, 3, 20),
    )
    assert [i.invoice_id for i in later.items] == [third.id]
    assert _sequences(_parse(later.xml)) == {"RCUR": [mandate.reference]}


def test_debits_with_too_short_prenotification_are_flagged_not_filed(
    session: Session, bill: Callable[..., Invoice]
) -> None:
    """The invoice is the pre-notification: issued 2 March, it may be collected from
    16 March (14 days), or earlier when the settings hold a shorter agreed period."""
    from kms.modules.invoices import config

    short = bill(10)  # 12.03.
    ok = bill(14)  # 16.03.
    period = (date(2026, 3, 1), date(2026, 3, 16))
    by_invoice = {d.invoice_id: d for d in sepa.due_debits(session, *period)}
    assert by_invoice[ok.id].problem == ""
    assert by_invoice[short.id].problem == (
        "Vorabankündigung zu kurz: Rechnung vom 02.03.2026, Einzug am 12.03.2026. "
        "Angekündigt werden muss 14 Tage vorher; einziehbar frühestens am 16.03.2026."
    )
    # The collection date of the file counts: on 13.03. both are still too early …
    on_13 = sepa.due_debits(session, *period, collection_date=date(2026, 3, 13))
    assert all("Vorabankündigung zu kurz" in d.problem for d in on_13)
    # … and on 16.03. both may be collected.
    on_16 = sepa.due_debits(session, *period, collection_date=date(2026, 3, 16))
    assert [d.problem for d in on_16] == ["", ""]
    # A file for 13.03. holds nothing; a debit is never silently filed too early.
    with pytest.raises(KmsError, match="keine Lastschriften fällig"):
        sepa.create_run(
            session,
            start=period[0],
            end=date(2026, 3, 13),
            collection_date=date(2026, 3, 13),
            day=date(2026, 3, 12),
        )
    # An agreed shorter period (settings) lets the file for 13.03. take the short one.
    config.save_settings(session, sepa_notice_days=10)
    run = sepa.create_run(
        session,
        start=period[0],
        end=date(2026, 3, 13),
        collection_date=date(2026, 3, 13),
        day=date(2026, 3, 12),
    )
    assert [i.invoice_id for i in run.items] == [short.id]


@pytest.mark.parametrize("days", [0, 15])
def test_notice_period_setting_is_1_to_14_days(session: Session, days: int) -> None:
    from kms.modules.invoices import config

    with pytest.raises(ValidationErrors) as err:
        config.save_settings(session, sepa_notice_days=days)
    assert "Vorabankündigung" in str(err.value)


def test_a_one_off_mandate_collects_once_as_ooff(
    session: Session, customer: Contact, fresh_mandate: SepaMandate, bill: Callable[..., Invoice]
) -> None:
    """Einmalmandat: its debit is OOFF in its own PmtInf; a second invoice under it is
    flagged, also once the first is booked, and the mandate is then used up."""
    single = new_mandate(session, customer, reference="KMS-EIN-1", one_off=True)
    assert single.sequence == "OOFF" and fresh_mandate.sequence == "FRST"
    first = bill(14, single)
    second = bill(15, single)
    other = bill(14)
    period = (date(2026, 3, 1), date(2026, 3, 17))
    debits = {d.invoice_id: d for d in sepa.due_debits(session, *period)}
    assert (debits[first.id].sequence, debits[first.id].problem) == ("OOFF", "")
    assert debits[second.id].problem == (
        "Das Einmalmandat KMS-EIN-1 erlaubt nur eine Lastschrift; für diese Rechnung ist ein "
        "neues Mandat nötig."
    )
    run = sepa.create_run(
        session,
        start=period[0],
        end=period[1],
        collection_date=date(2026, 3, 17),
        day=date(2026, 3, 12),
    )
    session.commit()
    assert {i.invoice_id for i in run.items} == {first.id, other.id}
    assert _sequences(_parse(run.xml)) == {"OOFF": ["KMS-EIN-1"], "FRST": [fresh_mandate.reference]}
    # While the file is open the one-off mandate is taken …
    [left] = sepa.due_debits(session, *period)
    assert left.invoice_id == second.id and "nur eine Lastschrift" in left.problem
    sepa.confirm_run(session, run.id, version=run.version, booked_on=date(2026, 3, 17))
    session.commit()
    # … and once booked it is used up.
    assert single.used_up and single.sequence == "OOFF"
    [left] = sepa.due_debits(session, *period)
    assert "wurde schon eingezogen" in left.problem
    with pytest.raises(ValidationError, match="neues Mandat"):
        sepa.update_mandate(
            session, single.id, version=single.version, **{**kept(single), "one_off": False}
        )

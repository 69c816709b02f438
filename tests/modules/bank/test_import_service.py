"""Kontoauszug importieren: preview, duplicates, matching to invoices, all-or-nothing confirm."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.errors import KmsError
from kms.modules.bank import rules, service
from kms.modules.bank.models import BankImport, BankLine, BankRule
from kms.modules.bank.service import Decision
from kms.modules.bank.statement import StatementError
from kms.modules.documents.models import Document
from kms.modules.invoices.models import Payment
from kms.modules.invoices.service import open_amount, status_of
from kms.modules.ledger import service as ledger
from kms.modules.ledger.models import Booking
from kms.modules.ledger.sync import sync_payments
from tests.modules.bank.conftest import (
    FILE,
    OTHER_IBAN,
    PAYER_IBAN,
    entry,
    statement,
)
from tests.modules.invoices.conftest import ISSUE_DAY, line

D = Decimal
DAY = ISSUE_DAY + timedelta(days=5)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _confirm(session, giro, st, decisions=None, **kw):  # type: ignore[no-untyped-def]
    result = service.confirm(session, giro.id, st, decisions, FILE, "auszug.xml", "test", **kw)
    session.commit()
    return result


def test_exact_match_records_the_payment_and_books_the_income_once(
    session: Session, giro, make_draft, issue
) -> None:
    inv = issue(make_draft([line("Beratung", "1", "100.00")]))  # 119,00 gross
    st = statement(
        entry(DAY, "119.00", f"Rechnung {inv.number} vielen Dank", counterparty_name="Musterfirma")
    )
    [pl] = service.preview(session, giro.id, st).lines
    assert pl.proposal == Decision("zahlung", invoice_id=inv.id)
    assert pl.reason.startswith(f"Rechnungsnummer {inv.number} im Verwendungszweck")
    assert "Betrag = offener Betrag" in pl.reason and pl.safe

    result = _confirm(session, giro, st)
    assert (result.booked, result.payments, result.duplicates) == (1, 1, 0)
    [payment] = session.scalars(select(Payment)).all()
    [booking] = session.scalars(select(Booking)).all()
    assert booking.payment_id == payment.id and booking.account_id == giro.id
    assert booking.total == D("119.00")
    bank_line = session.scalar(select(BankLine))
    assert (bank_line.payment_id, bank_line.booking_id) == (payment.id, booking.id)
    assert open_amount(session, inv) == D("0.00")
    # The ledger's sync finds the payment booked: still exactly one income booking.
    assert sync_payments(session) == "nichts zu buchen"
    session.commit()
    assert _count(session, Booking) == 1
    # The statement file is a Buchungsbeleg in Dokumente, named by the import.
    doc = session.get(Document, result.document_id)
    assert doc is not None and doc.doc_type == "booking_receipt"
    assert session.get(BankImport, result.import_id).document_id == doc.id


def test_invoice_number_split_over_two_purpose_lines_is_found(
    session: Session, giro, make_draft, issue
) -> None:
    inv = issue(make_draft([line("Beratung", "1", "100.00")]))
    number = inv.number
    cut = len(number) - 2
    purpose = f"Zahlung {number[:cut]} {number[cut:]} Danke"  # Ustrd lines joined by a space
    [pl] = service.preview(session, giro.id, statement(entry(DAY, "119.00", purpose))).lines
    assert pl.proposal.invoice_id == inv.id
    assert f"Rechnungsnummer {number}" in pl.reason


def test_skonto_within_the_period_is_matched_and_recorded_with_skonto(
    session: Session, giro, make_draft, issue
) -> None:
    # 200 net + 19 % = 238,00; 2 % Skonto = 4,76 → 233,24 within 7 days.
    inv = issue(make_draft([line("A", "2", "100.00")], skonto_percent="2", skonto_days=7))
    st = statement(entry(ISSUE_DAY + timedelta(days=7), "233.24", f"{inv.number}"))
    [pl] = service.preview(session, giro.id, st).lines
    assert pl.proposal.skonto and "Betrag mit Skonto (4,76\xa0€)" in pl.reason
    _confirm(session, giro, st)
    payment = session.scalar(select(Payment))
    assert (payment.amount, payment.skonto) == (D("233.24"), D("4.76"))
    assert open_amount(session, inv) == D("0.00")
    # After the Skonto period the same amount is only a partial payment.
    inv2 = issue(make_draft([line("A", "2", "100.00")], skonto_percent="2", skonto_days=7))
    late = statement(entry(ISSUE_DAY + timedelta(days=8), "233.24", f"{inv2.number}"))
    [pl] = service.preview(session, giro.id, late).lines
    assert not pl.proposal.skonto and "Teilzahlung (offen 238,00\xa0€)" in pl.reason
    assert not pl.safe  # the CLI does not book partial payments by itself


def test_partial_payment_leaves_the_rest_open(session: Session, giro, make_draft, issue) -> None:
    inv = issue(make_draft([line("A", "2", "100.00")]))  # 238,00
    st = statement(entry(DAY, "100.00", f"Abschlag {inv.number}"))
    [pl] = service.preview(session, giro.id, st).lines
    assert pl.proposal.invoice_id == inv.id and "Teilzahlung" in pl.reason
    _confirm(session, giro, st)
    assert open_amount(session, inv) == D("138.00")
    # The rest arrives later and matches the open amount exactly.
    rest = statement(entry(DAY + timedelta(days=1), "138.00", f"Rest {inv.number}"))
    [pl] = service.preview(session, giro.id, rest).lines
    assert "Betrag = offener Betrag" in pl.reason
    _confirm(session, giro, rest)
    assert open_amount(session, inv) == D("0.00")
    assert _count(session, Booking) == 2


def test_payer_found_by_known_iban_or_by_name(session: Session, giro, make_draft, issue) -> None:
    first = issue(make_draft([line("A", "1", "100.00")]))
    _confirm(
        session,
        giro,
        statement(entry(DAY, "119.00", first.number, counterparty_iban=PAYER_IBAN)),
    )
    second = issue(make_draft([line("B", "1", "50.00")]))  # 59,50
    by_iban = entry(DAY, "59.50", "Danke", counterparty_iban=PAYER_IBAN)
    [pl] = service.preview(session, giro.id, statement(by_iban)).lines
    assert pl.proposal.invoice_id == second.id
    assert pl.reason == "Betrag = offener Betrag, IBAN des Kunden"
    by_name = entry(DAY, "59.50", "Danke", counterparty_name="MUSTERFIRMA GMBH")
    [pl] = service.preview(session, giro.id, statement(by_name)).lines
    assert pl.reason == "Betrag = offener Betrag, Name des Kunden"
    # An amount alone is no match, and more than is open never is.
    [pl] = service.preview(
        session, giro.id, statement(entry(DAY, "59.50", "Danke", counterparty_name="Jemand"))
    ).lines
    assert pl.proposal.handling == "ueberspringen" and pl.reason == "Keine Zuordnung gefunden"
    [pl] = service.preview(session, giro.id, statement(entry(DAY, "60.00", second.number))).lines
    assert pl.proposal.handling == "ueberspringen"


def test_two_equal_payments_on_one_day_stay_two_and_reimport_adds_nothing(
    session: Session, giro
) -> None:
    porto = ledger.category_by_key(session, "porto").id
    book = Decision("buchung", category_id=porto, tax_key="NSTB")
    coffee = entry(DAY, "-4.99", "Briefmarken", counterparty_name="Post")
    st = statement(coffee, coffee)
    pv = service.preview(session, giro.id, st)
    assert [pl.occurrence for pl in pv.lines] == [1, 2]
    assert pv.lines[0].key == pv.lines[1].key
    result = _confirm(session, giro, st, {0: book, 1: book})
    assert result.booked == 2 and _count(session, Booking) == 2
    # An overlapping statement: the same two lines plus a new one.
    new = entry(DAY + timedelta(days=1), "-4.99", "Briefmarken", counterparty_name="Post")
    again = statement(coffee, coffee, new)
    pv = service.preview(session, giro.id, again)
    assert [pl.proposal.handling for pl in pv.lines] == ["doppelt", "doppelt", "ueberspringen"]
    result = _confirm(session, giro, again, {2: book})
    assert (result.booked, result.duplicates) == (1, 2)
    assert _count(session, Booking) == 3 and _count(session, BankLine) == 3
    # The very same file once more: nothing at all.
    result = _confirm(session, giro, again)
    assert (result.booked, result.duplicates) == (0, 3)
    assert _count(session, Booking) == 3


def test_a_statement_of_another_account_is_refused(session: Session, giro) -> None:
    st = statement(entry(DAY, "10.00", "x"), iban=OTHER_IBAN)
    with pytest.raises(StatementError, match="gehört zum Konto DE02100500000054540402"):
        service.preview(session, giro.id, st)
    with pytest.raises(StatementError):
        service.confirm(session, giro.id, st, None, FILE, "a.xml", "test")
    assert _count(session, BankImport) == 0


def test_empty_and_foreign_currency_statements_are_refused(session: Session, giro) -> None:
    with pytest.raises(StatementError, match="keine gebuchten Umsätze"):
        service.preview(session, giro.id, statement())
    with pytest.raises(StatementError, match="nicht in Euro"):
        service.preview(session, giro.id, statement(entry(DAY, "1.00", "x", currency="USD")))


def test_confirm_is_all_or_nothing(session: Session, giro, make_draft, issue) -> None:
    inv = issue(make_draft([line("A", "1", "100.00")]))
    st = statement(entry(DAY, "119.00", inv.number), entry(DAY, "-20.00", "Unbekannt"))
    with pytest.raises(KmsError, match=r"Zeile 2 .*Bitte eine Kategorie wählen"):
        service.confirm(session, giro.id, st, {1: Decision("buchung")}, FILE, "auszug.xml", "test")
    session.rollback()
    assert _count(session, Payment) == 0 and _count(session, BankLine) == 0
    assert _count(session, Booking) == 0 and _count(session, BankImport) == 0
    assert open_amount(session, inv) == D("119.00")


def test_learned_rule_is_proposed_listed_and_deletable(session: Session, giro) -> None:
    office = ledger.category_by_key(session, "buerobedarf").id
    shop = entry(DAY, "-23.80", "Bestellung 4711", counterparty_iban=PAYER_IBAN,
                 counterparty_name="Papier & Co")  # fmt: skip
    decision = Decision("buchung", category_id=office, tax_key="V19", learn_rule=True)
    _confirm(session, giro, statement(shop), {0: decision})
    booking = session.scalar(select(Booking))
    assert booking.kind == "ausgabe" and booking.total == D("-23.80")
    assert booking.lines[0].tax_key == "V19" and booking.document_id is not None
    [rule] = rules.list_rules(session)
    assert rule.label == f"Regel: IBAN {PAYER_IBAN} → Bürobedarf"
    later = entry(DAY + timedelta(days=3), "-11.90", "Bestellung 4712",
                  counterparty_iban=PAYER_IBAN)  # fmt: skip
    [pl] = service.preview(session, giro.id, statement(later)).lines
    assert pl.proposal == Decision("buchung", category_id=office, tax_key="V19")
    assert pl.reason == rule.label and pl.safe
    rules.delete_rule(session, rule.id, actor="test")
    session.commit()
    assert _count(session, BankRule) == 0
    [pl] = service.preview(session, giro.id, statement(later)).lines
    assert pl.proposal.handling == "ueberspringen"


def test_transfer_to_an_own_account_is_geldtransit_and_private_is_privat(
    session: Session, giro, tagesgeld
) -> None:
    out = entry(DAY, "-500.00", "Umbuchung", counterparty_iban=OTHER_IBAN)
    back = entry(DAY, "200.00", "Umbuchung zurück", counterparty_iban=OTHER_IBAN)
    private = entry(DAY, "-50.00", "Privat")
    st = statement(out, back, private)
    pv = service.preview(session, giro.id, st)
    assert [pl.proposal.handling for pl in pv.lines] == [
        "geldtransit",
        "geldtransit",
        "ueberspringen",
    ]
    assert pv.lines[0].reason == "Geldtransit: IBAN des eigenen Kontos „Tagesgeld“"
    _confirm(session, giro, st, {2: Decision("privat")})
    session.expire_all()
    assert ledger.balance(session, giro.id) == D("-350.00")
    assert ledger.balance(session, tagesgeld.id) == D("300.00")
    kinds = sorted(b.kind for b in session.scalars(select(Booking)))
    assert kinds == ["geldtransit", "geldtransit", "privatentnahme"]


def test_returned_direct_debit_returns_the_payment_and_books_the_fee(
    session: Session, giro, make_draft, issue
) -> None:
    inv = issue(make_draft([line("A", "1", "100.00")]))
    debit = entry(DAY, "119.00", f"Lastschrift {inv.number}", end_to_end_id="E2E-4711",
                  mandate_reference="MANDAT-1", counterparty_iban=PAYER_IBAN)  # fmt: skip
    _confirm(session, giro, statement(debit))
    payment_booking = session.scalar(select(Booking))
    assert status_of(session, inv, DAY) == "bezahlt"
    ret = entry(DAY + timedelta(days=3), "-122.00", f"Rücklastschrift {inv.number}",
                end_to_end_id="E2E-4711", is_return=True, return_reason="AC04",
                fee=D("3.00"))  # fmt: skip
    [pl] = service.preview(session, giro.id, statement(ret)).lines
    assert pl.proposal.handling == "ruecklastschrift"
    assert "Gebühr 3,00\xa0€" in pl.reason
    assert f"die Zahlung zu {inv.label} wird zurückgebucht" in pl.reason
    result = _confirm(session, giro, statement(ret))
    assert (result.booked, result.payments) == (1, 0)
    # The invoice module took the payment back: the invoice is open again in full.
    original, returned = session.scalars(select(Payment).order_by(Payment.id)).all()
    assert returned.returns_payment_id == original.id and returned.amount == D("-119.00")
    assert returned.note == "Rücklastschrift: AC04"
    assert status_of(session, inv, DAY + timedelta(days=3)) == "offen"
    assert open_amount(session, inv) == D("119.00")
    # Exactly one counter-booking (the negative income of the return) and the fee.
    bookings = list(session.scalars(select(Booking).order_by(Booking.id)))
    assert len(bookings) == 3
    reversal, fee = bookings[1], bookings[2]
    assert reversal.payment_id == returned.id and reversal.reverses_id is None
    assert (reversal.kind, reversal.total, reversal.account_id) == (
        "einnahme",
        D("-119.00"),
        giro.id,
    )
    assert [(ln.tax_key, ln.amount) for ln in reversal.lines] == [
        (ln.tax_key, -ln.amount) for ln in payment_booking.lines
    ]
    assert fee.kind == "ausgabe" and fee.total == D("-3.00")
    assert fee.lines[0].category_id == ledger.category_by_key(session, "bankgebuehren").id
    bank_line = session.scalar(select(BankLine).where(BankLine.returns_line_id.is_not(None)))
    assert (bank_line.payment_id, bank_line.booking_id) == (returned.id, reversal.id)
    session.expire_all()
    assert ledger.balance(session, giro.id) == D("-3.00")
    # The sync finds the return booked; re-importing the statement adds nothing.
    assert sync_payments(session) == "nichts zu buchen"
    again = _confirm(session, giro, statement(ret))
    assert (again.booked, again.duplicates) == (0, 1)
    assert (_count(session, Booking), _count(session, Payment)) == (3, 2)
    # A second return of the same payment finds nothing to return.
    later = entry(DAY + timedelta(days=4), "-122.00", "Rücklastschrift", end_to_end_id="E2E-4711",
                  is_return=True, fee=D("3.00"))  # fmt: skip
    [pl] = service.preview(session, giro.id, statement(later)).lines
    assert pl.proposal.handling == "ueberspringen"
    assert "nicht gefunden" in pl.reason


def test_returned_direct_debit_without_invoice_counter_books_the_booking(
    session: Session, giro
) -> None:
    # A debit booked as a category (no invoice behind it): the ledger's counter-booking.
    income = ledger.category_by_key(session, "erloese")
    debit = entry(DAY, "50.00", "Mitgliedsbeitrag", end_to_end_id="E2E-0815")
    _confirm(session, giro, statement(debit),
             {0: Decision("buchung", category_id=income.id, tax_key="NSTB")})  # fmt: skip
    booked = session.scalar(select(Booking))
    ret = entry(DAY + timedelta(days=2), "-50.00", "Rücklastschrift", end_to_end_id="E2E-0815",
                is_return=True, return_reason="MD06")  # fmt: skip
    [pl] = service.preview(session, giro.id, statement(ret)).lines
    assert pl.proposal.handling == "ruecklastschrift" and "zurückgebucht" not in pl.reason
    _confirm(session, giro, statement(ret))
    reversal = session.scalars(select(Booking).order_by(Booking.id.desc())).first()
    assert reversal.reverses_id == booked.id and reversal.total == D("-50.00")
    assert _count(session, Payment) == 0


def test_returned_direct_debit_of_a_cancelled_invoice_is_refused_with_a_reason(
    session: Session, giro, make_draft, issue
) -> None:
    from kms.modules.invoices import issuing

    inv = issue(make_draft([line("A", "1", "100.00")]))
    debit = entry(DAY, "119.00", f"Lastschrift {inv.number}", end_to_end_id="E2E-9")
    _confirm(session, giro, statement(debit))
    issuing.cancel(session, inv.id, issue_date=DAY)
    session.commit()
    ret = entry(DAY + timedelta(days=1), "-119.00", "Rücklastschrift", end_to_end_id="E2E-9",
                is_return=True)  # fmt: skip
    [pl] = service.preview(session, giro.id, statement(ret)).lines
    assert "ist storniert" in pl.reason
    with pytest.raises(KmsError, match="storniert"):
        _confirm(session, giro, statement(ret))
    session.rollback()
    assert _count(session, BankLine) == 1


def test_only_safe_books_exact_matches_and_rules_and_leaves_the_rest(
    session: Session, giro, make_draft, issue
) -> None:
    inv = issue(make_draft([line("A", "1", "100.00")]))
    st = statement(
        entry(DAY, "119.00", inv.number),
        entry(DAY, "-9.99", "Irgendwas"),
    )
    result = _confirm(session, giro, st, only_safe=True)
    assert (result.booked, result.payments, result.skipped) == (1, 1, 1)
    # The unbooked line was not recorded: a later import offers it again.
    pv = service.preview(session, giro.id, st)
    assert [pl.proposal.handling for pl in pv.lines] == ["doppelt", "ueberspringen"]


def test_camt_file_with_the_number_split_over_two_ustrd_lines(
    session: Session, giro, make_draft, issue
) -> None:
    from kms.modules.bank.formats import parse_statement
    from tests.modules.bank.camt_factory import camt053_bytes

    inv = issue(make_draft([line("Beratung", "1", "100.00")]))
    number = inv.number
    data = camt053_bytes(
        giro.iban,
        [{"amount": "119.00", "booking_date": DAY, "purpose": [f"Rechnung {number[:-3]}",
          f"{number[-3:]} Danke"], "name": "Musterfirma GmbH", "iban": PAYER_IBAN}],
    )  # fmt: skip
    st = parse_statement(data, "auszug.xml")
    [pl] = service.preview(session, giro.id, st).lines
    assert pl.proposal.invoice_id == inv.id and pl.safe
    result = service.confirm(session, giro.id, st, None, data, "auszug.xml", "test")
    session.commit()
    assert result.payments == 1 and open_amount(session, inv) == D("0.00")
    # The same file of another account is refused before anything is written.
    other = parse_statement(camt053_bytes(OTHER_IBAN, [{"amount": "1.00", "booking_date": DAY}]))
    with pytest.raises(StatementError, match="nicht zu „Girokonto“"):
        service.confirm(session, giro.id, other, None, data, "fremd.xml", "test")


def test_rules_refer_to_contacts_and_refuse_bad_input(session: Session, giro, customer) -> None:
    office = ledger.category_by_key(session, "buerobedarf").id
    rules.save_rule(session, category_id=office, name_pattern="Papier & Co", contact_id=customer.id,
                    counterparty="Papier & Co")  # fmt: skip
    session.commit()
    # A contact a rule names is archived, not deleted, and appears in its Auskunft.
    assert rules.count_for_contact(session, customer.id) == 1
    assert rules.export_for_contact(session, customer.id) == [
        {
            "Regel": "Buchungsregel",
            "IBAN": "",
            "Namensteil": "Papier & Co",
            "Gegenüber": "Papier & Co",
        }
    ]
    [row] = rules.list_rules(session)
    assert row.label == "Regel: Name enthält „Papier & Co“ → Bürobedarf"
    assert row.contact == "Musterfirma GmbH"
    with pytest.raises(KmsError, match="IBAN oder einen Namensteil"):
        rules.save_rule(session, category_id=office, name_pattern="ab")
    with pytest.raises(KmsError, match="Regel gibt es nicht mehr"):
        rules.delete_rule(session, 999)


def test_candidates_are_ranked_with_their_reasons(
    session: Session, giro, make_draft, issue
) -> None:
    first = issue(make_draft([line("A", "1", "100.00")]))
    second = issue(make_draft([line("B", "1", "100.00")]))  # the same 119,00
    st = statement(entry(DAY, "119.00", f"Zahlung {second.number}",
                         counterparty_name="Musterfirma GmbH"))  # fmt: skip
    pv = service.preview(session, giro.id, st)
    assert [(no, c.number, c.score, c.reason) for no, c in pv.candidate_rows()] == [
        (1, second.number, 95,
         f"Rechnungsnummer {second.number} im Verwendungszweck, Betrag = offener Betrag, "
         "Name des Kunden"),
        (1, first.number, 45, "Betrag = offener Betrag, Name des Kunden"),
    ]  # fmt: skip
    assert pv.lines[0].proposal.invoice_id == second.id


def test_returned_direct_debit_of_a_payment_returned_already_is_refused(
    session: Session, giro, make_draft, issue
) -> None:
    from kms.modules.invoices import payments

    inv = issue(make_draft([line("A", "1", "100.00")]))
    _confirm(session, giro, statement(entry(DAY, "119.00", inv.number, end_to_end_id="E2E-7")))
    payments.return_payment(session, session.scalar(select(Payment.id)), returned_on=DAY)
    session.commit()
    ret = entry(DAY + timedelta(days=1), "-119.00", "Rücklastschrift", end_to_end_id="E2E-7",
                is_return=True)  # fmt: skip
    [pl] = service.preview(session, giro.id, statement(ret)).lines
    assert "bereits zurückgebucht" in pl.reason
    with pytest.raises(KmsError, match="bereits zurückgebucht"):
        _confirm(session, giro, statement(ret))
    session.rollback()
    assert (_count(session, BankLine), _count(session, Payment)) == (1, 2)

"""EÜR and USt-Voranmeldung with hand-computed figures (the arithmetic is in the comments)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.modules.invoices import payments
from kms.modules.ledger import reports, service
from kms.modules.ledger.models import Account
from kms.modules.ledger.report_specs import REPORTS
from kms.modules.ledger.sync import sync_payments
from kms.modules.settings import taxation
from kms.reporting import Period, frame_problems
from tests.modules.invoices.conftest import ISSUE_DAY, line

from .conftest import expense, income

D = Decimal


Q1 = Period.parse("2026-Q1")
Q2 = Period.parse("2026-Q2")
Q3 = Period.parse("2026-Q3")
Y2025 = Period.parse("2025")
Y2026 = Period.parse("2026")


def kz(frame: pd.DataFrame) -> dict[str, tuple[Decimal, Decimal]]:
    return {r["Kennzahl"]: (r["Bemessungsgrundlage"], r["Steuer"]) for _, r in frame.iterrows()}


def euer_kz(frame: pd.DataFrame) -> dict[str, Decimal]:
    return {r["Kennzahl"]: r["Betrag"] for _, r in frame.iterrows() if r["Kennzahl"]}


def _regime(session: Session, *, kind: str = "regel", ist: bool = False) -> None:
    taxation.set_regime(session, valid_from=date(2026, 1, 1), kind=kind, cash_basis=ist)
    session.commit()


def test_frames_follow_the_contract(session: Session, bank: Account) -> None:
    expense(session, bank, date(2026, 3, 5), ("119.00", "buerobedarf", "V19"))
    for spec in REPORTS:
        function = getattr(reports, spec.function.rsplit(".", 1)[1])
        frame = function(session, Q1)
        # The platform's contract (a totals row may leave its date empty).
        assert frame_problems(spec, frame) == [], spec.key


def test_soll_and_ist_in_the_same_quarter(session: Session, make_draft, issue) -> None:
    # Invoice 200,00 net + 38,00 VAT = 238,00, Leistungsdatum 27.02.2026.
    # 119,00 paid on 09.03.2026 (Q1), the other 119,00 on 02.04.2026 (Q2).
    inv = issue(make_draft([line("Beratung", "2", "100.00")]))
    payments.record_payment(session, inv.id, paid_on=date(2026, 3, 9), amount="119,00")
    payments.record_payment(session, inv.id, paid_on=date(2026, 4, 2), amount="119,00")
    session.commit()
    sync_payments(session)
    _regime(session, ist=False)
    # Soll: the whole invoice in Q1 (Leistungsdatum): 81 = 200,00 / 38,00; Q2 nothing.
    assert kz(reports.ustva(session, Q1))["81"] == (D("200.00"), D("38.00"))
    assert kz(reports.ustva(session, Q1))["83"][1] == D("38.00")
    assert kz(reports.ustva(session, Q2))["81"] == (D("0.00"), D("0.00"))
    assert "Soll" in (reports.ustva_note(session, Q1) or "")
    _regime(session, ist=True)
    # Ist: 119,00 per quarter: VAT 119 × 19/119 = 19,00, base 100,00.
    assert kz(reports.ustva(session, Q1))["81"] == (D("100.00"), D("19.00"))
    assert kz(reports.ustva(session, Q2))["81"] == (D("100.00"), D("19.00"))
    # The EÜR is cash-based either way: 2026 income 200,00 (Kz 112) + 38,00 VAT (Kz 140).
    e = euer_kz(reports.euer(session, Y2026))
    assert (e["112"], e["140"], e["159"]) == (D("200.00"), D("38.00"), D("238.00"))


def test_skonto_split_soll_and_ist(session: Session, make_draft, issue) -> None:
    # 100 net at 19 % (119,00) + 100 net at 7 % (107,00); 2 % Skonto paid in Q1:
    # 19 %: discount 2,38 = net 2,00 + VAT 0,38 → 98,00 / 18,62;
    # 7 %: discount 2,14 = net 2,00 + VAT 0,14 → 98,00 / 6,86.
    inv = issue(make_draft([line("A", "1", "100"), line("B", "1", "100", "S7", "C62")],
                           skonto_percent="2", skonto_days=7))  # fmt: skip
    payments.record_payment(
        session, inv.id, paid_on=ISSUE_DAY + timedelta(days=7), amount="221,48", skonto=True
    )
    session.commit()
    sync_payments(session)
    for ist in (False, True):
        _regime(session, ist=ist)
        f = kz(reports.ustva(session, Q1))
        assert (f["81"], f["86"]) == ((D("98.00"), D("18.62")), (D("98.00"), D("6.86"))), ist
        # 83 = 18,62 + 6,86 = 25,48
        assert f["83"][1] == D("25.48")


def test_mixed_rate_receipt_in_ustva_and_euer(session: Session, bank: Account) -> None:
    # 119,00 at 19 % (100,00 + 19,00) and 10,70 at 7 % (10,00 + 0,70) for office supplies.
    expense(
        session,
        bank,
        date(2026, 3, 5),
        ("119.00", "buerobedarf", "V19"),
        ("10.70", "buerobedarf", "V7"),
    )
    f = kz(reports.ustva(session, Q1))
    assert f["66"][1] == D("19.70") and f["83"][1] == D("-19.70")
    e = euer_kz(reports.euer(session, Y2026))
    # Kz 183 (übrige) 110,00; Kz 185 Vorsteuer 19,70; Summe 129,70; Verlust 129,70.
    assert (e["183"], e["185"], e["199"]) == (D("110.00"), D("19.70"), D("129.70"))
    assert reports.euer(session, Y2026).iloc[-1]["Betrag"] == D("-129.70")


def test_reverse_charge_regular_and_as_kleinunternehmer(session: Session, bank: Account) -> None:
    # Software from Ireland, 100,00 net: Kz 46 = 100,00, Kz 47 = 19,00, Kz 67 = 19,00, 83 = 0.
    expense(session, bank, date(2026, 2, 3), ("100.00", "software", "RCEU19"))
    f = kz(reports.ustva(session, Q1))
    assert (f["46/47"], f["67"][1], f["83"][1]) == (
        (D("100.00"), D("19.00")),
        D("19.00"),
        D("0.00"),
    )
    assert euer_kz(reports.euer(session, Y2026))["228"] == D("100.00")  # no VAT in the EÜR
    # As Kleinunternehmer from Q2: owed, not deductible: 46/47 = 100,00 / 19,00, 67 = 0, 83 = 19,00.
    taxation.set_regime(session, valid_from=date(2026, 4, 1), kind="klein")
    expense(session, bank, date(2026, 5, 4), ("100.00", "software", "RCEU19"))
    f = kz(reports.ustva(session, Q2))
    assert (f["46/47"], f["67"][1], f["83"][1]) == (
        (D("100.00"), D("19.00")),
        D("0.00"),
        D("19.00"),
    )
    note = reports.ustva_note(session, Q2) or ""
    assert "§ 18 Abs. 4a UStG" in note and "Kleinunternehmer" in note
    # The 19,00 paid to the Finanzamt in July is an expense (Kz 186): 228 = 200,00, 186 = 19,00.
    service.create_booking(
        session, booking_date=date(2026, 7, 8), account_id=bank.id, kind="ust_zahlung",
        tax_period="2026-Q2", lines=[service.LineInput("19.00")],
    )  # fmt: skip
    e = euer_kz(reports.euer(session, Y2026))
    assert (e["228"], e["186"], e["199"]) == (D("200.00"), D("19.00"), D("219.00"))


def test_ten_day_rule(session: Session, bank: Account) -> None:
    def pay(day: date, amount: str, period: str) -> None:
        service.create_booking(
            session, booking_date=day, account_id=bank.id, kind="ust_zahlung",
            tax_period=period, lines=[service.LineInput(amount)],
        )  # fmt: skip

    pay(date(2025, 10, 9), "300.00", "2025-Q3")  # 2025
    pay(date(2026, 1, 5), "500.00", "2025-Q4")  # due 10.01.2026, paid within 10 days → 2025
    pay(date(2026, 1, 12), "70.00", "2025-Q4")  # after 10.01. → 2026
    pay(date(2026, 1, 8), "40.00", "2025")  # annual return: no recurring prepayment → 2026
    # 2025: 300 + 500 = 800; 2026: 70 + 40 = 110.
    assert euer_kz(reports.euer(session, Y2025))["186"] == D("800.00")
    assert euer_kz(reports.euer(session, Y2026))["186"] == D("110.00")
    # With Dauerfristverlängerung December's prepayment is due 10.02.: paid 08.01. → 2026.
    service.save_settings(session, valid_from=date(2025, 1, 1), permanent_extension=True)
    pay(date(2026, 1, 8), "25.00", "2025-12")
    # November's is due 10.01. with the extension: paid 09.01. → 2025.
    pay(date(2026, 1, 9), "15.00", "2025-11")
    # The extension also moves Q4's due date to 10.02.: the 500,00 of 05.01. now counts in 2026.
    # 2025: 300 + 15 = 315; 2026: 500 + 70 + 40 + 25 = 635.
    assert euer_kz(reports.euer(session, Y2025))["186"] == D("315.00")
    assert euer_kz(reports.euer(session, Y2026))["186"] == D("635.00")


def test_bewirtung_and_gifts(session: Session, bank: Account) -> None:
    # Bewirtung 238,00 gross: net 200,00; 70 % = 140,00 (Kz 175), 30 % = 60,00 (Kz 165);
    # Vorsteuer 38,00 (Kz 185) fully deductible.
    expense(session, bank, date(2026, 3, 6), ("238.00", "bewirtung", "V19"))
    # Two gifts of 35,70 (30,00 + 5,70) to Frau Beispiel: 60,00 net > 50 € → 71,40 (gross,
    # VAT not deductible either) to Kz 164. One gift of 23,80 (20,00 + 3,80) to Herrn Muster → 174.
    expense(
        session, bank, date(2026, 3, 7), ("35.70", "geschenke", "V19"), counterparty="Frau Beispiel"
    )
    expense(
        session, bank, date(2026, 9, 7), ("35.70", "geschenke", "V19"), counterparty="Frau Beispiel"
    )
    expense(
        session, bank, date(2026, 9, 8), ("23.80", "geschenke", "V19"), counterparty="Herr Muster"
    )
    e = euer_kz(reports.euer(session, Y2026))
    assert (e["175"], e["165"]) == (D("140.00"), D("60.00"))
    assert (e["164"], e["174"]) == (D("71.40"), D("20.00"))
    # Kz 185: 38,00 + 3,80 = 41,80. Summe Betriebsausgaben: 140,00 + 20,00 + 41,80 = 201,80.
    assert (e["185"], e["199"]) == (D("41.80"), D("201.80"))


def test_cashbook_per_day(session: Session, cash: Account, bank: Account) -> None:
    # Opening 50,00; 01.03. Einlage 100,00 → 150,00; 02.03. Porto 30,00 → 120,00.
    service.create_booking(
        session, booking_date=date(2026, 3, 1), account_id=cash.id, kind="privateinlage",
        lines=[service.LineInput("100.00")],
    )  # fmt: skip
    expense(session, cash, date(2026, 3, 2), ("30.00", "porto", "NSTB"))
    frame = reports.cashbook(session, Q1)
    assert [tuple(r) for r in frame.itertuples(index=False)] == [
        (date(2026, 3, 1), "Kasse", D("100.00"), D("0.00"), D("150.00")),
        (date(2026, 3, 2), "Kasse", D("0.00"), D("30.00"), D("120.00")),
    ]
    by_cat = reports.expenses_by_category(session, Q1)
    assert by_cat.iloc[-1]["Kategorie"] == "Summe" and by_cat.iloc[-1]["Brutto"] == D("30.00")


def test_euer_note_for_those_who_must_keep_a_balance_sheet(session: Session, bank: Account) -> None:
    from kms.modules.settings.models import CompanyProfile

    profile = session.scalar(select(CompanyProfile).limit(1))
    if profile is None:
        profile = CompanyProfile()
        session.add(profile)
    profile.legal_form = "Einzelunternehmen"
    session.flush()
    assert reports.euer_note(session, Y2026) is None
    profile.legal_form = "GmbH"
    session.flush()
    assert "nicht zulässig" in (reports.euer_note(session, Y2026) or "")
    profile.legal_form = "e.K."
    session.flush()
    assert "§ 241a HGB" in (reports.euer_note(session, Y2026) or "")
    # 952.000,00 income (800.000 net) in 2026: above the limit.
    income(session, bank, date(2026, 3, 1), ("952000.00", "erloese", "U19"))
    assert "überschreiten" in (reports.euer_note(session, Y2026) or "")


def test_switch_from_kleinunternehmer_to_regelbesteuerung_mid_year(
    session: Session,
    make_draft,
    issue,
) -> None:
    # Kleinunternehmer until 30.06.2026, Regelbesteuerung (Soll, quarterly) from 01.07.2026.
    taxation.set_regime(session, valid_from=date(2026, 1, 1), kind="klein")
    taxation.set_regime(session, valid_from=date(2026, 7, 1), kind="regel")
    session.commit()
    # Before: 3 × 100,00 under § 19 UStG (no VAT), issued 02.03.2026, paid 300,00 on 20.03.
    before = issue(make_draft([line(tax="E")]))
    payments.record_payment(session, before.id, paid_on=date(2026, 3, 20), amount="300,00")
    # After: 3 × 100,00 at 19 % = 300,00 + 57,00 VAT, performed 01.08., issued 03.08.2026,
    # paid 357,00 on 10.08.
    after = issue(
        make_draft([line()], service_date=date(2026, 8, 1), as_of=date(2026, 8, 3)),
        day=date(2026, 8, 3),
    )
    payments.record_payment(session, after.id, paid_on=date(2026, 8, 10), amount="357,00")
    session.commit()
    sync_payments(session)
    # Q1: a Kleinunternehmer's turnover is not taxable: Kz 81 0,00, VAT due (83) 0,00.
    q1 = kz(reports.ustva(session, Q1))
    assert q1["81"] == (D("0.00"), D("0.00")) and q1["83"][1] == D("0.00")
    # Q3: 81 = 300,00 / 57,00; 83 = 57,00.
    q3 = kz(reports.ustva(session, Q3))
    assert q3["81"] == (D("300.00"), D("57.00")) and q3["83"][1] == D("57.00")
    # EÜR 2026: 300,00 as Kleinunternehmer (Kz 111), 300,00 taxable (Kz 112), 57,00 VAT
    # received (Kz 140); income total 300 + 300 + 57 = 657,00 (Kz 159).
    e = euer_kz(reports.euer(session, Y2026))
    assert (e["111"], e["112"], e["140"], e["159"]) == (
        D("300.00"),
        D("300.00"),
        D("57.00"),
        D("657.00"),
    )

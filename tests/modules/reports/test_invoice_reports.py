"""Reports from invoices with hand-computed figures, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from kms.modules.invoices import reports
from kms.modules.invoices.overview import overview
from kms.modules.invoices.report_specs import SPECS
from kms.reporting import Period, frame_problems
from tests.modules.reports.helpers import customer, invoice, pay, storno

D = Decimal


def rows(df) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [tuple(r) for r in df.itertuples(index=False)]


@pytest.fixture
def zm_world(session: Session) -> None:
    alpen = customer(session, "Alpen GmbH", country="AT", vat_id="ATU12345678")
    bleu = customer(session, "Bleu SARL", country="FR", vat_id="FR 40303265045")
    inland = customer(session, "Bau Inland GmbH", country="DE", vat_id="DE136695976")
    swiss = customer(session, "Berg AG", country="CH", vat_id="CHE123456789")
    # Alpen: K supply in January (issued in January), the S19 line is no ZM amount.
    invoice(
        session,
        alpen,
        date(2026, 1, 15),
        [("K", "1000.00"), ("K", "250.50"), ("S19", "100.00")],
        service_date=date(2026, 1, 10),
    )
    # Alpen: AE service performed 20 March, invoiced 2 April: counts in March (Q1).
    invoice(session, alpen, date(2026, 4, 2), [("AE", "800.00")], service_date=date(2026, 3, 20))
    # Alpen: K supplied 20 Nov 2025, invoiced late on 10 Feb 2026: due by end of December 2025.
    invoice(session, alpen, date(2026, 2, 10), [("K", "400.00")], service_date=date(2025, 11, 20))
    # Bleu: K 500 and AE 300 less an AE allowance of 50 on one invoice.
    invoice(
        session,
        bleu,
        date(2026, 3, 5),
        [("K", "500.00"), ("AE", "300.00")],
        service_date=date(2026, 2, 28),
        allowances=[("AE", "50.00", False)],
    )
    # Bleu: K 200 in January, cancelled on 10 April (Storno counts in Q2).
    jan = invoice(
        session, bleu, date(2026, 1, 20), [("K", "200.00")], service_date=date(2026, 1, 20)
    )
    storno(session, jan, date(2026, 4, 10))
    # Bleu: K 100 in December 2025, cancelled on 1 February 2026 (−100 in Q1).
    dec = invoice(
        session, bleu, date(2025, 12, 15), [("K", "100.00")], service_date=date(2025, 12, 10)
    )
    storno(session, dec, date(2026, 2, 1))
    # Not in any ZM: § 13b for a German customer, an export, a draft.
    invoice(session, inland, date(2026, 2, 1), [("AE", "999.00")], service_date=date(2026, 2, 1))
    invoice(session, swiss, date(2026, 2, 1), [("G", "777.00")], service_date=date(2026, 2, 1))
    invoice(session, alpen, None, [("K", "555.00")], service_date=date(2026, 2, 1))
    session.commit()


def test_zm_sums_k_and_ae_per_vat_id_by_the_dates_of_section_18a(
    session: Session, zm_world: None
) -> None:
    df = reports.zm(session, Period.parse("2026-Q1"))
    assert frame_problems(SPECS["zm"], df) == []
    # AT: K 1000.00 + 250.50 = 1250.50 (Jan); AE 800.00 (performed in March, invoiced April).
    #     The late K invoice (supplied Nov 2025) belongs to Q4 2025.
    # FR: K 500.00 (March) + 200.00 (January; its Storno is in April) − 100.00 (Storno of the
    #     December invoice, issued 1 Feb) = 600.00; AE 300.00 − 50.00 allowance = 250.00.
    # Summe: K 1250.50 + 600.00 = 1850.50; AE 800.00 + 250.00 = 1050.00.
    assert rows(df) == [
        ("AT", "ATU12345678", "Alpen GmbH", D("1250.50"), D("800.00")),
        ("FR", "FR40303265045", "Bleu SARL", D("600.00"), D("250.00")),
        ("Summe", "", "", D("1850.50"), D("1050.00")),
    ]


def test_zm_of_other_periods_takes_late_invoices_and_stornos(
    session: Session, zm_world: None
) -> None:
    # Q4 2025: AT's late K invoice (deadline 31 Dec 2025) 400.00; FR's December invoice 100.00.
    assert rows(reports.zm(session, Period.parse("2025-Q4"))) == [
        ("AT", "ATU12345678", "Alpen GmbH", D("400.00"), D("0.00")),
        ("FR", "FR40303265045", "Bleu SARL", D("100.00"), D("0.00")),
        ("Summe", "", "", D("500.00"), D("0.00")),
    ]
    # April 2026: only the Storno of FR's January invoice (−200.00); AT's April invoice is a
    # March service.
    assert rows(reports.zm(session, Period.parse("2026-04"))) == [
        ("FR", "FR40303265045", "Bleu SARL", D("-200.00"), D("0.00")),
        ("Summe", "", "", D("-200.00"), D("0.00")),
    ]
    # March alone: AT AE 800.00; FR K 500.00 (issued 5 March), its AE 250.00 was
    # performed on 28 February (not March).
    assert rows(reports.zm(session, Period.parse("2026-03"))) == [
        ("AT", "ATU12345678", "Alpen GmbH", D("0.00"), D("800.00")),
        ("FR", "FR40303265045", "Bleu SARL", D("500.00"), D("0.00")),
        ("Summe", "", "", D("500.00"), D("800.00")),
    ]


def test_open_items_age_by_days_overdue(session: Session) -> None:
    kunde = customer(session, "Kunde GmbH")
    day = date(2026, 6, 30)
    a = invoice(session, kunde, date(2026, 6, 6), [("S19", "1000.00")], due=date(2026, 6, 20))
    b = invoice(session, kunde, date(2026, 4, 16), [("S19", "500.00")], due=date(2026, 4, 30))
    pay(session, b, date(2026, 5, 2), "200.00")
    invoice(session, kunde, date(2026, 6, 26), [("S19", "100.00")], due=date(2026, 7, 10))
    invoice(session, kunde, date(2026, 2, 15), [("S19", "2000.00")], due=date(2026, 3, 1))
    invoice(session, kunde, date(2026, 5, 16), [("S19", "300.00")], due=date(2026, 5, 30))
    paid = invoice(session, kunde, date(2026, 5, 1), [("S19", "50.00")], due=date(2026, 5, 15))
    pay(session, paid, date(2026, 5, 3), "58.00", skonto="1.50")  # 58.00 + 1.50 = 59.50 gross
    cancelled = invoice(session, kunde, date(2026, 1, 5), [("S19", "80.00")], due=date(2026, 1, 19))
    storno(session, cancelled, date(2026, 1, 20))
    session.commit()
    df = reports.open_items(session, None, day=day)
    assert frame_problems(SPECS["open_items"], df) == []
    # Days overdue on 30 June: due 1 Mar → 30 (Mar) + 30 (Apr) + 31 (May) + 30 (Jun) = 121;
    # due 30 Apr → 31 + 30 = 61; due 30 May → 1 + 30 = 31; due 20 Jun → 10; due 10 Jul → 0.
    # Gross = net × 1.19. B is 595.00 less 200.00 paid = 395.00 open.
    # Summe Betrag 2380 + 595 + 357 + 1190 + 119 = 4641.00; Offen 4641 − 200 = 4441.00.
    assert [(r[2], r[4], r[5], r[6], r[7]) for r in rows(df)] == [
        (date(2026, 2, 15), D("2380.00"), D("2380.00"), 121, "> 90"),
        (date(2026, 4, 16), D("595.00"), D("395.00"), 61, "61–90"),
        (date(2026, 5, 16), D("357.00"), D("357.00"), 31, "31–60"),
        (date(2026, 6, 6), D("1190.00"), D("1190.00"), 10, "0–30"),
        (date(2026, 6, 26), D("119.00"), D("119.00"), 0, "0–30"),
        (None, D("4641.00"), D("4441.00"), 0, ""),
    ]
    assert df["Kunde"].tolist() == ["Kunde GmbH"] * 5 + ["Summe"]
    assert df["Nummer"].iloc[3] == a.number


@pytest.mark.parametrize(
    ("days", "label"),
    [
        (0, "0–30"),
        (30, "0–30"),
        (31, "31–60"),
        (60, "31–60"),
        (61, "61–90"),
        (90, "61–90"),
        (91, "> 90"),
    ],
)
def test_bucket_edges(days: int, label: str) -> None:
    assert reports.bucket(days) == label


@pytest.fixture
def revenue_world(session: Session) -> None:
    alpha = customer(session, "Alpha GmbH", customer_number="K-1")
    beta = customer(session, "Beta KG", customer_number="K-2")
    invoice(session, alpha, date(2026, 1, 10), [("S19", "1000.00")])
    invoice(session, beta, date(2026, 1, 20), [("S7", "500.00")])
    march = invoice(session, alpha, date(2026, 3, 3), [("S19", "200.00")])
    storno(session, march, date(2026, 4, 2))
    invoice(session, alpha, date(2025, 12, 30), [("S19", "999.00")])
    invoice(session, beta, None, [("S19", "50.00")])
    session.commit()


def test_revenue_by_month_counts_stornos_negative(session: Session, revenue_world: None) -> None:
    df = reports.revenue_by_month(session, Period.parse("2026"))
    assert frame_problems(SPECS["revenue_by_month"], df) == []
    zero = (0, 0, D("0.00"), D("0.00"), D("0.00"))
    by_month = {r[0]: r[1:] for r in rows(df)}
    assert len(df) == 13
    # January: 1000.00 (19 % = 190.00) + 500.00 (7 % = 35.00) → 1500.00 / 225.00 / 1725.00.
    assert by_month["Januar"] == (2, 0, D("1500.00"), D("225.00"), D("1725.00"))
    assert by_month["Februar"] == zero  # the draft has no Rechnungsdatum
    assert by_month["März"] == (1, 0, D("200.00"), D("38.00"), D("238.00"))
    assert by_month["April"] == (0, 1, D("-200.00"), D("-38.00"), D("-238.00"))
    assert by_month["Dezember"] == zero  # the 2025 invoice is another year
    # Summe: 1500 + 200 − 200 = 1500.00 net; 225.00 VAT; 1725.00 gross; 3 invoices, 1 Storno.
    assert by_month["Summe"] == (3, 1, D("1500.00"), D("225.00"), D("1725.00"))
    # The Übersicht's "Umsatz 2026 (netto)" (standing invoices) agrees.
    figure = next(f for f in overview(session, date(2026, 6, 30)) if f.label.startswith("Umsatz"))
    assert figure.value == "1.500,00\xa0€"


def test_revenue_by_customer_with_shares(session: Session, revenue_world: None) -> None:
    df = reports.revenue_by_customer(session, Period.parse("2026"))
    assert frame_problems(SPECS["revenue_by_customer"], df) == []
    # Alpha: 1000.00 + 200.00 − 200.00 (Storno) = 1000.00 of 1500.00 = 66.666… → 66.67 %;
    # Beta: 500.00 = 33.33 %.
    assert rows(df) == [
        ("Alpha GmbH", "K-1", 2, D("1000.00"), D("66.67")),
        ("Beta KG", "K-2", 1, D("500.00"), D("33.33")),
        ("Summe", "", 3, D("1500.00"), D("100.00")),
    ]


def test_empty_database_gives_only_the_totals_row(session: Session) -> None:
    for key, period in (("zm", "2026-Q1"), ("revenue_by_customer", "2026")):
        df = getattr(reports, key)(session, Period.parse(period))
        assert frame_problems(SPECS[key], df) == []
        assert df.iloc[-1, 0] == "Summe" and len(df) == 1
    df = reports.open_items(session, None)
    assert frame_problems(SPECS["open_items"], df) == [] and len(df) == 1

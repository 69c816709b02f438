"""DATEV EXTF Buchungsstapel: golden file, parse-back with the specification's field list,
settings and bad input."""

from __future__ import annotations

import csv
import io
import os
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kms.errors import KmsError, ValidationError
from kms.modules.ledger import datev, service
from kms.modules.ledger.models import Account
from kms.periods import lock_month

from .conftest import cat, expense, income

GOLDEN = Path(__file__).parent / "data" / "datev_golden.csv"
CREATED = datetime(2026, 4, 2, 9, 30, 15, 123000)

# The Buchungsstapel columns as the DATEV specification lists them (format version 13),
# written out here independently of kms.modules.ledger.datev.COLUMNS.
SPEC_FIELDS = """Umsatz (ohne Soll/Haben-Kz)|Soll/Haben-Kennzeichen|WKZ Umsatz|Kurs|Basis-Umsatz|
WKZ Basis-Umsatz|Konto|Gegenkonto (ohne BU-Schlüssel)|BU-Schlüssel|Belegdatum|Belegfeld 1|
Belegfeld 2|Skonto|Buchungstext|Postensperre|Diverse Adressnummer|Geschäftspartnerbank|
Sachverhalt|Zinssperre|Beleglink|Beleginfo - Art 1|Beleginfo - Inhalt 1|Beleginfo - Art 2|
Beleginfo - Inhalt 2|Beleginfo - Art 3|Beleginfo - Inhalt 3|Beleginfo - Art 4|
Beleginfo - Inhalt 4|Beleginfo - Art 5|Beleginfo - Inhalt 5|Beleginfo - Art 6|
Beleginfo - Inhalt 6|Beleginfo - Art 7|Beleginfo - Inhalt 7|Beleginfo - Art 8|
Beleginfo - Inhalt 8|KOST1 - Kostenstelle|KOST2 - Kostenstelle|Kost-Menge|
EU-Land u. UStID (Bestimmung)|EU-Steuersatz (Bestimmung)|Abw. Versteuerungsart|
Sachverhalt L+L|Funktionsergänzung L+L|BU 49 Hauptfunktionstyp|BU 49 Hauptfunktionsnummer|
BU 49 Funktionsergänzung|Zusatzinformation - Art 1|Zusatzinformation - Inhalt 1|
Zusatzinformation - Art 2|Zusatzinformation - Inhalt 2|Zusatzinformation - Art 3|
Zusatzinformation - Inhalt 3|Zusatzinformation - Art 4|Zusatzinformation - Inhalt 4|
Zusatzinformation - Art 5|Zusatzinformation - Inhalt 5|Zusatzinformation - Art 6|
Zusatzinformation - Inhalt 6|Zusatzinformation - Art 7|Zusatzinformation - Inhalt 7|
Zusatzinformation - Art 8|Zusatzinformation - Inhalt 8|Zusatzinformation - Art 9|
Zusatzinformation - Inhalt 9|Zusatzinformation - Art 10|Zusatzinformation - Inhalt 10|
Zusatzinformation - Art 11|Zusatzinformation - Inhalt 11|Zusatzinformation - Art 12|
Zusatzinformation - Inhalt 12|Zusatzinformation - Art 13|Zusatzinformation - Inhalt 13|
Zusatzinformation - Art 14|Zusatzinformation - Inhalt 14|Zusatzinformation - Art 15|
Zusatzinformation - Inhalt 15|Zusatzinformation - Art 16|Zusatzinformation - Inhalt 16|
Zusatzinformation - Art 17|Zusatzinformation - Inhalt 17|Zusatzinformation - Art 18|
Zusatzinformation - Inhalt 18|Zusatzinformation - Art 19|Zusatzinformation - Inhalt 19|
Zusatzinformation - Art 20|Zusatzinformation - Inhalt 20|Stück|Gewicht|Zahlweise|
Forderungsart|Veranlagungsjahr|Zugeordnete Fälligkeit|Skontotyp|Auftragsnummer|Buchungstyp|
USt-Schlüssel (Anzahlungen)|EU-Mitgliedstaat (Anzahlungen)|Sachverhalt L+L (Anzahlungen)|
EU-Steuersatz (Anzahlungen)|Erlöskonto (Anzahlungen)|Herkunft-Kz|Leerfeld|KOST-Datum|
SEPA-Mandatsreferenz|Skontosperre|Gesellschaftername|Beteiligtennummer|
Identifikationsnummer|Zeichnernummer|Postensperre bis|Bezeichnung SoBil-Sachverhalt|
Kennzeichen SoBil-Buchung|Festschreibung|Leistungsdatum|Datum Zuord. Steuerperiode|
Fälligkeit|Generalumkehr (GU)|Steuersatz|Land|Abrechnungsreferenz|
BVV-Position (Betriebsvermögensvergleich)|EU-Mitgliedstaat u. UStID (Ursprung)|
EU-Steuersatz (Ursprung)|Abw. Skontokonto"""
SPEC = [f.strip() for f in SPEC_FIELDS.replace("\n", "").split("|")]
# Header (Vorlaufsatz): position (1-based) → name, the fields this export fills.
HEADER = {1: "Kennzeichen", 2: "Versionsnummer", 3: "Formatkategorie", 4: "Formatname",
          5: "Formatversion", 6: "Erzeugt am", 8: "Herkunft", 9: "Exportiert von",
          11: "Berater", 12: "Mandant", 13: "WJ-Beginn", 14: "Sachkontenlänge",
          15: "Datum vom", 16: "Datum bis", 17: "Bezeichnung", 19: "Buchungstyp",
          20: "Rechnungslegungszweck", 21: "Festschreibung", 22: "WKZ",
          27: "Sachkontenrahmen"}  # fmt: skip


def _settings(session: Session, chart: str = "03") -> None:
    datev.save_settings(
        session, advisor_number="1234567", client_number="10001", chart=chart,
        fiscal_start="01.01.",
    )  # fmt: skip


def _book(session: Session, bank: Account, cash: Account) -> None:
    """A fixed quarter of bookings covering every kind of row."""
    income(session, bank, date(2026, 1, 15), ("1190.00", "erloese", "U19"),
           counterparty="Erika Mustermann", receipt_number="RE-2026/001")  # fmt: skip
    income(session, bank, date(2026, 2, 3), ("107.00", "erloese", "U7"),
           counterparty="Beispiel GmbH", receipt_number="RE 2026/002 (Kopie)")  # fmt: skip
    expense(session, bank, date(2026, 2, 10), ("59.50", "buerobedarf", "V19"),
            ("8.50", "porto", "NSTB"), counterparty='Papier "Müller"; Söhne',
            receipt_number="B-17")  # fmt: skip
    service.create_booking(
        session,
        booking_date=date(2026, 2, 28),
        account_id=bank.id,
        kind="geldtransit",
        transfer_account_id=cash.id,
        lines=[service.LineInput("200.00", None, "")],
    )
    expense(session, cash, date(2026, 3, 1), ("119.00", "bewirtung", "V19"),
            counterparty="Gasthaus zum Beispiel ☺ Łódź " + "x" * 60)  # fmt: skip
    # A refund: a negative expense line.
    expense(session, bank, date(2026, 3, 5), ("-23.80", "buerobedarf", "V19"),
            counterparty="Papier Müller")  # fmt: skip
    service.create_booking(
        session,
        booking_date=date(2026, 3, 10),
        account_id=bank.id,
        kind="privatentnahme",
        lines=[service.LineInput("500.00", None, "")],
    )
    session.commit()
    lock_month(session, date(2026, 1, 1))
    session.commit()


def _parse(content: bytes) -> tuple[list[str], list[str], list[dict[str, str]]]:
    text = content.decode("cp1252")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"'))
    header, columns, data = rows[0], rows[1], rows[2:]
    assert columns == SPEC
    return header, columns, [dict(zip(SPEC, r, strict=True)) for r in data]


def test_golden_file_byte_exact(session: Session, bank: Account, cash: Account) -> None:
    _settings(session)
    _book(session, bank, cash)
    result = datev.export(session, date(2026, 1, 1), date(2026, 3, 31), created=CREATED)
    if os.environ.get("KMS_REGENERATE_GOLDEN"):
        GOLDEN.write_bytes(result.content)
    assert result.content == GOLDEN.read_bytes()
    assert result.rows == 8 and not result.locked


def test_parse_back_with_the_specification(session: Session, bank: Account, cash: Account) -> None:
    _settings(session)
    _book(session, bank, cash)
    result = datev.export(session, date(2026, 1, 1), date(2026, 3, 31), created=CREATED)
    header, _, rows = _parse(result.content)
    assert len(header) == 31
    named = {HEADER[i]: header[i - 1] for i in HEADER}
    assert named == {
        "Kennzeichen": "EXTF", "Versionsnummer": "700", "Formatkategorie": "21",
        "Formatname": "Buchungsstapel", "Formatversion": "13",
        "Erzeugt am": "20260402093015123", "Herkunft": "KM", "Exportiert von": "KMS",
        "Berater": "1234567", "Mandant": "10001", "WJ-Beginn": "20260101",
        "Sachkontenlänge": "4", "Datum vom": "20260101", "Datum bis": "20260331",
        "Bezeichnung": "KMS 01.01.2026-31.03.2026", "Buchungstyp": "1",
        "Rechnungslegungszweck": "0", "Festschreibung": "0", "WKZ": "EUR",
        "Sachkontenrahmen": "03",
    }  # fmt: skip
    assert len(named["Bezeichnung"]) <= 30 and len(named["Herkunft"]) == 2
    got = [
        (r["Umsatz (ohne Soll/Haben-Kz)"], r["Soll/Haben-Kennzeichen"], r["Konto"],
         r["Gegenkonto (ohne BU-Schlüssel)"], r["BU-Schlüssel"], r["Belegdatum"],
         r["Belegfeld 1"], r["Festschreibung"])
        for r in rows
    ]  # fmt: skip
    assert got == [
        # Erlöse 19 % and 7 % are Automatikkonten: no BU-Schlüssel.
        ("1190,00", "S", "1200", "8400", "", "1501", "RE-2026/001", "1"),
        ("107,00", "S", "1200", "8300", "", "0302", "RE-2026/002--Kopie-", "0"),
        ("59,50", "H", "1200", "4930", "9", "1002", "B-17", "0"),
        ("8,50", "H", "1200", "4910", "", "1002", "B-17", "0"),
        ("200,00", "H", "1200", "1000", "", "2802", "", "0"),
        ("119,00", "H", "1000", "4650", "9", "0103", "", "0"),
        ("23,80", "S", "1200", "4930", "9", "0503", "", "0"),
        ("500,00", "H", "1200", "1800", "", "1003", "", "0"),
    ]
    texts = [r["Buchungstext"] for r in rows]
    assert texts[2] == 'Papier "Müller"; Söhne'
    assert len(texts[5]) == 60 and texts[5].startswith("Gasthaus zum Beispiel ? ?ód? xxx")
    assert all(r["WKZ Umsatz"] == "EUR" for r in rows)
    joined = " ".join(result.warnings)
    assert "„☺“" in joined and "60 Zeichen gekürzt" in joined and "RE 2026/002" in joined
    assert "teilweise festgeschrieben" in joined


def test_skr04_and_locked_range(session: Session, bank: Account, cash: Account) -> None:
    _settings(session, chart="04")
    _book(session, bank, cash)
    result = datev.export(session, date(2026, 1, 1), date(2026, 1, 31), created=CREATED)
    header, _, rows = _parse(result.content)
    assert header[20] == "1" and header[26] == "04" and result.locked
    assert [(r["Konto"], r["Gegenkonto (ohne BU-Schlüssel)"]) for r in rows] == [("1800", "4400")]
    # A user's own Sachkonto and Geldkonto win over the defaults.
    datev.set_category_account(session, cat(session, "erloese"), skr03="", skr04="4401")
    datev.set_money_account(session, bank.id, "1810")
    _, _, rows = _parse(datev.export(session, date(2026, 1, 1), date(2026, 1, 31)).content)
    assert (rows[0]["Konto"], rows[0]["Gegenkonto (ohne BU-Schlüssel)"]) == ("1810", "4401")
    assert rows[0]["BU-Schlüssel"] == "3"  # 4401 is no Automatikkonto


def test_range_over_two_fiscal_years_is_refused(session: Session, bank: Account) -> None:
    _settings(session)
    with pytest.raises(KmsError, match="höchstens ein Wirtschaftsjahr"):
        datev.export(session, date(2025, 12, 1), date(2026, 1, 31))
    datev.save_settings(session, advisor_number="1001", client_number="1", chart="03",
                        fiscal_start="01.07.")  # fmt: skip
    # WJ 01.07.2025–30.06.2026: December to January is one year now, July is the next.
    assert datev.export(session, date(2025, 12, 1), date(2026, 1, 31)).rows == 0
    with pytest.raises(KmsError, match=r"30\.06\.2026"):
        datev.export(session, date(2026, 6, 1), date(2026, 7, 31))


def test_missing_master_data_and_bad_settings(session: Session, bank: Account) -> None:
    with pytest.raises(KmsError, match="fehlt die Berater-Nr"):
        datev.export(session, date(2026, 1, 1), date(2026, 1, 31))
    datev.save_settings(session, advisor_number="1001", client_number="", chart="03")
    with pytest.raises(KmsError, match="fehlt die Mandanten-Nr"):
        datev.export(session, date(2026, 1, 1), date(2026, 1, 31))
    for kwargs, message in (
        ({"advisor_number": "999"}, "Berater-Nr. muss eine Zahl von 1001 bis 9999999"),
        ({"client_number": "100000"}, "Mandanten-Nr. muss eine Zahl von 1 bis 99999"),
        ({"chart": "05"}, "SKR 03 oder SKR 04"),
        ({"fiscal_start": "31.02."}, "TT.MM."),
        ({"account_length": "9"}, "Sachkontenlänge"),
    ):
        args = {"advisor_number": "1001", "client_number": "1", "chart": "03", **kwargs}
        with pytest.raises(ValidationError, match=message):
            datev.save_settings(session, **args)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="genau 4 Ziffern"):
        datev.set_money_account(session, bank.id, "12A0")
    with pytest.raises(ValidationError, match="genau 4 Ziffern"):
        datev.set_category_account(session, cat(session, "porto"), skr03="49100", skr04="")


def test_longer_account_length_and_small_business(session: Session, bank: Account) -> None:
    from kms.modules.settings import taxation

    datev.save_settings(session, advisor_number="1001", client_number="1", chart="03",
                        account_length="5")  # fmt: skip
    income(session, bank, date(2026, 1, 15), ("1190.00", "erloese", "U19"))
    expense(session, bank, date(2026, 1, 20), ("59.50", "buerobedarf", "V19"))
    taxation.set_regime(session, valid_from=date(2026, 2, 1), kind="klein")
    expense(session, bank, date(2026, 2, 20), ("59.50", "buerobedarf", "V19"))
    session.commit()
    _, _, rows = _parse(datev.export(session, date(2026, 1, 1), date(2026, 2, 28)).content)
    got = [(r["Konto"], r["Gegenkonto (ohne BU-Schlüssel)"], r["BU-Schlüssel"]) for r in rows]
    # 8400 → 84000 is still an Automatikkonto; the Kleinunternehmer's purchase has no Vorsteuer.
    assert got == [("12000", "84000", ""), ("12000", "49300", "9"), ("12000", "49300", "")]


def test_every_builtin_category_has_accounts(session: Session, bank: Account) -> None:
    from kms.modules.ledger.categories import DEFAULT_CATEGORIES

    assert {c.key for c in DEFAULT_CATEGORIES} == set(datev.CATEGORY_DEFAULTS)
    assert len(datev.COLUMNS) == 125
    for category in service.list_categories(session):
        for chart in ("03", "04"):
            number = datev.category_account(session, category, chart)
            assert number.isdigit() and len(number) == 4, (category.key, chart)


def test_purchases_follow_the_tax_key_and_mismatches_are_named(
    session: Session, bank: Account
) -> None:
    _settings(session)
    expense(session, bank, date(2026, 3, 2), ("107.00", "waren", "V7"),
            ("50.00", "waren", "VOHNE"), ("119.00", "waren", "V19"))  # fmt: skip
    income(session, bank, date(2026, 3, 3), ("107.00", "anlagenverkauf", "U7"))
    session.commit()
    result = datev.export(session, date(2026, 3, 1), date(2026, 3, 31))
    _, _, rows = _parse(result.content)
    got = [(r["Gegenkonto (ohne BU-Schlüssel)"], r["BU-Schlüssel"]) for r in rows]
    # 3300/3400 are the 7 %/19 % Automatikkonten; 3200 has no tax of its own.
    assert got == [("3300", ""), ("3200", ""), ("3400", ""), ("8820", "")]
    [warning] = result.warnings
    assert "Konto 8820 ist ein Automatikkonto für „Umsatz 19 % USt“" in warning
    assert "„Umsatz 7 % USt“" in warning

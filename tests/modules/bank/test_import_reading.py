"""Reading a statement through a saved generic CSV mapping, and its refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from kms.errors import ValidationError
from kms.modules.bank import reading
from kms.modules.bank.formats import CsvMapping
from kms.modules.bank.statement import StatementError

CSV = (
    "Datum;Text;Empfänger;Konto;Betrag\n"
    "05.03.2026;RE-2026-0001 Danke;Musterfirma GmbH;DE89370400440532013000;119,00\n"
    "06.03.2026;Porto;Post;;-4,99\n"
).encode("cp1252")


def test_a_saved_mapping_reads_a_csv_and_is_offered_as_format(session: Session) -> None:
    mapping = CsvMapping(
        date_column="Datum", purpose_column="Text", name_column="Empfänger",
        iban_column="Konto", amount_column="Betrag",
    )  # fmt: skip
    reading.save_mapping(session, "Hausbank", mapping, actor="test")
    session.commit()
    assert reading.profile_choices(session)["gespeichert:Hausbank"] == "Eigene Zuordnung: Hausbank"
    st = reading.read_statement(session, CSV, "umsaetze.csv", profile="gespeichert:Hausbank")
    assert [ln.amount for ln in st.lines] == [Decimal("119.00"), Decimal("-4.99")]
    assert st.lines[0].counterparty_iban == "DE89370400440532013000"
    # Saving again under the same name replaces the mapping, never adds a second one.
    reading.save_mapping(session, "Hausbank", mapping, actor="test")
    assert len(reading.saved_mappings(session)) == 1


def test_bad_mappings_and_unknown_profiles_are_refused(session: Session) -> None:
    with pytest.raises(ValidationError, match="Datum und Betrag"):
        reading.save_mapping(session, "Leer", CsvMapping(date_column="Datum"))
    with pytest.raises(ValidationError, match="Namen"):
        reading.save_mapping(session, " ", CsvMapping(date_column="D", amount_column="B"))
    with pytest.raises(StatementError, match="gibt es nicht mehr"):
        reading.read_statement(session, CSV, "x.csv", profile="gespeichert:Weg")
    with pytest.raises(StatementError, match="ist leer"):
        reading.read_statement(session, b"", "leer.xml")

"""The Preiskalkulation tables in words: the restore's loss report names them in German."""

from __future__ import annotations

from kms.backups.restore import TABLE_LABELS
from kms.models import Base
from kms.modules.pricing import models  # noqa: F401 - registers the tables


def test_every_pricing_table_has_a_german_label_in_the_restore_report() -> None:
    tables = {name for name in Base.metadata.tables if name.startswith("pricing_")}
    assert tables == {
        "pricing_overheads",
        "pricing_basis",
        "pricing_offerings",
        "pricing_invoice_links",
    }
    assert all(TABLE_LABELS.get(name, name) != name for name in tables)

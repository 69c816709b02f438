"""Labels of the Dokumente page that are computed, not typed."""

from __future__ import annotations

from datetime import date

from kms.modules.documents.ui import pick_label


def test_pick_label_adds_the_date_once() -> None:
    """An upload gets its date; a backup's title already names it and does not repeat it."""
    assert pick_label("Angebot Fotoshooting", date(2026, 11, 27)) == (
        "Angebot Fotoshooting (27.11.2026)"
    )
    backup = "Backup vom 27.11.2026 05:26:50 Uhr (von Hand, verschlüsselt)"
    assert pick_label(backup, date(2026, 11, 27)) == backup
    assert pick_label(backup, date(2026, 11, 28)).endswith("(28.11.2026)")

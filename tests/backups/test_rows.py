"""The row encoding of archive format 2 (kms.backups.rows)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kms.backups import rows


@pytest.mark.parametrize(
    "values",
    [
        [1, "Erika Mustermann", None, True, False, 0, -7],
        ['Zeile\nzwei "zitiert" \\ € ü 🧾', "\u2028\u0000\t"],
        [1.5, -0.0, 1e300, 12345678901234567890, float("inf")],
        [{"b": [1, None, {"c": "ä"}], "a": {}}, [], [[]]],
    ],
)
def test_row_encoding_is_json_dumps_compact(values: list[Any]) -> None:
    """The reused C encoder writes exactly what json.dumps writes, one line per row."""
    expected = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    assert rows._ENCODE(values) == expected
    assert "\n" not in rows._ENCODE(values)
    assert json.loads(rows._ENCODE(values)) == json.loads(expected)


def test_values_json_cannot_hold_are_refused() -> None:
    """Like json.dumps: an object without a JSON form raises TypeError, nothing is written."""
    with pytest.raises(TypeError):
        rows._ENCODE([object()])


def test_unreadable_row_line_is_a_german_backup_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A part whose line is not JSON stops reading with a BackupError, not a ValueError."""
    import gzip

    from kms.backups.errors import BackupError

    part = tmp_path / "contacts"
    part.write_bytes(gzip.compress(b'[1,"a"]\n[2,"b"\n'))
    with pytest.raises(BackupError, match="unlesbar"):
        list(rows.read_rows(part))


def test_parts_are_read_in_batches_row_for_row(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Rows of both formats (arrays and objects) come back in order, across batches."""
    import gzip

    part = tmp_path / "t"
    lines = [json.dumps([i, f"z{i}" + "x" * 60]) for i in range(30_000)] + [json.dumps({"id": 1})]
    part.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    got = list(rows.read_rows(part))
    assert [r[0] for r in got[:-1]] == list(range(30_000))  # 2 MB: more than one batch
    assert got[-1] == {"id": 1}

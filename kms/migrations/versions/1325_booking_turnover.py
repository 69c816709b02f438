"""ledger_bookings.turnover_19: each booking's § 19 turnover, summed per year by an index

The Kleinunternehmer watch summed the counting booking lines of two years on every rerun of
the Einstellungen page. On PostgreSQL that was a hash join over every booking line (20 ms
per year on the large benchmark instance). Each booking now stores its share, derived from
its lines on every flush, and the index over (kind, booking_date) also covers it.

The backfill uses the rule of kms/modules/ledger/turnover.py as of this revision, frozen
here; tests/modules/ledger/test_turnover.py checks that the code still agrees (a new
counting tax key needs a migration that derives the sums again).

Revision ID: 1325
Revises: 1324
Create Date: 2026-12-04 15:30:00
"""

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision: str = "1325"
down_revision: str | Sequence[str] | None = "1324"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tax keys whose lines count (TaxKey.turnover_19) and the EÜR field that never counts.
COUNTING_CODES = ("U13B", "U19", "U7", "UFREI", "UKU")
EXCLUDED_FIELDS = ("anlagenabgang",)


@contextmanager
def _bookings_table() -> Iterator[BatchOperations]:
    """Batch mode; its reflection of the invoices table that bookings refer to warns about
    the expression index ix_invoices_list_order, which it need not copy."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table("ledger_bookings", schema=None) as batch_op:
            yield batch_op


def upgrade() -> None:
    with _bookings_table() as batch_op:
        batch_op.add_column(
            sa.Column("turnover_19", sa.BigInteger(), nullable=False, server_default="0")
        )
    codes = ", ".join(f"'{code}'" for code in COUNTING_CODES)
    excluded = ", ".join(f"'{field}'" for field in EXCLUDED_FIELDS)
    op.execute(
        "UPDATE ledger_bookings SET turnover_19 = ("
        " SELECT COALESCE(SUM(l.amount - l.paid_tax), 0)"
        " FROM ledger_booking_lines l JOIN ledger_categories c ON c.id = l.category_id"
        f" WHERE l.booking_id = ledger_bookings.id AND l.tax_key IN ({codes})"
        f" AND c.euer_field NOT IN ({excluded})"
        ") WHERE kind = 'einnahme'"
    )
    with _bookings_table() as batch_op:
        batch_op.alter_column("turnover_19", server_default=None)
        batch_op.drop_index("ix_ledger_bookings_kind_date")
        batch_op.create_index(
            "ix_ledger_bookings_kind_date", ["kind", "booking_date", "turnover_19"], unique=False
        )


def downgrade() -> None:
    with _bookings_table() as batch_op:
        batch_op.drop_index("ix_ledger_bookings_kind_date")
        batch_op.create_index("ix_ledger_bookings_kind_date", ["kind", "booking_date"], unique=False)
        batch_op.drop_column("turnover_19")

"""Abschlags- und Schlussrechnungen: invoices.billing and invoices.order_reference, and the
advance a final invoice's deduction line deducts (invoice_lines.deducts_invoice_id)

Revision ID: 1319
Revises: 1316
Create Date: 2026-12-03 14:00:00
"""

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision: str = "1319"
down_revision: str | Sequence[str] | None = "1316"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@contextmanager
def _batch(table: str) -> Iterator[BatchOperations]:
    """Batch mode (SQLite copies the table); reflection skips the expression index
    ix_invoices_list_order, which _restore_list_order_index puts back."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table(table, schema=None) as batch_op:
            yield batch_op


def _restore_list_order_index() -> None:
    """SQLite's table copy drops the expression index of migration 1303: create it again."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    exists = bind.execute(
        sa.text(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'ix_invoices_list_order'"
        )
    ).first()
    if exists is None:
        op.create_index(
            "ix_invoices_list_order",
            "invoices",
            [sa.text("(issued_at IS NOT NULL)"), sa.text("issue_date DESC"), sa.text("id DESC")],
            unique=False,
        )


def upgrade() -> None:
    with _batch("invoices") as batch_op:
        batch_op.add_column(
            sa.Column("billing", sa.String(length=10), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("order_reference", sa.String(length=100), nullable=False, server_default="")
        )
    with _batch("invoices") as batch_op:
        batch_op.alter_column("billing", server_default=None)
        batch_op.alter_column("order_reference", server_default=None)
    _restore_list_order_index()
    with _batch("invoice_lines") as batch_op:
        batch_op.add_column(sa.Column("deducts_invoice_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_invoice_lines_deducts_invoice_id"), ["deducts_invoice_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_invoice_lines_deducts_invoice_id_invoices"),
            "invoices",
            ["deducts_invoice_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with _batch("invoice_lines") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_invoice_lines_deducts_invoice_id_invoices"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_invoice_lines_deducts_invoice_id"))
        batch_op.drop_column("deducts_invoice_id")
    with _batch("invoices") as batch_op:
        batch_op.drop_column("order_reference")
        batch_op.drop_column("billing")
    _restore_list_order_index()

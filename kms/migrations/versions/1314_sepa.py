"""SEPA direct debit: Gläubiger-ID, sepa_mandates, sepa_runs and their items, and the
mandate an invoice is collected under (invoices.sepa_mandate_id)

Revision ID: 1314
Revises: 1313
Create Date: 2026-12-03 09:45:00
"""

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

import kms.types

revision: str = "1314"
down_revision: str | Sequence[str] | None = "1313"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, kms.types.UTCDateTime(timezone=True), nullable=nullable)


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
    with _batch("company_profile") as batch_op:
        batch_op.add_column(
            sa.Column("creditor_id", sa.String(length=35), nullable=False, server_default="")
        )
    with _batch("company_profile") as batch_op:
        batch_op.alter_column("creditor_id", server_default=None)
    op.create_table(
        "sepa_mandates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=35), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("scheme", sa.String(length=4), nullable=False),
        sa.Column("debtor_name", sa.String(length=70), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("last_used_on", sa.Date(), nullable=True),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_sepa_mandates_contact_id_contacts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sepa_mandates")),
        sa.UniqueConstraint("reference", name=op.f("uq_sepa_mandates_reference")),
    )
    op.create_index(op.f("ix_sepa_mandates_contact_id"), "sepa_mandates", ["contact_id"])
    op.create_table(
        "sepa_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", kms.types.Money(), nullable=False),
        sa.Column("filename", sa.String(length=100), nullable=False),
        sa.Column("xml", sa.Text(), nullable=False),
        _stamp("created_at"),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _stamp("settled_at", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sepa_runs")),
        sa.UniqueConstraint("message_id", name=op.f("uq_sepa_runs_message_id")),
    )
    op.create_index(op.f("ix_sepa_runs_created_at"), "sepa_runs", ["created_at"])
    op.create_table(
        "sepa_run_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("mandate_id", sa.Integer(), nullable=False),
        sa.Column("amount", kms.types.Money(), nullable=False),
        sa.Column("sequence", sa.String(length=4), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_sepa_run_items_invoice_id_invoices"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["mandate_id"],
            ["sepa_mandates.id"],
            name=op.f("fk_sepa_run_items_mandate_id_sepa_mandates"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sepa_runs.id"],
            name=op.f("fk_sepa_run_items_run_id_sepa_runs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sepa_run_items")),
    )
    for column in ("run_id", "invoice_id", "mandate_id"):
        op.create_index(op.f(f"ix_sepa_run_items_{column}"), "sepa_run_items", [column])
    with _batch("invoices") as batch_op:
        batch_op.add_column(sa.Column("sepa_mandate_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_invoices_sepa_mandate_id"), ["sepa_mandate_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_invoices_sepa_mandate_id_sepa_mandates"),
            "sepa_mandates",
            ["sepa_mandate_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    _restore_list_order_index()


def downgrade() -> None:
    with _batch("invoices") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_invoices_sepa_mandate_id_sepa_mandates"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_invoices_sepa_mandate_id"))
        batch_op.drop_column("sepa_mandate_id")
    _restore_list_order_index()
    op.drop_table("sepa_run_items")
    op.drop_table("sepa_runs")
    op.drop_index(op.f("ix_sepa_mandates_contact_id"), table_name="sepa_mandates")
    op.drop_table("sepa_mandates")
    with _batch("company_profile") as batch_op:
        batch_op.drop_column("creditor_id")

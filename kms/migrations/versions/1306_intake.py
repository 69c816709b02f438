"""intake: received invoices (Rechnungseingang)

Revision ID: 1306
Revises: 1305
Create Date: 2026-12-03 05:45:00

One row per received invoice file; the original bytes are a Dokumente document.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kms.types

revision: str = "1306"
down_revision: str | Sequence[str] | None = "1305"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _money(name: str) -> sa.Column:
    return sa.Column(name, kms.types.Money(), nullable=True)


def upgrade() -> None:
    op.create_table(
        "intake_invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("container", sa.String(length=6), nullable=False),
        sa.Column("syntax", sa.String(length=5), nullable=False),
        sa.Column("profile", sa.String(length=200), nullable=False),
        sa.Column("profile_label", sa.String(length=60), nullable=False),
        sa.Column("type_code", sa.String(length=3), nullable=False),
        sa.Column("seller_name", sa.String(length=200), nullable=False),
        sa.Column("seller_vat_id", sa.String(length=40), nullable=False),
        sa.Column("seller_iban", sa.String(length=34), nullable=False),
        sa.Column("invoice_number", sa.String(length=100), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _money("net"),
        _money("tax"),
        _money("gross"),
        _money("due"),
        sa.Column("validation", sa.String(length=12), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("dup_vat_key", sa.String(length=150), nullable=True),
        sa.Column("dup_name_key", sa.String(length=310), nullable=True),
        sa.Column("received_at", kms.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_intake_invoices_document_id_documents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["ledger_bookings.id"],
            name=op.f("fk_intake_invoices_booking_id_ledger_bookings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_intake_invoices_contact_id_contacts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_invoices")),
        sa.UniqueConstraint("sha256", name=op.f("uq_intake_invoices_sha256")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_intake_invoices_booking_id")),
        sa.UniqueConstraint("dup_vat_key", name=op.f("uq_intake_invoices_dup_vat_key")),
        sa.UniqueConstraint("dup_name_key", name=op.f("uq_intake_invoices_dup_name_key")),
    )
    with op.batch_alter_table("intake_invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intake_invoices_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intake_invoices_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intake_invoices_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(
            "ix_intake_invoices_status_received", ["status", "received_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("intake_invoices")

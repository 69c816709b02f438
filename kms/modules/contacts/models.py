"""Kontakte: persons and organisations in one table, with roles, tags and addresses.

One table keeps customer numbers, search, invoices' recipients and document links
uniform: a `kind` column says whether a row is a person or an organisation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kms.models import Base, BusinessData
from kms.types import utcnow

KINDS = {"person": "Person", "organisation": "Organisation"}
ROLES = {
    "kunde": "Kunde",
    "interessent": "Interessent",
    "lieferant": "Lieferant",
    "inhaber": "Inhaber/in",
}
SALUTATIONS = {"": "keine", "frau": "Frau", "herr": "Herr", "divers": "divers"}

contact_tags = Table(
    "contact_tags",
    Base.metadata,
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Tag(BusinessData, Base):
    """A free label for grouping contacts (e.g. "Newsletter")."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)


class ContactRole(BusinessData, Base):
    """One role of a contact; a contact can hold several (customer and supplier)."""

    __tablename__ = "contact_roles"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)


class ContactSequence(BusinessData, Base):
    """The counter behind automatic customer numbers; its row is locked while a number is taken."""

    __tablename__ = "contact_sequences"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_value: Mapped[int] = mapped_column(default=1)


class Contact(BusinessData, Base):
    """A person or an organisation the business deals with."""

    __tablename__ = "contacts"
    # The customer choice of a draft, in its order: the first 500 without sorting every
    # contact (migration 1303).
    __table_args__ = (Index("ix_contacts_choice_order", "name", "last_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), default="person", index=True)
    customer_number: Mapped[str | None] = mapped_column(String(30), unique=True, default=None)
    # Persons
    salutation: Mapped[str] = mapped_column(String(10), default="")
    title: Mapped[str] = mapped_column(String(40), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    job_title: Mapped[str] = mapped_column(String(100), default="")
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None, index=True
    )
    # Organisations
    name: Mapped[str] = mapped_column(String(200), default="")
    legal_form: Mapped[str] = mapped_column(String(60), default="")
    # Both
    buyer_reference: Mapped[str] = mapped_column(String(60), default="")  # Leitweg-ID (BT-10)
    # The e-invoice format this customer receives (kms.modules.invoices.models.EINVOICE_FORMATS).
    einvoice_format: Mapped[str] = mapped_column(String(20), default="facturx")
    vat_id: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # Rechnungsadresse
    street: Mapped[str] = mapped_column(String(200), default="")
    address_extra: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="DE")
    # Lieferadresse (optional; empty street means "same as Rechnungsadresse")
    delivery_street: Mapped[str] = mapped_column(String(200), default="")
    delivery_extra: Mapped[str] = mapped_column(String(200), default="")
    delivery_postcode: Mapped[str] = mapped_column(String(10), default="")
    delivery_city: Mapped[str] = mapped_column(String(100), default="")
    delivery_country: Mapped[str] = mapped_column(String(2), default="DE")
    is_owner: Mapped[bool] = mapped_column(default=False)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when personal data was erased (Art. 17 DSGVO); the row stays for its references.
    anonymised_at: Mapped[datetime | None] = mapped_column(default=None)
    # Lower-cased, umlaut-folded name/e-mail/number/town for search alike on both databases.
    search_key: Mapped[str] = mapped_column(String(1000), default="", index=True)
    # The folded display name ("mustermann erika"): sorts alike on both databases, where
    # SQLite's binary collation would put "Müller" after "Zander".
    sort_key: Mapped[str] = mapped_column(String(300), default="", index=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    __mapper_args__ = {"version_id_col": version}

    organisation: Mapped[Contact | None] = relationship(remote_side=[id], lazy="joined")
    tags: Mapped[list[Tag]] = relationship(secondary=contact_tags, lazy="selectin")
    roles: Mapped[list[ContactRole]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    @property
    def display_name(self) -> str:
        """Organisation name, or "Dr. Erika Mustermann" for a person."""
        if self.kind == "organisation":
            return self.name
        return " ".join(p for p in (self.title, self.first_name, self.last_name) if p)

    @property
    def full_name(self) -> str:
        return self.display_name

    @property
    def role_keys(self) -> set[str]:
        return {r.role for r in self.roles}

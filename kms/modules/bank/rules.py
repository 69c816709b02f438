"""Learned booking rules: a counterparty IBAN (or a part of the name) → category, tax key,
contact. Created from the user's choices on import, listed on the page, deletable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms import audit
from kms.errors import NotFoundError, ValidationError
from kms.modules.bank.models import BankRule
from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import search_key as fold
from kms.modules.ledger.models import Category
from kms.permissions import Permission, require_permission

ENTITY = "bank_rule"


@dataclass(frozen=True)
class RuleRow:
    id: int
    iban: str
    name_pattern: str
    category_id: int
    category: str
    tax_key: str
    contact_id: int | None
    contact: str
    counterparty: str

    @property
    def condition(self) -> str:
        return f"IBAN {self.iban}" if self.iban else f"Name enthält „{self.name_pattern}“"

    @property
    def label(self) -> str:
        return f"Regel: {self.condition} → {self.category}"


def list_rules(session: Session) -> list[RuleRow]:
    require_permission(Permission.LEDGER_READ, session)
    rows = session.execute(
        select(BankRule, Category.name, Contact)
        .join(Category, Category.id == BankRule.category_id)
        .outerjoin(Contact, Contact.id == BankRule.contact_id)
        .order_by(BankRule.id)
    ).all()
    return [
        RuleRow(
            id=rule.id,
            iban=rule.iban,
            name_pattern=rule.name_pattern,
            category_id=rule.category_id,
            category=category,
            tax_key=rule.tax_key,
            contact_id=rule.contact_id,
            contact=contact.display_name if contact else "",
            counterparty=rule.counterparty,
        )
        for rule, category, contact in rows
    ]


def find_rule(rules: list[RuleRow], iban: str, name: str) -> RuleRow | None:
    """The rule for a counterparty: by IBAN first, then by a name part."""
    if iban:
        for rule in rules:
            if rule.iban and rule.iban == iban:
                return rule
    key = fold(name)
    if key:
        for rule in rules:
            if not rule.iban and rule.name_pattern and fold(rule.name_pattern) in key:
                return rule
    return None


def save_rule(
    session: Session,
    *,
    category_id: int,
    iban: str = "",
    name_pattern: str = "",
    tax_key: str = "",
    contact_id: int | None = None,
    counterparty: str = "",
    actor: str = "",
) -> BankRule:
    """Create the rule for an IBAN or name part, or replace the existing one for it."""
    require_permission(Permission.LEDGER_WRITE, session)
    iban = "".join(iban.split()).upper()
    name_pattern = " ".join(name_pattern.split())
    if not iban and len(name_pattern) < 3:
        raise ValidationError(
            "iban", "Eine Regel braucht eine IBAN oder einen Namensteil (mindestens 3 Zeichen)."
        )
    if session.get(Category, category_id) is None:
        raise ValidationError("category_id", "Diese Kategorie gibt es nicht mehr.")
    if contact_id is not None and session.get(Contact, contact_id) is None:
        raise ValidationError("contact_id", "Diesen Kontakt gibt es nicht mehr.")
    q = select(BankRule)
    q = (
        q.where(BankRule.iban == iban)
        if iban
        else q.where(BankRule.iban == "", BankRule.name_pattern == name_pattern)
    )
    rule = session.scalar(q)
    if rule is None:
        rule = BankRule(iban=iban, name_pattern="" if iban else name_pattern, created_by=actor)
        session.add(rule)
    rule.category_id = category_id
    rule.tax_key = tax_key
    rule.contact_id = contact_id
    rule.counterparty = counterparty[:200]
    session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id=rule.id,
        action="saved",
        actor=actor,
        iban=rule.iban,
        name_pattern=rule.name_pattern,
        category_id=category_id,
        tax_key=tax_key,
    )
    return rule


def delete_rule(session: Session, rule_id: int, *, actor: str = "") -> None:
    require_permission(Permission.LEDGER_WRITE, session)
    rule = session.get(BankRule, rule_id)
    if rule is None:
        raise NotFoundError("Diese Regel gibt es nicht mehr.")
    iban, name_pattern = rule.iban, rule.name_pattern
    session.delete(rule)
    session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id=rule_id,
        action="deleted",
        actor=actor,
        iban=iban,
        name_pattern=name_pattern,
    )


def count_for_contact(session: Session, contact_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(BankRule).where(BankRule.contact_id == contact_id)
        )
        or 0
    )


def export_for_contact(session: Session, contact_id: int) -> list[dict[str, Any]]:
    rules = session.scalars(select(BankRule).where(BankRule.contact_id == contact_id))
    return [
        {
            "Regel": "Buchungsregel",
            "IBAN": r.iban,
            "Namensteil": r.name_pattern,
            "Gegenüber": r.counterparty,
        }
        for r in rules
    ]

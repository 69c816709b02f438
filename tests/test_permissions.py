"""Roles: every write service, called as Inhaber, Mitarbeiter and Steuerberater.

ROWS names each guarded service with who may call it (I = Inhaber, M = Mitarbeiter,
S = Steuerberater, written out from the product owner's matrix, not derived from the code)
and a factory that prepares what the call needs (as the system) and returns the call. A test
per role calls them all; another proves ROWS lists exactly the functions in kms/ that call
require_permission, so a new write service cannot slip past the matrix.
"""

from __future__ import annotations

import ast
import io
import itertools
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import auth, licensing, notices, onboarding, support
from kms.backups import create as backup_create
from kms.backups import documents as backup_documents
from kms.backups import policy as backup_policy
from kms.backups import restore as backup_restore
from kms.config import ROOT
from kms.db import session_scope
from kms.errors import KmsError
from kms.modules.bank import reading as bank_reading
from kms.modules.bank import rules as bank_rules
from kms.modules.bank import service as bank
from kms.modules.bank.formats import CsvMapping
from kms.modules.bank.statement import Statement, StatementLine
from kms.modules.bugreports import service as bugreports
from kms.modules.contacts import privacy, transfer
from kms.modules.contacts import service as contacts
from kms.modules.documents import service as documents
from kms.modules.intake import imap as intake_imap
from kms.modules.intake import service as intake
from kms.modules.intake.models import ReceivedInvoice
from kms.modules.invoices import advance as advances
from kms.modules.invoices import articles, dunning, issuing, mailing, payments
from kms.modules.invoices import config as invoice_config
from kms.modules.invoices import service as invoices
from kms.modules.invoices.models import Invoice
from kms.modules.invoices.quotes import mailing as quote_mailing
from kms.modules.invoices.quotes import pdf as quote_pdf
from kms.modules.invoices.quotes import service as quotes
from kms.modules.invoices.recurring import service as recurring
from kms.modules.invoices.sepa import service as sepa
from kms.modules.ledger import assets as ledger_assets
from kms.modules.ledger import datev as ledger_datev
from kms.modules.ledger import kanzlei as ledger_kanzlei
from kms.modules.ledger import service as ledger
from kms.modules.ledger import sync as ledger_sync
from kms.modules.letters import service as letters
from kms.modules.podcasts import migrate as podcast_migrate
from kms.modules.podcasts import service as podcasts
from kms.modules.podcasts import stats as podcast_stats
from kms.modules.podcasts.check import check_channel as podcast_check
from kms.modules.podcasts.testaudio import silent_mp3
from kms.modules.pricing import service as pricing
from kms.modules.settings import demo as settings_demo
from kms.modules.settings import service as settings
from kms.modules.settings import taxation
from kms.modules.users import service as users
from kms.permissions import (
    ROLE_PERMISSIONS,
    SYSTEM,
    Permission,
    PermissionDenied,
    Role,
    acting_as,
    require_permission,
)
from tests.modules.podcasts.conftest import podcasts_token
from tests.modules.pricing.licence import pricing_token

PASSWORD = "Muster-Passwort-2026"
LOGINS = {Role.OWNER: "erika", Role.STAFF: "max", Role.ADVISER: "stefan"}
LETTER = {Role.OWNER: "I", Role.STAFF: "M", Role.ADVISER: "S"}
_names = itertools.count()


@dataclass
class World:
    """Records the system created before the calls: a customer and an issued invoice."""

    person_id: int
    issued_id: int


Call = Callable[[Session], object]
Factory = Callable[[Session, World], Call]


def _person(s: Session) -> int:
    return contacts.create_person(
        s,
        first_name="Max",
        last_name=f"Mustermann{next(_names)}",
        street="Beispielweg 7",
        postcode="10115",
        city="Berlin",
        email="max@example.org",
    ).id


def _line() -> dict[str, Any]:
    return {
        "description": "Webdesign",
        "quantity": "3",
        "unit_code": "HUR",
        "unit_price": "100.00",
        "tax": "S19",
    }


_ADVANCE = {"order_reference": "Auftrag 1", "order_value": "1000", "percent": "30"}
_DATES = {"service_date": date(2026, 2, 27), "payment_term_days": 14, "as_of": date(2026, 3, 2)}


def _issued_advance(s: Session, w: World) -> None:
    """An issued Abschlagsrechnung, so that a Schlussrechnung can deduct it."""
    values = {**_ADVANCE, "order_reference": "Auftrag 2"}
    draft = advances.create_advance_draft(s, contact_id=w.person_id, **values, **_DATES)
    issuing.issue(s, issuing.prepare_issue(s, draft.id, issue_date=date(2026, 3, 2)))


def _draft(s: Session, w: World) -> Invoice:
    return invoices.save_draft(
        s,
        contact_id=w.person_id,
        lines=[_line()],
        service_date=date(2026, 2, 27),
        payment_term_days=14,
        as_of=date(2026, 3, 2),
    )


def _recurring(s: Session, w: World) -> Any:
    return recurring.save_template(
        s,
        name="Wartung",
        contact_id=w.person_id,
        interval="monthly",
        day_of_month=1,
        start_date=date(2099, 1, 1),
        mode="issue",
        payment_term_days=14,
        lines=[_line()],
    )


def _mandate(s: Session, w: World) -> Any:
    return sepa.create_mandate(
        s,
        contact_id=w.person_id,
        reference=f"MANDAT-{next(_names)}",
        signed_on=date(2026, 1, 15),
        iban="DE89370400440532013000",
    )


def _debit_invoice(s: Session, w: World) -> Invoice:
    """An issued invoice collected by direct debit (and the Gläubiger-ID it needs)."""
    settings.get_profile(s).creditor_id = "DE98ZZZ09999999999"
    draft = invoices.save_draft(
        s,
        contact_id=w.person_id,
        lines=[_line()],
        service_date=date(2026, 2, 27),
        payment_term_days=14,
        sepa_mandate_id=_mandate(s, w).id,
        as_of=date(2026, 3, 2),
    )
    return issuing.issue(s, issuing.prepare_issue(s, draft.id, issue_date=date(2026, 3, 2)))


def _run(s: Session, _invoice: Invoice | None = None) -> Any:
    return sepa.create_run(
        s,
        start=date(2026, 3, 1),
        end=date(2026, 3, 16),
        collection_date=date(2026, 3, 16),
        day=date(2026, 3, 12),
    )


def _letter(s: Session, w: World) -> Any:
    return letters.create_letter(
        s, contact_id=w.person_id, subject="Angebot", body="Hallo", letter_date=date(2026, 3, 2)
    )


def _template(s: Session) -> Any:
    return letters.create_template(s, name=f"Vorlage {next(_names)}", subject="Hallo", body="Text")


def _document(s: Session) -> Any:
    return documents.upload(s, content=b"Hallo Welt\n", filename=f"n{next(_names)}.txt").document


def _login(s: Session, role: Role = Role.STAFF) -> str:
    name = f"ziel{next(_names)}"
    users.create(s, username=name, password=PASSWORD, role=role, display_name="Ziel")
    return name


def _mail_merge(s: Session, w: World) -> int:
    return letters.start_mail_merge(
        s,
        template_id=_template(s).id,
        flt=letters.RecipientFilter(kind="person"),
        letter_date=date(2026, 3, 2),
    )


def _account(s: Session) -> Any:
    return ledger.save_account(s, name=f"Konto {next(_names)}", kind="sonstige")


def _received(s: Session) -> Any:
    """A received receipt (a PDF with a new text every call, so never a duplicate)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text=f"Quittung {next(_names)}")
    return intake.receive(s, bytes(pdf.output()), "quittung.pdf")


def _received_einvoice(s: Session) -> Any:
    """A received e-invoice with two VAT rates (a new invoice number every call)."""
    xml = (ROOT / "tests" / "modules" / "intake" / "samples" / "two_rates_cii.xml").read_bytes()
    number = f"RE-2025-{next(_names):04d}".encode()
    return intake.receive(s, xml.replace(b"RE-2025-0001", number), "rechnung.xml")


def _statement() -> Any:
    """A one-line statement of an account without IBAN (a new purpose every call)."""
    line = StatementLine(date(2026, 3, 2), Decimal("-5.00"), f"Umsatz {next(_names)}")
    return Statement("camt.053", "", (line,))


def _booking(s: Session) -> Any:
    return ledger.create_booking(
        s,
        booking_date=date(2026, 3, 2),
        account_id=_account(s).id,
        kind="ausgabe",
        lines=[ledger.LineInput("11.90", ledger.category_by_key(s, "porto").id, "NSTB")],
    )


def _article_values(name: str = "") -> dict[str, Any]:
    return {"name": name or f"Beratung {next(_names)}", "unit_code": "HUR", "unit_price": "95"}


def _article(s: Session) -> int:
    return articles.create_article(s, **_article_values()).id


def _plan(s: Session) -> Any:
    return transfer.plan_import(s, b"Vorname;Nachname\nErika;Beispiel\n")


@dataclass(frozen=True)
class FakePlan:
    """A restore plan whose confirmation is wrong: refused after the permission check."""

    work: Path = Path("/nonexistent")


# (module:function, who may, factory). Factories run as the system; the call they return
# runs as the role under test.
ROWS: list[tuple[str, str, Factory]] = [
    # Kontakte
    (
        "kms.modules.contacts.service:create_contact",
        "IM",
        lambda s, w: lambda s: contacts.create_contact(s, kind="person", last_name="Neu"),
    ),
    (
        "kms.modules.contacts.service:update_contact",
        "IM",
        lambda s, w: (
            lambda cid: (
                lambda s: contacts.update_contact(
                    s, cid, version=contacts.get_contact(s, cid).version, city="Köln"
                )
            )
        )(_person(s)),
    ),
    (
        "kms.modules.contacts.service:archive_contact",
        "IM",
        lambda s, w: (lambda cid: lambda s: contacts.archive_contact(s, cid))(_person(s)),
    ),
    (
        "kms.modules.contacts.service:delete_contact",
        "IM",
        lambda s, w: (lambda cid: lambda s: contacts.delete_contact(s, cid))(_person(s)),
    ),
    (
        "kms.modules.contacts.service:set_customer_number_format",
        "IM",
        lambda s, w: lambda s: contacts.set_customer_number_format(s, "K-{NNNNN}"),
    ),
    (
        "kms.modules.contacts.transfer:apply_import",
        "IM",
        lambda s, w: (lambda plan: lambda s: transfer.apply_import(s, plan))(_plan(s)),
    ),
    (
        "kms.modules.contacts.transfer:export_rows",
        "IM",  # the tax adviser may export, but contacts are not theirs to read
        lambda s, w: lambda s: list(transfer.export_rows(s)),
    ),
    (
        "kms.modules.contacts.privacy:subject_access",
        "IM",
        lambda s, w: lambda s: privacy.subject_access(s, w.person_id),
    ),
    (
        "kms.modules.contacts.privacy:anonymise_contact",
        "IM",
        lambda s, w: (lambda cid: lambda s: privacy.anonymise_contact(s, cid))(_person(s)),
    ),
    # Dokumente
    (
        "kms.modules.documents.service:upload",
        "IM",
        lambda s, w: lambda s: documents.upload(s, content=b"Text\n", filename="neu.txt"),
    ),
    (
        "kms.modules.documents.service:update_document",
        "IM",
        lambda s, w: (lambda did: lambda s: documents.update_document(s, did, title="Neu"))(
            _document(s).id
        ),
    ),
    (
        "kms.modules.documents.service:delete_document",
        "IM",
        lambda s, w: (lambda did: lambda s: documents.delete_document(s, did))(_document(s).id),
    ),
    (
        "kms.modules.documents.service:set_max_upload_mb",
        "I",
        lambda s, w: lambda s: documents.set_max_upload_mb(s, 10),
    ),
    # Rechnungen
    ("kms.modules.invoices.service:save_draft", "IM", lambda s, w: lambda s: _draft(s, w)),
    (
        "kms.modules.invoices.advance:create_advance_draft",
        "IM",
        lambda s, w: (
            lambda s: advances.create_advance_draft(s, contact_id=w.person_id, **_ADVANCE, **_DATES)
        ),
    ),
    (
        "kms.modules.invoices.advance:create_final_draft",
        "IM",
        lambda s, w: (
            _issued_advance(s, w),
            lambda s: advances.create_final_draft(
                s,
                contact_id=w.person_id,
                order_reference="Auftrag 2",
                lines=[_line()],
                **_DATES,
            ),
        )[1],
    ),
    (
        "kms.modules.invoices.service:delete_draft",
        "IM",
        lambda s, w: (lambda iid: lambda s: invoices.delete_draft(s, iid))(_draft(s, w).id),
    ),
    (
        "kms.modules.invoices.issuing:prepare_issue",
        "IM",
        lambda s, w: (
            lambda iid: lambda s: issuing.prepare_issue(s, iid, issue_date=date(2026, 3, 2))
        )(_draft(s, w).id),
    ),
    (
        "kms.modules.invoices.issuing:issue",
        "IM",
        lambda s, w: (lambda prepared: lambda s: issuing.issue(s, prepared))(
            issuing.prepare_issue(s, _draft(s, w).id, issue_date=date(2026, 3, 2))
        ),
    ),
    (
        "kms.modules.invoices.payments:record_payment",
        "IM",
        lambda s, w: (
            lambda s: payments.record_payment(
                s, w.issued_id, paid_on=date(2026, 3, 5), amount=Decimal("10.00")
            )
        ),
    ),
    (
        "kms.modules.invoices.payments:return_payment",
        "IM",
        lambda s, w: (
            lambda pid: (
                lambda s: payments.return_payment(
                    s, pid, returned_on=date(2026, 3, 6), reason="AC04"
                )
            )
        )(
            payments.record_payment(
                s, w.issued_id, paid_on=date(2026, 3, 5), amount=Decimal("10.00")
            ).id
        ),
    ),
    (
        "kms.modules.invoices.dunning:create_reminder",
        "IM",
        lambda s, w: (
            lambda s: dunning.create_reminder(s, w.issued_id, letter_date=date(2026, 4, 30))
        ),
    ),
    (
        "kms.modules.invoices.mailing:send_invoice_mail",
        "IM",
        lambda s, w: (
            lambda s: mailing.send_invoice_mail(
                s, w.issued_id, to="max@example.org", subject="Rechnung", body="Anbei"
            )
        ),
    ),
    # Before ▶ Stornieren below: a cancelled invoice takes no correction.
    (
        "kms.modules.invoices.issuing:create_correction",
        "IM",
        lambda s, w: lambda s: issuing.create_correction(s, w.issued_id, positions=(1,)),
    ),
    (
        "kms.modules.invoices.issuing:cancel",
        "IM",
        lambda s, w: lambda s: issuing.cancel(s, w.issued_id, issue_date=date(2026, 3, 3)),
    ),
    (
        "kms.modules.invoices.issuing:correct",
        "IM",
        lambda s, w: lambda s: issuing.correct(s, w.issued_id, issue_date=date(2026, 3, 3)),
    ),
    (
        "kms.modules.invoices.config:save_settings",
        "I",  # number formats, base rate, mail texts: the owner's configuration
        lambda s, w: lambda s: invoice_config.save_settings(s, reminder_days=10),
    ),
    # Leistungen und Artikel
    (
        "kms.modules.invoices.articles:create_article",
        "IM",
        lambda s, w: lambda s: articles.create_article(s, **_article_values()),
    ),
    (
        "kms.modules.invoices.articles:update_article",
        "IM",
        lambda s, w: (
            lambda aid: lambda s: articles.update_article(s, aid, **_article_values("Neu"))
        )(_article(s)),
    ),
    (
        "kms.modules.invoices.articles:archive_article",
        "IM",
        lambda s, w: (lambda aid: lambda s: articles.archive_article(s, aid))(_article(s)),
    ),
    (
        "kms.modules.invoices.articles:unarchive_article",
        "IM",
        lambda s, w: (lambda aid: lambda s: articles.unarchive_article(s, aid))(_article(s)),
    ),
    (
        "kms.modules.invoices.articles:list_articles",
        "IMS",
        lambda s, w: lambda s: articles.list_articles(s),
    ),
    (
        "kms.modules.invoices.articles:apply_import",
        "IM",
        lambda s, w: (lambda plan: lambda s: articles.apply_import(s, plan))(
            articles.plan_import(
                s, f"Bezeichnung;Preis;Einheit\n{_article_values()['name']};5;HUR\n".encode()
            )
        ),
    ),
    (
        "kms.modules.invoices.articles:export_rows",
        "IMS",  # the tax adviser reads invoices and may export
        lambda s, w: lambda s: list(articles.export_rows(s)),
    ),
    # Lastschriften
    (
        "kms.modules.invoices.sepa.service:create_mandate",
        "IM",
        lambda s, w: lambda s: _mandate(s, w),
    ),
    (
        "kms.modules.invoices.sepa.service:update_mandate",
        "IM",
        lambda s, w: (
            lambda m: (
                lambda s: sepa.update_mandate(
                    s,
                    m.id,
                    version=m.version,
                    reference=m.reference,
                    signed_on=m.signed_on,
                    iban=m.iban,
                    debtor_name="Max Mustermann",
                )
            )
        )(_mandate(s, w)),
    ),
    (
        "kms.modules.invoices.sepa.service:revoke_mandate",
        "IM",
        lambda s, w: (
            lambda m: (
                lambda s: sepa.revoke_mandate(
                    s, m.id, version=m.version, revoked_on=date(2026, 3, 1)
                )
            )
        )(_mandate(s, w)),
    ),
    (
        "kms.modules.invoices.sepa.service:create_run",
        "IM",
        lambda s, w: (lambda _i: lambda s: _run(s))(_debit_invoice(s, w)),
    ),
    (
        "kms.modules.invoices.sepa.service:confirm_run",
        "IM",
        lambda s, w: (
            lambda r: (
                lambda s: sepa.confirm_run(s, r.id, version=r.version, booked_on=date(2026, 3, 16))
            )
        )(_run(s, _debit_invoice(s, w))),
    ),
    (
        "kms.modules.invoices.sepa.service:discard_run",
        "IM",
        lambda s, w: (lambda r: lambda s: sepa.discard_run(s, r.id, version=r.version))(
            _run(s, _debit_invoice(s, w))
        ),
    ),
    # Schreiben
    ("kms.modules.letters.service:create_letter", "IM", lambda s, w: lambda s: _letter(s, w)),
    (
        "kms.modules.letters.service:update_letter",
        "IM",
        lambda s, w: (
            lambda letter: (
                lambda s: letters.update_letter(
                    s, letter.id, version=letter.version, subject="Neu", contact_id=w.person_id
                )
            )
        )(_letter(s, w)),
    ),
    (
        "kms.modules.letters.service:delete_draft",
        "IM",
        lambda s, w: (
            lambda letter: lambda s: letters.delete_draft(s, letter.id, version=letter.version)
        )(_letter(s, w)),
    ),
    (
        "kms.modules.letters.service:mark_sent",
        "IM",
        lambda s, w: (
            lambda letter: lambda s: letters.mark_sent(s, letter.id, version=letter.version)
        )(_letter(s, w)),
    ),
    (
        "kms.modules.letters.service:send_by_email",
        "IM",
        lambda s, w: (
            lambda letter: (
                lambda s: letters.send_by_email(
                    s, letter.id, version=letter.version, to="max@example.org", text="Anbei"
                )
            )
        )(_letter(s, w)),
    ),
    (
        "kms.modules.letters.service:copy_as_draft",
        "IM",
        lambda s, w: (lambda lid: lambda s: letters.copy_as_draft(s, lid))(_letter(s, w).id),
    ),
    ("kms.modules.letters.service:create_template", "IM", lambda s, w: lambda s: _template(s)),
    (
        "kms.modules.letters.service:update_template",
        "IM",
        lambda s, w: (
            lambda t: (
                lambda s: letters.update_template(
                    s, t.id, version=t.version, name=t.name, subject="Neu", body="Neu"
                )
            )
        )(_template(s)),
    ),
    (
        "kms.modules.letters.service:delete_template",
        "IM",
        lambda s, w: (lambda t: lambda s: letters.delete_template(s, t.id, version=t.version))(
            _template(s)
        ),
    ),
    (
        "kms.modules.letters.service:start_mail_merge",
        "IM",
        lambda s, w: lambda s: _mail_merge(s, w),
    ),
    (
        "kms.modules.letters.service:mark_mail_merge_sent",
        "IM",
        lambda s, w: lambda s: letters.mark_mail_merge_sent(s, 999_999),
    ),
    # Einnahmen/Ausgaben
    ("kms.modules.ledger.service:save_account", "IM", lambda s, w: lambda s: _account(s)),
    (
        "kms.modules.ledger.service:save_category",
        "IM",
        lambda s, w: (
            lambda s: ledger.save_category(
                s, name=f"Kategorie {next(_names)}", side="ausgabe", euer_field="uebrige"
            )
        ),
    ),
    ("kms.modules.ledger.service:create_booking", "IM", lambda s, w: lambda s: _booking(s)),
    (
        "kms.modules.ledger.service:update_booking",
        "IM",
        lambda s, w: (
            lambda b: (
                lambda s: ledger.update_booking(
                    s,
                    b.id,
                    version=b.version,
                    booking_date=b.booking_date,
                    account_id=b.account_id,
                    kind="ausgabe",
                    lines=[ledger.LineInput("5.00", b.lines[0].category_id, "NSTB")],
                )
            )
        )(_booking(s)),
    ),
    (
        "kms.modules.ledger.service:delete_booking",
        "IM",
        lambda s, w: (lambda b: lambda s: ledger.delete_booking(s, b.id, version=b.version))(
            _booking(s)
        ),
    ),
    (
        "kms.modules.ledger.service:reverse_booking",
        "IM",
        lambda s, w: (
            lambda bid: lambda s: ledger.reverse_booking(s, bid, booking_date=date(2026, 3, 3))
        )(_booking(s).id),
    ),
    (
        "kms.modules.ledger.service:save_settings",
        "I",
        lambda s, w: (
            lambda s: ledger.save_settings(s, valid_from=date(2026, 1, 1), permanent_extension=True)
        ),
    ),
    (
        "kms.modules.ledger.service:lock_period",
        "I",
        lambda s, w: lambda s: ledger.lock_period(s, date(2025, 1, 1)),
    ),
    # DATEV and Kanzleipaket: master data is the owner's configuration; exporting reads only
    (
        "kms.modules.ledger.datev:save_settings",
        "I",
        lambda s, w: (
            lambda s: ledger_datev.save_settings(
                s, advisor_number="1001", client_number="1", chart="03"
            )
        ),
    ),
    (
        "kms.modules.ledger.datev:set_money_account",
        "I",
        lambda s, w: (lambda aid: lambda s: ledger_datev.set_money_account(s, aid, ""))(
            _account(s).id
        ),
    ),
    (
        "kms.modules.ledger.datev:set_category_account",
        "I",
        lambda s, w: (
            lambda cid: lambda s: ledger_datev.set_category_account(s, cid, skr03="", skr04="")
        )(ledger.category_by_key(s, "porto").id),
    ),
    (
        "kms.modules.ledger.datev:export",
        "IMS",
        lambda s, w: lambda s: ledger_datev.export(s, date(2026, 1, 1), date(2026, 1, 31)),
    ),
    (
        "kms.modules.ledger.kanzlei:build",
        "IMS",
        lambda s, w: (
            lambda s: ledger_kanzlei.build(
                s, date(2026, 1, 1), date(2026, 1, 31), Path(tempfile.mkdtemp()) / "paket.zip"
            )
        ),
    ),
    (
        "kms.modules.ledger.kanzlei:start_package_job",
        "IMS",
        lambda s, w: (
            lambda s: ledger_kanzlei.start_package_job(s, date(2026, 1, 1), date(2026, 1, 31))
        ),
    ),
    # Rechnungseingang: importing and booking write the books; the adviser only looks
    ("kms.modules.intake.service:receive", "IM", lambda s, w: lambda s: _received(s)),
    (
        "kms.modules.intake.service:list_invoices",
        "IMS",
        lambda s, w: lambda s: intake.list_invoices(s),
    ),
    (
        "kms.modules.intake.service:get",
        "IMS",
        lambda s, w: (lambda rid: lambda s: intake.get(s, rid))(_received(s).invoice.id),
    ),
    (
        "kms.modules.intake.service:original",
        "IMS",
        lambda s, w: (lambda rid: lambda s: intake.original(s, s.get(ReceivedInvoice, rid)))(
            _received(s).invoice.id
        ),
    ),
    (
        "kms.modules.intake.service:proposal",
        "IMS",
        lambda s, w: (
            lambda rid: (
                lambda s: intake.proposal(
                    s, s.get(ReceivedInvoice, rid), intake.parsed_of(s, s.get(ReceivedInvoice, rid))
                )
            )
        )(_received_einvoice(s).invoice.id),
    ),
    (
        "kms.modules.intake.service:discard",
        "IM",
        lambda s, w: (lambda rid: lambda s: intake.discard(s, rid))(_received(s).invoice.id),
    ),
    (
        "kms.modules.intake.service:book_expense",
        "IM",
        lambda s, w: (
            lambda rid, aid, cid: (
                lambda s: intake.book_expense(
                    s,
                    rid,
                    account_id=aid,
                    category_id=cid,
                    booking_date=date(2026, 3, 2),
                )
            )
        )(
            _received_einvoice(s).invoice.id,
            _account(s).id,
            ledger.category_by_key(s, "buerobedarf").id,
        ),
    ),
    (
        "kms.modules.intake.imap:save_settings",
        "I",
        lambda s, w: (
            lambda s: intake_imap.save_settings(
                s, host="imap.example.org", port=993, security="ssl", username="belege"
            )
        ),
    ),
    # Kontoauszüge
    (
        "kms.modules.bank.service:preview",
        "IMS",
        lambda s, w: (lambda aid: lambda s: bank.preview(s, aid, _statement()))(_account(s).id),
    ),
    (
        "kms.modules.bank.service:confirm",
        "IM",
        lambda s, w: (
            lambda aid: (
                lambda s: bank.confirm(
                    s, aid, _statement(), {0: bank.Decision("privat")}, b"Umsatz", "auszug.txt", ""
                )
            )
        )(_account(s).id),
    ),
    ("kms.modules.bank.service:list_imports", "IMS", lambda s, w: lambda s: bank.list_imports(s)),
    ("kms.modules.bank.rules:list_rules", "IMS", lambda s, w: lambda s: bank_rules.list_rules(s)),
    (
        "kms.modules.bank.rules:save_rule",
        "IM",
        lambda s, w: (
            lambda cid: lambda s: bank_rules.save_rule(s, category_id=cid, name_pattern="Post")
        )(ledger.category_by_key(s, "porto").id),
    ),
    (
        "kms.modules.bank.rules:delete_rule",
        "IM",
        lambda s, w: (lambda rid: lambda s: bank_rules.delete_rule(s, rid))(
            bank_rules.save_rule(
                s,
                category_id=ledger.category_by_key(s, "porto").id,
                name_pattern=f"Regel {next(_names)}",
            ).id
        ),
    ),
    (
        "kms.modules.bank.reading:save_mapping",
        "IM",
        lambda s, w: (
            lambda s: bank_reading.save_mapping(
                s, "Hausbank", CsvMapping(date_column="Datum", amount_column="Betrag")
            )
        ),
    ),
    (
        "kms.modules.ledger.assets:create_asset",
        "IM",
        lambda s, w: (
            lambda s: ledger_assets.create_asset(
                s, name="Laptop", acquired_on=date(2026, 3, 2), cost="1500.00", useful_life_years=3
            )
        ),
    ),
    (
        "kms.modules.ledger.assets:dispose_asset",
        "IM",
        lambda s, w: (
            lambda aid: lambda s: ledger_assets.dispose_asset(s, aid, disposed_on=date(2026, 3, 3))
        )(
            ledger_assets.create_asset(
                s, name="Kamera", acquired_on=date(2026, 3, 2), cost="900.00", useful_life_years=7
            ).id
        ),
    ),
    (
        "kms.modules.ledger.assets:delete_asset",
        "IM",
        lambda s, w: (lambda aid: lambda s: ledger_assets.delete_asset(s, aid))(
            ledger_assets.create_asset(
                s, name="Stuhl", acquired_on=date(2026, 3, 2), cost="300.00", useful_life_years=13
            ).id
        ),
    ),
    (
        "kms.modules.ledger.sync:sync_payments",
        "IM",
        lambda s, w: lambda s: ledger_sync.sync_payments(s),
    ),
    # Preiskalkulation (add-on): everyone who reads the books sees the plan; the owner plans.
    # Without a licence the calls get past the permission check and stop at the licence.
    ("kms.modules.pricing.service:plan", "IMS", lambda s, w: lambda s: pricing.plan(s)),
    ("kms.modules.pricing.service:get_basis", "IMS", lambda s, w: lambda s: pricing.get_basis(s)),
    (
        "kms.modules.pricing.service:what_if",
        "IMS",
        lambda s, w: (lambda oid: lambda s: pricing.what_if(s, oid, price=Decimal(100), units=1))(
            _offering(s)
        ),
    ),
    (
        "kms.modules.pricing.service:overheads_from_bookings",
        "IMS",
        lambda s, w: lambda s: pricing.overheads_from_bookings(s, 2025),
    ),
    (
        "kms.modules.pricing.service:plan_vs_actual",
        "IMS",
        lambda s, w: lambda s: pricing.plan_vs_actual(s, 2025),
    ),
    (
        "kms.modules.pricing.service:latest_expense_year",
        "IMS",
        lambda s, w: lambda s: pricing.latest_expense_year(s),
    ),
    (
        "kms.modules.pricing.service:save_basis",
        "I",
        lambda s, w: lambda s: pricing.save_basis(s, hours_per_day=Decimal(7)),
    ),
    (
        "kms.modules.pricing.service:save_overhead",
        "I",
        lambda s, w: lambda s: pricing.save_overhead(s, label="Miete", amount=Decimal(500)),
    ),
    (
        "kms.modules.pricing.service:delete_overhead",
        "I",
        lambda s, w: (lambda pid: lambda s: pricing.delete_overhead(s, pid))(
            pricing.save_overhead(s, label=f"Posten {next(_names)}", amount=Decimal(9)).id
        ),
    ),
    (
        "kms.modules.pricing.service:save_offering",
        "I",
        lambda s, w: (
            lambda s: pricing.save_offering(
                s, name=f"Kurs {next(_names)}", hours_delivery=Decimal(2)
            )
        ),
    ),
    (
        "kms.modules.pricing.service:delete_offering",
        "I",
        lambda s, w: (lambda oid: lambda s: pricing.delete_offering(s, oid))(_offering(s)),
    ),
    (
        "kms.modules.pricing.service:post_calculation",
        "IMS",
        lambda s, w: lambda s: pricing.post_calculation(s, 2026),
    ),
    (
        "kms.modules.pricing.service:price_to_draft",
        "IM",
        lambda s, w: (lambda oid: lambda s: pricing.price_to_draft(s, oid, contact_id=w.person_id))(
            _offering(s)
        ),
    ),
    (
        "kms.modules.pricing.service:invoice_positions",
        "IMS",
        lambda s, w: lambda s: pricing.invoice_positions(s, 2026),
    ),
    (
        "kms.modules.pricing.service:link_invoice_line",
        "I",
        lambda s, w: (lambda lid, oid: lambda s: pricing.link_invoice_line(s, lid, oid))(
            _free_line(s, w), _offering(s)
        ),
    ),
    (
        "kms.modules.pricing.service:unlink_invoice_line",
        "I",
        lambda s, w: (lambda link: lambda s: pricing.unlink_invoice_line(s, link.invoice_line_id))(
            pricing.link_invoice_line(s, _free_line(s, w), _offering(s))
        ),
    ),
    # Einstellungen
    (
        "kms.modules.settings.service:save_profile",
        "I",
        lambda s, w: (
            lambda s: settings.save_profile(
                s, version=settings.get_profile(s).version, company_name="Muster GmbH"
            )
        ),
    ),
    (
        "kms.modules.settings.service:save_logo",
        "I",
        lambda s, w: lambda s: settings.save_logo(s, b"kein Bild"),
    ),
    (
        "kms.modules.settings.service:save_smtp",
        "I",
        lambda s, w: (
            lambda s: settings.save_smtp(
                s,
                host="mail.example.org",
                port=587,
                security="starttls",
                username="kms",
                sender_address="kms@example.org",
            )
        ),
    ),
    (
        "kms.modules.settings.taxation:set_regime",
        "I",
        lambda s, w: lambda s: taxation.set_regime(s, valid_from=date(2027, 1, 1), kind="regel"),
    ),
    (
        "kms.modules.settings.taxation:delete_regime",
        "I",
        lambda s, w: (lambda rid: lambda s: taxation.delete_regime(s, rid))(
            taxation.set_regime(s, valid_from=date(2028, 1, 1), kind="regel").id
        ),
    ),
    (
        "kms.modules.settings.taxation:set_declared_turnover",
        "I",
        lambda s, w: lambda s: taxation.set_declared_turnover(s, 2025, Decimal("1000.00")),
    ),
    (
        "kms.support:set_support_contact",
        "I",
        lambda s, w: lambda s: support.set_support_contact(s, name="Support"),
    ),
    ("kms.onboarding:mark_done", "I", lambda s, w: lambda s: onboarding.mark_done(s)),
    # Backups
    (
        "kms.backups.create:create_backup",
        "I",
        lambda s, w: lambda s: backup_create.create_backup(kind="manual"),
    ),
    (
        "kms.backups.restore:prepare_restore",
        "I",
        lambda s, w: lambda s: backup_restore.prepare_restore(Path("/nonexistent.tar")),
    ),
    (
        "kms.backups.restore:apply_restore",
        "I",
        lambda s, w: lambda s: backup_restore.apply_restore(FakePlan(), confirmation="nein"),  # type: ignore[arg-type]
    ),
    (
        "kms.backups.policy:prune",
        "I",
        lambda s, w: lambda s: backup_policy.prune(backup_policy.PrunePlan(keep=[], delete=[])),
    ),
    (
        "kms.backups.policy:save_settings",
        "I",
        lambda s, w: (
            lambda s: backup_policy.save_settings(
                s, auto_daily=True, keep_days=7, keep_weeks=4, keep_safety_days=30
            )
        ),
    ),
    (
        "kms.backups.documents:delete_backup_document",
        "I",
        lambda s, w: (
            lambda did: (
                lambda s: backup_documents.delete_backup_document(s, documents.get_document(s, did))
            )
        )(_document(s).id),
    ),
    # Hinweise, Fehlermeldungen, Lizenzen
    (
        "kms.notices:add_notice",
        "I",
        lambda s, w: lambda s: notices.add_notice(s, text="Wartung"),
    ),
    (
        "kms.notices:remove_notice",
        "I",
        lambda s, w: (lambda nid: lambda s: notices.remove_notice(s, nid))(
            notices.add_notice(s, text="Alt").id
        ),
    ),
    (
        "kms.modules.bugreports.service:create_report",
        "IM",
        lambda s, w: lambda s: bugreports.create_report(s, title="Fehler", description="Kaputt"),
    ),
    (
        "kms.modules.bugreports.service:send_report",
        "IM",
        lambda s, w: (lambda rid: lambda s: bugreports.send_report(s, rid))(
            bugreports.create_report(s, title="Fehler", description="Kaputt").id
        ),
    ),
    ("kms.licensing:install", "I", lambda s, w: lambda s: licensing.install(s, "kein.token")),
    (
        "kms.licensing:set_retention_days",
        "I",
        lambda s, w: lambda s: licensing.set_retention_days(s, 200),
    ),
    # Benutzer
    ("kms.auth:rotate_cookie_key", "I", lambda s, w: lambda s: auth.rotate_cookie_key(s)),
    ("kms.modules.users.service:list_users", "I", lambda s, w: lambda s: users.list_users(s)),
    (
        "kms.modules.users.service:create",
        "I",
        lambda s, w: (
            lambda s: users.create(
                s, username=f"neu{next(_names)}", password=PASSWORD, role="steuerberater"
            )
        ),
    ),
    (
        "kms.modules.users.service:change_role",
        "I",
        lambda s, w: (lambda name: lambda s: users.change_role(s, name, "steuerberater"))(
            _login(s)
        ),
    ),
    (
        "kms.modules.users.service:reset_password",
        "I",
        lambda s, w: (
            lambda name: (
                lambda s: users.reset_password(s, name, "Neu-Passwort-2026", "Neu-Passwort-2026")
            )
        )(_login(s)),
    ),
    (
        "kms.modules.users.service:deactivate",
        "I",
        lambda s, w: (lambda name: lambda s: users.deactivate(s, name))(_login(s)),
    ),
    (
        "kms.modules.users.service:reactivate",
        "I",
        lambda s, w: (lambda name: lambda s: users.reactivate(s, name))(
            (lambda n: (users.deactivate(s, n), n)[1])(_login(s))
        ),
    ),
    # Podcasts (add-on): staff produce and publish episodes; the instance address is a setting.
    (
        "kms.modules.podcasts.service:save_public_base_url",
        "I",
        lambda s, w: lambda s: podcasts.save_public_base_url(s, "https://kms.example.org"),
    ),
    ("kms.modules.podcasts.service:list_channels", "IM", lambda s, w: podcasts.list_channels),
    (
        "kms.modules.podcasts.check:check_channel",
        "IM",
        lambda s, w: (lambda cid: lambda s: podcast_check(s, podcasts.get_channel(s, cid).slug))(
            _podcast(s)
        ),
    ),
    (
        "kms.modules.podcasts.service:get_channel",
        "IM",
        lambda s, w: (lambda cid: lambda s: podcasts.get_channel(s, cid))(_podcast(s)),
    ),
    (
        "kms.modules.podcasts.service:save_channel",
        "IM",
        lambda s, w: lambda s: podcasts.save_channel(s, slug=f"kanal-{next(_names)}", title="K"),
    ),
    (
        "kms.modules.podcasts.service:attach_cover",
        "IM",
        lambda s, w: (lambda cid: lambda s: podcasts.attach_cover(s, cid, _cover(), "c.png"))(
            _podcast(s)
        ),
    ),
    (
        "kms.modules.podcasts.service:publish_channel",
        "IM",
        lambda s, w: (lambda cid: lambda s: podcasts.publish_channel(s, cid))(_publishable(s)),
    ),
    (
        "kms.modules.podcasts.service:unpublish_channel",
        "IM",
        lambda s, w: (lambda cid: lambda s: podcasts.unpublish_channel(s, cid))(_podcast(s)),
    ),
    (
        "kms.modules.podcasts.service:list_episodes",
        "IM",
        lambda s, w: (lambda cid: lambda s: podcasts.list_episodes(s, cid))(_podcast(s)),
    ),
    (
        "kms.modules.podcasts.service:get_episode",
        "IM",
        lambda s, w: (lambda eid: lambda s: podcasts.get_episode(s, eid))(_episode(s)),
    ),
    (
        "kms.modules.podcasts.service:save_episode",
        "IM",
        lambda s, w: (lambda cid: lambda s: podcasts.save_episode(s, channel_id=cid, title="F"))(
            _podcast(s)
        ),
    ),
    (
        "kms.modules.podcasts.service:attach_episode_media",
        "IM",
        lambda s, w: (
            lambda eid: (
                lambda s: podcasts.attach_episode_media(
                    s, eid, "audio", io.BytesIO(silent_mp3(2)), "f.mp3"
                )
            )
        )(_episode(s)),
    ),
    (
        "kms.modules.podcasts.service:publish_episode",
        "IM",
        lambda s, w: (lambda eid: lambda s: podcasts.publish_episode(s, eid))(_episode(s, True)),
    ),
    (
        "kms.modules.podcasts.service:unpublish_episode",
        "IM",
        lambda s, w: (lambda eid: lambda s: podcasts.unpublish_episode(s, eid))(
            podcasts.publish_episode(s, _episode(s, True)).id
        ),
    ),
    (
        "kms.modules.podcasts.migrate:import_feed",
        "IM",
        lambda s, w: (
            lambda n: (
                lambda s: podcast_migrate.import_feed(
                    s,
                    f"https://alt.example.net/{n}/feed.xml",
                    xml=f"<rss><channel><title>Umzug {n}</title></channel></rss>".encode(),
                )
            )
        )(next(_names)),
    ),
    (
        "kms.modules.podcasts.service:list_platforms",
        "IM",
        lambda s, w: (lambda cid: lambda s: podcasts.list_platforms(s, cid))(_podcast(s)),
    ),
    (
        "kms.modules.podcasts.service:save_platform",
        "IM",
        lambda s, w: (
            lambda cid: lambda s: podcasts.save_platform(s, channel_id=cid, platform="apple")
        )(_podcast(s)),
    ),
    (
        "kms.modules.podcasts.service:delete_platform",
        "IM",
        lambda s, w: (lambda pid: lambda s: podcasts.delete_platform(s, pid))(
            podcasts.save_platform(s, channel_id=_podcast(s), platform="spotify").id
        ),
    ),
    (
        "kms.modules.podcasts.stats:downloads_per_day",
        "IM",
        lambda s, w: (lambda cid: lambda s: podcast_stats.downloads_per_day(s, cid))(_podcast(s)),
    ),
    (
        "kms.modules.podcasts.stats:downloads_by_app",
        "IM",
        lambda s, w: (lambda cid: lambda s: podcast_stats.downloads_by_app(s, cid))(_podcast(s)),
    ),
    (
        "kms.modules.podcasts.stats:launch_comparison",
        "IM",
        lambda s, w: (lambda cid: lambda s: podcast_stats.launch_comparison(s, cid))(_podcast(s)),
    ),
    # Wiederkehrende Rechnungen
    (
        "kms.modules.invoices.recurring.service:save_template",
        "IM",
        lambda s, w: lambda s: _recurring(s, w),
    ),
    (
        "kms.modules.invoices.recurring.service:set_active",
        "IM",
        lambda s, w: (lambda t: lambda s: recurring.set_active(s, t, False))(_recurring(s, w).id),
    ),
    (
        "kms.modules.invoices.recurring.service:delete_template",
        "IM",
        lambda s, w: (lambda t: lambda s: recurring.delete_template(s, t))(_recurring(s, w).id),
    ),
    (
        "kms.modules.invoices.recurring.service:list_templates",
        "IMS",
        lambda s, w: lambda s: recurring.list_templates(s),
    ),
    (
        "kms.modules.invoices.recurring.service:run_log",
        "IMS",
        lambda s, w: lambda s: recurring.run_log(s),
    ),
    # Angebote an Kunden
    (
        "kms.modules.invoices.quotes.service:save_quote",
        "IM",
        lambda s, w: lambda s: _quote(s, w),
    ),
    (
        "kms.modules.invoices.quotes.service:delete_quote",
        "IM",
        lambda s, w: (lambda qid: lambda s: quotes.delete_quote(s, qid))(_quote(s, w).id),
    ),
    (
        "kms.modules.invoices.quotes.service:get_quote",
        "IMS",
        lambda s, w: (lambda qid: lambda s: quotes.get_quote(s, qid))(_quote(s, w).id),
    ),
    (
        "kms.modules.invoices.quotes.service:list_quotes",
        "IMS",
        lambda s, w: lambda s: quotes.list_quotes(s),
    ),
    (
        "kms.modules.invoices.quotes.service:finalize_quote",
        "IM",
        lambda s, w: (lambda qid: lambda s: quotes.finalize_quote(s, qid, day=date(2026, 3, 2)))(
            _quote(s, w).id
        ),
    ),
    (
        "kms.modules.invoices.quotes.service:accept_quote",
        "IM",
        lambda s, w: (lambda qid: lambda s: quotes.accept_quote(s, qid, day=date(2026, 3, 3)))(
            _quote(s, w, sent=True).id
        ),
    ),
    (
        "kms.modules.invoices.quotes.service:reject_quote",
        "IM",
        lambda s, w: (lambda qid: lambda s: quotes.reject_quote(s, qid, day=date(2026, 3, 3)))(
            _quote(s, w, sent=True).id
        ),
    ),
    (
        "kms.modules.invoices.quotes.service:to_invoice",
        "IM",
        lambda s, w: (lambda qid: lambda s: quotes.to_invoice(s, qid, as_of=date(2026, 3, 3)))(
            _quote(s, w, sent=True).id
        ),
    ),
    (
        "kms.modules.invoices.quotes.service:to_advance_invoice",
        "IM",
        lambda s, w: (
            lambda qid: (
                lambda s: quotes.to_advance_invoice(s, qid, percent="30", as_of=date(2026, 3, 3))
            )
        )(_quote(s, w, sent=True).id),
    ),
    (
        "kms.modules.invoices.quotes.service:to_final_invoice",
        "IM",
        lambda s, w: (
            lambda qid: lambda s: quotes.to_final_invoice(s, qid, as_of=date(2026, 3, 3))
        )(_quote_with_advance(s, w).id),
    ),
    (
        "kms.modules.invoices.quotes.service:already_invoiced",
        "IMS",
        lambda s, w: (lambda qid: lambda s: quotes.already_invoiced(s, qid))(_quote(s, w).id),
    ),
    (
        "kms.modules.invoices.quotes.service:invoices_of",
        "IMS",
        lambda s, w: (lambda qid: lambda s: quotes.invoices_of(s, qid))(_quote(s, w).id),
    ),
    (
        "kms.modules.invoices.quotes.service:quote_of",
        "IMS",
        lambda s, w: lambda s: quotes.quote_of(s, w.issued_id),
    ),
    (
        "kms.modules.invoices.quotes.pdf:quote_pdf",
        "IMS",
        lambda s, w: (lambda qid: lambda s: quote_pdf.quote_pdf(s, qid))(
            _quote(s, w, sent=True).id
        ),
    ),
    (
        "kms.modules.invoices.quotes.pdf:confirmation_pdf",
        "IMS",
        lambda s, w: (lambda qid: lambda s: quote_pdf.confirmation_pdf(s, qid))(
            quotes.accept_quote(s, _quote(s, w, sent=True).id, day=date(2026, 3, 3)).id
        ),
    ),
    (
        "kms.modules.invoices.quotes.mailing:quote_mail_draft",
        "IMS",
        lambda s, w: (lambda qid: lambda s: quote_mailing.quote_mail_draft(s, qid))(
            _quote(s, w, sent=True).id
        ),
    ),
    (
        "kms.modules.invoices.quotes.mailing:send_quote_mail",
        "IM",
        lambda s, w: (
            lambda qid: (
                lambda s: quote_mailing.send_quote_mail(
                    s, qid, to="max@example.org", subject="Angebot", body="Anbei"
                )
            )
        )(_quote(s, w, sent=True).id),
    ),
]


def _quote(s: Session, w: World, *, sent: bool = False) -> Any:
    """A quote draft for the world's customer (as of 2 March 2026), sent if asked."""
    quote = quotes.save_quote(s, contact_id=w.person_id, lines=[_line()], as_of=date(2026, 3, 2))
    return quotes.finalize_quote(s, quote.id, day=date(2026, 3, 2)) if sent else quote


def _quote_with_advance(s: Session, w: World) -> Any:
    """A sent quote with an issued Abschlagsrechnung on it (for its Schlussrechnung)."""
    quote = _quote(s, w, sent=True)
    draft = quotes.to_advance_invoice(s, quote.id, percent="30", **_DATES)
    issuing.issue(s, issuing.prepare_issue(s, draft.id, issue_date=date(2026, 3, 2)))
    return quote


def _podcast(s: Session) -> int:
    """A podcast channel (as the system), for the podcasts rows."""
    return podcasts.save_channel(s, slug=f"podcast-{next(_names)}", title="Beispielfunk").id


def _publishable(s: Session) -> int:
    """A channel with everything publishing needs, on an instance with a public address."""
    podcasts.save_public_base_url(s, "https://kms.example.org")
    cid = podcasts.save_channel(
        s,
        slug=f"sendung-{next(_names)}",
        title="Beispielfunk",
        description="Ein erfundener Podcast.",
        author="Erika Mustermann",
        owner_email="erika@example.org",
        category="Business",
    ).id
    podcasts.attach_cover(s, cid, _cover(), "c.png")
    return cid


def _episode(s: Session, with_audio: bool = False) -> int:
    """An episode (as the system), with a silent MP3 when asked."""
    eid = podcasts.save_episode(s, channel_id=_podcast(s), title="Folge").id
    if with_audio:
        podcasts.attach_episode_media(s, eid, "audio", io.BytesIO(silent_mp3(2)), "f.mp3")
    return eid


def _cover() -> io.BytesIO:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1400, 1400)).save(out, "PNG")
    out.seek(0)
    return out


def _free_line(s: Session, w: World) -> int:
    """The issued invoice's first position, linked to no offer (as the system)."""
    from kms.modules.pricing.models import InvoiceLineLink

    line_id = s.get(Invoice, w.issued_id).lines[0].id  # type: ignore[union-attr]
    for link in s.scalars(
        select(InvoiceLineLink).where(InvoiceLineLink.invoice_line_id == line_id)
    ):
        s.delete(link)
    s.flush()
    return line_id


def _offering(s: Session) -> int:
    """A saved Angebot (as the system), for the pricing rows."""
    return pricing.save_offering(s, name=f"Angebot {next(_names)}", hours_delivery=Decimal(1)).id


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The three logins, the demo seller, a customer, one issued invoice and a licence for
    the Preiskalkulation add-on (so its services run past the licence check)."""
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    with session_scope() as s:
        licensing.install(s, pricing_token(s, private, date(2099, 12, 31)))
        licensing.install(s, podcasts_token(s, private))
        auth.create_user(s, username="erika", password=PASSWORD, is_owner=True)
        for role in (Role.STAFF, Role.ADVISER):
            auth.create_user(s, username=LOGINS[role], password=PASSWORD, role=role)
        settings_demo.load(s)
        person_id = _person(s)
        draft_id = _draft(s, World(person_id, 0)).id
    issued = issuing.issue_invoice(draft_id, issue_date=date(2026, 3, 2))
    yield World(person_id=person_id, issued_id=issued.id)


def _outcome(call: Call, role: Role) -> str:
    """ "refused", "ok", or the German message of another domain error, as `role`."""
    try:
        with acting_as(LOGINS[role]), session_scope() as s:
            call(s)
    except PermissionDenied as exc:
        assert exc.message.startswith("Keine Berechtigung: Ihre Rolle")
        assert ROLE_NAMES[role] in exc.message
        return "refused"
    except KmsError as exc:
        # Past the permission check (it is each service's first statement, see below):
        # e.g. no mail server configured, a restore plan that does not exist.
        return f"allowed ({exc.message[:60]})"
    return "ok"


ROLE_NAMES = {Role.OWNER: "Inhaber", Role.STAFF: "Mitarbeiter", Role.ADVISER: "Steuerberater"}


@pytest.mark.parametrize("role", list(Role))
def test_every_write_service_allows_and_refuses_exactly_per_role(role: Role, world: World) -> None:
    """Each guarded service runs for the roles the matrix names and refuses every other."""
    wrong: list[str] = []
    ran = 0
    for name, who, factory in ROWS:
        with acting_as(SYSTEM), session_scope() as s:
            call = factory(s, world)
        outcome = _outcome(call, role)
        expected_allowed = LETTER[role] in who
        if expected_allowed == (outcome == "refused"):
            wrong.append(
                f"{name}: expected {'allowed' if expected_allowed else 'refused'}, got {outcome}"
            )
        ran += outcome == "ok"
    assert wrong == []
    # The factories are real calls: most allowed calls also succeed completely (the rest
    # stop past the check, e.g. at the missing mail server: invoice and quote mail alike).
    if role is Role.OWNER:
        assert ran >= len(ROWS) - 13


def test_refused_calls_write_nothing(world: World) -> None:
    """A refused write leaves the database as it was (the whole transaction rolls back)."""
    from kms.modules.contacts.models import Contact

    with session_scope(write=False) as s:
        before = len(s.scalars(select(Contact.id)).all())
    assert (
        _outcome(lambda s: contacts.create_contact(s, kind="person", last_name="X"), Role.ADVISER)
        == "refused"
    )
    with session_scope(write=False) as s:
        assert len(s.scalars(select(Contact.id)).all()) == before


def test_the_matrix_rows_match_the_product_owners_roles() -> None:
    """Inhaber may everything; Mitarbeiter no settings/users/backups/licences; Steuerberater
    only reads reports, exports, documents and invoices."""
    assert ROLE_PERMISSIONS[Role.OWNER] == frozenset(Permission)
    assert {p.value for p in ROLE_PERMISSIONS[Role.ADVISER]} == {
        "reports.read",
        "export",
        "documents.read",
        "invoices.read",
        "ledger.read",
    }
    assert (
        not {
            Permission.SETTINGS,
            Permission.USERS,
            Permission.BACKUPS,
            Permission.LICENCES,
        }
        & ROLE_PERMISSIONS[Role.STAFF]
    )


def _guarded_functions() -> dict[str, bool]:
    """Every top-level function in kms/ that calls require_permission, and whether that
    call is its first statement (after the docstring)."""
    found: dict[str, bool] = {}
    for path in sorted((ROOT / "kms").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            calls = [
                n
                for n in ast.walk(node)
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name)
                and n.func.id == "require_permission"
            ]
            # kms.web's login_required is the HTTP gate of the download routes, tested per
            # route (tests/modules/documents/test_routes.py, tests/backups/test_download_roles.py).
            if not calls or module in ("kms.permissions", "kms.web"):
                continue
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            first = body[0]
            inner = first.value if isinstance(first, ast.Assign | ast.Expr) else None
            found[f"{module}:{node.name}"] = (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Name)
                and inner.func.id == "require_permission"
            )
    return found


def test_the_matrix_lists_every_guarded_service_and_the_check_comes_first() -> None:
    """A new write service with a permission check must get a matrix row (and vice versa);
    the check is the service's first statement, so nothing happens before it."""
    guarded = _guarded_functions()
    assert sorted(guarded) == sorted(name for name, _who, _f in ROWS)
    assert [name for name, first in guarded.items() if not first] == []


def test_nobody_acting_is_refused() -> None:
    """Outside the CLI, an automatism or a logged-in page, every check fails closed."""
    from kms.permissions import _acting

    token = _acting.set(None)
    try:
        with pytest.raises(PermissionDenied, match="nicht angemeldet"):
            require_permission(Permission.CONTACTS_WRITE)
    finally:
        _acting.reset(token)


def test_a_deactivated_login_and_an_unknown_name_are_refused(world: World) -> None:
    """A deactivated Inhaber has no rights left; a username that does not exist none either."""
    with session_scope() as s:
        auth.create_user(s, username="anna", password=PASSWORD, role=Role.OWNER)
        users.deactivate(s, "anna")
    for name, message in (("anna", "deaktiviert"), ("niemand", "nicht angemeldet")):
        with acting_as(name), pytest.raises(PermissionDenied, match=message):
            require_permission(Permission.CONTACTS_READ)


def test_every_function_and_page_declares_what_it_needs() -> None:
    """Every ▶ function names a permission; only Übersicht, Mein Zugang and Hilfe are open to
    every logged-in user."""
    from kms.registry import functions, pages

    assert [f.key for f in functions() if f.permission is None] == []
    assert sorted(p.url_path for p in pages() if p.permission is None) == [
        "hilfe",
        "konto",
        "start",
    ]


def test_logins_from_before_roles_become_inhaber(db_url: str) -> None:
    """Migration 1113: every existing login (owner or not) becomes an active Inhaber."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from kms.db import alembic_config, dispose_engines

    cfg = alembic_config(db_url)
    command.upgrade(cfg, "0601")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        for name, owner in (("erika", True), ("max", False)):
            conn.execute(
                text(
                    "INSERT INTO users (username, display_name, email, password_hash, is_owner,"
                    " sessions_valid_after, created_at) VALUES (:u, :u, '', 'x', :o, :t, :t)"
                ),
                {"u": name, "o": owner, "t": "2026-01-01 00:00:00+00:00"},
            )
    engine.dispose()
    command.upgrade(cfg, "head")
    dispose_engines()
    with session_scope(write=False) as s:
        for name in ("erika", "max"):
            user = auth.get_user(s, name)
            assert (user.role, user.active) == ("inhaber", True)

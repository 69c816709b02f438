"""Übersicht figures of Schreiben and Kunden: drafts, letters sent this year, customers."""

from __future__ import annotations

from datetime import date

import pytest

from kms.modules.contacts import service as contacts
from kms.modules.contacts.overview import overview as contact_overview
from kms.modules.letters import service
from kms.modules.letters.overview import overview

pytestmark = pytest.mark.usefixtures("company")
DAY = date(2026, 11, 26)


def _letter(session, contact_id: int, day: date, *, sent: bool) -> None:
    letter = service.create_letter(
        session,
        contact_id=contact_id,
        subject="Ihr Auftrag",
        letter_date=day,
        salutation="Guten Tag,",
        closing="Mit freundlichen Grüßen",
        body="vielen Dank.",
    )
    if sent:
        service.mark_sent(session, letter.id, version=letter.version)
    session.commit()


def _figures(figures) -> dict[str, tuple[str, str]]:
    return {f.label: (f.value, f.detail) for f in figures}


def test_letter_figures_count_drafts_and_this_years_sent_letters(session, make_contact) -> None:
    kim = make_contact(first_name="Kim", last_name="Muster")
    assert _figures(overview(session, DAY)) == {
        "Briefentwürfe": ("0", "keine offenen Entwürfe"),
        "Briefe 2026": ("0", "versendet"),
    }
    _letter(session, kim.id, DAY, sent=True)
    _letter(session, kim.id, date(2026, 1, 2), sent=True)
    _letter(session, kim.id, date(2025, 12, 30), sent=True)  # last year: not counted
    _letter(session, kim.id, date(2025, 12, 30), sent=False)  # an old draft still waits
    _letter(session, kim.id, DAY, sent=False)
    assert _figures(overview(session, DAY)) == {
        "Briefentwürfe": ("2", "noch nicht versendet"),
        "Briefe 2026": ("2", "versendet"),
    }


def test_customer_figure_counts_active_customers_and_prospects(session) -> None:
    assert _figures(contact_overview(session)) == {"Kunden": ("0", "und 0 Interessenten")}
    contacts.create_person(session, first_name="Erika", last_name="Muster", roles=["kunde"])
    contacts.create_organisation(session, name="Musterfirma GmbH", roles=["kunde", "lieferant"])
    contacts.create_person(session, first_name="Kim", last_name="Muster", roles=["interessent"])
    contacts.create_organisation(session, name="Papier & Co. KG", roles=["lieferant"])
    gone = contacts.create_person(session, first_name="Max", last_name="Alt", roles=["kunde"])
    contacts.archive_contact(session, gone.id)
    session.commit()
    assert _figures(contact_overview(session)) == {"Kunden": ("2", "und 1 Interessent")}

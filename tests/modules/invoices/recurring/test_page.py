"""The Wiederkehrende Rechnungen page in AppTest (embedded SQLite): list with the next
dates, German refusal of an incomplete template, pause, delete (archive after runs), log."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from kms.db import session_scope
from kms.modules.invoices.recurring import service as recurring
from kms.modules.invoices.recurring.models import RecurringTemplate
from kms.modules.settings import demo as settings_demo
from kms.types import today
from tests.modules.invoices.conftest import line, organisation
from tests.ui_helpers import create_owner, open_page, values


@pytest.fixture
def template_id() -> int:
    create_owner()
    with session_scope() as session:
        settings_demo.load(session)
        customer = organisation(session, "Musterfirma GmbH", vat_id="DE136695976")
        template = recurring.save_template(
            session,
            name="Hosting",
            contact_id=customer.id,
            interval="monthly",
            day_of_month=31,
            start_date=date(2026, 1, 31),
            mode="issue",
            payment_term_days=14,
            lines=[line("Hosting", "1", "10.00", unit="C62")],
        )
        return template.id


def button(at, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def test_list_form_pause_and_archive(template_id: int) -> None:
    at = open_page("wiederkehrende_rechnungen").run()
    assert not at.exception
    [table] = [d.value for d in at.dataframe if "Nächste Termine" in d.value.columns]
    row = table.iloc[0]
    assert row["Bezeichnung"] == "Hosting" and row["Brutto je Rechnung"] == "11,90\xa0€"
    assert row["Intervall"] == "monatlich, am 31." and row["Status"] == "aktiv"
    assert row["Nächste Termine"].startswith("31.01.2026, 28.02.2026, 31.03.2026")

    # A new template without name and positions: German messages, nothing saved.
    button(at, "Vorlage speichern").click().run()
    assert not at.exception
    errors = " ".join(values(at.error))
    assert "Bitte eine Bezeichnung angeben" in errors and "Kunden wählen" in errors

    # Runs exist after the automatism: the log shows them, deleting archives.
    recurring.create_due(datetime.combine(today(), datetime.min.time(), tzinfo=UTC))
    at = open_page("wiederkehrende_rechnungen").run()
    at.selectbox(key="rec_pick").set_value(template_id).run()
    button(at, "Pausieren").click().run()
    assert "Vorlage pausiert." in values(at.success)
    with session_scope(write=False) as s:
        assert s.get(RecurringTemplate, template_id).active is False
    log_tables = [d.value for d in at.dataframe if "Meldung" in d.value.columns]
    assert log_tables
    assert "erstellt (Leistungszeitraum 31.01.2026" in log_tables[0]["Meldung"].iloc[-1]
    at.selectbox(key="rec_pick").set_value(template_id).run()
    button(at, "Vorlage löschen").click().run()
    assert any("archiviert" in str(m.value) for m in at.markdown)
    button(at, "Ja, löschen").click().run()
    assert not at.exception
    assert "Vorlage archiviert." in values(at.success)
    with session_scope(write=False) as s:
        template = s.scalar(select(RecurringTemplate))
        assert template is not None and template.archived_at is not None


def test_article_picker_fills_a_template_position(template_id: int) -> None:
    """„Artikel einfügen“ in the template editor (the invoice editor's picker): the item's
    text, unit, price and tax become a position, saved with the template."""
    from kms.modules.invoices import articles

    with session_scope() as session:
        item = articles.create_article(
            session, name="Wartung", description="Monatlich", unit_code="MON", unit_price="49,5"
        ).id
    at = open_page("wiederkehrende_rechnungen").run()
    at.selectbox(key="rec_pick").set_value(template_id).run()
    key = f"rec_form_{template_id}"
    picker = at.selectbox(key=f"{key}_article_0")
    assert picker.options == ["Wartung (49,50 € je Monat)"]
    picker.set_value(item)
    button(at, "Einfügen").click().run()
    assert not at.exception
    with session_scope(write=False) as s:  # nothing saved yet
        assert len(s.get(RecurringTemplate, template_id).lines) == 1  # type: ignore[union-attr]
    button(at, "Vorlage speichern").click().run()
    assert not at.exception
    assert not values(at.error), values(at.error)
    with session_scope(write=False) as s:
        template = s.get(RecurringTemplate, template_id)
        assert template is not None
        stored = [
            (ln["description"], ln["unit_code"], ln["unit_price"], ln["tax"])
            for ln in template.lines
        ]
        assert stored == [
            ("Hosting", "C62", "10.00", "S19"),
            ("Wartung\nMonatlich", "MON", "49.50", "S19"),
        ]
    assert f"{key}_rows" not in at.session_state

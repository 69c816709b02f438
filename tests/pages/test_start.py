"""Übersicht: login gate, greeting, the reminder of an unfinished Ersteinrichtung, the banner."""

from __future__ import annotations

from datetime import timedelta

from kms.db import session_scope
from kms.notices import add_notice
from kms.types import utcnow
from tests import ui_helpers as ui


def test_deep_link_before_login_shows_only_the_login_form(owner):
    """/start without login shows the banner and the login form, no greeting or links."""
    at = ui.open_page("start", user=None).run()
    ui.assert_only_login(at, hidden=["Übersicht", "Willkommen", ui.OWNER_NAME])


def test_logged_in_page_greets_and_reminds_of_setup(owner):
    """Logged in: title, banner, a greeting by name and the unfinished Ersteinrichtung."""
    at = ui.open_page("start").run()
    ui.assert_page_shown(at, "Übersicht")
    assert f"Willkommen, {ui.OWNER_NAME}." in ui.values(at.markdown)
    assert ui.values(at.info) == ["Die Ersteinrichtung ist noch nicht abgeschlossen."]


def test_after_setup_no_reminder(owner, demo):
    """Once the Ersteinrichtung is done the start page no longer asks for it."""
    at = ui.open_page("start").run()
    ui.assert_page_shown(at, "Übersicht")
    assert not at.info


def test_banner_names_the_next_maintenance_window(owner):
    """A planned window appears in the banner with its Berlin times instead of "none planned"."""
    start = utcnow() + timedelta(days=2)
    with session_scope() as session:
        add_notice(
            session,
            text="Datenbank-Update.",
            maintenance=True,
            start=start,
            end=start + timedelta(hours=1),
        )
    at = ui.open_page("start").run()
    ui.assert_page_shown(at, "Übersicht", banner="Nächstes Wartungsfenster: ")
    assert "Datenbank-Update." in ui.values(at.caption)[0]
    assert "Kein Wartungsfenster geplant." not in ui.values(at.caption)


def test_unexpected_error_shows_number_not_traceback(owner, monkeypatch):
    """A failing service shows the German message with a Fehlernummer and logs the error."""
    cause = ui.break_function(monkeypatch, "kms.onboarding.steps")
    at = ui.open_page("start").run()
    ui.assert_unexpected_error(at, "start", cause)


def test_overview_shows_every_modules_figures_with_links(owner, demo):
    """Each registered module's figures appear as tiles: label, value, detail, page link;
    overdue demo invoices are marked for attention."""
    from kms.modules.invoices.overview import overview as invoice_overview
    from kms.registry import overview_providers, page_by_url

    with session_scope(write=False) as session:
        figures = [f for _module, provide in overview_providers(session) for f in provide(session)]
        overdue = next(f for f in invoice_overview(session) if f.label == "Überfällig")
    labels = [f.label for f in figures]
    assert {"Kunden", "Offene Rechnungen", "Überfällig", "Briefentwürfe"} <= set(labels)
    assert overdue.attention and overdue.detail == "2 Rechnungen"

    at = ui.open_page("start").run()
    ui.assert_page_shown(at, "Übersicht")
    captions = ui.values(at.caption)
    values = [m for m in ui.values(at.markdown) if m.startswith("### ")]
    for figure in figures:
        assert figure.label in captions and figure.detail in captions
        shown = f":orange[{figure.value}]" if figure.attention else figure.value
        assert f"### {shown}" in values
    links = [(link.label, link.proto.page) for link in at.get("page_link")]
    for figure in figures:
        page = page_by_url(figure.page)
        assert any(label == f"Zu {page.title}" for label, _ in links)

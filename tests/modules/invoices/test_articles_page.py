"""The Leistungen & Artikel page and the „Artikel einfügen“ picker of the draft editor,
driven by Streamlit's AppTest (embedded SQLite)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from kms.db import session_scope
from kms.modules.invoices import articles, service
from kms.modules.invoices.models import Article, Invoice
from kms.modules.settings import demo as settings_demo
from kms.ui.text import plain
from tests import ui_helpers as ui
from tests.modules.invoices.conftest import line, organisation
from tests.ui_helpers import edit_table, values


@pytest.fixture
def seller() -> None:
    """Owner login and the demo seller (Regelbesteuerung today)."""
    ui.create_owner()
    with session_scope() as session:
        settings_demo.load(session)


def _item(**values: str) -> int:
    with session_scope() as session:
        return articles.create_article(
            session,
            **{"name": "Workshop Musterthema", "unit_code": "DAY", "unit_price": "1200", **values},
        ).id


def _button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def _text(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(t for t in at.text_input if t.label.startswith(label))


def test_an_item_is_created_listed_and_archived_after_confirming(seller) -> None:
    at = ui.open_page("artikel").run()
    assert not at.exception
    assert "Keine Leistungen oder Artikel gefunden." in values(at.info)
    _text(at, "Bezeichnung").input("Beratung vor Ort")
    _text(at, "Einzelpreis").input("95,1234")
    next(s for s in at.selectbox if s.label == "Einheit").set_value("Stunde")
    _button(at, "Speichern").click().run()
    assert not at.exception
    assert any("„Beratung vor Ort“ gespeichert." in s for s in values(at.success))
    [table] = [d.value for d in at.dataframe]
    assert table[["Bezeichnung", "Einheit", "Einzelpreis netto", "Steuer"]].values.tolist() == [
        ["Beratung vor Ort", "Stunde", "95,1234", "19 % USt"]
    ]
    with session_scope(write=False) as s:
        item = s.scalars(select(Article)).one()
        assert item.unit_price == Decimal("95.1234")
    # The saved item is selected: archiving asks first.
    _button(at, "Archivieren").click().run()
    assert not at.exception
    with session_scope(write=False) as s:
        assert not s.get(Article, item.id).archived
    next(b for b in at.button if b.key == "art_archive_go").click().run()
    assert not at.exception
    with session_scope(write=False) as s:
        assert s.get(Article, item.id).archived
    assert "Keine Leistungen oder Artikel gefunden." in values(at.info)  # only active ones


def test_bad_input_is_named_in_german_and_nothing_saved(seller) -> None:
    at = ui.open_page("artikel").run()
    _text(at, "Einzelpreis").input("1,23456")
    _button(at, "Speichern").click().run()
    assert not at.exception
    errors = " ".join(values(at.error))
    assert "Bitte eine Bezeichnung angeben." in errors
    assert "zu viele Nachkommastellen (höchstens 4)" in errors
    with session_scope(write=False) as s:
        assert s.scalar(select(Article.id)) is None


def test_the_tax_adviser_reads_the_list_without_forms(seller) -> None:
    from kms import auth
    from kms.permissions import Role

    with session_scope() as session:
        auth.create_user(session, username="stefan", password=ui.OWNER_PASSWORD, role=Role.ADVISER)
    _item()
    at = ui.open_page("artikel", user="stefan").run()
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Liste", "Export"]
    assert at.dataframe[0].value["Bezeichnung"].tolist() == ["Workshop Musterthema"]


@pytest.fixture
def draft_id(seller) -> int:
    with session_scope() as session:
        customer = organisation(session, "Musterfirma GmbH", vat_id="DE136695976")
        return service.save_draft(
            session,
            contact_id=customer.id,
            service_date=service.today(),
            lines=[line("Webdesign", "2", "100")],
        ).id


def test_an_item_is_inserted_into_the_draft_and_stays_editable(draft_id) -> None:
    """„Artikel einfügen“ appends a filled position and keeps an unsaved typed row; archived
    items are not offered; saving stores the picked position with the item's values."""
    item = _item(description="Ganztägig", unit_price="1200,5")
    old = _item(name="Altes Angebot", number="ALT")
    with session_scope() as session:
        articles.archive_article(session, old)
    at = ui.open_page("rechnungen")
    at.session_state["inv_selected"] = draft_id
    at.run()
    picker = at.selectbox(key=f"draft_{draft_id}_article_0")
    assert picker.options == ["Workshop Musterthema (1.200,50 € je Tag)"]
    edit_table(
        at,
        f"draft_{draft_id}_lines",
        added_rows=[{"Beschreibung": "Fahrtkosten", "Menge": "1", "Einzelpreis": "30",
                     "Einheit": "Pauschale", "Steuer": "19 % USt"}],
    )  # fmt: skip
    picker.set_value(item)
    _button(at, "Einfügen").click().run()
    assert not at.exception
    with session_scope(write=False) as s:  # nothing saved yet
        assert len(s.get(Invoice, draft_id).lines) == 1
    _button(at, "Entwurf speichern").click().run()
    assert not at.exception
    assert not values(at.error), values(at.error)
    with session_scope(write=False) as s:
        lines = s.get(Invoice, draft_id).lines
        assert [(ln.description, ln.unit_code, ln.unit_price) for ln in lines] == [
            ("Webdesign", "HUR", Decimal("100")),
            ("Fahrtkosten", "LS", Decimal("30")),
            ("Workshop Musterthema\nGanztägig", "DAY", Decimal("1200.5")),
        ]
        assert s.get(Invoice, draft_id).gross_total == Decimal("1702.30")
    assert f"draft_{draft_id}_rows" not in at.session_state  # the draft holds them now


def test_the_item_name_is_shown_literally_not_as_markdown(seller) -> None:
    name = "**Fett** [Link](https://example.org)"
    at = ui.open_page("artikel").run()
    _text(at, "Bezeichnung").input(name)
    _text(at, "Einzelpreis").input("10")
    next(s for s in at.selectbox if s.label == "Einheit").set_value("Stunde")
    _button(at, "Speichern").click().run()
    assert not at.exception
    [caption] = [str(c.value) for c in at.caption if "bearbeiten" in str(c.value)]
    # Streamlit renders captions as Markdown: every special character is escaped.
    assert caption == plain(f"„{name}“ bearbeiten")

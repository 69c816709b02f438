"""Leistungen und Artikel: validation, exact prices on both databases, picking an item into a
draft that is then issued, archiving, and the import/export of the price list."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.audit import AuditEvent
from kms.errors import ConflictError, KmsError, ValidationErrors
from kms.modules.contacts.models import Contact
from kms.modules.invoices import articles, service
from kms.modules.invoices.models import Article, Invoice
from kms.modules.settings import taxation
from tests.modules.invoices.conftest import line


def make(session: Session, **values: Any) -> Article:
    values.setdefault("name", "Workshop Musterthema")
    values.setdefault("unit_code", "DAY")
    values.setdefault("unit_price", "1200,00")
    article = articles.create_article(session, actor="test", **values)
    session.commit()
    return article


def errors_of(call: Callable[[], object]) -> dict[str, str]:
    with pytest.raises(ValidationErrors) as caught:
        call()
    return caught.value.errors


def test_an_item_is_created_with_the_invoices_units_and_tax_rules(session, seller) -> None:
    article = make(session, number="WS-1", description="Ganztägig, vor Ort", tax="19 % USt")
    assert (article.unit_code, article.unit_price) == ("DAY", Decimal("1200.0000"))
    assert (article.tax_category, article.tax_rate) == ("S", Decimal("19.00"))
    # The unit may be given by its German label, the tax by category and rate.
    second = make(session, name="Beratung", unit_code="Stunde", tax_category="S", tax_rate="7")
    assert (second.unit_code, service.tax_key(second)) == ("HUR", "S7")
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity == "article")).first()
    assert event is not None and event.action == "created"


def test_bad_input_gets_german_messages_and_saves_nothing(session, seller) -> None:
    problems = errors_of(
        lambda: articles.create_article(
            session, name="  ", unit_code="XYZ", unit_price="-1", tax="S5"
        )
    )
    assert problems["name"] == "Bitte eine Bezeichnung angeben."
    assert "Unbekannte Einheit „XYZ“" in problems["unit_code"]
    assert "nicht negativ" in problems["unit_price"]
    assert "Unbekannter Steuersatz „S5“" in problems["tax"]
    five = errors_of(lambda: articles.create_article(session, name="X", unit_code="C62",
                                                     unit_price="1,23456"))  # fmt: skip
    assert five["unit_price"] == "„1,23456“ hat zu viele Nachkommastellen (höchstens 4)."
    assert (
        "keine gültige Zahl"
        in errors_of(
            lambda: articles.create_article(session, name="X", unit_code="C62", unit_price="zwölf")
        )["unit_price"]
    )
    rate = errors_of(
        lambda: articles.create_article(
            session, name="X", unit_code="C62", unit_price="1", tax_category="S", tax_rate="5"
        )
    )
    assert rate["tax"] == (
        "Der Steuersatz 5 % ist in der Steuerkategorie S nicht möglich (erlaubt: 19 % oder 7 %)."
    )
    zero = errors_of(
        lambda: articles.create_article(
            session, name="X", unit_code="C62", unit_price="1", tax_category="AE", tax_rate="19"
        )
    )
    assert "Steuerkategorie AE nicht möglich (erlaubt: 0 %)" in zero["tax"]
    # Regelbesteuerung (the demo seller since 2024) cannot sell under § 19 UStG.
    small = errors_of(
        lambda: articles.create_article(session, name="X", unit_code="C62", unit_price="1", tax="E")
    )
    assert "Bei Regelbesteuerung ist § 19 UStG nicht möglich" in small["tax"]
    make(session, number="WS-1")
    taken = errors_of(lambda: make(session, name="Anderes", number="WS-1"))
    assert taken["number"] == "Die Nummer „WS-1“ hat schon „Workshop Musterthema“."
    session.rollback()
    assert session.scalar(select(Article.name).where(Article.name == "X")) is None


def test_a_kleinunternehmer_item_defaults_to_section_19_and_refuses_vat(session, seller) -> None:
    taxation.set_regime(session, valid_from=service.today(), kind="klein")
    session.commit()
    article = make(session)
    assert service.tax_key(article) == "E"
    problems = errors_of(lambda: make(session, name="Mit USt", tax="S19"))
    assert "Als Kleinunternehmer (§ 19 UStG) berechnen Sie keine Umsatzsteuer" in problems["tax"]


def test_four_decimal_prices_are_exact_on_both_databases(session, seller) -> None:
    article = make(session, unit_price="0,1235", unit_code="KWH")
    session.expire_all()
    stored = session.get(Article, article.id)
    assert stored.unit_price == Decimal("0.1235")
    assert str(stored.unit_price) == "0.1235"
    big = make(session, name="Großauftrag", unit_price="123456,9999")
    session.expire_all()
    assert session.get(Article, big.id).unit_price == Decimal("123456.9999")


def test_update_archive_and_list_in_sql(session, seller) -> None:
    a = make(session, number="A-1", name="Alpha Beratung")
    make(session, name="Beta Workshop", description="Müller-Methode")
    with pytest.raises(ConflictError):
        articles.update_article(session, a.id, version=a.version + 1, name="Neu", unit_code="C62",
                                unit_price="1")  # fmt: skip
    changed = articles.update_article(
        session, a.id, version=a.version, name="Alpha Beratung", unit_code="HUR", unit_price="95"
    )
    assert changed.unit_price == Decimal("95") and changed.number is None
    session.commit()
    assert [x.name for x in articles.list_articles(session, search="mueller").items] == [
        "Beta Workshop"
    ]
    articles.archive_article(session, a.id, actor="test")
    session.commit()
    assert [x.name for x in articles.list_articles(session).items] == ["Beta Workshop"]
    assert [x.name for x in articles.list_articles(session, archived="archived").items] == [
        "Alpha Beratung"
    ]
    assert list(articles.article_choices(session).values()) == ["Beta Workshop (1.200,00 € je Tag)"]
    page = articles.list_articles(session, archived="all", page=2, page_size=1)
    assert (page.total, page.page, [x.name for x in page.items]) == (2, 2, ["Beta Workshop"])
    articles.unarchive_article(session, a.id)
    session.commit()
    assert len(articles.article_choices(session)) == 2


def test_offering_link_is_kept_unchecked_while_pricing_is_locked(session, seller) -> None:
    """Without a Preiskalkulation licence the id cannot be checked and is kept as given."""
    article = make(session, offering_id="7")
    assert article.offering_id == 7
    problems = errors_of(lambda: make(session, name="Y", offering_id="sieben"))
    assert problems["offering_id"] == "„sieben“ ist keine Angebotsnummer."


def test_offering_link_is_checked_while_pricing_is_usable(session, seller, monkeypatch) -> None:
    monkeypatch.setattr(articles, "pricing_usable", lambda s: True)
    problems = errors_of(lambda: make(session, offering_id="99"))
    assert problems["offering_id"] == "Ein Angebot 99 gibt es in der Preiskalkulation nicht (mehr)."


def test_picking_an_item_fills_a_position_that_is_issued_with_exact_totals(
    session, customer: Contact, make_draft, issue
) -> None:
    article = make(
        session, name="Wartung", description="Monatliche Pflege", unit_code="MON",
        unit_price="99,9950",
    )  # fmt: skip
    position = articles.line_from_article(article)
    assert position["description"] == "Wartung\nMonatliche Pflege"
    assert (position["unit_code"], position["unit_price"], position["tax"]) == (
        "MON",
        Decimal("99.9950"),
        "S19",
    )
    # The position stays editable: the quantity is changed before saving.
    position["quantity"] = "3"
    draft = make_draft([position, line("Anfahrt", "1", "20")])
    assert draft.lines[0].unit_price == Decimal("99.9950")
    invoice = issue(draft)
    # 3 × 99,995 = 299,985 → 299,99 (half up); + 20,00 = 319,99 net; 19 % = 60,80.
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        Decimal("319.99"),
        Decimal("60.80"),
        Decimal("380.79"),
    )
    # Archiving or changing the item later leaves the issued invoice as it was.
    articles.update_article(session, article.id, name="Wartung neu", unit_code="MON",
                            unit_price="120")  # fmt: skip
    articles.archive_article(session, article.id)
    session.commit()
    session.expire_all()
    kept = session.get(Invoice, invoice.id)
    assert kept.lines[0].description == "Wartung\nMonatliche Pflege"
    assert kept.lines[0].unit_price == Decimal("99.9950")
    assert article.id not in articles.article_choices(session)


# --- import / export -----------------------------------------------------------------------


def test_import_is_all_or_nothing_and_names_the_rows(session, seller) -> None:
    data = (
        "Nummer;Bezeichnung;Einheit;Preis;Steuer\n"
        "B-1;Beratung;Stunde;95,00;19\n"
        ";;Stück;5;19\n"
        "B-2;Schulung;Ufo;1,23456;S19\n"
        "B-1;Doppelt;Tag;800;7 %\n"
    ).encode("cp1252")
    plan = articles.import_articles(session, data)
    assert not plan.imported
    assert plan.problem_lines() == [
        "Zeile 3: Bezeichnung: Bitte eine Bezeichnung angeben.",
        "Zeile 4: Einheit: Unbekannte Einheit „Ufo“: bitte eine Einheit aus der Liste wählen "
        "(UN/ECE Rec 20, z. B. HUR für Stunde, C62 für Stück).",
        "Zeile 4: Einzelpreis netto: „1,23456“ hat zu viele Nachkommastellen (höchstens 4).",
        "Zeile 5: Die Nummer „B-1“ steht schon in Zeile 2.",
    ]
    assert session.scalar(select(Article.id)) is None
    with pytest.raises(KmsError, match="Nichts wurde importiert"):
        articles.apply_import(session, plan)
    good = articles.import_articles(
        session, b'Bezeichnung,Einzelpreis netto,Einheit\nBeratung,"1.234,5678",HUR\n'
    )
    assert good.imported and good.created == 1
    assert session.scalar(select(Article.unit_price)) == Decimal("1234.5678")


def test_import_refuses_a_file_without_the_needed_columns(session, seller) -> None:
    plan = articles.plan_import(session, b"Artikel;Farbe\nStift;blau\n")
    assert plan.problem_lines() == [
        "In der Kopfzeile (Zeile 1) fehlen „Einheit“ und „Einzelpreis netto“. Gefunden: "
        "„Artikel“, „Farbe“."
    ]


def test_export_round_trips_through_csv_and_xlsx(session, seller) -> None:
    make(session, number="=HYPERLINK(1)", name="Workshop", description="Zeile 1\nZeile 2",
         unit_price="1200,5", offering_id="3")  # fmt: skip
    archived = make(session, name="Alt", unit_code="C62", unit_price="0,0001", tax="7 % USt")
    articles.archive_article(session, archived.id)
    session.commit()
    csv_bytes = articles.export_csv(session)
    text = csv_bytes.decode("utf-8-sig")
    assert text.splitlines()[0] == (
        "Nummer;Bezeichnung;Beschreibung;Einheit;Einzelpreis netto;Steuer;Preiskalkulation;"
        "Archiviert"
    )
    assert "'=HYPERLINK(1)" in text  # neutralised for spreadsheets
    xlsx = articles.export_xlsx(session)
    sheet = load_workbook(io.BytesIO(xlsx)).active
    assert sheet["A2"].value == "Alt" or sheet["B2"].value == "Alt"
    for exported in (csv_bytes, xlsx):
        session.execute(Article.__table__.delete())
        session.commit()
        session.expunge_all()
        plan = articles.import_articles(session, exported)
        assert plan.ok, plan.problem_lines()
        session.commit()
        assert articles.export_csv(session) == csv_bytes
    rows = {a.name: a for a in session.scalars(select(Article))}
    assert rows["Alt"].archived and rows["Alt"].unit_price == Decimal("0.0001")
    assert rows["Workshop"].number == "=HYPERLINK(1)"


def test_xlsx_import_reads_numbers_typed_as_numbers(session, seller) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Bezeichnung", "Preis", "Einheit", "Steuer"])
    sheet.append(["Kabel", 1.234, "Meter", 19])
    sheet.append(["Beratung", 95, "HUR", "19 % USt"])
    out = io.BytesIO()
    book.save(out)
    plan = articles.import_articles(session, out.getvalue())
    assert plan.imported, plan.problem_lines()
    prices = dict(session.execute(select(Article.name, Article.unit_price)).all())
    assert prices == {"Kabel": Decimal("1.234"), "Beratung": Decimal("95")}


def test_demo_items_are_fictitious_and_loaded_once(session, seller) -> None:
    from kms.modules.invoices import demo

    demo.load_articles(session)
    demo.load_articles(session)
    names = session.scalars(select(Article.name)).all()
    assert len(names) == len(set(names)) >= 3
    assert {service.tax_key(a) for a in session.scalars(select(Article))} == {"S19", "S7"}

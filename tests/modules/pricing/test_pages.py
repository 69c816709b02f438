"""The Preiskalkulation pages through Streamlit's AppTest: unlocked with a licence, locked
without one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kms.db import session_scope
from kms.modules.pricing import service
from kms.modules.pricing.models import OverheadPost
from tests import ui_helpers as ui

PAGES = ("gemeinkosten", "kalkulationsgrundlagen", "angebote", "kapazitaet", "nachkalkulation")


@pytest.mark.parametrize("url_path", PAGES)
def test_locked_without_licence(url_path: str) -> None:
    ui.create_owner()
    at = ui.open_page(url_path).run()
    assert not at.exception
    warnings = ui.values(at.warning)
    assert any("nicht lizenziert" in w and "Preiskalkulation" in w for w in warnings), warnings
    assert not at.dataframe and not at.number_input


def _example() -> None:
    with session_scope() as s:
        service.save_basis(
            s,
            net_income=Decimal(45000),
            provisions=Decimal(0),
            working_days=260,
            vacation_days=30,
            sick_days=10,
            holidays=20,
            hours_per_day=Decimal(8),
            billable_percent=Decimal(60),
            tax_reserve_percent=Decimal(25),
        )
        service.save_overhead(s, label="Büromiete", amount=Decimal(1000), factor=12)
        service.save_offering(
            s,
            name="Workshop, 1 Tag",
            hours_delivery=Decimal(8),
            hours_preparation=Decimal(4),
            hours_follow_up=Decimal(1),
            hours_travel=Decimal(2),
            travel_km=Decimal(100),
            km_rate=Decimal("0.30"),
            units_per_year=20,
            planned_price=Decimal(1000),
        )


@pytest.mark.usefixtures("licensed_app")
def test_basis_page_shows_the_worked_example() -> None:
    _example()
    at = ui.open_page("kalkulationsgrundlagen").run()
    assert not at.exception
    tables = [d.value for d in at.dataframe]
    shown = {row["Kennzahl"]: row["Wert"] for t in tables for _, row in t.iterrows()}
    assert shown["Nötiger Jahresumsatz (netto)"] == "72.000,00\xa0€"
    assert shown["Abrechenbare Stunden im Jahr"] == "960"
    assert shown["Stundensatz (netto)"] == "75,00\xa0€"


@pytest.mark.usefixtures("licensed_app")
def test_offerings_page_shows_fair_price_and_ranking() -> None:
    _example()
    at = ui.open_page("angebote").run()
    assert not at.exception
    ranking = at.dataframe[0].value
    assert list(ranking["Angebot"]) == ["Workshop, 1 Tag"]
    assert list(ranking["Fairer Preis netto"]) == ["1.155,00\xa0€"]  # 30 + 75 × 15
    assert any(w.startswith("Knapp:") for w in ui.values(at.warning))


@pytest.mark.usefixtures("licensed_app")
def test_overhead_form_refuses_nonsense_and_saves_a_post() -> None:
    at = ui.open_page("gemeinkosten").run()
    assert not at.exception
    at.text_input[0].input("Versicherung")
    at.number_input[0].set_value(-5.0)
    at.button(key="FormSubmitter:pricing_post_0_0-Speichern").click()
    at = at.run()
    assert not at.exception
    assert any("nicht negativ" in e for e in ui.values(at.error))
    with session_scope(write=False) as s:
        assert s.query(OverheadPost).count() == 0


@pytest.mark.usefixtures("licensed_app")
def test_capacity_page_warns_when_overbooked() -> None:
    _example()
    with session_scope() as s:
        row = service.plan(s).offerings[0][0]
        service.save_offering(s, offering_id=row.id, units_per_year=70)
    at = ui.open_page("kapazitaet").run()
    assert not at.exception
    assert any("1.050" in w.value for w in at.warning)


@pytest.mark.usefixtures("licensed_app")
def test_overhead_form_saves_a_post_and_shows_the_totals() -> None:
    at = ui.open_page("gemeinkosten").run()
    at.text_input[0].input("Versicherung")
    at.number_input[0].set_value(300.0)
    at.number_input[2].set_value(0.0)  # no VAT in an insurance premium
    at.selectbox[-1].set_value(4)
    at.button(key="FormSubmitter:pricing_post_0_0-Speichern").click()
    at = at.run()
    assert not at.exception
    assert "Posten gespeichert." in ui.values(at.success)
    assert list(at.dataframe[0].value["Jahreskosten"]) == ["1.200,00\xa0€"]
    assert [m.value for m in at.metric] == ["1.200,00\xa0€", "100,00\xa0€"]


@pytest.mark.usefixtures("licensed_app")
def test_post_calculation_page_links_a_position() -> None:
    from kms.types import today

    from .test_post_calculation import _issued

    _issued(today())
    _example()
    at = ui.open_page("nachkalkulation").run()
    assert not at.exception
    assert list(at.dataframe[0].value["Berechneter Umsatz (netto)"]) == ["0,00\xa0€"]
    at.button(key="pricing_link_go").click()
    at = at.run()
    assert not at.exception
    assert "Position zugeordnet." in ui.values(at.success)
    assert list(at.dataframe[0].value["Berechneter Umsatz (netto)"]) == ["1.800,00\xa0€"]


@pytest.mark.usefixtures("licensed_app")
def test_take_price_creates_an_invoice_draft() -> None:
    from datetime import date

    from kms.modules.invoices.models import Invoice

    from .test_post_calculation import _issued

    _issued(date(2026, 2, 27))
    _example()
    at = ui.open_page("angebote").run()
    at.button(key="fn_pricing.take_price").click()
    at = at.run()
    assert not at.exception
    at.button(key="pricing_take_go").click()
    at = at.run()
    assert not at.exception
    assert any(m.startswith("Rechnungsentwurf") for m in ui.values(at.success))
    with session_scope(write=False) as s:
        drafts = [i for i in s.query(Invoice).all() if not i.is_issued]
        assert [line.unit_price for line in drafts[0].lines] == [Decimal("1155.00")]


@pytest.mark.usefixtures("licensed_app")
def test_overheads_page_compares_plan_and_actual_per_category() -> None:
    from datetime import date

    from kms.modules.ledger import service as ledger
    from kms.modules.settings import taxation
    from kms.types import today

    year = today().year
    with session_scope() as s:
        taxation.set_regime(s, valid_from=date(2020, 1, 1), kind="regel", filing_period="quartal")
        account = ledger.save_account(
            s, name="Girokonto", kind="bank", iban="DE89370400440532013000", is_default=True
        )
        category = ledger.category_by_key(s, "raumkosten")
        ledger.create_booking(
            s, booking_date=date(year, 1, 2), account_id=account.id, kind="ausgabe",
            lines=[ledger.LineInput("595.00", category.id, "V19")],
        )  # fmt: skip
        service.save_overhead(
            s, label="Büro", category=category.name, amount=Decimal(500), factor=12, vat_rate=0
        )
    at = ui.open_page("gemeinkosten").run()
    assert not at.exception
    table = at.dataframe[1].value
    assert list(table["Kategorie"]) == ["Raumkosten (Miete)"]
    assert list(table["Plan (Jahreskosten)"]) == ["6.000,00\xa0€"]
    assert list(table[f"Ist {year}"]) == ["500,00\xa0€"]
    assert list(table["Abweichung (Ist − Plan)"]) == ["-5.500,00\xa0€"]
    at.selectbox(key="pricing_actual_year").set_value(year - 1)
    at = at.run()
    assert len(at.dataframe) == 1
    assert any(f"Für {year - 1} sind noch keine Ausgaben gebucht" in i for i in ui.values(at.info))


@pytest.mark.usefixtures("licensed_app")
def test_post_calculation_page_unlinks_a_position_after_confirmation() -> None:
    from kms.modules.pricing.models import InvoiceLineLink
    from kms.types import today

    from .test_post_calculation import _issued

    _, line_id = _issued(today())
    _example()
    with session_scope() as s:
        service.link_invoice_line(s, line_id, service.plan(s).offerings[0][0].id)
    at = ui.open_page("nachkalkulation").run()
    assert list(at.dataframe[0].value["Berechneter Umsatz (netto)"]) == ["1.800,00\xa0€"]
    at.button(key="pricing_unlink_ask").click()
    at = at.run()
    assert any("lösen?" in w and "bleibt unverändert" in w for w in ui.values(at.warning))
    at.button(key="pricing_unlink_cancel").click()
    at = at.run()
    assert not ui.values(at.warning)
    with session_scope(write=False) as s:
        assert s.query(InvoiceLineLink).count() == 1
    at.button(key="pricing_unlink_ask").click()
    at = at.run()
    at.button(key="pricing_unlink_go").click()
    at = at.run()
    assert not at.exception, at.exception
    assert "Zuordnung gelöst." in ui.values(at.success)
    assert list(at.dataframe[0].value["Berechneter Umsatz (netto)"]) == ["0,00\xa0€"]
    with session_scope(write=False) as s:
        assert s.query(InvoiceLineLink).count() == 0


@pytest.mark.usefixtures("licensed_app")
def test_deleting_a_post_says_so_and_the_next_new_form_is_empty() -> None:
    from kms.modules.pricing.models import OverheadPost as Post

    at = ui.open_page("gemeinkosten").run()
    at.text_input[0].input("Versicherung")
    at.number_input[0].set_value(300.0)
    at.button(key="FormSubmitter:pricing_post_0_0-Speichern").click()
    at = at.run()
    assert "Posten gespeichert." in ui.values(at.success)
    assert at.text_input[0].value == ""  # the "Neuer Posten" form starts empty again
    with session_scope(write=False) as s:
        post_id = s.query(Post).one().id
    at.selectbox(key="pricing_post_pick").set_value(post_id)
    at = at.run()
    at.button(key=f"FormSubmitter:pricing_post_{post_id}_1-Löschen").click()
    at = at.run()
    assert not at.exception
    assert "Posten gelöscht." in ui.values(at.success)
    with session_scope(write=False) as s:
        assert s.query(Post).count() == 0


def _submit(at, form: str):  # type: ignore[no-untyped-def]
    at.button(key=f"FormSubmitter:{form}-Speichern").click()
    at = at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.usefixtures("licensed_app")
@pytest.mark.parametrize(
    ("label", "value", "message"),
    [
        ("Abrechenbarer Anteil in %", 0.0, "0 abrechenbare Stunden"),
        ("Steuerrücklage in %", 100.0, "unter 100 %"),
        ("Stunden je Tag", 0.0, "0 abrechenbare Stunden"),
        ("Gewünschter Unternehmerlohn netto im Jahr (€)", -1.0, "nicht negativ"),
        ("Gewünschter Unternehmerlohn netto im Jahr (€)", 1e30, "zu groß"),
        ("Arbeitstage im Jahr", 1000, "366 Arbeitstage"),
    ],
)
def test_basis_form_refuses_nonsense_in_german_and_saves_nothing(
    label: str, value: float, message: str
) -> None:
    from kms.modules.pricing.models import CalculationBasis

    at = ui.open_page("kalkulationsgrundlagen").run()
    next(n for n in at.number_input if n.label == label).set_value(value)
    at = _submit(at, "pricing_basis")
    errors = ui.values(at.error)
    assert any(message in e for e in errors), errors
    assert not ui.values(at.success)
    with session_scope(write=False) as s:
        assert s.query(CalculationBasis).count() == 0


@pytest.mark.usefixtures("licensed_app")
def test_offer_and_post_forms_refuse_nonsense_and_keep_the_input() -> None:
    from kms.modules.pricing.models import Offering

    at = ui.open_page("angebote").run()
    at.text_input[0].input("Kurs ohne Zeit")
    at = _submit(at, "pricing_offer_0_0")
    assert any("braucht Zeit" in e for e in ui.values(at.error))
    assert at.text_input[0].value == "Kurs ohne Zeit"  # nothing typed is lost
    next(n for n in at.number_input if n.label == "Durchführung (Stunden)").set_value(2.0)
    next(n for n in at.number_input if n.label.startswith("Material")).set_value(-10.0)
    at = _submit(at, "pricing_offer_0_0")
    assert any("Material darf nicht negativ" in e for e in ui.values(at.error))
    with session_scope(write=False) as s:
        assert s.query(Offering).count() == 0

    at = ui.open_page("gemeinkosten").run()
    at.text_input[0].input("Miete")
    at.number_input[0].set_value(1e25)
    at = _submit(at, "pricing_post_0_0")
    assert any("zu groß" in e for e in ui.values(at.error))
    with session_scope(write=False) as s:
        assert s.query(OverheadPost).count() == 0


@pytest.mark.usefixtures("licensed_app")
def test_overheads_comparison_starts_at_the_latest_year_with_expenses() -> None:
    from datetime import date

    from kms.modules.ledger import service as ledger
    from kms.modules.settings import taxation
    from kms.types import today

    year = today().year - 2
    with session_scope() as s:
        taxation.set_regime(s, valid_from=date(2020, 1, 1), kind="regel", filing_period="quartal")
        account = ledger.save_account(
            s, name="Girokonto", kind="bank", iban="DE89370400440532013000", is_default=True
        )
        ledger.create_booking(
            s, booking_date=date(year, 5, 2), account_id=account.id, kind="ausgabe",
            lines=[ledger.LineInput("100.00", ledger.category_by_key(s, "versicherungen").id,
                                    "NSTB")],
        )  # fmt: skip
        service.save_overhead(s, label="Haftpflicht", category="Versicherungen", amount=Decimal(80))
    at = ui.open_page("gemeinkosten").run()
    assert not at.exception
    assert at.selectbox(key="pricing_actual_year").value == year
    assert list(at.dataframe[1].value[f"Ist {year}"]) == ["100,00\xa0€"]

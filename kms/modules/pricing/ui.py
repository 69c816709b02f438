"""Preiskalkulation pages: Gemeinkosten, Kalkulationsgrundlagen, Angebote, Kapazität.

User text (labels, names) only ever goes into dataframes, widgets' values or through plain();
formulas are KMS's own words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from kms.db import session_scope
from kms.formatting import format_money, format_number
from kms.modules.pricing import calc, service
from kms.permissions import Permission
from kms.types import today
from kms.ui.forms import CHOOSE, flash, in_session, labels_of, saving, show_flash
from kms.ui.page import PageContext
from kms.ui.text import plain

T = TypeVar("T")
FLASH = "pricing_flash"
LABELS = {
    "label": "Bezeichnung",
    "amount": "Betrag",
    "factor": "Faktor",
    "useful_life_years": "Nutzungsdauer",
    "name": "Name",
}


def _flash(message: str) -> None:
    flash(FLASH, message)


def _show_flash() -> None:
    show_flash(FLASH)


def _write(action: Callable[[Session], T]) -> T | None:
    """A write in a session of its own: committed on success, German errors shown."""
    return in_session(action, LABELS)


def _done(action: Callable[[Session], object]) -> bool:
    """Like _write, for actions without a result (delete, unlink): did it succeed?"""
    return _write(lambda s: action(s) or True) is not None


def _may_plan(ctx: PageContext) -> bool:
    return ctx.may(Permission.SETTINGS) and not ctx.read_only


def _figures(figures: Sequence[calc.Figure | None], *, money: bool = True) -> None:
    """Figures with their formulas, as a table (no Markdown)."""
    rows = [
        {
            "Kennzahl": f.label,
            "Wert": format_money(f.value) if money else format_number(f.value, 2),
            "So gerechnet": f.formula,
        }
        for f in figures
        if f is not None
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def _plan() -> service.Plan | None:
    with saving() as result, session_scope(write=False) as session:
        plan = service.plan(session)
    return plan if result["ok"] else None


# --- Gemeinkosten -----------------------------------------------------------------------


def render_overheads(ctx: PageContext) -> None:
    _show_flash()
    plan = _plan()
    if plan is None:
        return
    if ctx.function_requested("pricing.from_bookings"):
        _from_bookings(ctx)
    if plan.posts:
        st.dataframe(
            [
                {
                    "Bezeichnung": row.label,
                    "Kategorie": row.category,
                    "Betrag": format_money(row.amount),
                    "Faktor": calc.FACTORS.get(row.factor, str(row.factor)),
                    "Nutzungsdauer (Jahre)": str(row.useful_life_years or ""),
                    "Jahreskosten": format_money(figure.value),
                    "So gerechnet": figure.formula,
                }
                for row, figure in plan.posts
            ],
            hide_index=True,
            width="stretch",
        )
        total = plan.overheads.value
        c1, c2 = st.columns(2)
        c1.metric("Gemeinkosten im Jahr", format_money(total))
        c2.metric("Gemeinkosten im Monat", format_money(calc.money(total / 12)))
        _plan_vs_actual(plan)
    else:
        st.info("Noch keine Gemeinkosten. Legen Sie Miete, Versicherungen, Technik usw. an.")
    if _may_plan(ctx):
        _overhead_form(plan)


def _plan_vs_actual(plan: service.Plan) -> None:
    """Plan per category, and once the chosen year has Ausgaben booked, Plan vs. Ist."""
    st.subheader("Plan und Ist je Kategorie")
    this_year = today().year
    years = list(range(this_year, this_year - 6, -1))
    with saving() as result, session_scope(write=False) as session:
        latest = service.latest_expense_year(session)
    if not result["ok"]:
        return
    index = years.index(latest) if latest in years else 0
    year = st.selectbox(
        "Jahr (Buchungsdatum)", years, index=index, placeholder=CHOOSE, key="pricing_actual_year"
    )
    year = year or this_year
    with saving() as result, session_scope(write=False) as session:
        rows = service.plan_vs_actual(session, year)
    if not result["ok"]:
        return
    if not rows:
        planned: dict[str, float] = {}
        for row, figure in plan.posts:
            name = row.category or service.NO_CATEGORY
            planned[name] = planned.get(name, 0.0) + float(figure.value)
        st.bar_chart(pd.DataFrame({"Plan (€)": planned}), horizontal=True)
        st.info(
            f"Für {year} sind noch keine Ausgaben gebucht. Sobald es Buchungen gibt, steht hier "
            "der Vergleich von Plan und Ist je Kategorie."
        )
        return
    st.dataframe(
        [
            {
                "Kategorie": r.category,
                "Plan (Jahreskosten)": format_money(r.planned),
                f"Ist {year}": format_money(r.actual),
                "Abweichung (Ist − Plan)": format_money(r.difference),
            }
            for r in rows
        ],
        hide_index=True,
        width="stretch",
    )
    total_plan = sum((r.planned for r in rows), Decimal(0))
    total_actual = sum((r.actual for r in rows), Decimal(0))
    st.caption(
        f"Plan {format_money(total_plan)} – Ist {year} {format_money(total_actual)} laut "
        "Einnahmen/Ausgaben (Ausgaben abzüglich abziehbarer Vorsteuer). Posten zählen zu der "
        "Kategorie gleichen Namens."
    )
    st.bar_chart(
        pd.DataFrame(
            {
                "Plan (€)": {r.category: float(r.planned) for r in rows},
                f"Ist {year} (€)": {r.category: float(r.actual) for r in rows},
            }
        ),
        horizontal=True,
        stack=False,
    )


def _overhead_form(plan: service.Plan) -> None:
    rows = {row.id: row for row, _ in plan.posts}
    names = {0: "Neuer Posten", **{pid: row.label for pid, row in rows.items()}}
    chosen = st.selectbox(
        "Posten bearbeiten", list(names), format_func=labels_of(names), placeholder=CHOOSE,
        key="pricing_post_pick",
    )  # fmt: skip
    row = rows.get(chosen or 0)
    with st.form(_form_key("pricing_post", chosen)):
        label = st.text_input("Bezeichnung", value=row.label if row else "")
        category = st.text_input("Kategorie", value=row.category if row else "")
        c1, c2 = st.columns(2)
        amount = c1.number_input(
            "Betrag (wie bezahlt, in €)", value=float(row.amount) if row else 0.0, step=10.0
        )
        factors = list(calc.FACTORS)
        factor = c2.selectbox(
            "Faktor", factors, index=factors.index(row.factor) if row else 0,
            format_func=lambda f: f"{f} ({calc.FACTORS[f]})", placeholder=CHOOSE,
        )  # fmt: skip
        c3, c4 = st.columns(2)
        life = c3.number_input(
            "Nutzungsdauer in Jahren (nur Anschaffungen, sonst 0)",
            min_value=0, value=(row.useful_life_years or 0) if row else 0,
        )  # fmt: skip
        vat = c4.number_input(
            "Enthaltene Umsatzsteuer in %", value=float(row.vat_rate) if row else 19.0, step=1.0
        )
        save = st.form_submit_button("Speichern", type="primary")
        delete = row is not None and st.form_submit_button("Löschen")
    if save:
        done = _write(
            lambda s: service.save_overhead(
                s, label=label, category=category, amount=_dec(amount), factor=factor or 1,
                useful_life_years=int(life) or None, vat_rate=_dec(vat),
                post_id=row.id if row else None, version=row.version if row else None,
            )
        )  # fmt: skip
        if done is not None:
            _next_form("pricing_post")
            _flash("Posten gespeichert.")
            st.rerun()
    if delete and row is not None:
        if not _done(lambda s: service.delete_overhead(s, row.id, row.version)):
            return
        _flash("Posten gelöscht.")
        st.rerun()


def _form_key(prefix: str, chosen: int | None) -> str:
    """A form's key: after a save it changes, so a "Neu" form starts empty again (no second
    save of the same entry by accident); a refused save keeps what was typed."""
    return f"{prefix}_{chosen or 0}_{st.session_state.get(prefix + '_generation', 0)}"


def _next_form(prefix: str) -> None:
    key = prefix + "_generation"
    st.session_state[key] = st.session_state.get(key, 0) + 1


def _dec(value: float | int) -> Decimal:
    """A number input's value as Decimal, rounded to cents (widgets hand out floats); an
    absurdly large one stays as it is, for the service to refuse in German."""
    dec = Decimal(str(value))
    return dec if abs(dec) >= calc.LIMIT else dec.quantize(Decimal("0.01"))


def _from_bookings(ctx: PageContext) -> None:
    year = today().year - 1
    st.subheader(f"Aus Buchungen übernehmen ({year})")
    with saving() as result, session_scope(write=False) as session:
        posts = service.overheads_from_bookings(session, year)
    if not result["ok"]:
        return
    if not posts:
        st.info(f"Keine Ausgaben im Jahr {year} gebucht.")
    else:
        st.dataframe(
            [{"Kategorie": p.label, "Jahresbetrag": format_money(p.amount)} for p in posts],
            hide_index=True,
        )
    c1, c2 = st.columns(2)
    if posts and _may_plan(ctx) and c1.button("Als Posten übernehmen", type="primary"):

        def take(session: Session) -> int:
            for p in posts:
                service.save_overhead(
                    session, label=p.label, category=p.category, amount=p.amount, factor=1
                )
            return len(posts)

        if _write(take) is not None:
            ctx.close_function("pricing.from_bookings")
            _flash(f"{len(posts)} Posten übernommen.")
            st.rerun()
    if c2.button("Schließen", key="pricing_from_bookings_close"):
        ctx.close_function("pricing.from_bookings")
        st.rerun()


# --- Kalkulationsgrundlagen -------------------------------------------------------------


def render_basis(ctx: PageContext) -> None:
    _show_flash()
    plan = _plan()
    if plan is None:
        return
    st.caption(
        "Besteuerung laut Einstellungen: "
        + calc.VAT_MODES[plan.vat_mode]
        + (
            " – gerechnet wird mit Nettokosten, auf den Preis kommt die Umsatzsteuer."
            if plan.vat_mode == calc.REGULAR
            else " – gerechnet wird mit Bruttokosten, auf den Preis kommt keine Umsatzsteuer."
        )
    )
    _figures([plan.income_before_tax, plan.overheads, plan.required_revenue])
    _figures([plan.billable_hours], money=False)
    _figures([plan.hourly_rate])
    st.info(
        "Vorsorge: Kranken- und Pflegeversicherung und Altersvorsorge zahlen Selbständige "
        "selbst. Selbständige Lehrer, Dozenten und Trainer ohne eigene Angestellte sind "
        "rentenversicherungspflichtig (§ 2 SGB VI); Künstler und Publizisten sind über die "
        "Künstlersozialkasse (KSK) versichert.",
        icon=":material/info:",
    )
    if not _may_plan(ctx):
        return
    with session_scope(write=False) as session:
        row = service.get_basis(session)
        values = {f: getattr(row, f) for f in service.BASIS_FIELDS}
        version = row.version or None
    with st.form("pricing_basis"):
        c1, c2 = st.columns(2)
        income = c1.number_input("Gewünschter Unternehmerlohn netto im Jahr (€)",
                                 value=float(values["net_income"]), step=1000.0)  # fmt: skip
        provisions = c2.number_input("Vorsorge im Jahr: Kranken-, Pflege-, Rentenversicherung (€)",
                                     value=float(values["provisions"]), step=100.0)  # fmt: skip
        c3, c4, c5, c6 = st.columns(4)
        days = c3.number_input("Arbeitstage im Jahr", value=int(values["working_days"]), step=1)
        vacation = c4.number_input("Urlaub (Tage)", value=int(values["vacation_days"]), step=1)
        sick = c5.number_input("Krankheit (Tage)", value=int(values["sick_days"]), step=1)
        holidays = c6.number_input("Feiertage", value=int(values["holidays"]), step=1)
        c7, c8, c9 = st.columns(3)
        hours = c7.number_input("Stunden je Tag", value=float(values["hours_per_day"]), step=0.5)
        share = c8.number_input("Abrechenbarer Anteil in %",
                                value=float(values["billable_percent"]), step=5.0)  # fmt: skip
        tax = c9.number_input("Steuerrücklage in %",
                              value=float(values["tax_reserve_percent"]), step=1.0)  # fmt: skip
        save = st.form_submit_button("Speichern", type="primary")
    if save:
        done = _write(
            lambda s: service.save_basis(
                s, version=version, net_income=_dec(income), provisions=_dec(provisions),
                working_days=int(days), vacation_days=int(vacation), sick_days=int(sick),
                holidays=int(holidays), hours_per_day=_dec(hours), billable_percent=_dec(share),
                tax_reserve_percent=_dec(tax),
            )
        )  # fmt: skip
        if done is not None:
            _flash("Kalkulationsgrundlagen gespeichert.")
            st.rerun()


# --- Angebote ---------------------------------------------------------------------------


def _result_figures(result: calc.OfferingResult) -> list[calc.Figure | None]:
    return [
        result.direct_costs,
        result.overhead_per_unit,
        result.cost_price,
        result.fair_net,
        result.fair_gross,
        result.price,
        result.contribution,
        result.profit_per_unit,
        result.profit_per_year,
        result.effective_wage,
    ]


def _break_even_rows(result: calc.OfferingResult) -> list[dict[str, Any]]:
    rows = []
    for figure, label in (
        (result.break_even_costs, "Break-even: Kosten gedeckt"),
        (result.break_even_income, "Break-even: mit Unternehmerlohn"),
    ):
        rows.append(
            {
                "Kennzahl": label,
                "Einheiten": "kein Break-even" if figure is None else format_number(figure.value),
                "So gerechnet": "Preis ≤ Einzelkosten" if figure is None else figure.formula,
            }
        )
    return rows


def render_offerings(ctx: PageContext) -> None:
    _show_flash()
    plan = _plan()
    if plan is None:
        return
    if ctx.function_requested("pricing.take_price"):
        _take_price(ctx, plan)
    if plan.offerings:
        st.subheader("Angebote im Vergleich (nach effektivem Stundenlohn)")
        st.dataframe(
            [
                {
                    "Angebot": row.name,
                    "Fairer Preis netto": format_money(r.fair_net.value),
                    "Preis": format_money(r.price.value),
                    "Effektiver Stundenlohn": format_money(r.effective_wage.value),
                    "Gewinn im Jahr": format_money(r.profit_per_year.value),
                    "Urteil": r.verdict,
                }
                for row, r in plan.offerings
            ],
            hide_index=True,
            width="stretch",
        )
        names = {row.id: row.name for row, _ in plan.offerings}
        chosen = st.selectbox(
            "Angebot", list(names), format_func=labels_of(names), placeholder=CHOOSE,
            key="pricing_offer_show",
        )  # fmt: skip
        pair = next((p for p in plan.offerings if p[0].id == chosen), None)
        if pair is not None:
            _offer_details(pair[0], pair[1], plan)
    else:
        st.info("Noch keine Angebote. Legen Sie unten Ihr erstes Angebot an.")
    if _may_plan(ctx):
        _offering_form(plan)


def _verdict(verdict: str) -> None:
    """The verdict in its colour: green when the price is fair, amber when it is close, red
    when it does not pay."""
    if verdict.startswith("Lohnt sich nicht"):
        st.error(plain(verdict), icon=":material/trending_down:")
    elif verdict.startswith("Knapp"):
        st.warning(plain(verdict), icon=":material/warning:")
    else:
        st.success(plain(verdict), icon=":material/thumb_up:")


def _offer_details(row: Any, result: calc.OfferingResult, plan: service.Plan) -> None:
    _verdict(result.verdict)
    _figures(_result_figures(result))
    st.dataframe(_break_even_rows(result), hide_index=True, width="stretch")
    st.subheader("Was wäre, wenn …")
    price_now = float(result.price.value)
    c1, c2 = st.columns(2)
    price = c1.slider("Preis je Einheit (netto, €)", 0.0, max(price_now * 2, 100.0), price_now,
                      step=5.0, format="%.0f €", key=f"pricing_wi_price_{row.id}")  # fmt: skip
    units = c2.slider("Einheiten im Jahr", 0, max(row.units_per_year * 2, 20),
                      row.units_per_year, key=f"pricing_wi_units_{row.id}")  # fmt: skip
    with saving() as ok, session_scope(write=False) as session:
        what = service.what_if(session, row.id, price=_dec(price), units=int(units))
    if not ok["ok"]:
        return
    _figures([what.profit_per_year, what.effective_wage])
    st.dataframe(_break_even_rows(what), hide_index=True, width="stretch")
    limit = max(int(units), int(what.break_even_income.value) if what.break_even_income else 0, 10)
    curve = calc.break_even_curve(what, plan.overheads.value, limit)
    st.line_chart(
        pd.DataFrame(
            {
                "Umsatz (€)": [float(r) for _, r, _ in curve],
                "Kosten (€)": [float(c) for _, _, c in curve],
            },
            index=pd.Index([q for q, _, _ in curve], name="Einheiten"),
        )
    )


OFFER_INPUTS = (
    ("material", "Material je Einheit (wie bezahlt, €)", 1.0),
    ("room", "Raummiete je Einheit (€)", 1.0),
    ("fees", "Gebühren je Einheit (€)", 1.0),
    ("cost_vat_rate", "Darin enthaltene Umsatzsteuer in %", 1.0),
    ("travel_km", "Fahrstrecke je Einheit (km)", 1.0),
    ("km_rate", "Kilometersatz (€)", 0.05),
    ("hours_delivery", "Durchführung (Stunden)", 0.5),
    ("hours_preparation", "Vorbereitung (Stunden)", 0.5),
    ("hours_follow_up", "Nachbereitung (Stunden)", 0.5),
    ("hours_travel", "Fahrzeit (Stunden)", 0.5),
)


def _offering_form(plan: service.Plan) -> None:
    rows = {row.id: row for row, _ in plan.offerings}
    names = {0: "Neues Angebot", **{oid: row.name for oid, row in rows.items()}}
    chosen = st.selectbox(
        "Angebot bearbeiten", list(names), format_func=labels_of(names), placeholder=CHOOSE,
        key="pricing_offer_pick",
    )  # fmt: skip
    row = rows.get(chosen or 0)
    with st.form(_form_key("pricing_offer", chosen)):
        name = st.text_input("Name (z. B. „Workshop, 1 Tag“)", value=row.name if row else "")
        values: dict[str, float] = {}
        columns = st.columns(2)
        for i, (field, label, step) in enumerate(OFFER_INPUTS):
            default = float(getattr(row, field)) if row else (0.3 if field == "km_rate" else 0.0)
            values[field] = columns[i % 2].number_input(label, value=default, step=step)
        c1, c2 = st.columns(2)
        units = c1.number_input("Einheiten im Jahr", value=row.units_per_year if row else 0)
        price = c2.number_input(
            "Geplanter Preis netto (€, 0 = noch keiner)",
            value=float(row.planned_price or 0) if row else 0.0, step=10.0,
        )  # fmt: skip
        save = st.form_submit_button("Speichern", type="primary")
        delete = row is not None and st.form_submit_button("Löschen")
    if save:
        done = _write(
            lambda s: service.save_offering(
                s, offering_id=row.id if row else None, version=row.version if row else None,
                name=name, units_per_year=int(units), planned_price=_dec(price) if price else None,
                **{f: _dec(v) for f, v in values.items()},
            )
        )  # fmt: skip
        if done is not None:
            _next_form("pricing_offer")
            _flash("Angebot gespeichert.")
            st.rerun()
    if delete and row is not None:
        if not _done(lambda s: service.delete_offering(s, row.id, row.version)):
            return
        _flash("Angebot gelöscht.")
        st.rerun()


# --- Kapazität --------------------------------------------------------------------------


def render_capacity(ctx: PageContext) -> None:
    plan = _plan()
    if plan is None:
        return
    capacity = plan.capacity
    _figures([capacity.needed, capacity.available], money=False)
    if capacity.warning:
        st.warning(capacity.warning, icon=":material/warning:")
    elif capacity.available.value:
        share = capacity.needed.value / capacity.available.value * 100
        st.success(f"Der Plan nutzt {format_number(share, 1)} % der abrechenbaren Stunden.")
    if plan.offerings:
        st.bar_chart(
            pd.DataFrame(
                {
                    "Stunden im Jahr": {
                        row.name: float(r.hours_per_unit.value * row.units_per_year)
                        for row, r in plan.offerings
                    }
                }
            ),
            horizontal=True,
            height=max(200, 60 * len(plan.offerings)),
        )


# --- Nachkalkulation --------------------------------------------------------------------


def render_post_calculation(ctx: PageContext) -> None:
    _show_flash()
    this_year = today().year
    years = list(range(this_year, this_year - 6, -1))
    year = (
        st.selectbox("Jahr (Leistungsdatum)", years, placeholder=CHOOSE, key="pricing_post_year")
        or this_year
    )
    with saving() as result, session_scope(write=False) as session:
        rows = service.post_calculation(session, year)
        positions = service.invoice_positions(session, year)
    if not result["ok"]:
        return
    if not rows:
        st.info("Noch keine Angebote angelegt.")
        return
    st.dataframe(
        [
            {
                "Angebot": r.offering,
                "Geplante Einheiten": r.planned_units,
                "Geplanter Umsatz": format_money(r.planned_revenue),
                "Berechnete Einheiten": format_number(r.invoiced_units, 2),
                "Berechneter Umsatz (netto)": format_money(r.invoiced_net),
            }
            for r in rows
        ],
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Berechnet: zugeordnete Positionen ausgestellter Rechnungen mit Leistungsdatum im Jahr; "
        "stornierte Rechnungen zählen nicht. Die Rechnungen selbst bleiben unverändert."
    )
    if not positions:
        st.info(f"Keine Positionen ausgestellter Rechnungen mit Leistungsdatum {year}.")
        return
    st.subheader("Rechnungspositionen")
    st.dataframe(
        [
            {
                "Rechnung": p.invoice,
                "Position": p.description,
                "Menge": format_number(p.quantity, 2),
                "Netto": format_money(p.net),
                "Angebot": p.offering,
            }
            for p in positions
        ],
        hide_index=True,
        width="stretch",
    )
    if not _may_plan(ctx):
        return
    with session_scope(write=False) as session:
        offers = {row.id: row.name for row, _ in service.plan(session).offerings}
    _link(positions, offers)
    _unlink(positions)


def _link(positions: Sequence[service.Position], offers: dict[int, str]) -> None:
    free = {p.line_id: f"{p.invoice}: {p.description}" for p in positions if not p.offering}
    if not free or not offers:
        return
    st.subheader("Position zuordnen")
    c1, c2 = st.columns(2)
    line_id = c1.selectbox("Position", list(free), format_func=labels_of(free),
                           placeholder=CHOOSE, key="pricing_link_line")  # fmt: skip
    offer_id = c2.selectbox("Angebot", list(offers), format_func=labels_of(offers),
                            placeholder=CHOOSE, key="pricing_link_offer")  # fmt: skip
    if st.button("Zuordnen", type="primary", key="pricing_link_go") and line_id and offer_id:
        if _write(lambda s: service.link_invoice_line(s, line_id, offer_id)) is not None:
            _flash("Position zugeordnet.")
            st.rerun()


UNLINK = "pricing_unlink_pending"


def _unlink(positions: Sequence[service.Position]) -> None:
    """Lösen of a link, after a confirmation; the invoice itself stays as issued."""
    linked = {
        p.line_id: f"{p.invoice}: {p.description} → {p.offering}" for p in positions if p.offering
    }
    if not linked:
        st.session_state.pop(UNLINK, None)
        return
    st.subheader("Zuordnung lösen")
    pending = st.session_state.get(UNLINK)
    if pending not in linked:
        line_id = st.selectbox("Zugeordnete Position", list(linked), format_func=labels_of(linked),
                               placeholder=CHOOSE, key="pricing_unlink_line")  # fmt: skip
        if st.button("Zuordnung lösen …", key="pricing_unlink_ask") and line_id:
            st.session_state[UNLINK] = line_id
            st.rerun()
        return
    st.warning(
        plain(
            f"Zuordnung „{linked[pending]}“ lösen? Die Position zählt dann nicht mehr für das "
            "Angebot; die Rechnung selbst bleibt unverändert."
        ),
        icon=":material/link_off:",
    )
    c1, c2 = st.columns(2)
    if c1.button("Ja, Zuordnung lösen", type="primary", key="pricing_unlink_go"):
        st.session_state.pop(UNLINK, None)
        if _done(lambda s: service.unlink_invoice_line(s, pending)):
            _flash("Zuordnung gelöst.")
            st.rerun()
    if c2.button("Abbrechen", key="pricing_unlink_cancel"):
        st.session_state.pop(UNLINK, None)
        st.rerun()


def _take_price(ctx: PageContext, plan: service.Plan) -> None:
    from kms.modules.invoices import service as invoices

    st.subheader("Preis übernehmen")
    offers = {row.id: row.name for row, _ in plan.offerings}
    with session_scope(write=False) as session:
        customers = invoices.customer_choices(session)
    if not offers or not customers:
        st.info("Dafür braucht es mindestens ein Angebot und einen Kunden.")
    else:
        c1, c2 = st.columns(2)
        offer_id = c1.selectbox("Angebot", list(offers), format_func=labels_of(offers),
                                placeholder=CHOOSE, key="pricing_take_offer")  # fmt: skip
        contact_id = c2.selectbox("Kunde", list(customers), format_func=labels_of(customers),
                                  placeholder=CHOOSE, key="pricing_take_contact")  # fmt: skip
        which = st.radio("Preis", ["fairer Preis", "geplanter Preis"], horizontal=True,
                         key="pricing_take_which")  # fmt: skip
        if st.button("Entwurf anlegen", type="primary", key="pricing_take_go"):
            draft = _write(
                lambda s: service.price_to_draft(
                    s, offer_id or 0, contact_id=contact_id or 0,
                    planned=which == "geplanter Preis",
                ).id
            )  # fmt: skip
            if draft is not None:
                ctx.close_function("pricing.take_price")
                _flash(f"Rechnungsentwurf {draft} angelegt (Rechnungen).")
                st.rerun()
    if st.button("Schließen", key="pricing_take_close"):
        ctx.close_function("pricing.take_price")
        st.rerun()

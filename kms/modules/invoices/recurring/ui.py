"""Streamlit parts of Wiederkehrende Rechnungen: templates, their editor, the run log."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.formatting import format_date, format_datetime, format_money
from kms.modules.invoices import service
from kms.modules.invoices.recurring import service as recurring
from kms.modules.invoices.recurring.models import INTERVALS, MODES, RecurringTemplate
from kms.modules.invoices.sepa.ui import mandate_choice
from kms.modules.invoices.ui import (
    forget_picked,
    insert_picked,
    positions_editor,
    positions_from_editor,
    positions_state,
)
from kms.permissions import Permission
from kms.types import today
from kms.ui.forms import CHOOSE, labels_of, saving, show_flash
from kms.ui.page import PageContext

SELECTED = "rec_selected"
CONFIRM = "rec_confirm_delete"
FLASH = "rec_flash"
NEW = "Neue Vorlage"
DATES_EXPLAINED = (
    "Rechnungsdatum ist der Tag, an dem die Rechnung erstellt wird (nie rückdatiert); der "
    "Leistungszeitraum ist der geplante Zeitraum, vom Ausführungstag bis zum Tag vor dem "
    "nächsten. War KMS aus oder im Wartungsfenster, werden verpasste Zeiträume beim nächsten "
    "Lauf nachgeholt – jeder genau einmal. Zeiträume, in denen die Vorlage pausiert war, "
    "werden nicht nachberechnet. Tag 29–31 fällt in kürzeren Monaten auf den Monatsletzten."
)


def _templates() -> list[recurring.TemplateRow]:
    with session_scope(write=False) as session:
        return recurring.list_templates(session)


def _template_list(rows: list[recurring.TemplateRow]) -> None:
    if not rows:
        st.info("Noch keine Vorlagen. Legen Sie unten eine an.")
        return
    frame = pd.DataFrame(
        [
            {
                "Bezeichnung": r.name,
                "Kunde": r.customer,
                "Intervall": f"{r.interval}, am {r.day_of_month}.",
                "Brutto je Rechnung": format_money(r.gross),
                "Ausführung": r.mode,
                "Status": "aktiv" if r.active else "pausiert",
                "Erstellt": r.runs,
                "Nächste Termine": ", ".join(format_date(d) for d in r.next_dates) or "—",
            }
            for r in rows
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")


@st.dialog("Vorlage löschen?")
def _delete_dialog(ctx: PageContext, row: recurring.TemplateRow) -> None:
    if row.runs:
        st.write(
            f"Aus dieser Vorlage wurden schon {row.runs} Rechnungen erstellt. Sie wird daher "
            "archiviert (nicht gelöscht) und erstellt keine Rechnungen mehr."
        )
    else:
        st.write("Die Vorlage wird endgültig gelöscht.")
    st.text(row.name)
    c1, c2 = st.columns(2)
    if c1.button("Ja, löschen", type="primary", key="rec_delete_yes"):
        with saving() as result, session_scope() as session:
            action = recurring.delete_template(session, row.id, actor=ctx.user.username)
        if result["ok"]:
            st.session_state.pop(CONFIRM, None)
            st.session_state.pop(SELECTED, None)
            st.session_state[FLASH] = (
                "Vorlage archiviert." if action == "archived" else "Vorlage gelöscht."
            )
            st.rerun()
    if c2.button("Abbrechen", key="rec_delete_no"):
        st.session_state.pop(CONFIRM, None)
        st.rerun()


def _actions(ctx: PageContext, row: recurring.TemplateRow) -> None:
    c1, c2 = st.columns(2)
    label = "Pausieren" if row.active else "Fortsetzen"
    if c1.button(label, key="rec_toggle", icon=":material/pause_circle:"):
        with saving() as result, session_scope() as session:
            recurring.set_active(
                session, row.id, not row.active, version=row.version, actor=ctx.user.username
            )
        if result["ok"]:
            st.session_state[FLASH] = (
                "Vorlage pausiert."
                if row.active
                else "Vorlage fortgesetzt: Zeiträume während der Pause werden nicht berechnet."
            )
            st.rerun()
    if c2.button("Vorlage löschen", key="rec_delete", icon=":material/delete:"):
        st.session_state[CONFIRM] = row.id
    if st.session_state.get(CONFIRM) == row.id:
        _delete_dialog(ctx, row)


def _editor(ctx: PageContext, template: RecurringTemplate | None) -> None:
    with session_scope(write=False) as session:
        allowed = service.allowed_tax_options(session, today())
        contacts = service.customer_choices(session)
        lines = recurring.invoice_lines(template) if template is not None else []
    if not contacts:
        st.info("Bitte legen Sie zuerst einen Kunden an (Kunden → Personen).")
        return
    if not allowed:
        st.warning("Bitte zuerst die Besteuerung festlegen (Einstellungen → Besteuerung).")
        return
    tax_labels = [service.TAX_OPTIONS[k].label for k in allowed]
    key = f"rec_form_{template.id if template else 'new'}"
    intervals, modes = list(INTERVALS), list(MODES)
    document = SimpleNamespace(lines=lines)
    frame, generation, choices = positions_state(key, document, tax_labels[0])
    with st.form(key):
        name = st.text_input("Bezeichnung", value=template.name if template else "")
        contact_id = st.selectbox(
            "Kunde",
            list(contacts),
            format_func=labels_of(contacts),
            index=list(contacts).index(template.contact_id)
            if template and template.contact_id in contacts
            else None,
            placeholder="Kunde wählen …",
        )
        c1, c2, c3 = st.columns(3)
        interval = c1.selectbox(
            "Intervall",
            intervals,
            index=intervals.index(template.interval) if template else 0,
            format_func=labels_of(INTERVALS),
            placeholder=CHOOSE,
        )
        day = c2.number_input("Tag im Monat", 1, 31, value=template.day_of_month if template else 1)
        mode = c3.selectbox(
            "Ausführung",
            modes,
            index=modes.index(template.mode) if template else 1,
            format_func=labels_of(MODES),
            placeholder=CHOOSE,
        )
        c1, c2, c3 = st.columns(3)
        start = c1.date_input(
            "Beginn",
            value=template.start_date if template else today(),
            format="DD.MM.YYYY",
        )
        end = c2.text_input(
            "Ende (optional)",
            value=format_date(template.end_date) if template and template.end_date else "",
            placeholder="TT.MM.JJJJ",
        )
        count = c3.text_input(
            "Anzahl Rechnungen (optional)",
            value=str(template.max_count) if template and template.max_count else "",
        )
        st.caption(DATES_EXPLAINED)
        edited, insert, chosen = positions_editor(key, frame, generation, tax_labels, choices)
        term = st.number_input(
            "Zahlungsziel (Tage)", 0, 365, value=template.payment_term_days if template else 14
        )
        intro = st.text_area(
            "Einleitung",
            value=template.intro_text
            if template
            else "Vereinbarungsgemäß berechnen wir Ihnen für den Leistungszeitraum:",
        )
        closing = st.text_area("Schlusstext", value=template.closing_text if template else "")
        mandate_id = mandate_choice(template)  # type: ignore[arg-type]
        submitted = st.form_submit_button("Vorlage speichern", type="primary")
    if insert:
        insert_picked(key, edited, chosen, allowed, generation)
    if submitted:
        values: dict[str, Any] = {
            "name": name,
            "contact_id": contact_id,
            "interval": interval,
            "day_of_month": day,
            "mode": mode,
            "start_date": start if isinstance(start, date) else None,
            "end_date": end,
            "max_count": count,
            "payment_term_days": term,
            "intro_text": intro,
            "closing_text": closing,
            "sepa_mandate_id": mandate_id,
            "lines": positions_from_editor(edited, allowed),
            "active": template.active if template else True,
        }
        with saving(recurring.LABELS) as result, session_scope() as session:
            saved = recurring.save_template(
                session,
                template_id=template.id if template else None,
                version=template.version if template else None,
                actor=ctx.user.username,
                **values,
            )
            saved_id = saved.id
            dates = recurring.next_dates(session, saved)
        if result["ok"]:
            forget_picked(key)
            st.session_state[SELECTED] = saved_id
            st.session_state[FLASH] = "Vorlage gespeichert. Nächste Termine: " + (
                ", ".join(format_date(d) for d in dates) or "keine"
            )
            st.rerun()


def _log() -> None:
    with session_scope(write=False) as session:
        rows = recurring.run_log(session)
    if not rows:
        st.caption("Noch keine Läufe.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Zeitpunkt": format_datetime(r.created_at),
                    "Vorlage": r.template,
                    "Zeitraum ab": format_date(r.period_start) if r.period_start else "",
                    "Ergebnis": "erstellt" if r.status == "ok" else "Fehler",
                    "Meldung": r.message,
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def render_recurring_page(ctx: PageContext) -> None:
    show_flash(FLASH)
    rows = _templates()
    _template_list(rows)
    can_write = ctx.may(Permission.INVOICES_WRITE) and not ctx.read_only
    by_id = {r.id: r for r in rows}
    options: list[int | str] = [NEW, *by_id] if can_write else list(by_id)
    if not options:
        return
    current = st.session_state.get(SELECTED)
    chosen = st.selectbox(
        "Vorlage",
        options,
        index=options.index(current) if current in options else 0,
        format_func=lambda k: NEW if k == NEW else by_id[int(k)].name,
        placeholder=CHOOSE,
        key="rec_pick",
    )
    template = None
    if chosen != NEW:
        with session_scope(write=False) as session:
            template = recurring.get_template(session, int(chosen))
        row = by_id[int(chosen)]
        if can_write:
            _actions(ctx, row)
    if can_write:
        _editor(ctx, template)
    st.subheader("Ausführungsprotokoll")
    _log()

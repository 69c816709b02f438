"""Streamlit parts of Lastschriften: mandates, ▶ Lastschriftdatei erzeugen, the files."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.formatting import format_date, format_iban, format_money
from kms.functions import log_function_run
from kms.modules.invoices import service
from kms.modules.invoices.models import (
    RUN_CREATED,
    RUN_STATES,
    SCHEMES,
    SEQUENCES,
    Invoice,
    SepaMandate,
)
from kms.modules.invoices.sepa import service as sepa
from kms.permissions import Permission
from kms.types import today
from kms.ui import forms
from kms.ui.forms import CHOOSE, labels_of, saving
from kms.ui.page import PageContext

FN_RUN = "invoices_sepa_run"
FLASH = "sepa_flash"
LABELS = {
    "contact_id": "Kunde",
    "reference": "Mandatsreferenz",
    "signed_on": "Unterschrieben am",
    "scheme": "Art",
    "iban": "IBAN",
    "bic": "BIC",
    "debtor_name": "Kontoinhaber",
    "one_off": "Einmalmandat",
    "revoked_on": "Widerrufen am",
    "start": "Fällig ab",
    "end": "Fällig bis",
    "collection_date": "Einzugsdatum",
    "booked_on": "Gebucht am",
}
NO_MANDATE = "keines (Überweisung)"


def _status(mandate: SepaMandate, day: date) -> str:
    if mandate.revoked_on is not None:
        return f"widerrufen am {format_date(mandate.revoked_on)}"
    if mandate.used_up:
        return "eingezogen (Einmalmandat)"
    return "verfallen (36 Monate ungenutzt)" if sepa.expired(mandate, day) else "aktiv"


def mandate_choice(invoice: Invoice | None) -> int | None:
    """The draft editor's mandate field: collect the invoice by direct debit or not."""
    with session_scope(write=False) as session:
        day = today()
        names = service.customer_choices(session)
        options: dict[int, str] = {
            m.id: f"{m.reference} – {names.get(m.contact_id, '')}"
            for m in sepa.mandates(session)
            if m.active and not m.used_up and not sepa.expired(m, day)
        }
    current = invoice.sepa_mandate_id if invoice is not None else None
    keys: list[int | None] = [None, *options]
    chosen = st.selectbox(
        "SEPA-Lastschrift (Mandat)",
        keys,
        index=keys.index(current) if current in keys else 0,
        format_func=lambda k: NO_MANDATE if k is None else options[k],
        placeholder=CHOOSE,
        help="Mit Mandat wird der Betrag am Fälligkeitstag eingezogen; die Rechnung kündigt "
        "die Lastschrift an (Mandatsreferenz, Gläubiger-ID, Konto).",
    )
    return chosen


def mandate_caption(mandate_id: int) -> str:
    """The invoice detail's line about its direct debit."""
    with session_scope(write=False) as session:
        mandate = sepa.get_mandate(session, mandate_id)
        return (
            f"Zahlung per SEPA-Lastschrift: Mandat {mandate.reference} "
            f"({SCHEMES[mandate.scheme]}, {SEQUENCES[mandate.sequence]})"
        )


# --- Mandate ------------------------------------------------------------------------


def mandate_table() -> None:
    with session_scope(write=False) as session:
        day = today()
        names = service.customer_choices(session)
        rows = [
            {
                "Kunde": names.get(m.contact_id, ""),
                "Mandatsreferenz": m.reference,
                "Unterschrieben": format_date(m.signed_on),
                "Art": m.scheme,
                "Kontoinhaber": m.debtor_name,
                "IBAN": format_iban(m.iban),
                "Nächste Lastschrift": SEQUENCES[m.sequence],
                "Zuletzt eingezogen": format_date(m.last_used_on) if m.last_used_on else "",
                "Status": _status(m, day),
            }
            for m in sepa.mandates(session)
        ]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.info("Noch keine Mandate. Legen Sie unten das erste unterschriebene Mandat an.")


def mandate_form(ctx: PageContext, mandate: SepaMandate | None = None) -> None:
    """The mandate form: a new mandate, or the given one to change."""
    with session_scope(write=False) as session:
        customers = service.customer_choices(session)
    if not customers:
        st.info("Bitte legen Sie zuerst einen Kunden an (Kunden → Personen).")
        return
    key = "sepa_mandate" if mandate is None else f"sepa_mandate_{mandate.id}"
    with st.form(key, clear_on_submit=False):
        if mandate is None:
            st.subheader("Neues Mandat")
        c1, c2 = st.columns(2)
        contact_id = c1.selectbox(
            LABELS["contact_id"],
            list(customers),
            format_func=labels_of(customers),
            index=list(customers).index(mandate.contact_id)
            if mandate is not None and mandate.contact_id in customers
            else None,
            placeholder="Kunde wählen …",
            key=f"{key}_contact",
        )
        reference = c2.text_input(
            LABELS["reference"],
            mandate.reference if mandate else "",
            max_chars=35,
            placeholder="z. B. KD-1001-01",
            key=f"{key}_reference",
        )
        c1, c2 = st.columns(2)
        signed_on = c1.date_input(
            LABELS["signed_on"],
            mandate.signed_on if mandate else today(),
            format="DD.MM.YYYY",
            key=f"{key}_signed",
        )
        scheme = c2.selectbox(
            LABELS["scheme"],
            list(SCHEMES),
            index=list(SCHEMES).index(mandate.scheme) if mandate else 0,
            format_func=labels_of(SCHEMES),
            placeholder=CHOOSE,
            key=f"{key}_scheme",
        )
        c1, c2, c3 = st.columns([3, 2, 3])
        iban = c1.text_input(
            LABELS["iban"], format_iban(mandate.iban) if mandate else "", key=f"{key}_iban"
        )
        bic = c2.text_input(
            LABELS["bic"], mandate.bic if mandate else "", placeholder="optional", key=f"{key}_bic"
        )
        debtor = c3.text_input(
            LABELS["debtor_name"],
            mandate.debtor_name if mandate else "",
            placeholder="leer: Name des Kunden",
            key=f"{key}_debtor",
        )
        one_off = st.checkbox(
            "Einmalmandat (nur eine Lastschrift, OOFF)",
            mandate.one_off if mandate else False,
            key=f"{key}_one_off",
            help="Der Kunde hat nur einer einzelnen Lastschrift zugestimmt; sonst gilt das "
            "Mandat für wiederkehrende Lastschriften.",
        )
        submitted = st.form_submit_button(
            "Mandat speichern" if mandate is None else "Änderungen speichern",
            type="primary",
            disabled=ctx.read_only,
        )
    if submitted:
        values = {
            "contact_id": contact_id,
            "reference": reference,
            "signed_on": signed_on,
            "scheme": scheme,
            "iban": iban,
            "bic": bic,
            "debtor_name": debtor,
            "one_off": one_off,
        }
        with saving(LABELS) as result, session_scope() as session:
            if mandate is None:
                saved = sepa.create_mandate(session, actor=ctx.user.username, **values)
            else:
                saved = sepa.update_mandate(
                    session, mandate.id, version=mandate.version, actor=ctx.user.username, **values
                )
            text = f"Mandat {saved.reference} gespeichert."
        if result["ok"]:
            st.session_state[FLASH] = text
            st.rerun()


def edit_form(ctx: PageContext) -> None:
    """Mandat bearbeiten: pick a mandate, then the mandate form with its values."""
    with session_scope(write=False) as session:
        names = service.customer_choices(session)
        found = {m.id: m for m in sepa.mandates(session)}
        for m in found.values():
            session.expunge(m)
    if not found:
        return
    st.subheader("Mandat bearbeiten")
    picked = st.selectbox(
        "Mandat",
        list(found),
        format_func=lambda k: f"{found[k].reference} – {names.get(found[k].contact_id, '')}",
        index=None,
        placeholder="Mandat wählen …",
        key="sepa_edit_pick",
    )
    if picked is None:
        return
    if found[picked].last_used_on is not None:
        st.caption(
            "Unter diesem Mandat wurde schon eingezogen: Mandatsreferenz, IBAN, Datum, Art "
            "und Kunde lassen sich nicht mehr ändern – dafür ist ein neues Mandat nötig."
        )
    mandate_form(ctx, found[picked])


def revoke_form(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        active = {m.id: (m.reference, m.version) for m in sepa.mandates(session) if m.active}
    if not active:
        return
    with st.form("sepa_revoke"):
        st.subheader("Mandat widerrufen")
        c1, c2 = st.columns(2)
        mandate_id = c1.selectbox(
            LABELS["reference"],
            list(active),
            format_func=lambda k: active[k][0],
            index=None,
            placeholder="Mandat wählen …",
        )
        revoked_on = c2.date_input(LABELS["revoked_on"], today(), format="DD.MM.YYYY")
        submitted = st.form_submit_button("Widerruf speichern", disabled=ctx.read_only)
    if submitted:
        if mandate_id is None:
            st.error("Bitte ein Mandat wählen.")
            return
        with saving(LABELS) as result, session_scope() as session:
            sepa.revoke_mandate(
                session,
                mandate_id,
                version=active[mandate_id][1],
                revoked_on=revoked_on,
                actor=ctx.user.username,
            )
        if result["ok"]:
            st.session_state[FLASH] = f"Mandat {active[mandate_id][0]} widerrufen."
            st.rerun()


# --- ▶ Lastschriftdatei erzeugen ----------------------------------------------------


def _debit_rows(debits: list[sepa.DueDebit]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Rechnung": d.number,
                "Kunde": d.customer,
                "Fällig": format_date(d.due_date),
                "Betrag": format_money(d.amount),
                "Mandat": d.reference,
                "Art": d.sequence,
                "Hinweis": d.problem,
            }
            for d in debits
        ]
    )


@st.dialog("▶ Lastschriftdatei erzeugen", width="large")
def run_dialog(ctx: PageContext) -> None:
    day = today()
    earliest = sepa.earliest_collection_date(day)
    st.caption(
        "Sammelt abgeschlossene, offene Rechnungen mit Mandat, die im Zeitraum fällig sind, "
        "in einer pain.008-Datei für Ihr Online-Banking. Einzugsdatum frühestens einen "
        f"Bankarbeitstag nach der Einreichung: {format_date(earliest)}. Rechnungen, deren "
        "Vorabankündigung (das Rechnungsdatum) zu kurz vor dem Einzugsdatum liegt, bleiben "
        "mit Hinweis draußen."
    )
    c1, c2, c3 = st.columns(3)
    start = c1.date_input(LABELS["start"], day - timedelta(days=30), format="DD.MM.YYYY")
    end = c2.date_input(LABELS["end"], earliest, format="DD.MM.YYYY")
    collection = c3.date_input(
        LABELS["collection_date"], earliest, min_value=earliest, format="DD.MM.YYYY"
    )
    with session_scope(write=False) as session:
        debits = sepa.due_debits(session, start, end, day=day, collection_date=collection)
    if debits:
        st.dataframe(_debit_rows(debits), hide_index=True, width="stretch")
        usable = [d for d in debits if not d.problem]
        total = sum((d.amount for d in usable), start=service.ZERO)
        st.write(f"{len(usable)} Lastschriften, zusammen {format_money(total)}")
    else:
        st.info("Im gewählten Zeitraum sind keine Lastschriften fällig.")
    c1, c2 = st.columns(2)
    if c1.button("Datei erzeugen", type="primary", disabled=ctx.read_only or not debits):
        with saving(LABELS) as result, session_scope() as session:
            run = sepa.create_run(
                session,
                start=start,
                end=end,
                collection_date=collection,
                actor=ctx.user.username,
            )
            message = (
                f"Lastschriftdatei mit {run.count} Lastschriften über {format_money(run.total)} "
                f"zum {format_date(run.collection_date)} erzeugt. Bitte unter "
                "„Lastschriftdateien“ herunterladen und bei der Bank einreichen."
            )
        if result["ok"]:
            log_function_run(FN_RUN, ctx.user.username, "ok", message)
            st.session_state[FLASH] = message
            ctx.close_function(FN_RUN)
            st.rerun()
    if c2.button("Abbrechen"):
        ctx.close_function(FN_RUN)
        st.rerun()


# --- Lastschriftdateien -------------------------------------------------------------


def runs_section(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        found = sepa.runs(session)
        runs: list[dict[str, Any]] = [
            {
                "id": r.id,
                "version": r.version,
                "status": r.status,
                "filename": r.filename,
                "xml": r.xml,
                "collection_date": r.collection_date,
                "label": f"{format_date(r.collection_date)} · {r.count} × · "
                f"{format_money(r.total)} · {RUN_STATES[r.status]}",
            }
            for r in found
        ]
    if not runs:
        st.info("Noch keine Lastschriftdateien. ▶ Lastschriftdatei erzeugen (links) legt eine an.")
        return
    st.dataframe(
        pd.DataFrame([{"Lastschriftdatei": r["label"], "Datei": r["filename"]} for r in runs]),
        hide_index=True,
        width="stretch",
    )
    by_id = {r["id"]: r for r in runs}
    picked = st.selectbox(
        "Lastschriftdatei",
        list(by_id),
        format_func=lambda k: by_id[k]["label"],
        placeholder=CHOOSE,
    )
    if picked is None:
        return
    run = by_id[picked]
    st.download_button(
        "Datei herunterladen (pain.008)",
        run["xml"].encode("utf-8"),
        file_name=run["filename"],
        mime="application/xml",
        icon=":material/download:",
    )
    if run["status"] != RUN_CREATED or not ctx.may(Permission.INVOICES_WRITE):
        return
    st.caption(
        "Erst wenn die Bank die Lastschriften gebucht hat, gelten die Rechnungen als bezahlt "
        "und die Mandate wechseln auf Folgelastschrift (RCUR)."
    )
    c1, c2, c3 = st.columns([2, 2, 2])
    booked = c1.date_input(
        LABELS["booked_on"],
        min(run["collection_date"], today()),
        format="DD.MM.YYYY",
        key=f"sepa_booked_{picked}",
    )
    if c2.button("Von der Bank gebucht", type="primary", disabled=ctx.read_only):
        with saving(LABELS) as result, session_scope() as session:
            sepa.confirm_run(
                session, picked, version=run["version"], booked_on=booked, actor=ctx.user.username
            )
        if result["ok"]:
            st.session_state[FLASH] = "Lastschriften als gebucht erfasst; Zahlungen eingetragen."
            st.rerun()
    if c3.button("Datei verwerfen", disabled=ctx.read_only):
        with saving(LABELS) as result, session_scope() as session:
            sepa.discard_run(session, picked, version=run["version"], actor=ctx.user.username)
        if result["ok"]:
            st.session_state[FLASH] = (
                "Lastschriftdatei verworfen; die Rechnungen sind wieder fällig."
            )
            st.rerun()


def render_sepa_page(ctx: PageContext) -> None:
    """Lastschriften: flash, the ▶ dialog, then Mandate and Lastschriftdateien."""
    forms.show_flash(FLASH)
    if ctx.function_requested(FN_RUN):
        run_dialog(ctx)
    tabs = st.tabs(["Mandate", "Lastschriftdateien"])
    with tabs[0]:
        mandate_table()
        if ctx.may(Permission.INVOICES_WRITE):
            mandate_form(ctx)
            edit_form(ctx)
            revoke_form(ctx)
    with tabs[1]:
        runs_section(ctx)

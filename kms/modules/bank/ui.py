"""Kontoauszüge UI: upload a statement, check the preview line by line, confirm; past
imports; the learned rules with delete. User text only in dataframes or escaped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.formatting import format_date, format_money
from kms.modules.bank import reading, rules, service
from kms.modules.bank.models import (
    BOOKING,
    DUPLICATE,
    HANDLING_LABELS,
    PAYMENT,
    PRIVATE,
    RETURN,
    SKIP,
    TRANSIT,
)
from kms.modules.bank.service import Decision, Preview
from kms.modules.bank.statement import Statement
from kms.modules.ledger import service as ledger
from kms.modules.ledger.ui import flash, run_write, show_flash
from kms.permissions import Permission
from kms.ui.forms import CHOOSE, attempt, labels_of
from kms.ui.page import PageContext
from kms.ui.text import plain

STATE = "bank_upload"  # {"statement", "data", "filename", "account_id"}
CONFIRMING = "bank_confirming"
EDITOR = "bank_preview_editor"
CHOICES = [HANDLING_LABELS[h] for h in (PAYMENT, BOOKING, TRANSIT, PRIVATE, RETURN, SKIP)]
BY_LABEL = {v: k for k, v in HANDLING_LABELS.items()}
# What the user decides first, next to the amount; the long texts after it.
COLUMN_ORDER = ["Nr", "Datum", "Betrag", "Behandlung", "Rechnung", "Kategorie", "Anderes Konto",
                "Regel merken", "Vorschlag", "Gegenüber", "Verwendungszweck"]  # fmt: skip
NONE = "–"  # an empty choice (Streamlit would show an empty cell as "None")
DELIMITERS = {";": "Semikolon (;)", ",": "Komma (,)", "\t": "Tabulator"}


def render(ctx: PageContext) -> None:
    from kms.modules.bank import IMPORT

    show_flash()
    if ctx.function_requested(IMPORT.key):
        ctx.close_function(IMPORT.key)  # the import is the first tab of this page
    tabs = st.tabs(["Kontoauszug importieren", "Frühere Importe", "Regeln"])
    with tabs[0]:
        if ctx.may(Permission.LEDGER_WRITE) and not ctx.read_only:
            import_tab(ctx)
        else:
            st.info("Sie können hier nur ansehen.")
    with tabs[1]:
        imports_tab()
    with tabs[2]:
        rules_tab(ctx)


# --- import -----------------------------------------------------------------------------


def import_tab(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        has_categories = bool(ledger.list_categories(session))
    if not has_categories:
        with session_scope() as session:
            ledger.ensure_defaults(session)
    with session_scope(write=False) as session:
        accounts = {a.id: a.name for a in ledger.list_accounts(session) if a.kind != "kasse"}
        profiles = reading.profile_choices(session)
    if not accounts:
        st.info("Bitte legen Sie zuerst auf der Seite „Konten“ ein Bankkonto mit IBAN an.")
        return
    upload = st.session_state.get(STATE)
    if upload is None:
        _upload_form(accounts, profiles)
        _mapping_form(ctx)
        return
    _preview_form(ctx, upload)


def _upload_form(accounts: dict[int, str], profiles: dict[str, str]) -> None:
    with st.form("bank_upload_form"):
        account_id = st.selectbox(
            "Konto", list(accounts), format_func=labels_of(accounts), placeholder=CHOOSE,
            index=0 if len(accounts) == 1 else None, key="bank_account",
        )  # fmt: skip
        profile = st.selectbox(
            "Format", list(profiles), format_func=labels_of(profiles), index=0, placeholder=CHOOSE,
            key="bank_profile", help="CAMT und MT940 werden erkannt; bei CSV das Profil der Bank.",
        )  # fmt: skip
        file = st.file_uploader(
            "Kontoauszug (CAMT.053/052/054 auch als ZIP, MT940 oder CSV)",
            key="bank_file",
        )
        submitted = st.form_submit_button("Vorschau anzeigen", type="primary")
    if not submitted:
        return
    if account_id is None or file is None:
        st.error("Bitte ein Konto wählen und eine Datei hochladen.")
        return
    data = file.getvalue()

    def read() -> Statement:
        with session_scope(write=False) as session:
            statement = reading.read_statement(session, data, file.name, profile=profile or "")
            service.preview(session, account_id, statement)  # refuses another account's file
            return statement

    statement = attempt(read)
    if statement is None:
        return
    st.session_state[STATE] = {
        "statement": statement,
        "data": data,
        "filename": file.name,
        "account_id": account_id,
    }
    st.session_state.pop(EDITOR, None)
    st.rerun()


@dataclass(frozen=True)
class Choices:
    """Label → id of what the preview's select columns offer."""

    numbers: dict[str, int]  # open invoices
    categories: dict[str, int]
    accounts: dict[str, int]  # the other own accounts (Geldtransit)


def _frame(session: Any, pv: Preview) -> tuple[pd.DataFrame, Choices]:
    numbers = dict(sorted(pv.open_invoices.items()))
    categories = {c.name: c.id for c in ledger.list_categories(session)}
    accounts = {a.name: a.id for a in ledger.list_accounts(session) if a.id != pv.account_id}
    by_id = {v: k for k, v in numbers.items()}
    cat_names = {v: k for k, v in categories.items()}
    account_names = {v: k for k, v in accounts.items()}
    rows = []
    for pl in pv.lines:
        p = pl.proposal
        rows.append(
            {
                "Nr": pl.line.line_no or pl.index + 1,
                "Datum": format_date(pl.line.booking_date),
                "Betrag": format_money(pl.line.amount),
                "Gegenüber": pl.line.counterparty_name,
                "Verwendungszweck": " ".join(pl.line.purpose.split()),
                "Vorschlag": pl.reason,
                "Behandlung": HANDLING_LABELS[p.handling],
                "Rechnung": by_id.get(p.invoice_id, NONE) if p.invoice_id else NONE,
                "Kategorie": cat_names.get(p.category_id, NONE) if p.category_id else NONE,
                "Anderes Konto": account_names.get(p.transfer_account_id, NONE)
                if p.transfer_account_id
                else NONE,
                "Regel merken": False,
            }
        )
    return pd.DataFrame(rows), Choices(numbers, categories, accounts)


def _decisions(pv: Preview, edited: pd.DataFrame, choices: Choices) -> dict[int, Decision]:
    decisions: dict[int, Decision] = {}
    for pl, (_, row) in zip(pv.lines, edited.iterrows(), strict=True):
        if pl.proposal.handling == DUPLICATE:
            continue
        handling = BY_LABEL.get(str(row["Behandlung"]), SKIP)
        number = str(row["Rechnung"] or "")
        category = str(row["Kategorie"] or "")
        p = pl.proposal
        invoice_id = choices.numbers.get(number)
        skonto = bool(
            invoice_id and any(c.invoice_id == invoice_id and c.skonto for c in pl.candidates)
        )
        category_id = choices.categories.get(category)
        other = choices.accounts.get(str(row["Anderes Konto"] or ""))
        decisions[pl.index] = Decision(
            handling,
            invoice_id=invoice_id if handling == PAYMENT else None,
            skonto=skonto if handling == PAYMENT else False,
            category_id=category_id if handling == BOOKING else None,
            tax_key=(p.tax_key if category_id == p.category_id else "")
            if handling == BOOKING
            else "",
            contact_id=p.contact_id if handling == BOOKING else None,
            transfer_account_id=other if handling == TRANSIT else None,
            returns_line_id=p.returns_line_id if handling == RETURN else None,
            learn_rule=bool(row["Regel merken"]) and handling == BOOKING,
        )
    return decisions


def _default_tax_keys(decisions: dict[int, Decision], session: Any) -> dict[int, Decision]:
    """A category chosen by the user books with its default tax key."""
    from dataclasses import replace

    from kms.modules.ledger.models import Category

    out = {}
    for index, d in decisions.items():
        if d.handling == BOOKING and d.category_id and not d.tax_key:
            category = session.get(Category, d.category_id)
            d = replace(d, tax_key=(category.default_tax_key if category else "") or "NSTB")
        out[index] = d
    return out


def _preview_form(ctx: PageContext, upload: dict[str, Any]) -> None:
    statement: Statement = upload["statement"]
    with session_scope(write=False) as session:
        pv = attempt(lambda: service.preview(session, upload["account_id"], statement))
        if pv is None:
            if st.button("Andere Datei wählen", key="bank_reset_err"):
                st.session_state.pop(STATE, None)
                st.rerun()
            return
        frame, choices = _frame(session, pv)
    st.text(
        f"{upload['filename']} · Konto {pv.account_name} · {len(pv.lines)} Umsätze, davon "
        f"{pv.count(DUPLICATE)} bereits importiert, {pv.count(PAYMENT)} Rechnungszahlungen"
    )
    for warning in statement.warnings:
        st.warning(plain(warning))
    edited = st.data_editor(
        frame,
        key=EDITOR,
        hide_index=True,
        width="stretch",
        disabled=["Nr", "Datum", "Betrag", "Gegenüber", "Verwendungszweck", "Vorschlag"],
        column_order=COLUMN_ORDER,
        column_config={
            "Behandlung": st.column_config.SelectboxColumn(
                "Behandlung", options=[*CHOICES, HANDLING_LABELS[DUPLICATE]], required=True
            ),
            "Rechnung": st.column_config.SelectboxColumn(
                "Rechnung", options=[NONE, *choices.numbers], help="bei „Zahlung zu Rechnung“"
            ),
            "Kategorie": st.column_config.SelectboxColumn(
                "Kategorie", options=[NONE, *choices.categories], help="bei „Buchen als Kategorie“"
            ),
            "Anderes Konto": st.column_config.SelectboxColumn(
                "Anderes Konto", options=[NONE, *choices.accounts], help="bei „Geldtransit“"
            ),
            "Regel merken": st.column_config.CheckboxColumn(
                "Regel merken", help="künftig Umsätze dieser IBAN so vorschlagen"
            ),
        },
    )
    ranked = pv.candidate_rows()
    if ranked:
        with st.expander(f"Rechnungen in Frage ({len(ranked)}), nach Punkten geordnet"):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "Nr": no,
                            "Rechnung": c.number,
                            "Kunde": c.customer,
                            "Offen": format_money(c.open),
                            "Punkte": c.score,
                            "Grund": c.reason,
                        }
                        for no, c in ranked
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
    c1, c2 = st.columns(2)
    if not st.session_state.get(CONFIRMING):
        if c1.button("Importieren …", type="primary", key="bank_import_go"):
            st.session_state[CONFIRMING] = True
            st.rerun()
        if c2.button("Abbrechen", key="bank_import_cancel"):
            st.session_state.pop(STATE, None)
            st.rerun()
        return
    decisions = _decisions(pv, edited, choices)
    booked = sum(1 for d in decisions.values() if d.handling != SKIP)
    st.warning(
        f"{booked} Umsätze werden jetzt gebucht (Rechnungszahlungen, Buchungen, Geldtransit, "
        "Privat, Rücklastschriften); übersprungene Zeilen bleiben ungebucht und können später "
        "erneut importiert werden. Wirklich importieren?",
        icon=":material/warning:",
    )
    if c1.button("Ja, importieren", type="primary", key="bank_import_yes"):

        def run(session: Any) -> service.ImportResult:
            return service.confirm(
                session,
                upload["account_id"],
                statement,
                _default_tax_keys(decisions, session),
                upload["data"],
                upload["filename"],
                ctx.user.username,
            )

        result = run_write(run)
        st.session_state.pop(CONFIRMING, None)
        if result is not None:
            st.session_state.pop(STATE, None)
            flash(f"Kontoauszug importiert: {result.message}")
            st.rerun()
    if c2.button("Zurück", key="bank_import_back"):
        st.session_state.pop(CONFIRMING, None)
        st.rerun()


def _mapping_form(ctx: PageContext) -> None:
    """The generic CSV profile: which column holds what, saved under a name."""
    from kms.modules.bank.formats import CsvMapping

    with st.expander("Eigene CSV-Zuordnung anlegen"):
        with st.form("bank_mapping_form"):
            name = st.text_input("Name der Zuordnung", key="bank_map_name")
            c1, c2 = st.columns(2)
            date_col = c1.text_input("Spalte Buchungstag", key="bank_map_date")
            amount = c2.text_input("Spalte Betrag (mit Vorzeichen)", key="bank_map_amount")
            debit = c1.text_input("oder Spalte Soll", key="bank_map_debit")
            credit = c2.text_input("und Spalte Haben", key="bank_map_credit")
            purpose = c1.text_input("Spalte Verwendungszweck", key="bank_map_purpose")
            who = c2.text_input("Spalte Name des Gegenübers", key="bank_map_name_col")
            iban = c1.text_input("Spalte IBAN des Gegenübers", key="bank_map_iban")
            delimiter = c2.selectbox(
                "Trennzeichen", list(DELIMITERS), format_func=labels_of(DELIMITERS),
                placeholder=CHOOSE, key="bank_map_delim",
            )  # fmt: skip
            date_format = c1.selectbox(
                "Datumsformat",
                ["%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d"],
                key="bank_map_datefmt",
                placeholder=CHOOSE,
            )
            header_row = c2.number_input(
                "Zeile der Überschrift (0 = erste Zeile)", 0, 50, 0, key="bank_map_header"
            )
            comma = st.checkbox("Dezimalkomma (1.234,56)", value=True, key="bank_map_comma")
            save = st.form_submit_button("Zuordnung speichern")
        if save:
            mapping = CsvMapping(
                date_column=date_col.strip(), amount_column=amount.strip(),
                debit_column=debit.strip(), credit_column=credit.strip(),
                purpose_column=purpose.strip(), name_column=who.strip(), iban_column=iban.strip(),
                delimiter=str(delimiter),
                date_format=str(date_format), decimal_comma=comma, header_row=int(header_row),
            )  # fmt: skip
            saved = run_write(
                lambda s: reading.save_mapping(s, name, mapping, actor=ctx.user.username).name
            )
            if saved:
                flash(f"Zuordnung „{saved}“ gespeichert; sie steht jetzt unter „Format“.")
                st.rerun()


# --- lists ------------------------------------------------------------------------------


def imports_tab() -> None:
    with session_scope(write=False) as session:
        rows = service.list_imports(session)
    if not rows:
        st.info("Noch keine Kontoauszüge importiert.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Importiert": r.created_at,
                    "Konto": r.account,
                    "Datei": r.filename,
                    "Format": r.format,
                    "Zeitraum": r.period,
                    "Umsätze": r.lines,
                    "Gebucht": r.booked,
                    "Bereits importiert": r.duplicates,
                    "Nicht gebucht": r.skipped,
                    "Von": r.created_by,
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def rules_tab(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        rows = rules.list_rules(session)
    if not rows:
        st.info(
            "Noch keine Regeln. Beim Import lernt KMS eine Regel, wenn Sie bei einer Buchung "
            "„Regel merken“ ankreuzen."
        )
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Bedingung": r.condition,
                    "Kategorie": r.category,
                    "Steuerschlüssel": r.tax_key,
                    "Kontakt": r.contact,
                    "Gegenüber": r.counterparty,
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    if not ctx.may(Permission.LEDGER_WRITE) or ctx.read_only:
        return
    labels = {r.id: r.label for r in rows}
    rule_id = st.selectbox(
        "Regel löschen", list(labels), format_func=labels_of(labels), index=None,
        placeholder=CHOOSE, key="bank_rule_delete",
    )  # fmt: skip
    if rule_id is None:
        return
    sure = st.checkbox("Ja, diese Regel löschen", key="bank_rule_sure")
    if st.button("Regel löschen", disabled=not sure, key="bank_rule_go"):

        def delete(session: Any) -> bool:
            rules.delete_rule(session, rule_id, actor=ctx.user.username)
            return True

        if run_write(delete):
            st.session_state.pop("bank_rule_delete", None)
            st.session_state.pop("bank_rule_sure", None)
            flash("Regel gelöscht.")
            st.rerun()

"""The Kontoauszüge page through Streamlit's AppTest: preview, confirm, imports, rules."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from sqlalchemy import select

from kms.db import session_scope
from kms.modules.bank import rules, ui
from kms.modules.bank.service import preview
from kms.modules.invoices import issuing
from kms.modules.invoices import service as invoices
from kms.modules.invoices.models import Invoice
from kms.modules.invoices.service import open_amount
from kms.modules.ledger import service as ledger
from kms.modules.ledger.models import Booking
from kms.modules.settings import demo as settings_demo
from kms.types import today
from tests import ui_helpers as helpers
from tests.modules.invoices.conftest import line, organisation

from .conftest import FILE, OWN_IBAN, PAYER_IBAN, entry, statement


def _setup() -> tuple[int, str]:
    helpers.create_owner()
    with session_scope() as s:
        settings_demo.load(s)
        customer = organisation(s, "Musterfirma GmbH", vat_id="DE136695976")
        draft = invoices.save_draft(
            s, contact_id=customer.id, service_date=today(), lines=[line("Webdesign", "1", "100")]
        )
        account = ledger.save_account(s, name="Girokonto", kind="bank", iban=OWN_IBAN)
        account_id, draft_id = account.id, draft.id
    issued = issuing.issue_invoice(draft_id, actor="test")
    return account_id, issued.number or ""


def test_preview_confirm_marks_the_invoice_paid_and_lists_the_import() -> None:
    account_id, number = _setup()
    st = statement(
        entry(today(), "119.00", f"Rechnung {number}", counterparty_name="Musterfirma GmbH"),
        entry(today(), "-4.99", "Kaffee", counterparty_name="Café"),
    )
    at = helpers.open_page("kontoauszuege")
    at.session_state[ui.STATE] = {
        "statement": st, "data": FILE, "filename": "auszug.xml", "account_id": account_id,
    }  # fmt: skip
    at.run()
    assert not at.exception
    text = helpers.everything(at)
    assert "2 Umsätze, davon 0 bereits importiert, 1 Rechnungszahlungen" in text
    assert [e.label for e in at.expander] == ["Rechnungen in Frage (1), nach Punkten geordnet"]
    [ranked] = [d.value for d in at.dataframe if "Punkte" in d.value.columns]
    assert list(ranked["Rechnung"]) == [number] and list(ranked["Punkte"]) == [95]
    at.button(key="bank_import_go").click().run()
    assert any("Wirklich importieren?" in w for w in helpers.values(at.warning))
    at.button(key="bank_import_yes").click().run()
    assert not at.exception
    assert [helpers.unescape(s.value) for s in at.success] == [
        "Kontoauszug importiert: 1 Zeile(n) gebucht, davon 1 Rechnungszahlung(en); "
        "0 bereits importiert, 1 nicht gebucht."
    ]
    with session_scope(write=False) as s:
        inv = s.scalar(select(Invoice).where(Invoice.number == number))
        assert open_amount(s, inv) == Decimal("0.00")
        assert len(s.scalars(select(Booking)).all()) == 1
    imports = at.dataframe[0].value
    assert list(imports["Datei"]) == ["auszug.xml"] and list(imports["Gebucht"]) == [1]


def test_user_choices_become_decisions_and_a_rule_can_be_deleted() -> None:
    account_id, _ = _setup()
    with session_scope() as s:
        office = ledger.category_by_key(s, "buerobedarf")
        pv = preview(
            s,
            account_id,
            statement(
                entry(today(), "-23.80", "Papier", counterparty_iban=PAYER_IBAN),
                entry(today(), "-200.00", "Bargeld"),
            ),
        )
        cash = ledger.save_account(s, name="Kasse", kind="kasse")
        frame, choices = ui._frame(s, pv)
        assert list(frame["Anderes Konto"]) == ["–", "–"]  # an empty choice, never "None"
        frame.loc[0, ["Behandlung", "Kategorie", "Regel merken"]] = [
            "Buchen als Kategorie", office.name, True,
        ]  # fmt: skip
        frame.loc[1, ["Behandlung", "Anderes Konto"]] = ["Geldtransit", "Kasse"]
        decision, transit = ui._default_tax_keys(ui._decisions(pv, frame, choices), s).values()
        assert (transit.handling, transit.transfer_account_id) == ("geldtransit", cash.id)
        assert (decision.handling, decision.category_id, decision.tax_key, decision.learn_rule) == (
            "buchung", office.id, "V19", True,
        )  # fmt: skip
        rules.save_rule(s, category_id=office.id, iban=PAYER_IBAN)
    at = helpers.open_page("kontoauszuege").run()
    assert isinstance(at.dataframe[-1].value, pd.DataFrame)
    assert list(at.dataframe[-1].value["Bedingung"]) == [f"IBAN {PAYER_IBAN}"]
    at.selectbox(key="bank_rule_delete").set_value(1).run()
    assert at.button(key="bank_rule_go").disabled  # the confirmation first
    at.checkbox(key="bank_rule_sure").check().run()
    at.button(key="bank_rule_go").click().run()
    assert not at.exception
    assert [helpers.unescape(s.value) for s in at.success] == ["Regel gelöscht."]
    with session_scope(write=False) as s:
        assert rules.list_rules(s) == []

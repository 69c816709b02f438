"""The Lastschriften page driven by Streamlit's AppTest (embedded SQLite): a mandate with
German validation, ▶ Lastschriftdatei erzeugen, then the file booked by the bank."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from kms.db import session_scope
from kms.modules.invoices import issuing, service
from kms.modules.invoices.models import RUN_CONFIRMED, Invoice, SepaMandate, SepaRun
from kms.modules.invoices.sepa import service as sepa
from kms.modules.settings import demo as settings_demo
from kms.modules.settings.models import CompanyProfile
from tests.modules.invoices.conftest import line, organisation
from tests.ui_helpers import create_owner, open_page, values

CREDITOR_ID = "DE98ZZZ09999999999"
DEBTOR_IBAN = "DE89370400440532013000"


@pytest.fixture
def customer_id() -> int:
    """Owner login, demo seller with Gläubiger-ID, one business customer."""
    create_owner()
    with session_scope() as session:
        settings_demo.load(session)
        profile = session.scalar(select(CompanyProfile))
        assert profile is not None
        profile.creditor_id = CREDITOR_ID
        return organisation(session, "Musterfirma GmbH", vat_id="DE136695976").id


def button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def test_mandate_form_refuses_bad_input_in_german_then_saves(customer_id: int) -> None:
    at = open_page("lastschriften").run()
    assert not at.exception
    assert any("Noch keine Mandate" in str(i.value) for i in at.info)
    kunde = next(s for s in at.selectbox if s.label == "Kunde")
    kunde.set_value(customer_id)
    next(t for t in at.text_input if t.label == "Mandatsreferenz").input("MANDAT 1")
    next(t for t in at.text_input if t.label == "IBAN").input("DE89370400440532013001")
    button(at, "Mandat speichern").click().run()
    assert not at.exception
    errors = " ".join(str(e.value) for e in at.error)
    assert "unzulässige Zeichen" in errors and "Prüfziffer" in errors
    with session_scope(write=False) as s:
        assert s.scalar(select(SepaMandate)) is None
    next(t for t in at.text_input if t.label == "Mandatsreferenz").input("KD-1001-01")
    next(t for t in at.text_input if t.label == "IBAN").input(DEBTOR_IBAN)
    button(at, "Mandat speichern").click().run()
    assert not at.exception
    assert "Mandat KD-1001-01 gespeichert." in values(at.success)
    [table] = [d.value for d in at.dataframe if "Mandatsreferenz" in d.value.columns]
    assert table[["Mandatsreferenz", "IBAN", "Nächste Lastschrift", "Status"]].values.tolist() == [
        ["KD-1001-01", "DE89 3704 0044 0532 0130 00", "Erstlastschrift", "aktiv"]
    ]
    # A one-off mandate (Einmalmandat): its single debit is an OOFF.
    at.selectbox(key="sepa_mandate_contact").set_value(customer_id)
    at.text_input(key="sepa_mandate_reference").input("KD-1001-02")
    at.text_input(key="sepa_mandate_iban").input(DEBTOR_IBAN)
    at.checkbox(key="sepa_mandate_one_off").check()
    button(at, "Mandat speichern").click().run()
    assert not at.exception
    assert "Mandat KD-1001-02 gespeichert." in values(at.success)
    with session_scope(write=False) as s:
        single = s.scalar(select(SepaMandate).where(SepaMandate.reference == "KD-1001-02"))
        assert single is not None and single.one_off and single.sequence == "OOFF"


def test_function_creates_the_file_and_booking_pays_the_invoice(customer_id: int) -> None:
    day = service.today()
    with session_scope() as session:
        mandate = sepa.create_mandate(
            session,
            contact_id=customer_id,
            reference="KD-1001-01",
            signed_on=day - timedelta(days=60),
            iban=DEBTOR_IBAN,
        )
        draft = service.save_draft(
            session,
            contact_id=customer_id,
            service_date=day - timedelta(days=15),
            payment_term_days=14,
            lines=[line("Webdesign", "2", "100")],
            sepa_mandate_id=mandate.id,
        )
    invoice = issuing.issue_invoice(draft.id, issue_date=day - timedelta(days=14))
    at = open_page("lastschriften").run()
    button(at, "▶ Lastschriftdatei erzeugen").click().run()
    assert not at.exception
    [preview] = [d.value for d in at.dataframe if "Rechnung" in d.value.columns]
    assert preview[["Rechnung", "Betrag", "Art"]].values.tolist() == [
        [invoice.number, "238,00\xa0€", "FRST"]
    ]
    button(at, "Datei erzeugen").click().run()
    assert not at.exception
    assert any("1 Lastschriften über 238,00" in text for text in values(at.success))
    with session_scope(write=False) as s:
        run = s.scalar(select(SepaRun))
        assert run is not None and run.count == 1 and "<SeqTp>FRST</SeqTp>" in run.xml
    with session_scope() as s:  # days later: the collection date has passed
        s.get(SepaRun, run.id).collection_date = day - timedelta(days=1)
    at = open_page("lastschriften").run()
    picker = next(s for s in at.selectbox if s.label == "Lastschriftdatei")
    picker.set_value(run.id).run()
    assert [d.label for d in at.get("download_button")] == ["Datei herunterladen (pain.008)"]
    next(d for d in at.date_input if d.label == "Gebucht am").set_value(day)
    button(at, "Von der Bank gebucht").click().run()
    assert not at.exception
    assert "Lastschriften als gebucht erfasst; Zahlungen eingetragen." in values(at.success)
    with session_scope(write=False) as s:
        assert s.get(SepaRun, run.id).status == RUN_CONFIRMED
        assert s.get(SepaMandate, mandate.id).sequence == "RCUR"
        assert service.open_amount(s, s.get(Invoice, invoice.id)) == 0


def test_invoice_detail_names_the_mandate(customer_id: int) -> None:
    with session_scope() as session:
        mandate = sepa.create_mandate(
            session,
            contact_id=customer_id,
            reference="KD-1001-01",
            signed_on=service.today(),
            iban=DEBTOR_IBAN,
        )
        draft = service.save_draft(
            session,
            contact_id=customer_id,
            service_date=service.today(),
            lines=[line("Webdesign", "2", "100")],
            sepa_mandate_id=mandate.id,
        )
    at = open_page("rechnungen")
    at.session_state["inv_selected"] = draft.id
    at.run()
    assert not at.exception
    assert (
        "Zahlung per SEPA-Lastschrift: Mandat KD-1001-01 (SEPA-Basislastschrift (CORE), "
        "Erstlastschrift)" in values(at.caption)
    )
    # The draft editor offers the mandate and keeps it on saving.
    [choice] = [s for s in at.selectbox if s.label == "SEPA-Lastschrift (Mandat)"]
    assert choice.value == mandate.id


def test_edit_form_changes_a_mandate_but_not_the_iban_of_a_used_one(customer_id: int) -> None:
    with session_scope() as session:
        mandate_id = sepa.create_mandate(
            session,
            contact_id=customer_id,
            reference="KD-1001-01",
            signed_on=service.today(),
            iban=DEBTOR_IBAN,
        ).id
    at = open_page("lastschriften").run()
    next(s for s in at.selectbox if s.label == "Mandat").set_value(mandate_id).run()
    assert not at.exception
    # The same form as for a new mandate, filled with the mandate's values.
    edit = {t.label: t for t in at.text_input if t.key and t.key.startswith("sepa_mandate_")}
    assert edit["Mandatsreferenz"].value == "KD-1001-01"
    assert edit["IBAN"].value == "DE89 3704 0044 0532 0130 00"
    edit["Kontoinhaber"].input("Buchhaltung Musterfirma")
    edit["IBAN"].input("DE02120300000000202051")
    button(at, "Änderungen speichern").click().run()
    assert not at.exception
    assert "Mandat KD-1001-01 gespeichert." in values(at.success)
    with session_scope() as s:
        mandate = s.get(SepaMandate, mandate_id)
        assert mandate is not None
        assert (mandate.debtor_name, mandate.iban) == (
            "Buchhaltung Musterfirma",
            "DE02120300000000202051",
        )
        mandate.last_used_on = service.today()  # a booked debit under it
    at = open_page("lastschriften").run()
    next(s for s in at.selectbox if s.label == "Mandat").set_value(mandate_id).run()
    assert any("neues Mandat nötig" in str(c.value) for c in at.caption)
    edit = {t.label: t for t in at.text_input if t.key and t.key.startswith("sepa_mandate_")}
    edit["IBAN"].input(DEBTOR_IBAN)
    button(at, "Änderungen speichern").click().run()
    assert not at.exception
    errors = " ".join(str(e.value) for e in at.error)
    assert "Unter diesem Mandat wurde schon eingezogen" in errors and "neues Mandat" in errors
    with session_scope(write=False) as s:
        assert s.get(SepaMandate, mandate_id).iban == "DE02120300000000202051"  # type: ignore[union-attr]


def test_notice_period_is_set_in_the_invoice_settings(customer_id: int) -> None:
    """The Vorabankündigung period lives with the invoice settings (1–14 days)."""
    from kms.modules.invoices import config

    at = open_page("rechnungen").run()
    field = next(n for n in at.number_input if n.label.startswith("Vorabankündigung"))
    assert field.value == 14
    field.set_value(5)
    next(b for b in at.button if b.label == "Speichern").click().run()
    assert not at.exception
    assert "Gespeichert." in values(at.success)
    with session_scope(write=False) as s:
        assert config.get_settings(s).sepa_notice_days == 5

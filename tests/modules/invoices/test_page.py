"""The Rechnungen page driven by Streamlit's AppTest (embedded SQLite)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from kms import auth
from kms.config import ROOT
from kms.db import session_scope
from kms.formatting import format_date
from kms.modules.invoices import service
from kms.modules.invoices.models import Invoice
from kms.modules.settings import demo as settings_demo
from kms.ui.text import plain
from tests.modules.invoices.conftest import line, organisation
from tests.ui_helpers import edit_table, values


@pytest.fixture
def draft_id() -> int:
    """Owner login, demo seller, one customer and one complete draft."""
    with session_scope() as session:
        auth.create_user(
            session,
            username="erika",
            password="sehr-geheim-2026",
            display_name="Erika M.",
            is_owner=True,
        )
        settings_demo.load(session)
        customer = organisation(session, "Musterfirma GmbH", vat_id="DE136695976")
        draft = service.save_draft(
            session,
            contact_id=customer.id,
            service_date=service.today(),
            lines=[line("Webdesign", "2", "100")],
        )
        return draft.id


def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/rechnungen.py")
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "erika"
    at.session_state["name"] = "Erika M."
    at.session_state["kms_login_at"] = time.time() + 1
    return at.run()


def test_list_shows_the_draft_and_issuing_asks_first(draft_id) -> None:
    """The list shows the draft; ▶ Rechnung abschließen opens a confirmation, then issues."""
    at = app()
    assert not at.exception
    assert "Entwurf" in at.dataframe[0].value["Nummer"].iloc[0]
    at.session_state["inv_selected"] = draft_id
    next(b for b in at.button if b.label == "▶ Rechnung abschließen").click().run()
    assert not at.exception
    with session_scope(write=False) as s:
        assert s.get(Invoice, draft_id).number is None  # nothing happens before confirming
    next(b for b in at.button if b.key == "issue_go").click().run()
    assert not at.exception
    assert any("ist ausgestellt" in str(s.value) for s in at.success)
    assert (
        not at.session_state["fn_open_invoices_issue"]
        if "fn_open_invoices_issue" in at.session_state
        else True
    )
    with session_scope(write=False) as s:
        assert s.scalar(select(Invoice.number)) == f"RE-{service.today().year}-0001"
    [positions] = [d.value for d in at.dataframe if "Pos." in d.value.columns]
    assert positions[["Menge", "Einzelpreis", "Netto"]].values.tolist() == [
        ["2", "100,00", "200,00\xa0€"]
    ]
    assert "Rabatt" not in positions.columns  # no line has a discount
    assert "Kunde: **Musterfirma GmbH**" in [m.value for m in at.markdown]
    assert any(c.value.startswith("Summe 238,00") for c in at.caption)
    assert "Seite (von 1, 1 Rechnung)" in [n.label for n in at.number_input]


def test_incomplete_draft_lists_every_problem(draft_id) -> None:
    """A draft without Leistungsdatum is refused with the German problem list."""
    with session_scope() as s:
        s.get(Invoice, draft_id).service_date = None
    at = app()
    at.session_state["inv_selected"] = draft_id
    next(b for b in at.button if b.label == "▶ Rechnung abschließen").click().run()
    next(b for b in at.button if b.key == "issue_go").click().run()
    assert not at.exception
    assert any("noch nicht abgeschlossen" in str(e.value) for e in at.error)
    assert any("Leistungsdatum" in str(m.value) for m in at.markdown)


def test_settings_refuse_a_yearly_reset_without_year(draft_id) -> None:
    """The number format form shows the German error and keeps the input."""
    at = app()
    field = next(t for t in at.text_input if t.label == "Rechnungsnummern")
    field.input("RE-{NNNN}")
    next(b for b in at.button if b.label == "Speichern").click().run()
    assert any("JJJJ" in str(e.value) for e in at.error)
    assert next(t for t in at.text_input if t.label == "Rechnungsnummern").value == "RE-{NNNN}"


def test_positions_show_each_lines_discount(draft_id) -> None:
    """A discounted line shows its percent or amount and reason; the net is after discount."""
    with session_scope() as s:
        invoice = s.get(Invoice, draft_id)
        service.save_draft(
            s,
            invoice_id=draft_id,
            version=invoice.version,
            contact_id=invoice.contact_id,
            service_date=service.today(),
            lines=[
                line("Hosting", "1", "19.99", "S19", "MON", discount_kind="percent",
                     discount_value="10", discount_reason="Treuerabatt"),
                line("Einrichtung", "1", "50", discount_kind="amount", discount_value="5",
                     discount_reason="Neukunde"),
                line("Beratung", "1", "100"),
            ],
        )  # fmt: skip
    at = app()
    at.session_state["inv_selected"] = draft_id
    at.run()
    [positions] = [d.value for d in at.dataframe if "Pos." in d.value.columns]
    assert positions[["Rabatt", "Netto"]].values.tolist() == [
        ["10 % (Treuerabatt)", "17,99\xa0€"],
        ["5,00\xa0€ (Neukunde)", "45,00\xa0€"],
        ["", "100,00\xa0€"],
    ]


def test_draft_editor_keeps_allowances_and_saves_the_chosen_format(draft_id) -> None:
    """The editor shows the draft's allowances and charges; saving the form keeps them (the
    UI mapping round-trips) and stores the chosen e-invoice format; the detail view lists
    them with their amounts."""
    allowances = [
        {"reason": "Gesamtrabatt", "kind": "percent", "value": "5", "tax": "S19"},
        {"reason": "Versandkosten", "kind": "amount", "value": "4,90", "tax": "S19"},
    ]
    with session_scope() as s:
        invoice = s.get(Invoice, draft_id)
        service.save_draft(
            s,
            invoice_id=draft_id,
            version=invoice.version,
            contact_id=invoice.contact_id,
            service_date=service.today(),
            lines=[line("Webdesign", "2", "100")],
            allowances=allowances,
        )
    at = app()
    at.session_state["inv_selected"] = draft_id
    at.run()
    assert not at.exception
    [extras] = [d.value for d in at.dataframe if "Grund" in d.value.columns and "Betrag" in d.value]
    assert extras[["Art", "Grund", "Wert", "Betrag"]].values.tolist() == [
        ["Rabatt", "Gesamtrabatt", "5 %", "-10,00\xa0€"],
        ["Zuschlag", "Versandkosten", "4,90\xa0€", "4,90\xa0€"],
    ]
    assert any("BR-DE-15" in str(c.value) for c in at.caption)  # explanation next to the field
    fmt = next(w for w in at.selectbox if w.label == "E-Rechnungsformat")
    fmt.set_value("xrechnung_ubl")
    next(b for b in at.button if b.label == "Entwurf speichern").click().run()
    assert not at.exception
    assert any("gespeichert" in str(m.value) for m in at.success)
    with session_scope(write=False) as s:
        saved = s.get(Invoice, draft_id)
        assert saved.einvoice_format == "xrechnung_ubl"
        assert [(a.charge, a.reason, a.kind, str(a.value)) for a in saved.allowances] == [
            (False, "Gesamtrabatt", "percent", "5.00"),
            (True, "Versandkosten", "amount", "4.90"),
        ]
        assert str(saved.gross_total) == "231.93"  # (200 - 10 + 4.90) = 194.90, + 19 % 37.03


def test_draft_with_a_negative_total_is_kept_but_flagged(draft_id) -> None:
    """A draft below 0 € stays a draft (nothing typed is lost), its detail says why it cannot
    be issued, and ▶ Rechnung abschließen refuses it with that reason and takes no number."""
    with session_scope() as session:
        draft = service.get_invoice(session, draft_id)
        service.save_draft(
            session,
            invoice_id=draft_id,
            contact_id=draft.contact_id,
            service_date=service.today(),
            lines=[line("Webdesign", "-2", "100")],
        )
    at = app()
    at.session_state["inv_selected"] = draft_id
    at.run()
    assert any("-238,00" in w and "über 0" in w for w in values(at.warning)), values(at.warning)
    next(b for b in at.button if b.label == "▶ Rechnung abschließen").click().run()
    next(b for b in at.button if b.key == "issue_go").click().run()
    assert not at.exception
    assert "Die Rechnung kann noch nicht abgeschlossen werden:" in values(at.error)
    assert any("muss einen Betrag über 0" in m for m in values(at.markdown))
    with session_scope(write=False) as s:
        assert s.get(Invoice, draft_id).number is None


def test_half_filled_second_row_is_named_and_the_draft_kept(draft_id) -> None:
    """A second row with description, Menge and Preis but no Steuer reaches the service (the
    editor has no required column the browser would drop it for): "Position 2" is named and
    the draft keeps its one saved line."""
    at = app()
    at.session_state["inv_selected"] = draft_id
    at.run()
    edit_table(
        at,
        f"draft_{draft_id}_lines",
        added_rows=[{"Beschreibung": "Fahrtkosten", "Menge": "1", "Einzelpreis": "30"}],
    )
    next(b for b in at.button if b.label == "Entwurf speichern").click().run()
    assert not at.exception
    assert any("Position 2" in e and "Steuersatz" in e for e in values(at.error)), values(at.error)
    assert not at.success
    with session_scope(write=False) as s:
        assert [ln.description for ln in s.get(Invoice, draft_id).lines] == ["Webdesign"]


def test_picker_names_the_invoice_shown_after_korrigieren(draft_id) -> None:
    """Picked invoice → ▶ Korrigieren selects the new draft: the "Rechnung öffnen" picker then
    names that draft, the one whose detail is shown, not the corrected invoice."""
    from kms.modules.invoices import issuing

    issued = issuing.issue_invoice(draft_id, actor="test")
    at = app()
    at.selectbox(key="inv_pick").set_value(issued.id).run()
    # Headings show user text escaped for Markdown (kms.ui.text.plain).
    assert at.subheader[0].value.startswith(plain(f"Rechnung {issued.number}"))
    next(b for b in at.button if b.label == "▶ Korrigieren").click().run()
    next(b for b in at.button if b.key == "correct_go").click().run()
    assert not at.exception
    new_draft = at.session_state["inv_selected"]
    assert new_draft != issued.id
    assert at.subheader[0].value.startswith(plain(f"Entwurf {new_draft}"))
    assert at.selectbox(key="inv_pick").value == new_draft


def test_without_besteuerung_the_editor_offers_it_in_a_dialog() -> None:
    """No Besteuerung yet: the editor says so before anything can be typed (no draft to
    lose), and "Besteuerung festlegen" opens the setting in a dialog on this page; once
    saved, the draft form is there with the tax options of that Besteuerung."""
    with session_scope() as session:
        auth.create_user(
            session,
            username="erika",
            password="sehr-geheim-2026",
            display_name="Erika M.",
            is_owner=True,
        )
        organisation(session, "Musterfirma GmbH")
    at = app()
    assert not at.exception
    assert any("keine Besteuerung hinterlegt" in w for w in values(at.warning))
    assert "Entwurf speichern" not in [b.label for b in at.button]
    next(b for b in at.button if b.key == "inv_tax_open").click().run()
    ui_click = next(b for b in at.button if b.label == "Besteuerung speichern")
    ui_click.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Besteuerung gespeichert." in values(at.success)
    assert "Entwurf speichern" in [b.label for b in at.button]
    assert not any("keine Besteuerung hinterlegt" in w for w in values(at.warning))
    # The positions' editor (the allowances and charges have their own, below it).
    [editor] = [e for e in at.data_editor if "Beschreibung" in e.value.columns]
    assert "19 % USt" in editor.proto.columns
    assert editor.value["Steuer"].tolist() == ["19 % USt"]  # prefilled, not "None"


def test_payment_dialog_prefills_the_open_amount_with_cents(draft_id) -> None:
    """▶ Zahlung erfassen offers the open amount as written in Germany: "238,00", not "238"."""
    from kms.modules.invoices import issuing

    issued = issuing.issue_invoice(draft_id, actor="test")
    at = app()
    at.selectbox(key="inv_pick").set_value(issued.id).run()
    next(b for b in at.button if b.label == "▶ Zahlung erfassen").click().run()
    assert not at.exception
    amount = next(t for t in at.text_input if t.label == "Betrag")
    assert amount.value == "238,00"


def test_detail_lists_a_returned_payment_as_ruecklastschrift_with_its_reason(draft_id) -> None:
    """The payments table names the return and its reason; the invoice is open again."""
    from kms.modules.invoices import issuing, payments

    issued = issuing.issue_invoice(draft_id, actor="test")
    with session_scope() as session:
        paid = payments.record_payment(
            session, issued.id, paid_on=service.today(), amount="238", method="lastschrift"
        )
        payments.return_payment(
            session, paid.id, returned_on=service.today(), reason="AC04 <b>Konto</b> erloschen"
        )
    at = app()
    at.selectbox(key="inv_pick").set_value(issued.id).run()
    assert not at.exception
    [table] = [d.value for d in at.dataframe if "Überzahlung" in d.value.columns]
    assert table[["Betrag", "Art", "Notiz"]].values.tolist() == [
        ["238,00\xa0€", "Lastschrift (zurückgebucht)", ""],
        ["-238,00\xa0€", "Rücklastschrift", "Rücklastschrift: AC04 <b>Konto</b> erloschen"],
    ]
    assert [m.value for m in at.metric if m.label == "Offen"] == ["238,00\xa0€"]


def test_return_dialog_books_a_ruecklastschrift_by_hand(draft_id) -> None:
    """▶ Rückbuchung erfassen: without a chosen payment nothing is written; with one, the
    payment is taken back and the invoice is open again. A returned payment is not offered
    a second time."""
    from kms.modules.invoices import issuing, payments

    issued = issuing.issue_invoice(draft_id, actor="test")
    with session_scope() as session:
        paid = payments.record_payment(
            session, issued.id, paid_on=service.today(), amount="238", method="lastschrift"
        )
    at = app()
    at.selectbox(key="inv_pick").set_value(issued.id).run()
    next(b for b in at.button if b.label == "▶ Rückbuchung erfassen").click().run()
    assert not at.exception
    box = next(b for b in at.selectbox if b.label == "Zahlung")
    assert box.value is None and box.options == [
        f"{format_date(service.today())}: 238,00\xa0€ (Lastschrift)"
    ]
    at.button(key="FormSubmitter:payment_return_form-Rückbuchung speichern").click().run()
    assert "Bitte die zurückgebuchte Zahlung wählen." in values(at.error)
    with session_scope(write=False) as session:
        assert payments.returned_payment_ids(session, issued.id) == set()
    box = next(b for b in at.selectbox if b.label == "Zahlung")
    box.set_value(paid.id)
    next(t for t in at.text_input if t.label.startswith("Grund")).input("AC04 Konto erloschen")
    at.button(key="FormSubmitter:payment_return_form-Rückbuchung speichern").click().run()
    assert not at.exception and not at.error, values(at.error)
    with session_scope(write=False) as session:
        assert payments.returned_payment_ids(session, issued.id) == {paid.id}
        assert service.open_amount(session, service.get_invoice(session, issued.id)) == 238
        notes = [p.note for p in payments.payments_of(session, issued.id)]
    assert notes[-1] == "Rücklastschrift: AC04 Konto erloschen"
    assert f"Rückbuchung zu {issued.label} gespeichert." in values(at.success)
    next(b for b in at.button if b.label == "▶ Rückbuchung erfassen").click().run()
    assert "keine Zahlung, die zurückgebucht werden kann" in " ".join(values(at.info))
    assert not [b for b in at.selectbox if b.label == "Zahlung"]


def test_dunning_dialog_refuses_an_invoice_that_is_not_yet_due(draft_id) -> None:
    """▶ Mahnen on an invoice within its payment term says so, instead of previewing a
    reminder that speaks of "fällig seit" a date still to come; nothing is written."""
    from kms.modules.invoices import issuing
    from kms.modules.invoices.models import Reminder

    issued = issuing.issue_invoice(draft_id, actor="test")
    at = app()
    at.selectbox(key="inv_pick").set_value(issued.id).run()
    next(b for b in at.button if b.label == "▶ Zahlungserinnerung/Mahnung").click().run()
    assert not at.exception
    assert any("noch nicht fällig" in i for i in values(at.info)), values(at.info)
    assert not any("fällig seit" in m for m in values(at.markdown))
    assert not any(b.key == "dunning_go" for b in at.button)
    with session_scope(write=False) as s:
        assert s.scalar(select(Reminder.id)) is None

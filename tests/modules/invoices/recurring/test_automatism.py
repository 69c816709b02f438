"""⊕ Wiederkehrende Rechnungen erstellen: month ends, catch-up, end rules, errors, modes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.errors import KmsError, ValidationErrors
from kms.functions import run_automatism
from kms.modules.invoices import mailing
from kms.modules.invoices.models import Invoice, Sending
from kms.modules.invoices.recurring import service as recurring
from kms.modules.invoices.recurring.models import (
    RecurringLog,
    RecurringRun,
    RecurringTemplate,
)
from kms.modules.invoices.sepa import service as sepa
from kms.registry import usable_automatisms


def _invoices(session: Session) -> list[Invoice]:
    session.expire_all()
    return list(session.scalars(select(Invoice).order_by(Invoice.id)))


def _run(db_url: str, clock, day: date) -> recurring.Outcome:  # type: ignore[no-untyped-def]
    return recurring.create_due(clock.set(day), url=db_url)


def test_month_end_on_the_31st_with_the_clock_moving(session, make_template, clock, db_url) -> None:
    make_template(day_of_month=31, start_date=date(2027, 1, 31))
    assert _run(db_url, clock, date(2027, 1, 30)).created == []
    assert _run(db_url, clock, date(2027, 1, 31)).created == ["Rechnung RE-2027-0001"]
    assert _run(db_url, clock, date(2027, 2, 27)).created == []
    outcome = _run(db_url, clock, date(2027, 2, 28))
    assert outcome.created == ["Rechnung RE-2027-0002"]
    assert _run(db_url, clock, date(2027, 2, 28)).created == []  # once per period
    first, second = _invoices(session)
    assert (first.issue_date, first.period_start, first.period_end) == (
        date(2027, 1, 31),
        date(2027, 1, 31),
        date(2027, 2, 27),
    )
    assert (second.issue_date, second.period_start, second.period_end) == (
        date(2027, 2, 28),
        date(2027, 2, 28),
        date(2027, 3, 30),
    )
    assert second.gross_total == Decimal("297.50") and second.is_issued


def test_leap_year_february(session, make_template, clock, db_url) -> None:
    make_template(day_of_month=31, start_date=date(2028, 1, 31))
    _run(db_url, clock, date(2028, 2, 28))
    _run(db_url, clock, date(2028, 2, 29))
    assert [(i.period_start, i.period_end) for i in _invoices(session)] == [
        (date(2028, 1, 31), date(2028, 2, 28)),
        (date(2028, 2, 29), date(2028, 3, 30)),
    ]


def test_downtime_catch_up_creates_exactly_the_missed_periods(
    session, make_template, clock, db_url
) -> None:
    """Down from 2 Jan to 15 Apr: January ran, February to April are created at once, in
    order, each with its own Leistungszeitraum, dated on the day they are really created."""
    make_template()
    _run(db_url, clock, date(2027, 1, 1))
    outcome = _run(db_url, clock, date(2027, 4, 15))
    assert len(outcome.created) == 3
    invoices = _invoices(session)
    assert [(i.number, i.issue_date, i.period_start, i.period_end) for i in invoices] == [
        ("RE-2027-0001", date(2027, 1, 1), date(2027, 1, 1), date(2027, 1, 31)),
        ("RE-2027-0002", date(2027, 4, 15), date(2027, 2, 1), date(2027, 2, 28)),
        ("RE-2027-0003", date(2027, 4, 15), date(2027, 3, 1), date(2027, 3, 31)),
        ("RE-2027-0004", date(2027, 4, 15), date(2027, 4, 1), date(2027, 4, 30)),
    ]
    assert invoices[1].due_date == date(2027, 4, 29)  # Zahlungsziel from the invoice date
    runs = session.scalars(select(RecurringRun).order_by(RecurringRun.period_start)).all()
    assert [r.invoice_id for r in runs] == [i.id for i in invoices]


def test_end_date_and_count_are_respected(session, make_template, clock, db_url) -> None:
    make_template(name="Bis März", end_date=date(2027, 3, 1))
    make_template(name="Zweimal", interval="quarterly", max_count=2)
    _run(db_url, clock, date(2028, 1, 10))
    session.expire_all()
    by_template = {
        t.name: sorted(
            r.period_start
            for r in session.scalars(select(RecurringRun).where(RecurringRun.template_id == t.id))
        )
        for t in session.scalars(select(RecurringTemplate))
    }
    assert by_template == {
        "Bis März": [date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)],
        "Zweimal": [date(2027, 1, 1), date(2027, 4, 1)],
    }


def test_a_broken_template_is_logged_and_the_others_go_on(
    session, make_template, clock, db_url, customer
) -> None:
    broken = RecurringTemplate(
        name="Ohne Positionen",
        contact_id=customer.id,
        start_date=date(2027, 1, 1),
        lines=[],
        active=True,
    )
    session.add(broken)
    session.commit()
    make_template(name="Gut")
    outcome = _run(db_url, clock, date(2027, 1, 1))
    assert outcome.created == ["Rechnung RE-2027-0001"]
    assert outcome.errors == ["Die Vorlage hat keine Positionen; es wurde keine Rechnung erstellt."]
    _run(db_url, clock, date(2027, 1, 2))  # the same error again: logged once
    session.expire_all()
    log = session.scalars(select(RecurringLog).order_by(RecurringLog.id)).all()
    assert [(e.template_id, e.status) for e in log] == [(broken.id, "fehler"), (2, "ok")]
    assert "Leistungszeitraum 01.01.2027–31.01.2027" in log[1].message
    assert session.scalar(select(RecurringRun).where(RecurringRun.template_id == broken.id)) is None
    rows = recurring.run_log(session)
    assert {r.template for r in rows} == {"Ohne Positionen", "Gut"}


def test_draft_mode_and_sepa_mandate(session, make_template, clock, db_url, customer) -> None:
    clock.set(date(2026, 12, 1))
    session.commit()
    mandate = sepa.create_mandate(
        session,
        contact_id=customer.id,
        reference="ABO-1",
        signed_on=date(2026, 11, 1),
        iban="DE89370400440532013000",
    )
    session.commit()
    make_template(mode="draft", sepa_mandate_id=mandate.id)
    _run(db_url, clock, date(2027, 1, 1))
    (draft,) = _invoices(session)
    assert draft.number is None and not draft.is_issued
    assert draft.sepa_mandate_id == mandate.id
    assert (draft.period_start, draft.period_end) == (date(2027, 1, 1), date(2027, 1, 31))


def test_a_pause_is_not_billed_afterwards(session, make_template, clock, db_url) -> None:
    template = make_template()
    assert _run(db_url, clock, date(2027, 1, 1)).created == ["Rechnung RE-2027-0001"]
    clock.set(date(2027, 1, 20))
    recurring.set_active(session, template.id, False)
    session.commit()
    assert _run(db_url, clock, date(2027, 3, 2)).created == []  # 1 Feb and 1 Mar: paused
    clock.set(date(2027, 3, 10))
    recurring.set_active(session, template.id, True)
    session.commit()
    assert recurring.next_dates(session, template)[0] == date(2027, 4, 1)
    session.commit()  # end the read: SQLite lets the automatism write
    assert _run(db_url, clock, date(2027, 3, 10)).created == []
    assert _run(db_url, clock, date(2027, 4, 1)).created == ["Rechnung RE-2027-0002"]
    (_, april) = _invoices(session)
    assert (april.period_start, april.period_end) == (date(2027, 4, 1), date(2027, 4, 30))


def test_downtime_while_active_is_still_caught_up_after_a_pause(
    session, make_template, clock, db_url
) -> None:
    template = make_template()
    clock.set(date(2026, 12, 20))
    recurring.set_active(session, template.id, False)
    session.commit()
    clock.set(date(2026, 12, 22))
    recurring.set_active(session, template.id, True)
    session.commit()
    # Resumed before the first period: nothing fell into the pause; the server was off
    # from then until 2 Feb, so January and February are both created.
    assert len(_run(db_url, clock, date(2027, 2, 2)).created) == 2


def test_email_mode_sends_each_invoice_once(
    session, make_template, clock, db_url, smtp_server, monkeypatch
) -> None:
    monkeypatch.setattr(mailing, "smtp_settings", lambda _s: smtp_server.settings())
    make_template(mode="send")
    _run(db_url, clock, date(2027, 2, 1))
    _run(db_url, clock, date(2027, 2, 1))
    assert len(smtp_server.messages) == 2
    assert all("einkauf@example.org" in m.rcpt_tos for m in smtp_server.messages)
    session.expire_all()
    assert len(session.scalars(select(Sending)).all()) == 2
    assert all(r.sent_at for r in session.scalars(select(RecurringRun)))


def test_the_automatism_is_registered_and_runs(session, make_template, clock, db_url) -> None:
    make_template()
    clock.set(date(2027, 1, 1))
    (spec,) = [s for s in usable_automatisms(session) if s.key == "invoices_recurring"]
    session.commit()
    message = run_automatism(spec, clock.now, force=True)
    assert message == "Wiederkehrende Rechnungen: 1 erstellt: Rechnung RE-2027-0001."


@pytest.mark.parametrize(
    ("values", "field", "text"),
    [
        ({"day_of_month": 32}, "day_of_month", "Tag von 1 bis 31"),
        ({"day_of_month": "x"}, "day_of_month", "Tag von 1 bis 31"),
        ({"end_date": date(2026, 12, 31)}, "end_date", "Ende liegt vor dem Beginn"),
        ({"max_count": 0}, "max_count", "zwischen 1 und 1000"),
        ({"name": " "}, "name", "Bezeichnung"),
        ({"contact_id": None}, "contact_id", "Kunden wählen"),
        ({"interval": "wöchentlich"}, "interval", "monatlich, vierteljährlich"),
        ({"lines": []}, "lines", "mindestens eine Position"),
        ({"lines": [{"description": "X", "quantity": "0"}]}, "line1.quantity", "Position 1"),
    ],
)
def test_bad_input_is_refused_in_german(session, make_template, values, field, text) -> None:
    with pytest.raises(ValidationErrors) as err:
        make_template(**values)
    assert text in err.value.errors[field]
    session.rollback()
    assert session.scalar(select(RecurringTemplate)) is None


def test_delete_or_archive(session, make_template, clock, db_url) -> None:
    unused = make_template(name="Nie gelaufen", start_date=date(2030, 1, 1))
    used = make_template(name="Gelaufen")
    _run(db_url, clock, date(2027, 1, 1))
    assert recurring.delete_template(session, unused.id) == "deleted"
    assert recurring.delete_template(session, used.id) == "archived"
    session.commit()
    assert [r.name for r in recurring.list_templates(session)] == []
    assert [r.name for r in recurring.list_templates(session, archived=True)] == ["Gelaufen"]
    with pytest.raises(KmsError, match="archivierte"):
        recurring.save_template(session, template_id=used.id, name="Neu")
    assert _run(db_url, clock, date(2027, 3, 1)).created == []


def test_preview_of_the_next_dates(session, make_template, clock, db_url) -> None:
    template = make_template(day_of_month=31, start_date=date(2027, 1, 31))
    _run(db_url, clock, date(2027, 1, 31))
    session.expire_all()
    assert recurring.next_dates(session, session.get(RecurringTemplate, template.id)) == [
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]


def test_demo_has_a_monthly_subscription_with_a_mandate(session, seller) -> None:
    from kms.modules.invoices import demo

    demo.load(session)
    session.commit()
    (template,) = session.scalars(select(RecurringTemplate)).all()
    assert template.interval == "monthly" and template.sepa_mandate_id is not None
    assert template.active and recurring.totals(template)[2] == Decimal("105.91")

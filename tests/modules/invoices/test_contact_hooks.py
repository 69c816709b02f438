"""The Auskunft (Art. 15 DSGVO) part of Rechnungen also lists the contact's quotes: number,
date, Gültig bis, status as shown and gross, drafts too; another contact's quotes not."""

from __future__ import annotations

from datetime import date

from kms.modules.invoices import contact_hooks
from kms.modules.invoices.quotes import service as quotes
from tests.modules.invoices.conftest import ISSUE_DAY, line, organisation


def test_the_export_lists_the_contacts_quotes(session, customer, make_draft) -> None:
    make_draft()
    sent = quotes.save_quote(
        session,
        contact_id=customer.id,
        valid_until=date(2026, 3, 31),
        lines=[line("Beratung", "2", "100.00", "S19")],
        as_of=ISSUE_DAY,
    )
    quotes.finalize_quote(session, sent.id, day=ISSUE_DAY)
    draft = quotes.save_quote(
        session,
        contact_id=customer.id,
        valid_until=date(2026, 4, 30),
        lines=[line("Fachbuch", "1", "50.00", "S7")],
        as_of=ISSUE_DAY,
    )
    other = organisation(session, "Andere GmbH")
    quotes.save_quote(session, contact_id=other.id, lines=[line()], as_of=ISSUE_DAY)
    session.commit()
    records = contact_hooks.export_for_contact(session, customer.id)
    assert [r for r in records if "Angebot" in r] == [
        {
            "Angebot": "Angebot AN-2026-0001",
            "Angebotsdatum": "02.03.2026",
            "Gültig bis": "31.03.2026",
            # shown as of today (after Gültig bis): abgelaufen, as on the page
            "Status": "abgelaufen",
            "Brutto": "238,00\xa0€",
        },
        {
            "Angebot": f"Angebotsentwurf {draft.id}",
            "Angebotsdatum": "",
            "Gültig bis": "30.04.2026",
            "Status": "Entwurf",
            "Brutto": "53,50\xa0€",
        },
    ]
    assert len([r for r in records if "Rechnung" in r]) == 1  # the invoices stay listed
    others = contact_hooks.export_for_contact(session, other.id)
    assert [r["Angebot"][:15] for r in others if "Angebot" in r] == ["Angebotsentwurf"]

"""The reads the Rechnungen page needs: customer picker, customer name, stored originals."""

from __future__ import annotations

from kms.modules.contacts.service import create_person
from kms.modules.invoices import service, storage
from kms.types import utcnow
from tests.modules.invoices.conftest import LEITWEG_ID, organisation


def test_customer_choices_name_active_customers_with_city(session, customer, consumer) -> None:
    """Organisations by name, persons by first and last name, city in brackets; the owner and
    archived contacts are not offered."""
    create_person(session, first_name="Erika", last_name="Mustermann", is_owner=True)
    gone = organisation(session, "Alte Firma KG")
    gone.archived_at = utcnow()
    no_city = organisation(session, "Ohne Ort e.V.", city="")
    session.commit()
    assert service.customer_choices(session) == {
        consumer.id: "Max Mustermann (Berlin)",
        customer.id: "Musterfirma GmbH (Beispielhausen)",
        no_city.id: "Ohne Ort e.V.",
    }
    assert list(service.customer_choices(session, limit=1)) == [consumer.id]


def test_customer_name_of_an_invoice(session, make_draft) -> None:
    assert service.customer_name(session, make_draft()) == "Musterfirma GmbH"


def test_files_of_loads_the_originals_for_use_after_the_session(
    session, customer, make_draft, issue
) -> None:
    """files_of returns every original in order with its bytes; has_xrechnung tells whether
    an XRechnung is among them."""
    plain = issue(make_draft())
    assert storage.has_xrechnung(session, plain.id) is False
    customer.buyer_reference = LEITWEG_ID
    session.commit()
    public = issue(make_draft(einvoice_format="xrechnung_cii", buyer_reference=LEITWEG_ID))
    assert storage.has_xrechnung(session, public.id) is True
    files = storage.files_of(session, public.id)
    session.expunge_all()  # the page reads the bytes after its session closed
    assert [f.role for f in files] == ["pdf", "facturx_xml", "xrechnung_xml"]
    assert files[0].content.startswith(b"%PDF")
    assert b"<?xml" in files[2].content[:100]

"""Contacts service: validation, search, lists, optimistic locking, numbers, archive/delete."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.db import session_factory, session_scope
from kms.errors import ConflictError, KmsError, ValidationErrors
from kms.modules.contacts import privacy, service
from kms.modules.contacts.models import Contact, Tag
from kms.permissions import carry

GOOD = [
    ("person", {"last_name": "Mustermann"}),
    ("person", {"salutation": "divers", "first_name": "Kim", "last_name": "Muster"}),
    ("person", {"salutation": "Frau", "title": "Dr.", "last_name": "Mustermann"}),
    ("person", {"last_name": "Beispiel", "postcode": "1010", "country": "AT"}),
    ("person", {"last_name": "Muster", "postcode": "8001", "country": "ch"}),
    ("person", {"last_name": "Einzel", "vat_id": "DE 123 456 788"}),
    ("person", {"last_name": "Muster", "email": "kim@Example.ORG", "phone": "+49 30 123456"}),
    ("organisation", {"name": "Musterfirma GmbH", "legal_form": "GmbH"}),
    ("organisation", {"name": "Stadt Musterstadt", "buyer_reference": "04011000-12345-03"}),
    ("organisation", {"name": "Beispiel AG", "buyer_reference": "PO-4711"}),
    ("organisation", {"name": "Ltd.", "country": "GB", "postcode": "SW1A 1AA"}),
    ("organisation", {"name": "Web", "website": "musterfirma.example.org"}),
]

BAD = [
    ("person", {"first_name": "Erika"}, "last_name"),
    ("person", {"last_name": "X", "salutation": "Majestät"}, "salutation"),
    ("person", {"last_name": "X", "email": "erika@@example.org"}, "email"),
    ("person", {"last_name": "X", "email": "erika@example"}, "email"),
    ("person", {"last_name": "X", "postcode": "1234"}, "postcode"),
    ("person", {"last_name": "X", "postcode": "00123"}, "postcode"),
    ("person", {"last_name": "X", "postcode": "12345", "country": "AT"}, "postcode"),
    ("person", {"last_name": "X", "postcode": "123", "country": "CH"}, "postcode"),
    ("person", {"last_name": "X", "country": "XX"}, "country"),
    ("person", {"last_name": "X", "vat_id": "DE123456789"}, "vat_id"),
    ("person", {"last_name": "X", "phone": "call me"}, "phone"),
    ("person", {"last_name": "X", "first_name": "A" * 101}, "first_name"),
    ("person", {"last_name": "X", "delivery_postcode": "1"}, "delivery_postcode"),
    ("organisation", {}, "name"),
    ("organisation", {"name": "Stadt", "buyer_reference": "04011000-12345-04"}, "buyer_reference"),
    ("organisation", {"name": "Web", "website": "javascript:alert(1)"}, "website"),
    ("organisation", {"name": "Nr", "customer_number": "K=1"}, "customer_number"),
]


@pytest.mark.parametrize(("kind", "values"), GOOD)
def test_valid_contacts_are_saved_normalised(session: Session, kind: str, values: dict) -> None:
    """Valid input is stored, with country codes upper-cased and identifiers compacted."""
    contact = service.create_contact(session, kind=kind, **values)
    session.commit()
    stored = session.get(Contact, contact.id)
    assert stored is not None and stored.kind == kind
    assert stored.country == (values.get("country") or "DE").upper()
    if "vat_id" in values:
        assert stored.vat_id == "DE123456788"
    if "email" in values:
        assert stored.email == "kim@example.org"
    if "website" in values:
        assert stored.website == "https://musterfirma.example.org"


@pytest.mark.parametrize(("kind", "values", "field"), BAD)
def test_invalid_input_names_the_field_in_german(
    session: Session, kind: str, values: dict, field: str
) -> None:
    """Bad input is refused with a German message for the offending field; nothing is saved."""
    with pytest.raises(ValidationErrors) as info:
        service.create_contact(session, kind=kind, **values)
    assert field in info.value.errors
    assert any(
        word in info.value.errors[field]
        for word in ("Bitte", "ungültig", "Höchstens", "darf", "bekannter")
    )
    assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_all_field_errors_are_reported_together(session: Session) -> None:
    """Several bad fields, an unknown role and an over-long tag come back in one error."""
    with pytest.raises(ValidationErrors) as info:
        service.create_contact(
            session,
            kind="person",
            email="x@",
            postcode="1",
            roles=["Kunde", "Chef"],
            tags=["x" * 61],
        )
    assert set(info.value.errors) == {"last_name", "email", "postcode", "roles", "tags"}


SEARCH_PEOPLE = [
    ("Jürgen", "Müller", "juergen@example.org", "München"),
    ("Hans", "MUELLER", "hans@example.org", "Köln"),
    ("Petra", "Mueller-Lüdenscheidt", "petra@example.org", "Berlin"),
    ("Max", "Muller", "max@example.org", "Bonn"),
    ("Erika", "Mustermann", "erika@example.org", "Düsseldorf"),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("müller", {"Müller", "MUELLER", "Mueller-Lüdenscheidt"}),
        ("MÜLLER", {"Müller", "MUELLER", "Mueller-Lüdenscheidt"}),
        ("Mueller", {"Müller", "MUELLER", "Mueller-Lüdenscheidt"}),
        ("muller", {"Muller"}),
        ("dusseldorf", set()),
        ("düsseldorf", {"Mustermann"}),
        ("DUESSELDORF", {"Mustermann"}),
        ("juergen@example", {"Müller"}),
        ("hans köln", {"MUELLER"}),
        ("100%", set()),
        ("_", set()),
    ],
)
def test_search_finds_the_same_on_both_databases(
    session: Session, query: str, expected: set[str]
) -> None:
    """Umlaut and case folding give identical hits on SQLite and PostgreSQL."""
    for first, last, email, city in SEARCH_PEOPLE:
        service.create_person(session, first_name=first, last_name=last, email=email, city=city)
    session.commit()
    result = service.list_contacts(session, kind="person", search=query, page_size=50)
    assert {c.last_name for c in result.items} == expected
    assert result.total == len(expected)


def test_search_by_customer_number(session: Session) -> None:
    """The customer number is searchable, e.g. "k-00002"."""
    service.create_person(session, last_name="Eins", roles=["kunde"])
    service.create_person(session, last_name="Zwei", roles=["kunde"])
    result = service.list_contacts(session, search="k-00002")
    assert [c.last_name for c in result.items] == ["Zwei"]


def test_filters_sorting_and_paging_happen_in_sql(session: Session) -> None:
    """Role, tag and archive filters combine; sorting folds umlauts; pages split the hits."""
    names = ["Zander", "Ärmel", "Müller", "Mayer", "Becker", "Otto", "Schulz"]
    for i, name in enumerate(names):
        service.create_person(
            session,
            last_name=name,
            roles=["kunde"] if i % 2 == 0 else ["lieferant"],
            tags=["Newsletter"] if i < 3 else [],
        )
    org = service.create_organisation(session, name="Musterfirma GmbH", roles=["kunde"])
    otto = session.scalar(select(Contact).where(Contact.last_name == "Otto"))
    service.archive_contact(session, otto.id)
    session.commit()

    page1 = service.list_contacts(session, kind="person", page=1, page_size=3)
    page2 = service.list_contacts(session, kind="person", page=2, page_size=3)
    assert [c.last_name for c in page1.items] == ["Ärmel", "Becker", "Mayer"]
    assert [c.last_name for c in page2.items] == ["Müller", "Schulz", "Zander"]
    assert page1.total == 6 and page1.pages == 2

    customers = service.list_contacts(session, kind="person", role="kunde")
    assert {c.last_name for c in customers.items} == {"Zander", "Müller", "Becker", "Schulz"}
    tagged = service.list_contacts(session, tag="Newsletter", role="lieferant")
    assert [c.last_name for c in tagged.items] == ["Ärmel"]
    archived = service.list_contacts(session, archived="archived")
    assert [c.last_name for c in archived.items] == ["Otto"]
    everyone = service.list_contacts(session, archived="all", page_size=100)
    assert everyone.total == 8
    orgs = service.list_contacts(session, kind="organisation", role="kunde")
    assert [c.id for c in orgs.items] == [org.id]
    beyond = service.list_contacts(session, kind="person", page=99, page_size=3)
    assert beyond.page == 2


def test_tags_are_shared_case_insensitively(session: Session) -> None:
    """ "newsletter" on a second contact reuses the tag "Newsletter"."""
    service.create_person(session, last_name="A", tags=["Newsletter", " newsletter "])
    service.create_person(session, last_name="B", tags=["NEWSLETTER", "VIP"])
    session.commit()
    assert sorted(session.scalars(select(Tag.name))) == ["Newsletter", "VIP"]


def test_person_belongs_to_an_organisation(session: Session) -> None:
    """A person links to an organisation; members lists it; the org name finds the person."""
    org = service.create_organisation(session, name="Musterfirma GmbH")
    person = service.create_person(session, last_name="Mustermann", organisation_id=org.id)
    session.commit()
    assert [p.id for p in service.members(session, org.id)] == [person.id]
    found = service.list_contacts(session, kind="person", search="musterfirma")
    assert [c.id for c in found.items] == [person.id]
    other = service.create_person(session, last_name="X")
    with pytest.raises(ValidationErrors) as info:
        service.create_person(session, last_name="Y", organisation_id=other.id)
    assert "organisation_id" in info.value.errors


def test_customer_numbers_follow_the_configured_format(session: Session) -> None:
    """Customers get numbers from the format; given numbers are kept; taken ones skipped."""
    a = service.create_person(session, last_name="A", roles=["kunde"])
    b = service.create_person(session, last_name="B", roles=["lieferant"])
    c = service.create_person(session, last_name="C", customer_number="K-00002")
    d = service.create_person(session, last_name="D", roles=["kunde"])
    assert (a.customer_number, b.customer_number) == ("K-00001", None)
    assert (c.customer_number, d.customer_number) == ("K-00002", "K-00003")
    service.set_customer_number_format(session, "KD{JJJJ}-{NNN}")
    e = service.create_organisation(session, name="E", roles=["kunde"])
    assert e.customer_number.startswith("KD20") and e.customer_number.endswith("-001")
    with pytest.raises(ValidationErrors) as info:
        service.create_person(session, last_name="F", customer_number="K-00001")
    assert "schon vergeben" in info.value.errors["customer_number"]
    service.update_contact(session, b.id, version=b.version, roles=["kunde", "lieferant"])
    assert b.customer_number is not None


@pytest.mark.parametrize("fmt", ["K-", "{NNNNN}-{NN}", "K={NNNNN}", "K-{NNNNN}" + "X" * 30])
def test_bad_number_formats_are_refused(session: Session, fmt: str) -> None:
    """A format needs exactly one counter and must yield a short, plain number."""
    with pytest.raises(KmsError):
        service.set_customer_number_format(session, fmt)


def test_customer_numbers_are_unique_under_concurrent_creation(db_url: str) -> None:
    """Eight threads creating customers at once get distinct, gapless numbers."""
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                with session_scope(db_url) as s:
                    service.create_person(s, last_name=f"T{n}-{i}", roles=["kunde"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=carry(worker), args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(db_url, write=False) as s:
        numbers = list(s.scalars(select(Contact.customer_number)))
    assert sorted(numbers) == [f"K-{i:05d}" for i in range(1, 41)]


def test_second_save_of_a_stale_version_is_refused(db_url: str) -> None:
    """Two sessions read version n; the first saves, the second gets ConflictError."""
    with session_scope(db_url) as s:
        contact_id = service.create_person(s, last_name="Mustermann", city="Alt").id
    first, second = session_factory(db_url)(), session_factory(db_url)()
    try:
        # Each browser session reads in one rerun and saves in a later one.
        version = first.get(Contact, contact_id).version
        first.commit()
        assert second.get(Contact, contact_id).version == version
        second.commit()  # the read ends; the loaded object stays in memory at version n
        service.update_contact(first, contact_id, version=version, city="Erste")
        first.commit()
        with pytest.raises(ConflictError) as info:
            service.update_contact(second, contact_id, version=version, city="Zweite")
        assert "inzwischen" in info.value.message
        second.rollback()
    finally:
        first.close()
        second.close()
    with session_scope(db_url, write=False) as s:
        stored = s.get(Contact, contact_id)
        assert stored.city == "Erste"
        assert stored.version == version + 1


def test_stale_version_from_a_form_is_refused(session: Session) -> None:
    """A form that read version 1 cannot overwrite version 2 (the lost update of two tabs)."""
    person = service.create_person(session, last_name="Mustermann")
    service.update_contact(session, person.id, version=1, city="Berlin")
    with pytest.raises(ConflictError):
        service.update_contact(session, person.id, version=1, city="Hamburg")
    assert session.get(Contact, person.id).city == "Berlin"


def test_update_keeps_fields_not_given(session: Session) -> None:
    """A partial update changes only what it names."""
    person = service.create_person(
        session, last_name="Muster", email="kim@example.org", tags=["VIP"], roles=["kunde"]
    )
    service.update_contact(session, person.id, version=person.version, city="Bonn")
    assert (person.email, person.city, [t.name for t in person.tags]) == (
        "kim@example.org",
        "Bonn",
        ["VIP"],
    )
    assert person.role_keys == {"kunde"}


def test_referenced_contacts_are_archived_not_deleted(session: Session, invoices_module) -> None:
    """A contact with invoices cannot be deleted; archiving keeps it for its invoices."""
    person = service.create_person(session, last_name="Mustermann", roles=["kunde"])
    invoices_module[person.id] = ["RE-2026-0001"]
    assert service.reference_counts(session, person.id) == {"Fremdmodul": 1}
    with pytest.raises(KmsError) as info:
        service.delete_contact(session, person.id)
    assert "Fremdmodul: 1" in info.value.message and "Archivieren" in info.value.message
    service.archive_contact(session, person.id)
    session.commit()
    assert session.get(Contact, person.id).archived_at is not None
    assert service.list_contacts(session).total == 0


def test_unreferenced_contacts_can_be_deleted(session: Session, invoices_module) -> None:
    """Without references a contact is deleted with its roles and tag links."""
    person = service.create_person(session, last_name="Weg", roles=["kunde"], tags=["X"])
    session.commit()
    assert service.delete_contact(session, person.id) == "Weg"
    session.commit()
    assert session.get(Contact, person.id) is None
    assert session.scalar(select(Tag.name)) == "X"


def test_organisation_with_members_cannot_be_deleted(session: Session) -> None:
    """Deleting an organisation would silently unlink its persons, so it is refused."""
    org = service.create_organisation(session, name="Musterfirma GmbH")
    service.create_person(session, last_name="Mustermann", organisation_id=org.id)
    with pytest.raises(KmsError) as info:
        service.delete_contact(session, org.id)
    assert "Zugeordnete Personen: 1" in info.value.message


def test_owner_cannot_be_deleted_or_anonymised(session: Session) -> None:
    """The owner's own person stays."""
    owner = service.create_person(session, last_name="Mustermann", is_owner=True)
    assert owner.role_keys == {"inhaber"}
    with pytest.raises(KmsError):
        service.delete_contact(session, owner.id)
    with pytest.raises(KmsError):
        privacy.anonymise_contact(session, owner.id)

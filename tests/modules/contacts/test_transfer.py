"""CSV import (all or nothing, row-numbered errors), CSV/XLSX export, vCard, CLI, DSGVO."""

from __future__ import annotations

import codecs
import io
import json
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kms import cli
from kms.db import session_scope
from kms.modules.contacts import privacy, service, transfer
from kms.modules.contacts.models import Contact, Tag, contact_tags

LEXOFFICE_STYLE = (
    "Kundennummer;Firma;Anrede;Vorname;Nachname;Straße;PLZ;Ort;Land;E-Mail;Telefon;USt-IdNr.\r\n"
    "10001;Musterfirma GmbH;Herr;Max;Mustermann;Musterstraße 10;12345;Musterstadt;Deutschland;"
    "max@example.org;030 1234567;DE123456788\r\n"
    "10002;;Frau;Jürgen;Müller;Hauptstraße 3;80331;München;DE;juergen@example.org;;\r\n"
    "10003;Beispiel AG;;;;Industriering 4;20095;Hamburg;DE;info@beispiel.example.org;;\r\n"
    ";Musterfirma GmbH;Frau;Erika;Beispiel;;;;;erika.beispiel@example.org;;\r\n"
)


def count(session: Session, kind: str | None = None) -> int:
    stmt = select(func.count()).select_from(Contact)
    if kind:
        stmt = stmt.where(Contact.kind == kind)
    return session.scalar(stmt) or 0


def test_windows_1252_semicolon_file_with_company_rows(session: Session) -> None:
    """A German tool's export: Firma + name rows create the organisation and a linked person."""
    plan = transfer.import_contacts(session, LEXOFFICE_STYLE.encode("cp1252"))
    assert plan.problem_lines() == []
    session.commit()
    org = session.scalar(select(Contact).where(Contact.name == "Musterfirma GmbH"))
    assert org.customer_number == "10001" and org.vat_id == "DE123456788"
    assert (org.street, org.postcode, org.city, org.country) == (
        "Musterstraße 10",
        "12345",
        "Musterstadt",
        "DE",
    )
    assert org.role_keys == {"kunde"}
    staff = {p.first_name: p for p in service.members(session, org.id)}
    assert set(staff) == {"Max", "Erika"}
    assert staff["Max"].email == "max@example.org" and staff["Max"].salutation == "herr"
    assert staff["Max"].customer_number is None
    mueller = session.scalar(select(Contact).where(Contact.last_name == "Müller"))
    assert mueller.customer_number == "10002" and mueller.organisation_id is None
    assert (count(session, "organisation"), count(session, "person")) == (2, 3)
    assert (plan.created_organisations, plan.created_persons) == (2, 3)


def test_utf8_bom_comma_file_with_quoted_separators_and_line_breaks(session: Session) -> None:
    """Quoted fields keep commas, semicolons, quotes and line breaks."""
    text = (
        "Nachname,Vorname,Straße,Notizen,Tags,Rollen\n"
        'Mustermann,Erika,"Musterstraße 1, Hinterhaus","Zeile 1\nZeile 2; mit ""Zitat""",'
        '"Newsletter, VIP","Kunde, Lieferant"\n'
    )
    plan = transfer.import_contacts(session, codecs.BOM_UTF8 + text.encode("utf-8"))
    assert plan.ok, plan.problem_lines()
    person = session.scalar(select(Contact))
    assert person.street == "Musterstraße 1, Hinterhaus"
    assert person.notes == 'Zeile 1\nZeile 2; mit "Zitat"'
    assert sorted(t.name for t in person.tags) == ["Newsletter", "VIP"]
    assert person.role_keys == {"kunde", "lieferant"}


BROKEN = [
    ("utf16", "Nachname;E-Mail\nMüller;m@example.org\n".encode("utf-16"), "UTF-16"),
    ("undefined bytes", b"Nachname;Ort\nM\x81ller;K\x8dln\n", "Zeichenkodierung"),
    ("unbalanced quote", b'Nachname;Ort\nMueller;"Koeln\nSchmidt;Bonn\n', "Zeile 2"),
    ("stray quote", b'Nachname;Ort\n"Mueller"x;Bonn\n', "Anführungszeichen"),
    ("missing column", b"Vorname;E-Mail\nErika;erika@example.org\n", "„Nachname“ oder „Firma“"),
    ("header only", b"Nachname;E-Mail\n", "nur die Kopfzeile"),
    ("empty", b"", "leer"),
    ("too many fields", b"Nachname;Ort\nMueller;Bonn;extra\n", "Zeile 2"),
]


@pytest.mark.parametrize(("data", "needle"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_files_import_nothing(session: Session, data: bytes, needle: str) -> None:
    """A broken file gets a German message and nothing is imported."""
    plan = transfer.import_contacts(session, data)
    assert not plan.ok
    assert needle in " ".join(plan.problem_lines())
    session.commit()
    assert count(session) == 0


def test_invalid_email_in_row_7_imports_nothing(session: Session) -> None:
    """One bad row stops the whole import, and the message names row 7."""
    lines = ["Vorname;Nachname;E-Mail;PLZ"]
    lines += [f"P{i};Muster{i};p{i}@example.org;1234{i}" for i in range(5)]
    lines.append("Bad;Row;kein-at-zeichen.example.org;12399")
    lines.append("Last;Row;last@example.org;12398")
    plan = transfer.import_contacts(session, "\n".join(lines).encode())
    assert plan.problems and {row for row, _ in plan.problems} == {7}
    assert plan.problem_lines()[0].startswith("Zeile 7: E-Mail:")
    session.commit()
    assert count(session) == 0
    with pytest.raises(Exception, match="nicht ausgeführt"):
        transfer.apply_import(session, plan)


def test_duplicates_within_the_file_are_reported_with_both_rows(session: Session) -> None:
    """Same e-mail, or same name and postcode, twice in one file is an error naming both."""
    data = (
        b"Vorname;Nachname;E-Mail;PLZ\n"
        b"Erika;Mustermann;erika@example.org;12345\n"
        b"Max;Muster;ERIKA@example.org;10115\n"
        b"Erika;MUSTERMANN;;12345\n"
        b"Anna;Beispiel;anna@example.org;10115\n"
    )
    plan = transfer.plan_import(session, data)
    assert plan.problem_lines() == [
        "Zeile 3: Doppelt: derselbe Kontakt steht schon in Zeile 2 (gleiche E-Mail oder gleicher "
        "Name und PLZ).",
        "Zeile 4: Doppelt: derselbe Kontakt steht schon in Zeile 2 (gleiche E-Mail oder gleicher "
        "Name und PLZ).",
    ]


def test_duplicates_of_existing_contacts_fail_or_are_skipped(session: Session) -> None:
    """A contact already in KMS is an error, or skipped when asked; the rest is imported."""
    service.create_person(session, first_name="Erika", last_name="Mustermann", postcode="12345")
    service.create_person(session, last_name="Beispiel", email="anna@example.org")
    session.commit()
    data = (
        b"Vorname;Nachname;E-Mail;PLZ\n"
        b"Erika;Mustermann;;12345\n"
        b"Anna;Beispiel;Anna@Example.org;\n"
        b"Neu;Person;neu@example.org;10115\n"
    )
    plan = transfer.import_contacts(session, data)
    assert [row for row, _ in plan.problems] == [2, 3]
    assert count(session) == 2
    plan = transfer.import_contacts(session, data, skip_duplicates=True)
    assert plan.ok and [row for row, _ in plan.warnings] == [2, 3]
    session.commit()
    assert count(session) == 3


def test_customer_number_column_is_kept_when_unique(session: Session) -> None:
    """Given numbers are kept; one taken in KMS or twice in the file is an error for its row."""
    service.create_person(session, last_name="Alt", customer_number="K-7")
    session.commit()
    data = b"Kundennummer;Nachname\nK-8;Neu\nK-7;Doppelt\nK-8;Nochmal\n;Ohne\n"
    plan = transfer.plan_import(session, data)
    assert [row for row, _ in plan.problems] == [3, 4]
    assert "K-7" in plan.problem_lines()[0] and "Zeile 2" in plan.problem_lines()[1]
    ok = transfer.import_contacts(session, b"Kundennummer;Nachname\nK-8;Neu\n;Ohne\n")
    assert ok.ok
    numbers = set(session.scalars(select(Contact.customer_number)))
    assert numbers == {"K-7", "K-8", "K-00001"}


def test_art_column_links_persons_to_organisations_anywhere_in_the_file(
    session: Session,
) -> None:
    """With an Art column a person's Firma names its organisation, even one further down."""
    data = (
        b"Art;Kundennummer;Firma;Nachname;PLZ\n"
        b"Person;P-1;Musterfirma GmbH;Mustermann;12345\n"
        b"Organisation;O-1;Musterfirma GmbH;;12345\n"
    )
    plan = transfer.import_contacts(session, data)
    assert plan.ok, plan.problem_lines()
    person = session.scalar(select(Contact).where(Contact.kind == "person"))
    assert person.customer_number == "P-1"
    assert person.organisation.customer_number == "O-1"
    assert count(session, "organisation") == 1


def _sample_contacts(session: Session) -> None:
    org = service.create_organisation(
        session,
        name='=HYPERLINK("http://evil.example")',
        legal_form="GmbH",
        buyer_reference="04011000-12345-03",
        street="Musterstraße 10",
        postcode="12345",
        city="Musterstadt",
        delivery_street="Lagerweg 9",
        delivery_postcode="1010",
        delivery_city="Wien",
        delivery_country="AT",
        vat_id="DE123456788",
        roles=["kunde", "lieferant"],
        tags=["Newsletter", "@wichtig"],
        website="musterfirma.example.org",
        einvoice_format="xrechnung_ubl",
    )
    service.create_person(
        session,
        salutation="divers",
        title="Dr.",
        first_name="Kim",
        last_name="Muster",
        job_title="-Leitung",
        organisation_id=org.id,
        email="kim@example.org",
        phone="+49 30 123456",
        notes='Zeile 1\nZeile 2; "zitiert"',
        roles=["interessent"],
        country="CH",
        postcode="8001",
    )
    service.create_person(session, last_name="Müller", first_name="Jürgen", roles=["kunde"])
    session.commit()


def test_csv_export_round_trips_through_import(session: Session) -> None:
    """Export, delete everything, import the export: the next export is byte-identical."""
    _sample_contacts(session)
    first = transfer.export_csv(session, archived="all")
    assert first.startswith(codecs.BOM_UTF8)
    session.execute(delete(contact_tags))
    session.execute(update_orgs_to_null())
    session.execute(delete(Contact))
    session.execute(delete(Tag))
    session.commit()
    plan = transfer.import_contacts(session, first)
    assert plan.ok, plan.problem_lines()
    session.commit()
    assert transfer.export_csv(session, archived="all") == first


def update_orgs_to_null():
    from sqlalchemy import update

    return update(Contact).values(organisation_id=None)


def test_exports_neutralise_formula_cells(session: Session) -> None:
    """Cells starting with = + - @ are prefixed with ' in CSV and stored as text in XLSX."""
    _sample_contacts(session)
    text = transfer.export_csv(session).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+49 30 123456" in text and "'-Leitung" in text
    assert "'@wichtig" in text
    assert ";=" not in text and ";+" not in text and ";-" not in text and ";@" not in text
    sheet = load_workbook(io.BytesIO(transfer.export_xlsx(session))).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value]
    assert all(c.data_type == "s" for c in cells)
    values = {c.value for c in cells}
    assert '\'=HYPERLINK("http://evil.example")' in values and "'+49 30 123456" in values
    assert not any(str(v).startswith(("=", "+", "-", "@")) for v in values)
    assert [c.value for c in next(sheet.iter_rows())][:3] == ["Art", "Kundennummer", "Firma"]


def test_vcard_is_escaped_folded_and_complete(session: Session) -> None:
    """vCard 4.0: CRLF lines ≤ 75 octets, escaped ; , \\ and newlines, org and address."""
    _sample_contacts(session)
    kim = session.scalar(select(Contact).where(Contact.last_name == "Muster"))
    kim.notes = "a;b,c\\d\n" + "ü" * 60
    card = transfer.vcard(kim)
    assert card.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n") and card.endswith("END:VCARD\r\n")
    lines = card.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = card.replace("\r\n ", "")
    assert "N:Muster;Kim;;Dr.;\r\n" in unfolded
    assert "FN:Dr. Kim Muster\r\n" in unfolded
    assert "GENDER:O\r\n" in unfolded
    assert "TITLE:-Leitung\r\n" in unfolded
    assert "EMAIL;TYPE=work:kim@example.org\r\n" in unfolded
    assert "NOTE:a\\;b\\,c\\\\d\\n" + "ü" * 60 + "\r\n" in unfolded
    assert 'ORG:=HYPERLINK("http://evil.example")' in unfolded
    org = kim.organisation
    org_card = transfer.vcard(org).replace("\r\n ", "")
    assert "KIND:org\r\n" in org_card
    assert "ADR;TYPE=work:;;Musterstraße 10;Musterstadt;;12345;Deutschland\r\n" in org_card
    assert 'LABEL="Lieferadresse":;;Lagerweg 9;Wien;;1010;Österreich' in org_card
    assert "CATEGORIES:@wichtig,Newsletter\r\n" in org_card or (
        "CATEGORIES:Newsletter,@wichtig\r\n" in org_card
    )


def test_cli_import_dry_run_and_failure(db_url: str, tmp_path, capsys) -> None:
    """The CLI imports all or nothing; a bad row exits non-zero naming its row."""
    good = tmp_path / "gut.csv"
    good.write_bytes(LEXOFFICE_STYLE.encode("cp1252"))
    assert cli.main(["contacts", "import", str(good), "--dry-run"]) == 0
    assert "Probelauf" in capsys.readouterr().out
    with session_scope(db_url, write=False) as s:
        assert count(s) == 0
    bad = tmp_path / "schlecht.csv"
    bad.write_bytes(LEXOFFICE_STYLE.replace("max@example.org", "max@").encode("cp1252"))
    assert cli.main(["contacts", "import", str(bad)]) == 1
    assert "Zeile 2: E-Mail:" in capsys.readouterr().err
    with session_scope(db_url, write=False) as s:
        assert count(s) == 0
    assert cli.main(["contacts", "import", str(good)]) == 0
    assert "3 Personen, 2 Organisationen" in capsys.readouterr().out
    assert cli.main(["contacts", "import", str(tmp_path / "fehlt.csv")]) == 2


def test_cli_export_writes_csv_and_xlsx_without_overwriting(db_url: str, tmp_path) -> None:
    """Export to CSV and XLSX; an existing file is only replaced with --force."""
    with session_scope(db_url) as s:
        service.create_person(s, last_name="Mustermann", email="erika@example.org")
    target = tmp_path / "kontakte.csv"
    assert cli.main(["contacts", "export", "--format", "csv", "-o", str(target)]) == 0
    assert "erika@example.org" in target.read_text(encoding="utf-8-sig")
    target.write_text("alt")
    assert cli.main(["contacts", "export", "-o", str(target)]) == 2
    assert target.read_text() == "alt"
    assert cli.main(["contacts", "export", "-o", str(target), "--force"]) == 0
    xlsx = tmp_path / "kontakte.xlsx"
    assert cli.main(["contacts", "export", "--format", "xlsx", "-o", str(xlsx)]) == 0
    assert load_workbook(xlsx).active["I2"].value == "Mustermann"


def test_subject_access_includes_every_module(session: Session, invoices_module) -> None:
    """Auskunft: a ZIP with the contact, other modules' data, their files and a vCard."""
    _sample_contacts(session)
    kim = session.scalar(select(Contact).where(Contact.last_name == "Muster"))
    invoices_module[kim.id] = ["RE-2026-0001"]
    archive = zipfile.ZipFile(io.BytesIO(privacy.subject_access(session, kim.id)))
    assert set(archive.namelist()) == {
        "auskunft.json",
        "kontakt.vcf",
        "dateien/fakeinvoices/Belege/RE-2026-0001.pdf",
    }
    data = json.loads(archive.read("auskunft.json"))["Daten"]
    assert data["Kunden"]["E-Mail"] == "kim@example.org"
    assert data["Kunden"]["Notizen"] == 'Zeile 1\nZeile 2; "zitiert"'
    assert data["Kunden"]["Rollen"] == ["Interessent"]
    assert data["Fremdmodul"]["Rechnungen"] == ["RE-2026-0001"]
    assert archive.read("dateien/fakeinvoices/Belege/RE-2026-0001.pdf").startswith(b"%PDF")


def test_anonymise_erases_personal_data_but_keeps_the_row(
    session: Session, invoices_module
) -> None:
    """Art. 17: names, addresses, contact data, notes, tags go; id, number and references stay."""
    _sample_contacts(session)
    kim = session.scalar(select(Contact).where(Contact.last_name == "Muster"))
    invoices_module[kim.id] = ["RE-2026-0001"]
    kim_id, number = kim.id, kim.customer_number
    privacy.anonymise_contact(session, kim_id)
    session.commit()
    stored = session.get(Contact, kim_id)
    assert stored.last_name == f"Anonymisiert ({kim_id})"
    assert (stored.first_name, stored.title, stored.email, stored.phone, stored.notes) == (
        "",
        "",
        "",
        "",
        "",
    )
    assert (stored.street, stored.postcode, stored.city, stored.organisation_id) == (
        "",
        "",
        "",
        None,
    )
    assert stored.tags == [] and stored.customer_number == number
    assert stored.archived_at is not None and stored.anonymised_at is not None
    assert service.reference_counts(session, kim_id) == {"Fremdmodul": 1}
    assert service.list_contacts(session, search="kim", archived="all").total == 0
    with pytest.raises(Exception, match="anonymisiert"):
        service.update_contact(session, kim_id, version=stored.version, city="X")


def test_subject_access_with_the_real_modules_contains_invoices_payments_and_letters() -> None:
    """Auskunft on demo data: every invoice of the customer with its payments and reminders,
    and every letter to them (drafts too), come from the real Rechnungen and Schreiben."""
    from kms.demo import load_demo
    from kms.modules.invoices.models import Invoice, Payment, Reminder
    from kms.modules.letters.models import Letter

    load_demo()
    with session_scope(write=False) as session:
        # The demo customer with the most payments, and the one with letters.
        payer = session.scalar(
            select(Invoice.contact_id)
            .join(Payment, Payment.invoice_id == Invoice.id)
            .group_by(Invoice.contact_id)
            .order_by(func.count().desc(), Invoice.contact_id)
            .limit(1)
        )
        addressee = session.scalar(select(Letter.contact_id).where(Letter.contact_id.is_not(None)))
        numbers = set(
            session.scalars(select(Invoice.number).where(Invoice.contact_id == payer)).all()
        )
        payments = session.scalar(
            select(func.count())
            .select_from(Payment)
            .join(Invoice)
            .where(Invoice.contact_id == payer)
        )
        reminders = session.scalar(
            select(func.count())
            .select_from(Reminder)
            .join(Invoice)
            .where(Invoice.contact_id == payer)
        )
        subjects = set(
            session.scalars(select(Letter.subject).where(Letter.contact_id == addressee)).all()
        )
        invoice_zip = privacy.subject_access(session, payer)
        letter_zip = privacy.subject_access(session, addressee)
    assert payments and len(subjects) == 2  # the demo has payments and a sent letter + a draft

    exported = json.loads(zipfile.ZipFile(io.BytesIO(invoice_zip)).read("auskunft.json"))
    # The invoices module's part also lists the contact's SEPA mandates (the demo's
    # subscription customer has one): the invoices are the records naming a Rechnung.
    records = [r for r in exported["Daten"]["Rechnungen"] if "Rechnung" in r]
    assert {r["Rechnung"].split(" ")[-1] for r in records if r["Art"] == "Rechnung"} <= numbers
    assert len(records) == len(numbers)
    assert sum(len(r["Zahlungen"]) for r in records) == payments
    assert sum(len(r["Mahnungen"]) for r in records) == reminders
    assert all(r["Positionen"] for r in records)

    exported = json.loads(zipfile.ZipFile(io.BytesIO(letter_zip)).read("auskunft.json"))
    letters = exported["Daten"]["Schreiben"]
    assert {letter["Betreff"] for letter in letters} == subjects
    assert {letter["Status"] for letter in letters} == {"Entwurf", "versendet"}

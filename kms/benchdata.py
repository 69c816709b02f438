"""`python -m kms bench-data`: a large, reproducible, obviously fictitious instance for measuring.

The bulk path (documented in docs/performance.md) trades the real issuing path for speed:
- rows go in with SQLAlchemy Core `insert()` executemany, in chunks, in one transaction;
- invoices are "issued" as rows: numbers gapless per year in date order, counters set to
  the last number, totals computed in integer cents like the service does;
- every `BLOB_GROUP` invoices share ONE small PDF and ONE XML (a placeholder that says so),
  stored once in Dokumente (content-addressed) and referenced by each invoice's files;
- the audit chain is built in Python with `kms.audit`'s own row hash, so
  `python -m kms audit verify` passes;
- a KeyValue flag marks the instance as benchmark data and the banner says so.
The real issuing path (PDF/A-3, XML, schematron) is measured separately by `make bench`.

It refuses an instance that already holds business data, so it never mixes with real records.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kms.errors import KmsError

FLAG_KEY = "bench.data"
BANNER_KEY = "bench.data"
BANNER_TEXT = (
    "Diese Instanz enthält erfundene Benchmark-Daten (python -m kms bench-data). "
    "Rechnungs-PDFs sind Platzhalter; bitte nicht für echte Geschäfte verwenden."
)
BENCH_USER = "bench"
BENCH_PASSWORD = "bench-kms-2026"  # noqa: S105 - the documented login of a benchmark instance
SEED = 20261202
BLOB_GROUP = 500  # invoices that share one placeholder PDF/XML blob
CHUNK = 5000

FIRST = (
    "Erika Max Anna Jonas Lena Paul Mia Felix Emma Lukas Hanna Leon Sophie Ben Marie "
    "Elias Clara Noah Lea Finn Ida Jan Greta Tim Ömer Jürgen Ünal Björn Käthe Søren"
).split()
LAST = (
    "Mustermann Musterfrau Beispiel Müller Mueller Schmidt Meyer Schulze Weber Wagner Becker "
    "Hoffmann Schäfer Koch Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun "
    "Krüger Hofmann Hartmann Lange Schmitt Werner Krause Meier"
).split()
ORG_WORDS = (
    "Muster Beispiel Test Demo Probe Modell Exempel Vorlage Schablone Entwurf Skizze".split()
)
ORG_KINDS = "Bau Handel Technik Design Beratung Service Logistik Medien Druck Garten".split()
LEGAL = ["GmbH", "UG (haftungsbeschränkt)", "GmbH & Co. KG", "e.K.", "OHG", "AG", ""]
CITIES = [
    ("10115", "Berlin"),
    ("20095", "Hamburg"),
    ("80331", "München"),
    ("50667", "Köln"),
    ("60311", "Frankfurt am Main"),
    ("70173", "Stuttgart"),
    ("04109", "Leipzig"),
    ("01067", "Dresden"),
    ("12345", "Musterstadt"),
    ("99999", "Beispielheim"),
]
STREETS = "Musterstraße Beispielweg Testallee Probeplatz Modellgasse Übungsring".split()
ITEMS = [
    ("Beratung", "HUR", 9500),
    ("Entwicklung", "HUR", 8500),
    ("Workshop", "DAY", 120000),
    ("Lizenz", "C62", 4990),
    ("Wartung pauschal", "C62", 25000),
    ("Fahrtkosten", "KMT", 30),
    ("Druckerzeugnis", "C62", 1250),
    ("Fachbuch", "C62", 3900),  # 7 %
]


@dataclass(frozen=True)
class Scale:
    """Row counts of one benchmark instance."""

    contacts: int
    invoices: int  # issued documents incl. Stornorechnungen
    lines: int
    payments: int
    documents: int
    letters: int
    bookings: int = 0  # ledger bookings in all: one per payment, the rest entered by hand
    years: int = 5
    ledger_years: int = 10  # the books reach further back than the invoices

    @property
    def cancellations(self) -> int:
        return self.invoices // 100


SCALES = {
    "large": Scale(20_000, 100_000, 300_000, 60_000, 10_000, 5_000, 200_000),
    "small": Scale(2_000, 10_000, 30_000, 6_000, 1_000, 500, 20_000),
}


@dataclass(frozen=True)
class Report:
    """What was generated and how long it took."""

    scale: str
    counts: dict[str, int]
    seconds: float

    def lines(self) -> list[str]:
        parts = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        return [
            f"Benchmark-Daten ({self.scale}) erzeugt in {self.seconds:.1f} s: {parts}.",
            f"Anmeldung: Benutzername „{BENCH_USER}“, Passwort „{BENCH_PASSWORD}“ "
            "(falls noch kein Zugang existierte).",
        ]


def _chunks(rows: list[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Core executemany in chunks (no ORM objects, no per-row events); missing keys get
    the column's Python default, so every row of a chunk has the same keys."""
    defaults = {c.name: _default(c) for c in table.c}
    conn = session.connection()
    for chunk in _chunks(rows):
        conn.execute(table.insert(), [defaults | row for row in chunk])


def _fix_sequences(session: Session) -> None:
    """PostgreSQL: explicit ids leave the serial sequences behind; move them to max(id)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    from kms.models import Base

    for table in Base.metadata.sorted_tables:
        id_col = table.c.get("id")
        if id_col is None or not id_col.primary_key or not id_col.autoincrement:
            continue
        session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            )
        )


def has_business_data(session: Session) -> bool:
    """True when contacts, invoices, letters or documents exist (real or generated)."""
    from kms.modules.contacts.models import Contact
    from kms.modules.documents.models import Document
    from kms.modules.invoices.models import Invoice
    from kms.modules.letters.models import Letter

    return any(
        session.scalar(sa.select(model.id).limit(1)) is not None
        for model in (Contact, Invoice, Letter, Document)
    )


def is_bench_instance(session: Session) -> bool:
    """Whether this instance was generated by bench-data (shown in the banner)."""
    from kms.models import KeyValue

    return session.get(KeyValue, FLAG_KEY) is not None


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _placeholder_pdf(title: str) -> bytes:
    """A small real PDF that says it stands in for a group of benchmark invoices."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, f"KMS Benchmark-Daten (erfunden)\n{title}")
    return bytes(pdf.output())


def _placeholder_xml(title: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!-- KMS Benchmark-Daten (erfunden): {title} -->\n<benchmark/>\n"
    ).encode()


class _Blobs:
    """Content-addressed files written once into files_dir/documents."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.by_sha: dict[str, int] = {}

    def remove_files(self) -> None:
        from kms.modules.documents import storage

        for row in self.rows:
            storage.path_for(row["storage_name"]).unlink(missing_ok=True)

    def add(self, content: bytes, mime: str, ext: str, created: datetime) -> int:
        from kms.modules.documents import storage

        sha = hashlib.sha256(content).hexdigest()
        if sha in self.by_sha:
            return self.by_sha[sha]
        name = storage.new_storage_name(ext)
        path = storage.path_for(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        blob_id = len(self.rows) + 1
        self.rows.append(
            {
                "id": blob_id,
                "sha256": sha,
                "size": len(content),
                "mime_type": mime,
                "storage_name": name,
                "created_at": created,
            }
        )
        self.by_sha[sha] = blob_id
        return blob_id


class _Audit:
    """The audit chain built in memory with kms.audit's row hash, inserted in bulk."""

    def __init__(self, session: Session) -> None:
        from kms import audit

        self.audit = audit
        self.prev = audit.head(session)
        self.key = audit._key()  # read once, not per row
        self.next_id = (session.scalar(sa.select(sa.func.max(audit.AuditEvent.id))) or 0) + 1
        self.rows: list[dict[str, Any]] = []

    def add(
        self, at: datetime, entity: str, entity_id: object, action: str, **payload: Any
    ) -> None:
        audit = self.audit
        entry = audit.AuditEvent(
            at=at.astimezone(UTC),
            actor=BENCH_USER,
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            payload=audit.canonical(payload),
            prev_hash=self.prev,
            scheme=audit.SCHEME_HMAC,
        )
        # ONE function of kms.audit computes a row's hash: the bulk chain follows its rules.
        entry.hash = audit._digest(entry, self.key)
        self.prev = entry.hash
        self.rows.append(
            {
                "id": self.next_id,
                "at": entry.at,
                "actor": entry.actor,
                "entity": entry.entity,
                "entity_id": entry.entity_id,
                "action": entry.action,
                "payload": entry.payload,
                "prev_hash": entry.prev_hash,
                "hash": entry.hash,
                "scheme": entry.scheme,
            }
        )
        self.next_id += 1


def _at(day: date, rng: random.Random) -> datetime:
    """A working-hours moment of a Berlin day, in UTC."""
    from kms.types import BERLIN

    local = datetime.combine(day, dtime(8 + rng.randrange(10), rng.randrange(60)), BERLIN)
    return local.astimezone(UTC)


def generate(scale: str | Scale, *, seed: int = SEED, today: date | None = None) -> Report:
    """Fill an empty instance with benchmark data; refuses one that has business data."""
    from kms.db import session_scope

    if isinstance(scale, str) and scale not in SCALES:
        raise KmsError("Bitte --scale large oder --scale small angeben.")
    sizes = SCALES[scale] if isinstance(scale, str) else scale
    scale_name = scale if isinstance(scale, str) else "custom"
    started = time.perf_counter()
    with session_scope() as session:
        if is_bench_instance(session):
            raise KmsError("Diese Instanz enthält bereits Benchmark-Daten.")
        if has_business_data(session):
            raise KmsError(
                "Diese Instanz enthält bereits Kontakte, Rechnungen, Schreiben oder Dokumente. "
                "Benchmark-Daten werden nur in eine leere Instanz geschrieben."
            )
        rng = random.Random(seed)  # noqa: S311 - reproducible fiction, not security
        blobs = _Blobs()
        try:
            counts = _fill(session, sizes, rng, today, blobs)
            _mark(session, scale_name, seed)
            session.flush()
        except BaseException:
            blobs.remove_files()  # the rows roll back; their files must not stay behind
            raise
    return Report(scale_name, counts, time.perf_counter() - started)


def _mark(session: Session, scale_name: str, seed: int) -> None:
    from kms import auth
    from kms.models import set_value
    from kms.notices import set_system_warning
    from kms.onboarding import mark_done

    if not auth.has_users(session):
        auth.create_user(
            session,
            username=BENCH_USER,
            password=BENCH_PASSWORD,
            display_name="Erika Mustermann (Benchmark)",
            email="bench@example.org",
            is_owner=True,
        )
    mark_done(session)
    set_value(session, FLAG_KEY, {"scale": scale_name, "seed": seed})
    set_system_warning(session, BANNER_KEY, BANNER_TEXT, level="info")


def _settings(session: Session, first_day: date) -> None:
    """The fictitious demo company, VAT-registered (Regelbesteuerung) for every year."""
    from kms.modules.settings import taxation
    from kms.modules.settings.demo import COMPANY
    from kms.modules.settings.service import get_profile, save_profile

    profile = get_profile(session)
    if not profile.company_name:
        save_profile(
            session,
            version=profile.version or 0,
            **{**COMPANY, "business_start": date(first_day.year, 1, 1)},
        )
    if taxation.regime_on(session, first_day) is None:
        taxation.set_regime(
            session, valid_from=date(first_day.year, 1, 1), kind="regel", filing_period="quartal"
        )
    session.flush()


def _fill(
    session: Session, scale: Scale, rng: random.Random, today: date | None, blobs: _Blobs
) -> dict:
    from kms.audit import AuditEvent
    from kms.modules.documents.models import Document, DocumentBlob, DocumentContact, DocumentTag
    from kms.modules.invoices.models import InvoiceFile
    from kms.modules.letters.models import Letter
    from kms.types import today as local_today

    day0 = today or local_today()
    first_day = date(day0.year - scale.years + 1, 1, 1)
    ledger_first = date(day0.year - max(scale.years, scale.ledger_years) + 1, 1, 1)
    _settings(session, ledger_first)
    log, docs = _Audit(session), _Docs()
    contacts = _contacts(session, scale, rng, _at(first_day, rng))
    issued, files = _invoices(session, scale, rng, contacts, first_day, day0, log, blobs, docs)
    payments, paid = _payments(session, scale, rng, issued, day0, log)
    bookings = _ledger(session, scale, rng, paid, ledger_first, day0, log)
    _documents(scale, rng, contacts, first_day, day0, blobs, docs)
    letters = _letters(scale, rng, contacts, first_day, day0, blobs, docs)
    # Targets before the rows that point to them.
    _insert(session, DocumentBlob.__table__, blobs.rows)
    _insert(session, Document.__table__, docs.rows)
    _insert(session, DocumentContact.__table__, docs.links)
    _insert(session, DocumentTag.__table__, docs.tags)
    _insert(session, InvoiceFile.__table__, files)
    _insert(session, Letter.__table__, letters)
    _insert(session, AuditEvent.__table__, log.rows)
    _fix_sequences(session)
    from kms.audit import reanchor

    reanchor(session)  # data/secrets/audit_anchor names the new head once this commits
    return {
        "Kontakte": len(contacts),
        "Rechnungen": len(issued),
        "Positionen": sum(i.line_count for i in issued),
        "Zahlungen": payments,
        "Buchungen": bookings,
        "Dokumente": len(docs.rows),
        "Schreiben": len(letters),
        "Prüfprotokoll-Einträge": len(log.rows),
        "Dateien": len(blobs.rows),
    }


def _contacts(
    session: Session, scale: Scale, rng: random.Random, created: datetime
) -> dict[int, dict[str, Any]]:
    """Customers: 60 % persons, 40 % organisations, all with a customer number."""
    from kms.modules.contacts.models import Contact, ContactRole, ContactSequence
    from kms.modules.contacts.service import search_key

    rows: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    for cid in range(1, scale.contacts + 1):
        postcode, city = CITIES[rng.randrange(len(CITIES))]
        street = f"{STREETS[rng.randrange(len(STREETS))]} {rng.randrange(1, 200)}"
        number = f"K-{cid:05d}"
        row: dict[str, Any] = {
            "id": cid,
            "customer_number": number,
            "street": street,
            "postcode": postcode,
            "city": city,
            "country": "DE",
            "created_at": created,
            "updated_at": created,
        }
        if rng.random() < 0.4:
            name = (
                f"{ORG_WORDS[rng.randrange(len(ORG_WORDS))]} "
                f"{ORG_KINDS[rng.randrange(len(ORG_KINDS))]}"
            )
            form = LEGAL[rng.randrange(len(LEGAL))]
            # The long "UG (haftungsbeschränkt)" leaves no room for a number in the window.
            full = f"{name.split()[0]} {form}" if form.startswith("UG") else f"{name} {cid} {form}"
            full = full.strip()
            email = f"info{cid}@example.org"
            row |= {
                "kind": "organisation",
                "name": full,
                "legal_form": form,
                "email": email,
                "sort_key": search_key(full)[:300],
                "search_key": search_key(full, email, city, postcode, number)[:1000],
            }
        else:
            first, last = FIRST[rng.randrange(len(FIRST))], LAST[rng.randrange(len(LAST))]
            email = f"person{cid}@example.org"
            row |= {
                "kind": "person",
                "salutation": rng.choice(["frau", "herr", ""]),
                "first_name": first,
                "last_name": last,
                "email": email,
                "sort_key": search_key(last, first)[:300],
                "search_key": search_key(first, last, email, city, postcode, number)[:1000],
            }
        rows.append(row)
        roles.append({"contact_id": cid, "role": "kunde"})
    _insert(session, Contact.__table__, rows)
    _insert(session, ContactRole.__table__, roles)
    _insert(session, ContactSequence.__table__, [{"key": "customer", "next_value": len(rows) + 1}])
    # Rows carry every column (defaults filled) so snapshots can read them.
    defaults = {c.name: _default(c) for c in Contact.__table__.c}
    return {r["id"]: defaults | r for r in rows}


def _default(column: Any) -> Any:
    """The Python-side default of a column for rows built by hand."""
    default = column.default
    if default is None:
        return None
    if default.is_callable:
        return default.arg(None)
    return default.arg


def _snapshot_parts(session: Session) -> dict[str, Any]:
    from kms.modules.invoices.issuing import _company_dict, _party_dict, seller_party
    from kms.modules.settings.service import get_profile

    profile = get_profile(session)
    return {
        "seller": _party_dict(seller_party(profile, {"S"})),
        "company": _company_dict(profile),
        "legal_form": profile.legal_form,
        "representative": profile.representative,
    }


def _snapshot(base: dict[str, Any], contact: dict[str, Any]) -> dict[str, Any]:
    from kms.rendering.din5008 import build_address_lines

    if contact["kind"] == "organisation":
        name, names = contact["name"], [contact["name"]]
    else:
        name = f"{contact['first_name']} {contact['last_name']}"
        salutation = {"frau": "Frau", "herr": "Herrn"}.get(contact["salutation"], "")
        names = [n for n in (salutation, name) if n]
    buyer = {
        "name": name,
        "street": contact["street"],
        "postcode": contact["postcode"],
        "city": contact["city"],
        "country": "DE",
        "vat_id": None,
        "electronic_address": contact["email"],
    }
    return {
        **base,
        "buyer": buyer,
        "recipient": build_address_lines(
            names, contact["street"], contact["postcode"], contact["city"], "DE"
        ),
        "address_problem": "",
        "customer_number": contact["customer_number"],
        "consumer": contact["kind"] == "person",
        "buyer_email": contact["email"],
        "buyer_kind": contact["kind"],
    }


@dataclass
class _Issued:
    """What later steps need to know about an issued invoice."""

    id: int
    kind: str
    issue_date: date
    gross: Decimal
    net: Decimal
    contact_id: int
    first_line: int = 0  # index into the line rows
    line_count: int = 0
    cancelled: bool = False
    gross_by_rate: tuple[tuple[Decimal, Decimal], ...] = ()  # (VAT rate, gross) per group


class _Docs:
    """Document rows (ids in insertion order) and their contact links."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.tags: list[dict[str, Any]] = []

    def add(
        self,
        *,
        blob_id: int,
        doc_type: str,
        source: str,
        filename: str,
        day: date,
        at: datetime,
        contact_id: int | None,
        tags: tuple[str, ...] = (),
    ) -> int:
        from kms.modules.contacts.service import search_key
        from kms.modules.documents.service import retention_end

        doc_id = len(self.rows) + 1
        self.rows.append(
            {
                "id": doc_id,
                "blob_id": blob_id,
                "doc_type": doc_type,
                "source": source,
                "title": "",
                "filename": filename,
                "issued_on": day,
                "retain_until": retention_end(doc_type, day),
                "search_key": search_key("", filename, *tags)[:1000],
                "created_at": at,
                "updated_at": at,
            }
        )
        if contact_id is not None:
            self.links.append({"document_id": doc_id, "contact_id": contact_id})
        self.tags += [{"document_id": doc_id, "name": t} for t in tags]
        return doc_id


class _Numbers:
    """Gapless numbers per range and year, handed out in date order (RE-2026-0001)."""

    def __init__(self) -> None:
        self.counters: dict[tuple[str, int], int] = {}
        self.last: dict[tuple[str, int], date] = {}

    def take(self, range_key: str, prefix: str, day: date) -> str:
        key = (range_key, day.year)
        self.counters[key] = self.counters.get(key, 0) + 1
        self.last[key] = day
        return f"{prefix}-{day.year:04d}-{self.counters[key]:04d}"

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"range_key": k[0], "period": k[1], "last_number": n, "last_issue_date": self.last[k]}
            for k, n in self.counters.items()
        ]


class _InvoiceBuilder:
    """Invoices, Stornorechnungen, their lines, files, documents and audit events."""

    def __init__(
        self, session: Session, rng: random.Random, log: _Audit, blobs: _Blobs, docs: _Docs
    ) -> None:
        self.base = _snapshot_parts(session)
        self.rng, self.log, self.blobs, self.docs = rng, log, blobs, docs
        self.numbers = _Numbers()
        self.invoices: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []
        self.files: list[dict[str, Any]] = []
        self.issued: list[_Issued] = []
        self.snapshots: dict[int, dict[str, Any]] = {}
        self.groups: dict[int, tuple[int, int, bytes, bytes]] = {}

    def _files(self, inv: _Issued, number: str, at: datetime) -> None:
        """One placeholder PDF/XML pair per BLOB_GROUP invoices, stored once."""
        group = (inv.id - 1) // BLOB_GROUP
        if group not in self.groups:
            title = f"Platzhalter für bis zu {BLOB_GROUP} Rechnungen ab {number}"
            pdf, xml = _placeholder_pdf(title), _placeholder_xml(title)
            pdf_blob = self.blobs.add(pdf, "application/pdf", ".pdf", at)
            xml_blob = self.blobs.add(xml, "application/xml", ".xml", at)
            self.groups[group] = (pdf_blob, xml_blob, pdf, xml)
        pdf_blob, xml_blob, pdf, xml = self.groups[group]
        doc_type = "cancellation" if inv.kind == "storno" else "invoice"
        # The bytes live once, in Dokumente; invoice_files keep the document and the hash.
        doc_id = self.docs.add(
            blob_id=pdf_blob,
            doc_type=doc_type,
            source="generated",
            filename=f"{number}.pdf",
            day=inv.issue_date,
            at=at,
            contact_id=inv.contact_id,
        )
        xml_id = self.docs.add(
            blob_id=xml_blob,
            doc_type="invoice_xml",
            source="generated",
            filename="factur-x.xml",
            day=inv.issue_date,
            at=at,
            contact_id=inv.contact_id,
        )
        for role, name, mime, content, document_id in (
            ("pdf", f"{number}.pdf", "application/pdf", pdf, doc_id),
            ("facturx_xml", "factur-x.xml", "application/xml", xml, xml_id),
        ):
            self.files.append(
                {
                    "id": len(self.files) + 1,
                    "invoice_id": inv.id,
                    "role": role,
                    "filename": name,
                    "mime_type": mime,
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "size": len(content),
                    "document_id": document_id,
                    "created_at": at,
                }
            )

    def invoice(self, day: date, contact: dict[str, Any], positions: int) -> _Issued:
        from kms.modules.contacts.service import search_key

        rng = self.rng
        inv_id = len(self.invoices) + 1
        at = _at(day, rng)
        number = self.numbers.take("rechnung", "RE", day)
        net_by_rate: dict[Decimal, int] = {}
        descriptions = []
        first_line = len(self.lines)
        for pos in range(1, positions + 1):
            text, unit, price = ITEMS[rng.randrange(len(ITEMS))]
            rate = Decimal("7.00") if text == "Fachbuch" else Decimal("19.00")
            qty = rng.randrange(1, 9)
            net_by_rate[rate] = net_by_rate.get(rate, 0) + qty * price
            descriptions.append(text)
            self.lines.append(
                {
                    "id": len(self.lines) + 1,
                    "invoice_id": inv_id,
                    "position": pos,
                    "description": text,
                    "quantity": Decimal(qty),
                    "unit_code": unit,
                    "unit_price": Decimal(price) / 100,
                    "tax_category": "S",
                    "tax_rate": rate,
                    "net": Decimal(qty * price) / 100,
                }
            )
        # VAT per rate group, rounded half-up to cents (EN 16931 BR-CO-17).
        net = _cents(Decimal(sum(net_by_rate.values())) / 100)
        tax = sum((_cents(Decimal(n) / 100 * r / 100) for r, n in net_by_rate.items()), ZERO)
        gross = net + tax
        groups = tuple(
            (r, _cents(Decimal(n) / 100) + _cents(Decimal(n) / 100 * r / 100))
            for r, n in sorted(net_by_rate.items())
        )
        cid = contact["id"]
        if cid not in self.snapshots:
            self.snapshots[cid] = _snapshot(self.base, contact)
        name = contact["name"] or f"{contact['first_name']} {contact['last_name']}"
        self.invoices.append(
            {
                "id": inv_id,
                "kind": "rechnung",
                "number": number,
                "contact_id": cid,
                "service_date": day,
                "payment_term_days": 14,
                "closing_text": "Vielen Dank für Ihren Auftrag.",
                "net_total": net,
                "tax_total": tax,
                "gross_total": gross,
                "issue_date": day,
                "due_date": day + timedelta(days=14),
                "issued_at": at,
                "issued_by": BENCH_USER,
                "snapshot": self.snapshots[cid],
                "search_key": search_key(name, *descriptions)[:1000],
                "created_at": at,
                "updated_at": at,
            }
        )
        inv = _Issued(
            inv_id, "rechnung", day, gross, net, cid, first_line, positions, gross_by_rate=groups
        )
        self.issued.append(inv)
        self._files(inv, number, at)
        self.log.add(at, "invoice", inv_id, "created", contact_id=cid, gross=gross)
        self.log.add(
            at,
            "invoice",
            inv_id,
            "issued",
            number=number,
            issue_date=day,
            gross=gross,
            net=net,
            tax=tax,
        )
        return inv

    def storno(self, original: _Issued, day: date) -> _Issued:
        """A Stornorechnung with the negated lines of the original (§ 14c UStG)."""
        original.cancelled = True
        inv_id = len(self.invoices) + 1
        at = _at(day, self.rng)
        number = self.numbers.take("storno", "ST", day)
        source = self.invoices[original.id - 1]
        self.invoices.append(
            source
            | {
                "id": inv_id,
                "kind": "storno",
                "number": number,
                "cancels_id": original.id,
                "net_total": -source["net_total"],
                "tax_total": -source["tax_total"],
                "gross_total": -source["gross_total"],
                "issue_date": day,
                "due_date": day,
                "payment_term_days": 0,
                "issued_at": at,
                "search_key": f"{number.lower()} {source['search_key']}"[:1000],
                "created_at": at,
                "updated_at": at,
            }
        )
        first_line = len(self.lines)
        for line in self.lines[original.first_line : original.first_line + original.line_count]:
            self.lines.append(
                line
                | {
                    "id": len(self.lines) + 1,
                    "invoice_id": inv_id,
                    "quantity": -line["quantity"],
                    "net": -line["net"],
                }
            )
        inv = _Issued(
            inv_id,
            "storno",
            day,
            -original.gross,
            -original.net,
            original.contact_id,
            first_line,
            original.line_count,
        )
        self.issued.append(inv)
        self._files(inv, number, at)
        self.log.add(
            at,
            "invoice",
            inv_id,
            "cancelled",
            number=number,
            issue_date=day,
            gross=-original.gross,
            net=-original.net,
            tax=-source["tax_total"],
        )
        return inv


ZERO = Decimal("0.00")


def _positions(rng: random.Random, invoices: int, lines: int, cancelled: set[int]) -> list[int]:
    """1 to 5 positions per invoice; with the Stornos' copies exactly `lines` in all."""
    counts = [1] * invoices
    total = invoices + len(cancelled)  # a Storno repeats its original's lines
    while total < lines:
        i = rng.randrange(invoices)
        if counts[i] < 5 and (i not in cancelled or total + 2 <= lines):
            counts[i] += 1
            total += 2 if i in cancelled else 1
    return counts


def _invoices(
    session: Session,
    scale: Scale,
    rng: random.Random,
    contacts: dict[int, dict[str, Any]],
    first_day: date,
    day0: date,
    log: _Audit,
    blobs: _Blobs,
    docs: _Docs,
) -> tuple[list[_Issued], list[dict[str, Any]]]:
    """Invoices in date order (numbers ascend with the date), Stornos in their place."""
    from kms.modules.invoices.models import Invoice, InvoiceLine, NumberCounter

    build = _InvoiceBuilder(session, rng, log, blobs, docs)
    n_storno = scale.cancellations
    n_inv = scale.invoices - n_storno
    span = (day0 - first_day).days + 1
    dates = sorted(first_day + timedelta(days=rng.randrange(span)) for _ in range(n_inv))
    targets = set(rng.sample(range(n_inv), n_storno))
    positions = _positions(rng, n_inv, scale.lines, targets)
    ids = list(contacts)
    pending: list[tuple[date, int, _Issued]] = []
    for index, day in enumerate(dates):
        pending.sort(key=lambda p: (p[0], p[1]))
        while pending and pending[0][0] <= day:
            build.storno(pending.pop(0)[2], day)
        inv = build.invoice(day, contacts[ids[rng.randrange(len(ids))]], positions[index])
        if index in targets:
            pending.append((min(day0, day + timedelta(days=rng.randrange(0, 30))), index, inv))
    for storno_day, _index, inv in sorted(pending, key=lambda p: (p[0], p[1])):
        build.storno(inv, storno_day)
    _insert(session, Invoice.__table__, build.invoices)
    _insert(session, InvoiceLine.__table__, build.lines)
    _insert(session, NumberCounter.__table__, build.numbers.rows())
    return build.issued, build.files


def _payments(
    session: Session,
    scale: Scale,
    rng: random.Random,
    issued: list[_Issued],
    day0: date,
    log: _Audit,
) -> tuple[int, list[tuple[dict[str, Any], _Issued]]]:
    """Full payments, invoices paid in two parts, and invoices paid in part only;
    returns their count and each payment row with its invoice (for the ledger)."""
    from kms.modules.invoices.models import Payment

    payable = [i for i in issued if i.kind == "rechnung" and not i.cancelled]
    total = scale.payments
    two_parts, partial_only = total // 10, total // 20
    full = total - 2 * two_parts - partial_only
    chosen = rng.sample(payable, min(len(payable), full + two_parts + partial_only))
    rows: list[dict[str, Any]] = []
    paid: list[tuple[dict[str, Any], _Issued]] = []

    def pay(inv: _Issued, amount: Decimal, after: int) -> None:
        paid_on = min(day0, inv.issue_date + timedelta(days=after))
        at = _at(paid_on, rng)
        pid = len(rows) + 1
        net = _cents(amount * inv.net / inv.gross) if inv.gross else ZERO
        rows.append(
            {
                "id": pid,
                "invoice_id": inv.id,
                "paid_on": paid_on,
                "amount": amount,
                "method": "ueberweisung",
                "skonto": ZERO,
                "overpayment": ZERO,
                "net_amount": net,
                "created_at": at,
                "created_by": BENCH_USER,
            }
        )
        paid.append((rows[-1], inv))
        log.add(
            at,
            "invoice",
            inv.id,
            "paid",
            payment_id=pid,
            paid_on=paid_on,
            amount=amount,
            method="ueberweisung",
            skonto=ZERO,
            skonto_split=[],
            overpayment=ZERO,
        )

    for n, inv in enumerate(chosen):
        if n < full:
            pay(inv, inv.gross, rng.randrange(0, 30))
        elif n < full + two_parts:
            first = _cents(inv.gross / 2)
            pay(inv, first, rng.randrange(0, 10))
            pay(inv, inv.gross - first, rng.randrange(10, 40))
        else:
            pay(inv, _cents(inv.gross / 3), rng.randrange(0, 20))
    _insert(session, Payment.__table__, rows)
    return len(rows), paid


# Hand-entered bookings: (category key, tax key, smallest and largest gross in cents).
EXPENSES = (
    ("buerobedarf", "V19", 500, 15_000),
    ("software", "V19", 1_000, 50_000),
    ("telefon", "V19", 2_000, 9_000),
    ("raumkosten", "V19", 40_000, 150_000),
    ("reisekosten", "V19", 2_000, 60_000),
    ("fortbildung", "V19", 5_000, 120_000),
    ("werbung", "V19", 1_000, 80_000),
    ("porto", "NSTB", 85, 2_000),
    ("bankgebuehren", "NSTB", 100, 2_500),
    ("versicherungen", "NSTB", 3_000, 60_000),
    ("fremdleistungen", "V19", 10_000, 300_000),
)
VENDORS = (
    "Bürobedarf Muster GmbH",
    "Beispiel Telekom AG",
    "Muster Immobilien KG",
    "Reisebüro Beispiel",
    "Seminarhaus Muster e.V.",
    "Versicherung Beispiel AG",
    "Druckerei Muster",
)


class _Ledger:
    """Booking rows in the ledger's own shape, with the lines the service would build."""

    def __init__(self, session: Session, log: _Audit) -> None:
        from kms.modules.ledger.models import Category
        from kms.modules.ledger.service import ensure_defaults

        ensure_defaults(session)
        self.log = log
        found = list(session.scalars(sa.select(Category)))
        self.categories = {c.key: c.id for c in found}
        self.fields = {c.key: c.euer_field for c in found}
        self.bookings: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []

    def add(
        self,
        at: datetime,
        day: date,
        account_id: int,
        kind: str,
        parts: list[tuple[str, str, Decimal, str]],  # (category, tax key, gross, text)
        **fields: Any,
    ) -> None:
        from kms.modules.contacts.service import search_key
        from kms.modules.ledger import taxkeys
        from kms.modules.ledger.models import DIRECTION, EINNAHME
        from kms.modules.ledger.service import ENTITY as ENTITY_BOOKING
        from kms.modules.ledger.turnover import line_counts

        booking_id = len(self.bookings) + 1
        lines: list[dict[str, Any]] = []
        for position, (category, tax_key, amount, text) in enumerate(parts, start=1):
            split = taxkeys.split(tax_key, amount, day)
            lines.append(
                {
                    "id": len(self.lines) + 1,
                    "booking_id": booking_id,
                    "position": position,
                    "text": text[:200],
                    "amount": amount,
                    "category_id": self.categories[category],
                    "tax_key": tax_key,
                    "net": split.net,
                    "tax": split.tax,
                    "deductible": split.deductible,
                    "paid_tax": split.paid_tax,
                    "nondeductible": ZERO,
                }
            )
            self.lines.append(lines[-1])
        total = DIRECTION[kind] * sum((amount for _c, _k, amount, _t in parts), ZERO)
        turnover = sum(
            (
                ln["amount"] - ln["paid_tax"]
                for ln, (category, tax_key, _a, _t) in zip(lines, parts, strict=True)
                if kind == EINNAHME and line_counts(tax_key, self.fields[category])
            ),
            ZERO,
        )
        row = {
            "id": booking_id,
            "booking_date": day,
            "account_id": account_id,
            "kind": kind,
            "counterparty": fields.get("counterparty", ""),
            "receipt_number": fields.get("receipt_number", ""),
            "contact_id": fields.get("contact_id"),
            "payment_id": fields.get("payment_id"),
            "source": fields.get("source", "manuell"),
            "note": "",
            "tax_period": "",
            "total": total,
            "turnover_19": turnover,
            "search_key": search_key(
                fields.get("counterparty", ""),
                fields.get("receipt_number", ""),
                *(text[:200] for _c, _k, _a, text in parts),
            )[:1000],
            "created_by": BENCH_USER,
            "created_at": at,
            "updated_at": at,
        }
        self.bookings.append(row)
        self.log.add(
            at,
            ENTITY_BOOKING,
            booking_id,
            "created",
            booking_date=day,
            kind=kind,
            account_id=account_id,
            transfer_account_id=None,
            contact_id=row["contact_id"],
            counterparty=row["counterparty"],
            receipt_number=row["receipt_number"],
            document_id=None,
            payment_id=row["payment_id"],
            tax_period="",
            total=total,
            lines=[
                {
                    k: ln[k]
                    for k in (
                        "amount",
                        "category_id",
                        "tax_key",
                        "net",
                        "tax",
                        "deductible",
                        "nondeductible",
                        "text",
                    )
                }
                for ln in lines
            ],
        )


def _payment_parts(payment: dict[str, Any], inv: _Issued) -> list[tuple[str, str, Decimal, str]]:
    """The payment split over the invoice's VAT groups, the last group taking the rounding
    (as kms.modules.ledger.sync does for a payment without Skonto)."""
    from kms.modules.ledger import taxkeys

    amount: Decimal = payment["amount"]
    parts, remaining = [], amount
    for index, (rate, gross) in enumerate(inv.gross_by_rate):
        last = index == len(inv.gross_by_rate) - 1
        share = remaining if last else _cents(amount * gross / inv.gross)
        remaining -= share
        if share:
            key = taxkeys.for_invoice("S", rate)
            parts.append(("erloese", key, share, f"Zahlung zu Rechnung {inv.id} ({key})"))
    return parts


def _ledger(
    session: Session,
    scale: Scale,
    rng: random.Random,
    paid: list[tuple[dict[str, Any], _Issued]],
    first_day: date,
    day0: date,
    log: _Audit,
) -> int:
    """The books: a bank account, every payment booked as income exactly as the ledger's
    sync would (so the sync finds nothing to do), and hand-entered expenses over
    `ledger_years` years up to `scale.bookings` bookings in all."""
    from kms.modules.ledger.models import Account, Booking, BookingLine

    if not scale.bookings:
        return 0
    at0 = _at(first_day, rng)
    account = Account(
        name="Geschäftskonto",
        kind="bank",
        iban="DE02120300000000202051",
        opening_balance=Decimal("25000.00"),
        opening_date=first_day,
        is_default=True,
        created_at=at0,
    )
    session.add(account)
    session.flush()
    log.add(at0, "ledger_account", account.id, "created", name=account.name)
    ledger = _Ledger(session, log)
    manual = max(0, scale.bookings - len(paid))
    span = (day0 - first_day).days + 1
    manual_days = sorted(first_day + timedelta(days=rng.randrange(span)) for _ in range(manual))
    payments = sorted(paid, key=lambda p: (p[0]["paid_on"], p[0]["id"]))
    # Both streams in date order, so booking ids and the audit chain ascend with time.
    pi = mi = 0
    while pi < len(payments) or mi < len(manual_days):
        take_payment = mi >= len(manual_days) or (
            pi < len(payments) and payments[pi][0]["paid_on"] <= manual_days[mi]
        )
        if take_payment:
            payment, inv = payments[pi]
            pi += 1
            ledger.add(
                payment["created_at"],
                payment["paid_on"],
                account.id,
                "einnahme",
                _payment_parts(payment, inv),
                contact_id=inv.contact_id,
                payment_id=payment["id"],
                source="zahlung",
            )
            continue
        day = manual_days[mi]
        mi += 1
        parts = []
        for _ in range(1 + (rng.random() < 0.2)):
            category, tax_key, low, high = EXPENSES[rng.randrange(len(EXPENSES))]
            gross = Decimal(rng.randrange(low, high)) / 100
            parts.append((category, tax_key, gross, category.capitalize()))
        ledger.add(
            _at(day, rng),
            day,
            account.id,
            "ausgabe",
            parts,
            counterparty=VENDORS[rng.randrange(len(VENDORS))],
            receipt_number=f"B-{day.year}-{mi:06d}",
        )
    _insert(session, Booking.__table__, ledger.bookings)
    _insert(session, BookingLine.__table__, ledger.lines)
    return len(ledger.bookings)


def _documents(
    scale: Scale,
    rng: random.Random,
    contacts: dict[int, dict[str, Any]],
    first_day: date,
    day0: date,
    blobs: _Blobs,
    docs: _Docs,
) -> int:
    """Small uploaded files (text), each its own blob, most linked to a contact."""
    span = (day0 - first_day).days + 1
    ids = list(contacts)
    for n in range(1, scale.documents + 1):
        day = first_day + timedelta(days=rng.randrange(span))
        at = _at(day, rng)
        content = f"KMS Benchmark-Dokument {n} (erfunden)\n{'Lorem ipsum ' * rng.randrange(5, 80)}"
        blob = blobs.add(content.encode(), "text/plain", ".txt", at)
        docs.add(
            blob_id=blob,
            doc_type="upload",
            source="upload",
            filename=f"notiz-{n:05d}.txt",
            day=day,
            at=at,
            contact_id=ids[rng.randrange(len(ids))] if rng.random() < 0.8 else None,
            tags=("Benchmark",) if n % 10 == 0 else (),
        )
    return scale.documents


def _letters(
    scale: Scale,
    rng: random.Random,
    contacts: dict[int, dict[str, Any]],
    first_day: date,
    day0: date,
    blobs: _Blobs,
    docs: _Docs,
) -> list[dict[str, Any]]:
    """Sent letters (post) whose frozen PDFs share one placeholder per BLOB_GROUP."""
    span = (day0 - first_day).days + 1
    ids = list(contacts)
    rows: list[dict[str, Any]] = []
    pdf = b""
    blob = 0
    for n in range(1, scale.letters + 1):
        day = first_day + timedelta(days=rng.randrange(span))
        at = _at(day, rng)
        if (n - 1) % BLOB_GROUP == 0:
            pdf = _placeholder_pdf(f"Platzhalter für bis zu {BLOB_GROUP} Schreiben ab Nr. {n}")
            blob = blobs.add(pdf, "application/pdf", ".pdf", at)
        contact = contacts[ids[rng.randrange(len(ids))]]
        name = contact["name"] or f"{contact['first_name']} {contact['last_name']}"
        subject = f"Ihre Anfrage Nr. {n}"
        doc_id = docs.add(
            blob_id=blob,
            doc_type="letter",
            source="generated",
            filename=f"brief-{n:05d}.pdf",
            day=day,
            at=at,
            contact_id=contact["id"],
        )
        rows.append(
            {
                "id": n,
                "contact_id": contact["id"],
                "recipient_lines": "\n".join(
                    [name, contact["street"], f"{contact['postcode']} {contact['city']}"]
                ),
                "subject": subject,
                "printed_subject": subject,
                "letter_date": day,
                "salutation": "Sehr geehrte Damen und Herren,",
                "closing": "Mit freundlichen Grüßen",
                "signature": "Erika Mustermann",
                "body": "vielen Dank für Ihre Anfrage. Dies ist ein erfundener Benchmark-Brief.",
                "status": "versendet",
                "pdf_sha256": hashlib.sha256(pdf).hexdigest(),
                "sent_at": at,
                "sent_via": "post",
                "document_id": doc_id,
                "created_by": BENCH_USER,
                "created_at": at,
                "updated_at": at,
            }
        )
    return rows

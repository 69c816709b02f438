"""Leistungen und Artikel: the price list whose items fill invoice positions.

An article holds what a position needs (Bezeichnung and description, UN/ECE Rec 20 unit, net
unit price with up to four decimals, tax category and rate). Picking one copies its values
into a position (`line_from_article`): the position stays editable and is frozen on issue
like every other, so changing or archiving an article never changes a document. Units, tax
options and the Kleinunternehmer rule are the invoices module's own (kms.modules.invoices
.service), not a second copy.

Import (CSV or XLSX) and export (CSV, XLSX) follow the contacts import's rules through
kms.tabular: all rows or none, every problem named by its row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kms import audit, registry, tabular
from kms.errors import (
    ConflictError,
    FieldErrors,
    KmsError,
    NotFoundError,
    ValidationError,
)
from kms.formatting import format_unit_price, neutralise, search_key
from kms.modules.invoices.models import Article
from kms.modules.invoices.service import (
    OPTIONS_BY_REGIME,
    TAX_OPTIONS,
    UNIT_CODES,
    allowed_tax_options,
    tax_key,
)
from kms.paging import Page, paginate
from kms.permissions import Permission, require_permission
from kms.rendering.glyphs import validate_printable
from kms.types import today
from kms.validation import parse_decimal

ENTITY = "article"
ARCHIVE_FILTERS = {"active": "nur aktive", "archived": "nur archivierte", "all": "alle"}
FIELD_LABELS = {
    "number": "Nummer",
    "name": "Bezeichnung",
    "description": "Beschreibung",
    "unit_code": "Einheit",
    "unit_price": "Einzelpreis netto",
    "tax": "Steuer",
    "offering_id": "Preiskalkulation",
}
FIELDS = ("number", "name", "description", "unit_code", "unit_price", "tax", "offering_id")
PRICING = "pricing"


# --- validation --------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def parse_tax(value: Any) -> str:
    """A tax option key from its key ("S19"), label („19 % USt“) or a bare rate ("19", "7 %")."""
    text = _text(value)
    for key, option in TAX_OPTIONS.items():
        if text.casefold() in (key.casefold(), option.label.casefold()):
            return key
    rate = text.removesuffix("%").strip().replace(",", ".")
    if rate in ("19", "19.00", "7", "7.00"):
        return f"S{int(Decimal(rate))}"
    raise ValidationError(
        "tax",
        f"Unbekannter Steuersatz „{text}“: bitte einen aus der Liste wählen "
        f"({', '.join(o.label for o in TAX_OPTIONS.values())}).",
    )


def tax_from_category(category: Any, rate: Any) -> str:
    """The tax option of an EN 16931 category and rate; refuses a rate the category forbids."""
    code = _text(category).upper()
    try:
        percent = parse_decimal(_text(rate) or "0", max_scale=2, field="tax")
    except ValidationError as exc:
        raise ValidationError("tax", f"Steuersatz: {exc.message}") from exc
    matches = [k for k, o in TAX_OPTIONS.items() if o.category.value == code]
    if not matches:
        raise ValidationError("tax", f"Unbekannte Steuerkategorie „{code}“.")
    for key in matches:
        if TAX_OPTIONS[key].rate == percent:
            return key
    allowed = " oder ".join(f"{TAX_OPTIONS[k].rate.normalize():f} %" for k in matches)
    raise ValidationError(
        "tax",
        f"Der Steuersatz {percent.normalize():f} % ist in der Steuerkategorie {code} nicht "
        f"möglich (erlaubt: {allowed}).",
    )


def _tax_key(session: Session, values: dict[str, Any]) -> str:
    """The article's tax option: given as `tax`, or as `tax_category` and `tax_rate`; without
    any, the first option the Besteuerung allows today. The Besteuerung (Kleinunternehmer or
    Regelbesteuerung) limits the choice as it does on an invoice."""
    allowed = allowed_tax_options(session, today())
    if _text(values.get("tax")):
        key = parse_tax(values["tax"])
    elif _text(values.get("tax_category")):
        key = tax_from_category(values["tax_category"], values.get("tax_rate"))
    else:
        key = allowed[0] if allowed else "S19"
    if allowed and key not in allowed:
        small = allowed == OPTIONS_BY_REGIME["klein"]
        reason = (
            "Als Kleinunternehmer (§ 19 UStG) berechnen Sie keine Umsatzsteuer"
            if small
            else "Bei Regelbesteuerung ist § 19 UStG nicht möglich"
        )
        raise ValidationError(
            "tax",
            f"„{TAX_OPTIONS[key].label}“ passt nicht zu Ihrer Besteuerung: {reason} "
            f"(Einstellungen → Besteuerung). Möglich: "
            f"{', '.join(TAX_OPTIONS[k].label for k in allowed)}.",
        )
    return key


def _unit_code(value: Any) -> str:
    text = _text(value)
    if not text:
        raise ValidationError(
            "unit_code", "Bitte eine Einheit angeben (z. B. Stunde, Tag, Stück oder HUR, DAY, C62)."
        )
    code = next(
        (
            c
            for c, label in UNIT_CODES.items()
            if text.casefold() in (c.casefold(), label.casefold())
        ),
        "",
    )
    if not code:
        raise ValidationError(
            "unit_code",
            f"Unbekannte Einheit „{text}“: bitte eine Einheit aus der Liste wählen "
            "(UN/ECE Rec 20, z. B. HUR für Stunde, C62 für Stück).",
        )
    return code


def _price(value: Any) -> Decimal:
    if isinstance(value, float):
        value = str(value)
    text = value if isinstance(value, Decimal | int) else _text(value)
    if text == "":
        raise ValidationError("unit_price", "Bitte einen Einzelpreis (netto) angeben.")
    price = parse_decimal(text, max_scale=4, field="unit_price")
    if price < 0:
        raise ValidationError(
            "unit_price",
            "Der Einzelpreis darf nicht negativ sein; ein Abzug gehört als Rabatt in die Rechnung.",
        )
    return price


def pricing_usable(session: Session) -> bool:
    """Whether the Preiskalkulation add-on is installed and licensed now."""
    spec = next((s for s in registry.modules() if s.key == PRICING), None)
    return spec is not None and registry.usable(session, spec)


def _offering_id(session: Session, value: Any) -> int | None:
    """The Preiskalkulation offering; checked only while that add-on is usable (it may be
    unlicensed or absent: then the id is kept as given, and nothing refers to its table)."""
    text = _text(value)
    if not text:
        return None
    try:
        offering_id = int(text)
    except ValueError as exc:
        raise ValidationError("offering_id", f"„{text}“ ist keine Angebotsnummer.") from exc
    if offering_id <= 0:
        raise ValidationError("offering_id", f"„{text}“ ist keine Angebotsnummer.")
    if pricing_usable(session):
        from kms.modules.pricing.models import Offering

        if session.get(Offering, offering_id) is None:
            raise ValidationError(
                "offering_id",
                f"Ein Angebot {offering_id} gibt es in der Preiskalkulation nicht (mehr).",
            )
    return offering_id


def clean_article(
    session: Session, values: dict[str, Any], *, article_id: int | None = None
) -> dict[str, Any]:
    """Validate an article's fields; every problem at once (ValidationErrors), German."""
    unknown = set(values) - {*FIELDS, "tax_category", "tax_rate"}
    if unknown:
        raise TypeError(f"unexpected article fields {sorted(unknown)}")
    errors = FieldErrors()
    out: dict[str, Any] = {}
    with errors.field("name"):
        out["name"] = " ".join(_text(values.get("name")).split())
        if not out["name"]:
            raise ValidationError("name", "Bitte eine Bezeichnung angeben.")
        if len(out["name"]) > 200:
            raise ValidationError("name", "Die Bezeichnung hat höchstens 200 Zeichen.")
        validate_printable(out["name"], field="name")
    with errors.field("number"):
        number = _text(values.get("number")) or None
        if number is not None and len(number) > 40:
            raise ValidationError("number", "Die Nummer hat höchstens 40 Zeichen.")
        if number is not None:
            validate_printable(number, field="number")
            taken = session.scalar(
                select(Article).where(Article.number == number, Article.id != (article_id or 0))
            )
            if taken is not None:
                raise ValidationError("number", f"Die Nummer „{number}“ hat schon „{taken.name}“.")
        out["number"] = number
    with errors.field("description"):
        out["description"] = _text(values.get("description"))
        validate_printable(out["description"], field="description")
    with errors.field("unit_code"):
        out["unit_code"] = _unit_code(values.get("unit_code"))
    with errors.field("unit_price"):
        out["unit_price"] = _price(values.get("unit_price"))
    with errors.field("tax"):
        option = TAX_OPTIONS[_tax_key(session, values)]
        out["tax_category"], out["tax_rate"] = option.category.value, option.rate
    with errors.field("offering_id"):
        out["offering_id"] = _offering_id(session, values.get("offering_id"))
    errors.raise_if_any()
    return out


# --- services ----------------------------------------------------------------------------


def get_article(session: Session, article_id: int) -> Article:
    """An article by id, or a German error."""
    article = session.get(Article, article_id)
    if article is None:
        raise NotFoundError("Diese Leistung bzw. diesen Artikel gibt es nicht (mehr).")
    return article


def _apply(article: Article, data: dict[str, Any]) -> None:
    for key, value in data.items():
        setattr(article, key, value)
    article.search_key = search_key(article.number or "", article.name, article.description)[:1000]


def create_article(session: Session, *, actor: str = "", **values: Any) -> Article:
    """Add an item to the price list; nothing is saved when a field is wrong."""
    require_permission(Permission.INVOICES_WRITE, session)
    data = clean_article(session, values)
    article = Article()
    _apply(article, data)
    session.add(article)
    session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id=article.id,
        action="created",
        actor=actor,
        name=article.name,
        unit_price=article.unit_price,
    )
    return article


def update_article(
    session: Session,
    article_id: int,
    *,
    version: int | None = None,
    actor: str = "",
    **values: Any,
) -> Article:
    """Change an item; positions that took it earlier keep their own values."""
    require_permission(Permission.INVOICES_WRITE, session)
    article = get_article(session, article_id)
    if version is not None and article.version != version:
        raise ConflictError(
            "Dieser Eintrag wurde inzwischen anderswo geändert. Bitte laden Sie die Seite neu."
        )
    data = clean_article(session, values, article_id=article.id)
    changed = sorted(k for k, v in data.items() if getattr(article, k) != v)
    _apply(article, data)
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError("Der Eintrag wurde gleichzeitig geändert. Bitte neu laden.") from exc
    if changed:
        audit.record(
            session,
            entity=ENTITY,
            entity_id=article.id,
            action="updated",
            actor=actor,
            fields=", ".join(changed),
        )
    return article


def _set_archived(session: Session, article_id: int, archived: bool, actor: str) -> Article:
    article = get_article(session, article_id)
    if article.archived != archived:
        article.archived = archived
        session.flush()
        audit.record(
            session,
            entity=ENTITY,
            entity_id=article.id,
            action="archived" if archived else "unarchived",
            actor=actor,
        )
    return article


def archive_article(session: Session, article_id: int, *, actor: str = "") -> Article:
    """Take an item off the picker; documents that used it keep their positions."""
    require_permission(Permission.INVOICES_WRITE, session)
    return _set_archived(session, article_id, True, actor)


def unarchive_article(session: Session, article_id: int, *, actor: str = "") -> Article:
    """Offer an archived item again."""
    require_permission(Permission.INVOICES_WRITE, session)
    return _set_archived(session, article_id, False, actor)


def _filtered(search: str = "", archived: str = "active") -> Any:
    query = select(Article)
    if archived == "active":
        query = query.where(Article.archived.is_(False))
    elif archived == "archived":
        query = query.where(Article.archived.is_(True))
    for term in search_key(search).split():
        query = query.where(Article.search_key.contains(term, autoescape=True))
    return query


def list_articles(
    session: Session,
    *,
    search: str = "",
    archived: str = "active",
    page: int = 1,
    page_size: int = 25,
) -> Page[Article]:
    """One page of the price list, searched and paged in SQL, by name."""
    require_permission(Permission.INVOICES_READ, session)
    query = _filtered(search, archived).order_by(Article.name, Article.id)
    return paginate(session, query, page=page, size=page_size)


def article_choices(session: Session, *, limit: int = 500) -> dict[int, str]:
    """id → "Nummer · Bezeichnung (Preis)" of the active items, for a position picker."""
    rows = session.execute(
        select(Article.id, Article.number, Article.name, Article.unit_price, Article.unit_code)
        .where(Article.archived.is_(False))
        .order_by(Article.name, Article.id)
        .limit(limit)
    ).all()
    return {
        r[0]: (f"{r[1]} · " if r[1] else "")
        + f"{r[2]} ({format_unit_price(r[3])} € je {UNIT_CODES.get(r[4], r[4])})"
        for r in rows
    }


def line_from_article(article: Article) -> dict[str, Any]:
    """The fields of an invoice position taken from an item (quantity 1, no discount), in the
    form `service.save_draft(lines=…)` takes; the caller may change every value afterwards."""
    description = article.name
    if article.description.strip():
        description += "\n" + article.description.strip()
    return {
        "description": description,
        "quantity": Decimal("1"),
        "unit_code": article.unit_code,
        "unit_price": article.unit_price,
        "tax": tax_key(article),
        "tax_category": article.tax_category,
        "tax_rate": article.tax_rate,
        "discount_kind": "",
        "discount_value": None,
        "discount_reason": "",
    }


# --- import and export -------------------------------------------------------------------

# field → (export header, import synonyms)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "number": ("Nummer", ("Artikelnummer", "Art.-Nr.", "Artikel-Nr.", "Kürzel", "Code")),
    "name": ("Bezeichnung", ("Name", "Artikel", "Leistung", "Artikelname")),
    "description": ("Beschreibung", ("Langtext", "Text", "Artikelbeschreibung")),
    "unit_code": ("Einheit", ("Mengeneinheit", "Einheitencode", "Unit")),
    "unit_price": (
        "Einzelpreis netto",
        ("Einzelpreis", "Preis", "Nettopreis", "Preis netto", "Netto"),
    ),
    "tax": ("Steuer", ("Steuersatz", "USt", "MwSt", "Umsatzsteuer")),
    "offering_id": ("Preiskalkulation", ("Angebot", "Angebots-ID")),
    "archived": ("Archiviert", ()),
}
_HEADER_MAP = tabular.header_map(COLUMNS)
_YES = {"ja", "j", "x", "1", "true", "wahr"}


@dataclass
class ArticleRow:
    """One row of the file: the checked values, or what is wrong with them."""

    row: int
    values: dict[str, Any] = field(default_factory=dict)
    archived: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class ArticlePlan(tabular.ImportPlan):
    """What importing a file would create; nothing is written while a problem remains."""

    rows: list[ArticleRow] = field(default_factory=list)
    created: int = 0

    def preview(self) -> list[dict[str, str]]:
        """Rows for the preview table."""
        return [
            {
                "Zeile": str(r.row),
                "Nummer": r.values.get("number") or "",
                "Bezeichnung": r.values.get("name", ""),
                "Einzelpreis": format_unit_price(r.values["unit_price"])
                if "unit_price" in r.values
                else "",
                "Fehler": " ".join(r.errors),
            }
            for r in self.rows
        ]


def _messages(exc: KmsError) -> list[str]:
    return tabular.field_messages(exc, FIELD_LABELS)


def plan_import(session: Session, data: bytes) -> ArticlePlan:
    """Read and check a CSV or XLSX file without writing anything; problems name their row."""
    plan = ArticlePlan()
    records = plan.read(data)
    if records is None:
        return plan
    header = [cell.strip() for cell in records[0]]
    found = tabular.columns(header, _HEADER_MAP)
    plan.ignored_columns = found.ignored
    # A field named by two columns takes the first; the other is listed as ignored.
    plan.ignored_columns += [header[i] for ids in found.index.values() for i in ids[1:]]
    index = {name: ids[0] for name, ids in found.index.items()}
    missing = [COLUMNS[f][0] for f in ("name", "unit_code", "unit_price") if f not in index]
    if missing:
        plan.file_errors.append(
            f"In der Kopfzeile (Zeile 1) {'fehlt' if len(missing) == 1 else 'fehlen'} "
            + " und ".join(f"„{m}“" for m in missing)
            + ". Gefunden: "
            + (", ".join(f"„{h}“" for h in header if h) or "keine Spalten")
            + "."
        )
        return plan
    if len(records) == 1:
        plan.file_errors.append("Die Datei enthält nur die Kopfzeile, aber keine Einträge.")
        return plan
    numbers: dict[str, int] = {}
    for row_no, record in enumerate(records[1:], start=2):
        row = ArticleRow(row=row_no)
        plan.rows.append(row)
        if len(record) > len(header) and any(c.strip() for c in record[len(header) :]):
            row.errors.append(
                f"Die Zeile hat {len(record)} Felder, die Kopfzeile nur {len(header)}. "
                "Fehlen Anführungszeichen um einen Wert mit Trennzeichen?"
            )
            continue
        raw = {
            name: tabular.unneutralise(record[i].strip()) if i < len(record) else ""
            for name, i in index.items()
        }
        row.archived = raw.pop("archived", "").casefold() in _YES
        try:
            row.values = clean_article(session, {k: raw.get(k, "") for k in FIELDS})
        except KmsError as exc:
            row.errors.extend(_messages(exc))
            continue
        number = row.values.get("number")
        if number and number in numbers:
            row.errors.append(f"Die Nummer „{number}“ steht schon in Zeile {numbers[number]}.")
        elif number:
            numbers[number] = row_no
    return plan


def apply_import(session: Session, plan: ArticlePlan, *, actor: str = "") -> ArticlePlan:
    """Create every planned item, or nothing: a plan with any problem is refused."""
    require_permission(Permission.INVOICES_WRITE, session)
    if not plan.ok:
        raise KmsError(
            f"Der Import wurde nicht ausgeführt: {len(plan.problems)} Problem(e) in der Datei. "
            "Nichts wurde importiert."
        )
    for row in plan.rows:
        article = Article(archived=row.archived)
        _apply(article, row.values)
        session.add(article)
        plan.created += 1
    session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id="import",
        action="imported",
        actor=actor,
        count=plan.created,
    )
    plan.imported = True
    return plan


def import_articles(
    session: Session, data: bytes, *, dry_run: bool = False, actor: str = ""
) -> ArticlePlan:
    """Plan and (unless dry_run or there are problems) import; the caller commits."""
    plan = plan_import(session, data)
    if plan.ok and not dry_run:
        apply_import(session, plan, actor=actor)
    return plan


def _export_values(article: Article) -> dict[str, str]:
    return {
        "number": article.number or "",
        "name": article.name,
        "description": article.description,
        "unit_code": article.unit_code,
        "unit_price": format_unit_price(article.unit_price),
        "tax": TAX_OPTIONS[tax_key(article)].label,
        "offering_id": str(article.offering_id or ""),
        "archived": "ja" if article.archived else "",
    }


def export_rows(
    session: Session, *, search: str = "", archived: str = "all"
) -> Iterator[list[str]]:
    """Header, then one neutralised row per item (filters as in list_articles)."""
    require_permission(Permission.INVOICES_READ, session)
    require_permission(Permission.EXPORT, session)
    yield [header for header, _synonyms in COLUMNS.values()]
    query = _filtered(search, archived).order_by(Article.name, Article.id)
    for article in session.scalars(query.execution_options(yield_per=500)):
        values = _export_values(article)
        yield [neutralise(values[f]) for f in COLUMNS]


def export_csv(session: Session, **filters: Any) -> bytes:
    """CSV for Excel: UTF-8 with BOM, semicolon, CRLF."""
    return tabular.write_csv(export_rows(session, **filters))


def export_xlsx(session: Session, **filters: Any) -> bytes:
    """An XLSX workbook (every cell text, formulas neutralised)."""
    return tabular.write_xlsx(export_rows(session, **filters), "Leistungen und Artikel")

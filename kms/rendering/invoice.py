"""Invoices and Stornorechnungen as DIN 5008 PDFs (PDF/A-3B, ready for the Factur-X XML).

Everything printed comes from the EN 16931 `InvoiceDocument` and the amounts computed by
`kms.einvoice.calc`, so the PDF and the embedded XML can never disagree. The mandatory
content of § 14 Abs. 4 UStG is printed: names and addresses (Nr. 1), Steuernummer or
USt-IdNr. (Nr. 2), date (Nr. 3), number (Nr. 4), quantity and kind of the goods or
services (Nr. 5), Leistungsdatum/-zeitraum (Nr. 6), net amounts per rate, discounts (Nr. 7),
rate and tax, or the exemption note (Nr. 8), and the § 14a notes for § 13b and EU supplies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from kms.einvoice.calc import AllowanceAmounts, LineAmounts, Totals, compute, skonto_amount
from kms.einvoice.model import DocumentType, InvoiceDocument, TaxCategory, unit_label
from kms.formatting import format_date, format_money, format_number, format_unit_price
from kms.rendering.din5008 import (
    BODY_BOTTOM,
    BODY_LH,
    FONT,
    TEXT_RIGHT,
    TEXT_W,
    TEXT_X,
    Din5008Pdf,
    clean_line,
    render_paginated,
)
from kms.rendering.girocode import GiroCode, girocode_png
from kms.rendering.models import Company

__all__ = ["CONSUMER_DEFAULT_NOTE", "InvoiceLayout", "render_invoice"]

TABLE_PT, TABLE_LH = 8.5, 4.0
# (title, width mm, alignment); widths add up to the 165 mm text width.
COLUMNS = (
    ("Pos.", 8.0, "L"),
    ("Beschreibung", 52.0, "L"),
    ("Menge", 15.0, "R"),
    ("Einheit", 17.0, "L"),
    ("Einzelpreis", 21.0, "R"),
    ("Rabatt", 18.0, "R"),
    ("USt", 13.0, "R"),
    ("Netto", 21.0, "R"),
)
GIRO_W = 30.0  # GiroCode edge in mm (EPC069-12 recommends at least 2 × 2 cm)
# § 286 Abs. 3 S. 1 Hs. 2 BGB: a consumer defaults 30 days after due date and receipt only
# if the invoice points this out.
CONSUMER_DEFAULT_NOTE = (
    "Hinweis nach § 286 Abs. 3 BGB: Sie kommen spätestens 30 Tage nach Fälligkeit und Zugang "
    "dieser Rechnung in Verzug, auch ohne Mahnung."
)
CATEGORY_LABELS = {
    TaxCategory.EXEMPT: "steuerfrei",
    TaxCategory.REVERSE_CHARGE: "§ 13b",
    TaxCategory.INTRA_COMMUNITY: "ig. Lief.",
    TaxCategory.EXPORT: "Ausfuhr",
    TaxCategory.NOT_SUBJECT: "n. steuerb.",
    TaxCategory.ZERO: "0 %",
}


@dataclass(frozen=True)
class InvoiceLayout:
    """What the PDF prints besides the invoice data: sender, window address, texts."""

    company: Company
    recipient: tuple[str, ...]
    intro: str = ""
    closing: str = ""
    customer_number: str = ""
    buyer_vat_id: str = ""
    consumer: bool = False
    girocode: GiroCode | None = None


def render_invoice(
    doc: InvoiceDocument, layout: InvoiceLayout, *, created_at: datetime | None = None
) -> bytes:
    """The invoice (or Stornorechnung) as PDF/A-3B bytes; fixed created_at → same bytes."""
    created = created_at or datetime.now(UTC)
    totals = compute(doc)
    qr = girocode_png(layout.girocode) if layout.girocode else None
    return render_paginated(lambda total: _build(doc, layout, totals, qr, total, created))


def _is_cancellation(doc: InvoiceDocument) -> bool:
    return doc.type_code is DocumentType.CREDIT_NOTE


def _title(doc: InvoiceDocument) -> str:
    return f"{'Stornorechnung' if _is_cancellation(doc) else 'Rechnung'} {doc.number}"


def _signed(doc: InvoiceDocument, value: Decimal) -> str:
    """Money; a Stornorechnung prints the reversing amounts with a minus sign."""
    return format_money(-value if _is_cancellation(doc) and value else value)


def _build(
    doc: InvoiceDocument,
    layout: InvoiceLayout,
    totals: Totals,
    qr: bytes | None,
    page_total: int | None,
    created: datetime,
) -> Din5008Pdf:
    pdf = Din5008Pdf(
        layout.company,
        running_title=_title(doc),
        date_text=format_date(doc.issue_date),
        page_total=page_total,
    )
    pdf.set_document_info(_title(doc), created)
    pdf.add_page()
    pdf.draw_address(layout.recipient)
    bottom = pdf.draw_info_block(_info(doc, layout))
    pdf.set_y(max(97.0, bottom + 2 * BODY_LH))
    pdf.write_line(_title(doc), style="B", size=13)
    if _is_cancellation(doc) and doc.preceding_invoices:
        ref = doc.preceding_invoices[0]
        when = f" vom {format_date(ref.issue_date)}" if ref.issue_date else ""
        pdf.write_line(f"zur Rechnung {ref.number}{when}", style="B")
    pdf.blank_line()
    if layout.intro.strip():
        pdf.write_markdown(layout.intro)
        pdf.blank_line()
    _table(pdf, doc, totals)
    _totals(pdf, doc, totals)
    _notes(pdf, doc, layout, totals, qr)
    if layout.closing.strip():
        pdf.blank_line()
        pdf.write_markdown(layout.closing)
    return pdf


def _info(doc: InvoiceDocument, layout: InvoiceLayout) -> list[tuple[str, str]]:
    """Information block: number, dates, customer, references, contact."""
    kind = "Storno-Nr." if _is_cancellation(doc) else "Rechnungs-Nr."
    pairs = [(kind, doc.number), ("Rechnungsdatum", format_date(doc.issue_date))]
    if doc.period is not None:
        span = f"{format_date(doc.period.start)} – {format_date(doc.period.end)}"
        pairs.append(("Leistungszeitraum", span))
    elif doc.delivery_date is not None:
        pairs.append(("Leistungsdatum", format_date(doc.delivery_date)))
    if layout.customer_number:
        pairs.append(("Kunden-Nr.", layout.customer_number))
    if layout.buyer_vat_id:
        pairs.append(("Ihre USt-IdNr.", layout.buyer_vat_id))
    if doc.buyer_reference:
        pairs.append(
            (
                "Leitweg-ID" if _looks_like_leitweg(doc.buyer_reference) else "Ihr Zeichen",
                doc.buyer_reference,
            )
        )
    company = layout.company
    pairs += [
        (label, value)
        for label, value in (
            ("Ansprechpartner", company.contact_person),
            ("Telefon", company.phone),
            ("E-Mail", company.email),
        )
        if value
    ]
    return pairs


def _looks_like_leitweg(reference: str) -> bool:
    parts = reference.split("-")
    return len(parts) >= 2 and parts[0].isdigit() and parts[-1].isdigit()


# --- positions table ----------------------------------------------------------------


def _table(pdf: Din5008Pdf, doc: InvoiceDocument, totals: Totals) -> None:
    _table_header(pdf)
    for amounts in totals.lines:
        cells = _row_cells(doc, amounts)
        description = amounts.line.description
        allowance = amounts.line.allowance
        extra = f"Rabatt: {allowance.reason}" if allowance else ""
        height = _row_height(pdf, description, extra)
        if pdf.get_y() + height > BODY_BOTTOM:
            pdf.add_page()
            _table_header(pdf)
        _row(pdf, cells, description, extra, height)
    pdf.set_draw_color(150)
    pdf.line(TEXT_X, pdf.get_y(), TEXT_RIGHT, pdf.get_y())


def _table_header(pdf: Din5008Pdf) -> None:
    pdf.set_font(FONT, "B", TABLE_PT)
    pdf.set_fill_color(235)
    pdf.set_x(TEXT_X)
    y = pdf.get_y()
    pdf.cell(TEXT_W, TABLE_LH + 1.5, "", fill=True)
    x = TEXT_X
    for title, width, align in COLUMNS:
        _padded_cell(pdf, x, y + 0.75, width, title, align)
        x += width
    pdf.set_y(y + TABLE_LH + 2.5)


def _padded_cell(pdf: Din5008Pdf, x: float, y: float, width: float, text: str, align: str) -> None:
    """A cell with 1.5 mm space towards its neighbours (numbers right, text left)."""
    pad = 1.5 if x > TEXT_X else 0.0
    if align == "R":
        pdf.set_xy(x, y)
        pdf.cell(width - (0 if x + width >= TEXT_RIGHT - 0.1 else pad), TABLE_LH, text, align="R")
    else:
        pdf.set_xy(x + pad, y)
        pdf.cell(width - pad, TABLE_LH, text, align="L")


def _row_cells(doc: InvoiceDocument, amounts: LineAmounts) -> list[str]:
    line = amounts.line
    discount = ""
    if line.allowance is not None:
        if line.allowance.percent is not None:
            discount = f"{format_number(line.allowance.percent)} %"
        else:
            discount = _signed(doc, amounts.allowance)
    if line.tax_category is TaxCategory.STANDARD:
        tax = f"{format_number(line.tax_rate)} %"
    else:
        tax = CATEGORY_LABELS.get(line.tax_category, line.tax_category.value)
    return [
        line.id,
        "",
        format_number(line.quantity, 4),
        unit_label(line.unit_code),
        f"{format_unit_price(line.unit_price)}\xa0€",
        discount,
        tax,
        _signed(doc, amounts.net),
    ]


def _description_lines(pdf: Din5008Pdf, text: str) -> list[str]:
    pdf.set_font(FONT, "", TABLE_PT)
    lines: list[str] = []
    for part in text.splitlines() or [""]:
        wrapped = pdf.multi_cell(
            COLUMNS[1][1] - 3.0, TABLE_LH, clean_line(part), dry_run=True, output="LINES"
        )
        lines.extend(wrapped if isinstance(wrapped, list) and wrapped else [""])
    return lines


def _row_height(pdf: Din5008Pdf, description: str, extra: str) -> float:
    count = len(_description_lines(pdf, description)) + (1 if extra else 0)
    return count * TABLE_LH + 1.5


def _row(pdf: Din5008Pdf, cells: Sequence[str], description: str, extra: str, h: float) -> None:
    top = pdf.get_y() + 0.75
    x = TEXT_X
    pdf.set_font(FONT, "", TABLE_PT)
    for (_title, width, align), text in zip(COLUMNS, cells, strict=True):
        pdf.set_xy(x, top)
        if _title == "Beschreibung":
            for index, line in enumerate(_description_lines(pdf, description)):
                pdf.set_xy(x + 1.5, top + index * TABLE_LH)
                pdf.cell(width - 1.5, TABLE_LH, line)
            if extra:
                pdf.set_font(FONT, "I", TABLE_PT - 1)
                pdf.set_xy(x + 1.5, top + (h - 1.5) - TABLE_LH)
                pdf.cell(width - 1.5, TABLE_LH, pdf._fit(clean_line(extra), width - 1.5))
                pdf.set_font(FONT, "", TABLE_PT)
        else:
            _padded_cell(pdf, x, top, width, text, align)
        x += width
    pdf.set_y(top - 0.75 + h)


# --- totals and notes ---------------------------------------------------------------

_LABEL_X = TEXT_X + 70.0
_LABEL_W = TEXT_RIGHT - _LABEL_X - 30.0


def _sum_row(pdf: Din5008Pdf, label: str, value: str, style: str = "") -> None:
    pdf.set_font(FONT, style, 9.5)
    pdf.set_x(_LABEL_X)
    y = pdf.get_y()
    pdf.multi_cell(_LABEL_W, BODY_LH, label, align="L", new_x="RIGHT", new_y="TOP")
    bottom = pdf.get_y() if pdf.get_y() > y else y
    pdf.set_xy(TEXT_RIGHT - 30.0, y)
    pdf.cell(30.0, BODY_LH, value, align="R")
    pdf.set_y(max(bottom, y + BODY_LH))


def _totals(pdf: Din5008Pdf, doc: InvoiceDocument, totals: Totals) -> None:
    """Net total, one row per VAT group (§ 14 Abs. 4 Nr. 8 UStG), gross total; document
    allowances and charges (BG-20/BG-21) get a row each between positions and net total."""
    extras = len(totals.allowances) + (1 if totals.allowances else 0)
    pdf.ensure_space((len(totals.groups) + extras + 3) * BODY_LH)
    pdf.ln(1.5)
    if totals.allowances:
        _sum_row(pdf, "Summe Positionen netto", _signed(doc, totals.line_total))
        for extra in totals.allowances:
            _allowance_row(pdf, _allowance_label(extra), _signed(doc, extra.signed))
    _sum_row(pdf, "Summe netto", _signed(doc, totals.tax_basis))
    for group in totals.groups:
        if group.category is TaxCategory.STANDARD:
            label = f"zzgl. USt {format_number(group.rate)} % auf {_signed(doc, group.basis)}"
        else:
            reason = group.exemption.text if group.exemption else "ohne USt"
            label = f"{reason}: 0 % auf {_signed(doc, group.basis)}"
        _sum_row(pdf, label, _signed(doc, group.tax))
    pdf.set_draw_color(0)
    pdf.line(_LABEL_X, pdf.get_y() + 0.5, TEXT_RIGHT, pdf.get_y() + 0.5)
    pdf.ln(1.5)
    label = "Gesamtbetrag" if _is_cancellation(doc) else "Rechnungsbetrag"
    _sum_row(pdf, label, _signed(doc, totals.grand_total), style="B")
    if totals.prepaid:
        _sum_row(pdf, "abzüglich bereits gezahlt", format_money(-totals.prepaid))
        _sum_row(pdf, "Zahlbetrag", format_money(totals.due), style="B")
    pdf.blank_line()


_ALLOWANCE_X = TEXT_X + 30.0  # wider than the sum labels: reasons are free text


def _allowance_row(pdf: Din5008Pdf, label: str, value: str) -> None:
    """A document allowance or charge: label wrapped onto its own lines, amount on the first."""
    pdf.set_font(FONT, "", 9.5)
    width = TEXT_RIGHT - 30.0 - _ALLOWANCE_X
    lines = pdf.multi_cell(width, BODY_LH, clean_line(label), dry_run=True, output="LINES")
    lines = lines if isinstance(lines, list) and lines else [label]
    pdf.ensure_space(len(lines) * BODY_LH)
    y = pdf.get_y()
    for index, text in enumerate(lines):
        pdf.set_xy(_ALLOWANCE_X, y + index * BODY_LH)
        pdf.cell(width, BODY_LH, text, align="R")
    pdf.set_xy(TEXT_RIGHT - 30.0, y)
    pdf.cell(30.0, BODY_LH, value, align="R")
    pdf.set_y(y + len(lines) * BODY_LH)


def _allowance_label(extra: AllowanceAmounts) -> str:
    """ "abzüglich Gesamtrabatt 5 % von 117,99 € (19 % USt)" or "zuzüglich Versandkosten …"."""
    item = extra.allowance
    text = f"{'zuzüglich' if item.charge else 'abzüglich'} {item.reason}"
    if item.percent is not None and extra.base is not None:
        text += f" {format_number(item.percent)} % von {format_money(extra.base)}"
    if item.tax_category is TaxCategory.STANDARD:
        tax = f"{format_number(item.tax_rate)} % USt"
    else:
        tax = CATEGORY_LABELS.get(item.tax_category, item.tax_category.value)
    return f"{text} ({tax})"


def _notes(
    pdf: Din5008Pdf,
    doc: InvoiceDocument,
    layout: InvoiceLayout,
    totals: Totals,
    qr: bytes | None,
) -> None:
    """Exemption notes, payment terms with Skonto, the GiroCode, and the consumer note."""
    notes = [_exemption_note(c) for c in _categories(doc)]
    notes = [n for n in notes if n]
    if _is_cancellation(doc):
        ref = doc.preceding_invoices[0] if doc.preceding_invoices else None
        if ref is not None:
            when = f" vom {format_date(ref.issue_date)}" if ref.issue_date else ""
            notes.append(
                f"Diese Stornorechnung hebt die Rechnung {ref.number}{when} vollständig auf. "
                "Bereits gezahlte Beträge erstatten wir Ihnen."
            )
    else:
        notes += _payment_lines(doc, totals)
        if layout.consumer:
            notes.append(CONSUMER_DEFAULT_NOTE)
    text_w = TEXT_W - (GIRO_W + 6 if qr else 0)
    needed = max(GIRO_W + 8 if qr else 0, BODY_LH * 2 * max(1, len(notes)))
    if pdf.get_y() + needed > BODY_BOTTOM:
        pdf.add_page()
    top = pdf.get_y()
    pdf.set_font(FONT, "", 9.5)
    for note in notes:
        pdf.set_x(TEXT_X)
        pdf.multi_cell(text_w, BODY_LH, clean_line(note), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.ln(1)
    if qr:
        pdf.place_png(qr, TEXT_RIGHT - GIRO_W, top, GIRO_W)
        pdf.set_font(FONT, "", 7)
        pdf.set_xy(TEXT_RIGHT - GIRO_W, top + GIRO_W)
        pdf.cell(GIRO_W, 3, "GiroCode zum Bezahlen", align="C")
        pdf.set_y(max(pdf.get_y() + 4, top + GIRO_W + 4, pdf.get_y()))


def _categories(doc: InvoiceDocument) -> list[TaxCategory]:
    seen: list[TaxCategory] = []
    for line in doc.lines:
        if line.tax_category not in seen:
            seen.append(line.tax_category)
    return seen


def _exemption_note(category: TaxCategory) -> str:
    """The wording § 14a UStG and § 19 UStG expect on the invoice."""
    return {
        TaxCategory.EXEMPT: "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet "
        "(Steuerbefreiung für Kleinunternehmer).",
        TaxCategory.REVERSE_CHARGE: "Steuerschuldnerschaft des Leistungsempfängers "
        "(§ 13b UStG): Die Umsatzsteuer schulden Sie als Leistungsempfänger.",
        TaxCategory.INTRA_COMMUNITY: "Steuerfreie innergemeinschaftliche Lieferung "
        "(§ 4 Nr. 1 Buchst. b, § 6a UStG).",
        TaxCategory.EXPORT: "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1 Buchst. a, § 6 UStG).",
        TaxCategory.NOT_SUBJECT: "Nicht im Inland steuerbare Leistung.",
    }.get(category, "")


def _payment_lines(doc: InvoiceDocument, totals: Totals) -> list[str]:
    terms = doc.payment_terms
    if terms is None or totals.due <= 0:
        return []
    means = doc.payment_means[0] if doc.payment_means else None
    account = " auf das unten genannte Konto" if means is not None and means.iban else ""
    due = f" bis zum {format_date(terms.due_date)}" if terms.due_date else ""
    lines = [
        f"Bitte überweisen Sie {format_money(totals.due)}{due} ohne Abzug{account}. "
        f"Verwendungszweck: {doc.payment_reference or doc.number}."
    ]
    for skonto in terms.skonto:
        discount = skonto_amount(totals, skonto)
        until = doc.issue_date.toordinal() + skonto.days
        lines.append(
            f"Bei Zahlung bis zum {format_date(type(doc.issue_date).fromordinal(until))} "
            f"({skonto.days} Tage) gewähren wir {format_number(skonto.percent)} % Skonto "
            f"({format_money(discount)}); Zahlbetrag dann {format_money(totals.due - discount)}."
        )
    return lines

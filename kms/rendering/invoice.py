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
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from kms.einvoice.calc import (
    ZERO,
    AllowanceAmounts,
    LineAmounts,
    TaxGroup,
    Totals,
    compute,
    skonto_amount,
    tax_groups,
)
from kms.einvoice.model import DocumentType, InvoiceDocument, PaymentMeans, TaxCategory, unit_label
from kms.formatting import format_date, format_money, format_number, format_unit_price
from kms.rendering.din5008 import (
    BODY_BOTTOM,
    BODY_LH,
    CONT_BODY_Y,
    FONT,
    TEXT_RIGHT,
    TEXT_W,
    TEXT_X,
    Din5008Pdf,
    clean_line,
    plan_breaks,
    render_paginated,
)
from kms.rendering.girocode import GiroCode, girocode_png
from kms.rendering.models import Company
from kms.types import utcnow

__all__ = ["CONSUMER_DEFAULT_NOTE", "InvoiceLayout", "OfferText", "render_invoice"]

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
DESCRIPTION_W = COLUMNS[1][1] - 3.0  # 1.5 mm padding on either side
DESCRIPTION_X = TEXT_X + COLUMNS[0][1] + 1.5
# Up to this many lines a description stays in its column; longer ones use the full width.
LONG_DESCRIPTION_LINES = 6
LONG_DESCRIPTION_W = TEXT_RIGHT - DESCRIPTION_X
ROW_PAD = 0.75  # above and below each position
HEADER_H = TABLE_LH + 2.5
RULE_GAP = 1.5  # space between the rule and the gross total
NOTE_GAP = 1.0  # between two notes
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
class OfferText:
    """A quote or order confirmation set in the invoice layout: it requests no payment.

    `heading` replaces "Rechnung <Nr.>", `info` the number and date rows of the
    information block, `subtitle` is printed below the heading, `note` after the totals."""

    heading: str
    info: tuple[tuple[str, str], ...]
    subtitle: str = ""
    note: str = ""


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
    offer: OfferText | None = None
    # The document's kind ("Abschlagsrechnung", "Schlussrechnung"); "" derives it from BT-3.
    kind: str = ""
    # A Schlussrechnung's deduction lines: (line id BT-126, number of the advance deducted).
    deductions: tuple[tuple[str, str], ...] = ()


def render_invoice(
    doc: InvoiceDocument, layout: InvoiceLayout, *, created_at: datetime | None = None
) -> bytes:
    """The invoice (or Stornorechnung) as PDF/A-3B bytes; fixed created_at → same bytes."""
    created = created_at or utcnow()
    totals = compute(doc)
    qr = girocode_png(layout.girocode) if layout.girocode else None
    return render_paginated(lambda total: _build(doc, layout, totals, qr, total, created))


def _is_cancellation(doc: InvoiceDocument) -> bool:
    return doc.type_code is DocumentType.CREDIT_NOTE


def _title(doc: InvoiceDocument, layout: InvoiceLayout) -> str:
    if layout.offer is not None:
        return layout.offer.heading
    if _is_cancellation(doc):
        kind = "Stornorechnung"
    elif layout.kind:
        kind = layout.kind
    elif doc.type_code is DocumentType.PREPAYMENT_INVOICE:
        kind = "Abschlagsrechnung"
    elif doc.type_code is DocumentType.CORRECTED_INVOICE:
        kind = "Rechnungskorrektur"
    elif doc.type_code is DocumentType.INVOICE and doc.preceding_invoices:
        kind = "Schlussrechnung"  # an invoice referring to earlier ones deducts its advances
    else:
        kind = "Rechnung"
    return f"{kind} {doc.number}"


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
        running_title=_title(doc, layout),
        date_text=format_date(doc.issue_date),
        page_total=page_total,
    )
    pdf.set_document_info(_title(doc, layout), created)
    pdf.add_page()
    pdf.draw_address(layout.recipient)
    bottom = pdf.draw_info_block(_info(doc, layout))
    pdf.set_y(max(97.0, bottom + 2 * BODY_LH))
    pdf.write_line(_title(doc, layout), style="B", size=13)
    subline = _reference_line(doc)
    if subline:
        pdf.write_line(subline, style="B")
    if layout.offer is not None and layout.offer.subtitle:
        pdf.write_line(layout.offer.subtitle, style="B")
    pdf.blank_line()
    if layout.intro.strip():
        pdf.write_markdown(layout.intro)
        pdf.blank_line()
    _table(pdf, doc, totals)
    _totals(pdf, doc, totals, layout)
    _notes(pdf, doc, layout, totals, qr)
    if layout.closing.strip():
        pdf.blank_line()
        pdf.write_markdown(layout.closing, keep_together=True)
    return pdf


def _reference_line(doc: InvoiceDocument) -> str:
    """Under the title: the invoice a Storno cancels or a Rechnungskorrektur corrects."""
    corrects = doc.type_code is DocumentType.CORRECTED_INVOICE
    if not doc.preceding_invoices or not (corrects or _is_cancellation(doc)):
        return ""
    ref = doc.preceding_invoices[0]
    when = f" vom {format_date(ref.issue_date)}" if ref.issue_date else ""
    return f"{'Korrektur zu' if corrects else 'zur'} Rechnung {ref.number}{when}"


def _info(doc: InvoiceDocument, layout: InvoiceLayout) -> list[tuple[str, str]]:
    """Information block: number, dates, customer, references, contact."""
    kind = "Storno-Nr." if _is_cancellation(doc) else "Rechnungs-Nr."
    pairs = [(kind, doc.number), ("Rechnungsdatum", format_date(doc.issue_date))]
    if layout.offer is not None:
        pairs = list(layout.offer.info)
    elif doc.period is not None:
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
        allowance = amounts.line.allowance
        extra = f"Rabatt: {allowance.reason}" if allowance else ""
        lines = _description_lines(pdf, amounts.line.description)
        _row(pdf, _row_cells(doc, amounts), lines, extra)
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
    pdf.set_y(y + HEADER_H)


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


@dataclass(frozen=True)
class _Entry:
    """One printed line of a position's description column."""

    text: str
    width: float = DESCRIPTION_W
    style: str = ""
    size: float = TABLE_PT


def _description_lines(pdf: Din5008Pdf, text: str) -> list[_Entry]:
    """The description in its column; a long one goes on across the table's width below.

    A narrow column would turn a page of text into several pages of a few words per line.
    """
    pdf.set_font(FONT, "", TABLE_PT)
    parts = [clean_line(part) for part in text.splitlines()] or [""]
    narrow = [line for part in parts for line in pdf.wrap_lines(DESCRIPTION_W, part)]
    if len(narrow) <= LONG_DESCRIPTION_LINES:
        return [_Entry(line) for line in narrow]
    first = pdf.wrap_lines(DESCRIPTION_W, parts[0])[0]
    parts[0] = parts[0][len(first) :].strip()
    wide = [line for part in parts for line in pdf.wrap_lines(LONG_DESCRIPTION_W, part)]
    if not parts[0]:
        wide = wide[1:]  # the first paragraph fitted the first line
    return [_Entry(first), *(_Entry(line, LONG_DESCRIPTION_W) for line in wide)]


def _row(pdf: Din5008Pdf, cells: Sequence[str], lines: Sequence[_Entry], extra: str) -> None:
    """One position; a description longer than the page flows on with the table header."""
    entries = list(lines)
    if extra:
        pdf.set_font(FONT, "I", TABLE_PT - 1)
        entries.append(
            _Entry(pdf._fit(clean_line(extra), DESCRIPTION_W), style="I", size=TABLE_PT - 1)
        )
    full = _lines_fitting(CONT_BODY_Y + HEADER_H)
    chunks = plan_breaks(len(entries), _lines_fitting(pdf.get_y()), full)
    index = 0
    for number, size in enumerate(chunks):
        if number:
            pdf.add_page()
            _table_header(pdf)
        top = pdf.get_y() + ROW_PAD
        if index == 0 and size:
            _row_values(pdf, cells, top)
        for offset, entry in enumerate(entries[index : index + size]):
            pdf.set_font(FONT, entry.style, entry.size)
            pdf.set_xy(DESCRIPTION_X, top + offset * TABLE_LH)
            pdf.cell(entry.width, TABLE_LH, entry.text)
        index += size
        pdf.set_y(top + size * TABLE_LH + ROW_PAD)


def _lines_fitting(y: float) -> int:
    """How many table lines fit between y and the body bottom."""
    return max(0, int((BODY_BOTTOM - y - 2 * ROW_PAD + 0.001) // TABLE_LH))


def _row_values(pdf: Din5008Pdf, cells: Sequence[str], top: float) -> None:
    """The number, quantity, price and amount cells of a position (all but the description)."""
    pdf.set_font(FONT, "", TABLE_PT)
    x = TEXT_X
    for (title, width, align), text in zip(COLUMNS, cells, strict=True):
        if title != "Beschreibung":
            _padded_cell(pdf, x, top, width, text, align)
        x += width


# --- totals and notes ---------------------------------------------------------------

_LABEL_X = TEXT_X + 70.0
_VALUE_W = 30.0
_LABEL_W = TEXT_RIGHT - _LABEL_X - _VALUE_W
SUM_PT, NOTE_PT = 9.5, 9.5


_ALLOWANCE_X = TEXT_X + 30.0  # wider than the sum labels: reasons are free text


@dataclass(frozen=True)
class _SumRow:
    label: str
    value: str
    style: str = ""
    rule_above: bool = False
    # A document allowance or charge: a wider label, right-aligned next to its amount.
    wide: bool = False

    @property
    def box(self) -> tuple[float, float, str]:
        """x, width and alignment of the label."""
        if self.wide:
            return _ALLOWANCE_X, TEXT_RIGHT - _VALUE_W - _ALLOWANCE_X, "R"
        return _LABEL_X, _LABEL_W, "L"


def _sum_row_height(pdf: Din5008Pdf, row: _SumRow) -> float:
    """Measured height of a totals row: its label may wrap (e.g. a long exemption reason)."""
    pdf.set_font(FONT, row.style, SUM_PT)
    return len(pdf.wrap_lines(row.box[1], row.label)) * BODY_LH + (
        RULE_GAP if row.rule_above else 0.0
    )


def _draw_sum_row(pdf: Din5008Pdf, row: _SumRow) -> None:
    if row.rule_above:
        pdf.set_draw_color(0)
        pdf.line(_LABEL_X, pdf.get_y() + 0.5, TEXT_RIGHT, pdf.get_y() + 0.5)
        pdf.ln(RULE_GAP)
    height = _sum_row_height(pdf, replace(row, rule_above=False))
    y = pdf.get_y()
    pdf.set_font(FONT, row.style, SUM_PT)
    x, width, align = row.box
    pdf.set_xy(x, y)
    pdf.multi_cell(width, BODY_LH, row.label, align=align)
    pdf.set_xy(TEXT_RIGHT - _VALUE_W, y)
    pdf.cell(_VALUE_W, BODY_LH, row.value, align="R")
    pdf.set_y(y + height)


def _sum_rows(doc: InvoiceDocument, totals: Totals, layout: InvoiceLayout) -> list[_SumRow]:
    """Net total, one row per VAT group (§ 14 Abs. 4 Nr. 8 UStG), gross total; document
    allowances and charges (BG-20/BG-21) get a row each between positions and net total.
    A Schlussrechnung shows the whole service, the advances per rate and what is left."""
    offer = layout.offer is not None
    rows = []
    if totals.allowances:
        rows.append(_SumRow("Summe Positionen netto", _signed(doc, totals.line_total)))
        rows += [
            _SumRow(_allowance_label(extra), _signed(doc, extra.signed), wide=True)
            for extra in totals.allowances
        ]
    if layout.deductions and not offer:
        return rows + _final_rows(doc, totals, dict(layout.deductions))
    rows.append(_SumRow("Summe netto", _signed(doc, totals.tax_basis)))
    rows += [_group_row(doc, group) for group in totals.groups]
    label = "Gesamtbetrag" if offer or _is_cancellation(doc) else "Rechnungsbetrag"
    rows.append(_SumRow(label, _signed(doc, totals.grand_total), "B", rule_above=True))
    return rows + _prepaid_rows(totals)


def _group_row(doc: InvoiceDocument, group: TaxGroup, prefix: str = "zzgl. USt") -> _SumRow:
    if group.category is TaxCategory.STANDARD:
        label = f"{prefix} {format_number(group.rate)} % auf {_signed(doc, group.basis)}"
    else:
        reason = group.exemption.text if group.exemption else "ohne USt"
        label = f"{reason}: 0 % auf {_signed(doc, group.basis)}"
    return _SumRow(label, _signed(doc, group.tax))


def _prepaid_rows(totals: Totals) -> list[_SumRow]:
    if not totals.prepaid:
        return []
    return [
        _SumRow("abzüglich bereits gezahlt", format_money(-totals.prepaid)),
        _SumRow("Zahlbetrag", format_money(totals.due), "B"),
    ]


def _final_rows(doc: InvoiceDocument, totals: Totals, advances: dict[str, str]) -> list[_SumRow]:
    """Schlussrechnung (§ 14 Abs. 5 S. 2 UStG): the whole service with its VAT, then per VAT
    rate the advances' net and VAT deducted, "Noch zu zahlen", and the VAT this invoice
    still charges. Deducted = whole service − this invoice per group, so every row adds up
    to the cent with the amounts of the e-invoice."""
    service = [a for a in totals.lines if a.line.id not in advances]
    full = tax_groups(service, allowances=totals.allowances)
    left = {(g.category, g.rate): g for g in totals.groups}
    rows = [_SumRow("Gesamtleistung netto", format_money(sum((g.basis for g in full), ZERO)))]
    rows += [_group_row(doc, group) for group in full]
    gross = sum((g.gross for g in full), ZERO)
    rows.append(_SumRow("Gesamtleistung brutto", format_money(gross), "B", rule_above=True))
    for group in full:
        rest = left.get((group.category, group.rate))
        net = group.basis - (rest.basis if rest else ZERO)
        tax = group.tax - (rest.tax if rest else ZERO)
        numbers = sorted(
            {
                advances[a.line.id]
                for a in totals.lines
                if a.line.id in advances
                and (a.line.tax_category, a.line.tax_rate) == (group.category, group.rate)
            }
        )
        if not numbers:
            continue
        word = "Abschlagsrechnung" if len(numbers) == 1 else "Abschlagsrechnungen"
        rate = (
            f"USt {format_number(group.rate)} %"
            if group.category is TaxCategory.STANDARD
            else "ohne USt"
        )
        label = (
            f"abzüglich {word} {', '.join(numbers)}: {format_money(net)} netto "
            f"+ {format_money(tax)} {rate}"
        )
        rows.append(_SumRow(label, format_money(-(net + tax)), wide=True))
    rows.append(_SumRow("Noch zu zahlen", format_money(totals.grand_total), "B", rule_above=True))
    rows += [_group_row(doc, group, "darin USt") for group in totals.groups]
    return rows + _prepaid_rows(totals)


def _totals(pdf: Din5008Pdf, doc: InvoiceDocument, totals: Totals, layout: InvoiceLayout) -> None:
    """The totals block, kept together on one page; every row as high as its label needs."""
    rows = [replace(r, label=clean_line(r.label)) for r in _sum_rows(doc, totals, layout)]
    pdf.ensure_space(1.5 + sum(_sum_row_height(pdf, row) for row in rows))
    pdf.ln(1.5)
    for row in rows:
        _draw_sum_row(pdf, row)
    pdf.blank_line()


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
    notes = [clean_line(n) for n in _note_texts(doc, layout, totals)]
    text_w = TEXT_W - (GIRO_W + 6 if qr else 0)
    pdf.set_font(FONT, "", NOTE_PT)
    heights = [_text_height(pdf, text_w, note) + NOTE_GAP for note in notes]
    qr_h = GIRO_W + 4 if qr else 0.0
    # Notes and GiroCode are one block: the code belongs next to the payment terms.
    pdf.ensure_space(max(sum(heights), qr_h))
    top, page = pdf.get_y(), pdf.page
    if qr:
        pdf.place_png(qr, TEXT_RIGHT - GIRO_W, top, GIRO_W)
        pdf.set_font(FONT, "", 7)
        pdf.set_xy(TEXT_RIGHT - GIRO_W, top + GIRO_W)
        pdf.cell(GIRO_W, 3, "GiroCode zum Bezahlen", align="C")
    pdf.set_y(top)
    for note in notes:
        pdf.set_font(FONT, "", NOTE_PT)
        pdf.set_x(TEXT_X)
        pdf.multi_cell(text_w, BODY_LH, note, new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.ln(NOTE_GAP)
    if pdf.page == page:
        # Whatever follows starts below both the notes and the code.
        pdf.set_y(max(pdf.get_y(), top + qr_h))


def _text_height(pdf: Din5008Pdf, width: float, text: str) -> float:
    """Height of text wrapped to width in the current font, at the body line height."""
    return len(pdf.wrap_lines(width, text)) * BODY_LH


def _note_texts(doc: InvoiceDocument, layout: InvoiceLayout, totals: Totals) -> list[str]:
    notes = [_exemption_note(c) for c in _categories(doc)]
    notes = [n for n in notes if n]
    if layout.offer is not None:
        return [*notes, layout.offer.note] if layout.offer.note else notes
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
        if doc.type_code is DocumentType.CORRECTED_INVOICE and totals.due < 0:
            notes.append(
                f"Diese Rechnungskorrektur mindert den Rechnungsbetrag um "
                f"{format_money(-totals.due)}. Bereits zu viel gezahlte Beträge erstatten wir "
                "Ihnen."
            )
        if layout.consumer:
            notes.append(CONSUMER_DEFAULT_NOTE)
    return notes


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


def masked_iban(iban: str) -> str:
    """An IBAN as a pre-notification prints it: country, check digits and the last four."""
    compact = iban.replace(" ", "")
    return f"{compact[:4]} **** {compact[-4:]}" if len(compact) > 8 else compact


def prenotification(amount: Decimal, day: date | None, means: PaymentMeans) -> str:
    """The SEPA pre-notification (Vorabankündigung) printed on a direct debit invoice."""
    when = f" am {format_date(day)}" if day else ""
    return (
        f"Der Betrag von {format_money(amount)} wird{when} per SEPA-Lastschrift mit der "
        f"Mandatsreferenz {means.mandate_reference} und unserer Gläubiger-ID "
        f"{means.creditor_id} von Ihrem Konto {masked_iban(means.debtor_iban or '')} "
        "abgebucht. Bitte sorgen Sie für ausreichende Deckung."
    )


def _payment_lines(doc: InvoiceDocument, totals: Totals) -> list[str]:
    terms = doc.payment_terms
    if terms is None or totals.due <= 0:
        return []
    means = doc.payment_means[0] if doc.payment_means else None
    if means is not None and means.direct_debit:
        return [prenotification(totals.due, terms.due_date, means)]
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

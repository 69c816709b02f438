"""▶ Rechnung abschließen, ▶ Stornieren, ▶ Korrigieren, ▶ Teilkorrektur erstellen: numbers,
originals, immutability.

Issuing runs in two steps so that the numbering transaction stays short:
1. `prepare_issue` (any session, may be read-only): freeze the seller and buyer snapshot,
   check completeness (§ 14 Abs. 4 UStG, legal details, Besteuerung) and validate the
   XML built with a placeholder number against XSD, EN 16931 schematron and, for
   XRechnung, the German rules. Every problem is reported in German with its rule id.
2. `issue` (one short write transaction): lock the draft and the number range, take the
   next number, build the final XML, render and embed the PDF, store the originals and
   write the audit entry. A failure rolls everything back, so no number is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kms import audit
from kms.db import session_scope
from kms.einvoice.calc import compute
from kms.einvoice.cii import build_xml
from kms.einvoice.facturx_pdf import embed
from kms.einvoice.messages import BUYER_REFERENCE_EXPLANATION
from kms.einvoice.model import (
    EInvoiceFormat,
    InvoiceDocument,
    Party,
    PaymentMeans,
    PaymentMeansCode,
    PaymentTerms,
    Period,
    Skonto,
    TaxCategory,
    cancellation_of,
)
from kms.einvoice.ubl import build_ubl
from kms.einvoice.validate import validate
from kms.errors import ConflictError, KmsError
from kms.formatting import format_date
from kms.modules.contacts.models import Contact
from kms.modules.invoices.advance import attach_deductions, deducted_in, deduction_problem
from kms.modules.invoices.advance_refs import (
    billing_title,
    billing_type_code,
    deduction_lines,
    final_problem,
    preceding_references,
)
from kms.modules.invoices.config import RANGE_CANCELLATION, RANGE_INVOICE
from kms.modules.invoices.models import (
    BILLING_ADVANCE,
    BILLING_CORRECTION,
    BILLING_FINAL,
    KIND_CANCELLATION,
    KIND_INVOICE,
    Invoice,
    InvoiceAllowance,
    InvoiceLine,
)
from kms.modules.invoices.numbering import take_number
from kms.modules.invoices.payments import OVERDUE_WARNING_KEY, refresh_overdue_banner
from kms.modules.invoices.quotes.models import Quote
from kms.modules.invoices.sepa.service import direct_debit_snapshot, mandate_problem
from kms.modules.invoices.service import (
    ENTITY,
    OPTIONS_BY_REGIME,
    TAX_OPTIONS,
    amount_problem,
    compute_totals,
    get_invoice,
    tax_key,
    to_einvoice_allowance,
    to_einvoice_line,
    today,
)
from kms.modules.invoices.storage import NewFile, store_file
from kms.modules.settings.models import CompanyProfile
from kms.modules.settings.service import get_profile, logo_bytes
from kms.modules.settings.taxation import assert_kleinunternehmer_invoice_allowed, regime_on
from kms.notices import has_system_warning
from kms.permissions import Permission, require_permission
from kms.rendering.din5008 import RenderError, build_address_lines
from kms.rendering.girocode import MAX_NAME, GiroCode
from kms.rendering.invoice import InvoiceLayout, render_invoice
from kms.rendering.models import Company, PostalAddress
from kms.types import utcnow
from kms.validation import get_legal_form

PLACEHOLDER_NUMBER = "ENTWURF"
EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)


@dataclass(frozen=True)
class IssueProblem:
    """One reason an invoice cannot be issued: rule id and German explanation."""

    rule: str
    message: str


class IssueRefused(KmsError):
    """The invoice is incomplete or invalid; `.problems` lists every reason."""

    def __init__(self, problems: list[IssueProblem]) -> None:
        self.problems = problems
        text = "; ".join(f"[{p.rule}] {p.message}" for p in problems)
        super().__init__(f"Die Rechnung kann noch nicht abgeschlossen werden: {text}")


# --- snapshot -----------------------------------------------------------------------


def _party_dict(party: Party) -> dict[str, Any]:
    return {k: v for k, v in party.__dict__.items()}


def seller_party(profile: CompanyProfile, categories: set[str]) -> Party:
    """The seller (BG-4) as EN 16931 sees it."""
    register = ""
    if profile.register_number:
        register = ", ".join(p for p in (profile.register_number, profile.register_court) if p)
    identifier = None
    # [BR-CO-26] the buyer must be able to identify the seller by BT-29, BT-30 or BT-31. A
    # Kleinunternehmer often has no USt-IdNr. and no register entry, and with "not subject
    # to VAT" lines the VAT id is suppressed (BR-O-02): then the Steuernummer serves as the
    # seller identifier BT-29 (it is printed and transmitted as BT-32 as well).
    vat_visible = bool(profile.vat_id) and "O" not in categories
    if not vat_visible and not register and profile.tax_number:
        identifier = profile.tax_number
    name = _company_name(profile)
    return Party(
        name=name,
        street=profile.street,
        postcode=profile.postcode,
        city=profile.city,
        country=profile.country or "DE",
        vat_id=profile.vat_id or None,
        tax_number=profile.tax_number or None,
        identifier=identifier,
        legal_registration=register or None,
        electronic_address=profile.email or None,
        contact_name=profile.contact_name or None,
        contact_phone=profile.phone or None,
        contact_email=profile.email or None,
    )


def _company_name(profile: CompanyProfile) -> str:
    name, form = profile.company_name, profile.legal_form
    if not form or form in ("Einzelunternehmen", "Freiberufler/in") or name.endswith(form):
        return name
    return f"{name} {form}"


def buyer_party(contact: Contact) -> Party:
    """The buyer (BG-7) from the contact's Rechnungsadresse."""
    street = ", ".join(p for p in (contact.street, contact.address_extra) if p)
    return Party(
        name=contact.display_name,
        street=street,
        postcode=contact.postcode,
        city=contact.city,
        country=contact.country or "DE",
        vat_id=contact.vat_id or None,
        electronic_address=contact.email or None,
    )


def _recipient_lines(contact: Contact) -> list[str]:
    """Window address lines (DIN 5008)."""
    if contact.kind == "organisation":
        names = [contact.display_name]
    else:
        salutation = {"frau": "Frau", "herr": "Herrn"}.get(contact.salutation, "")
        names = [n for n in (salutation, contact.display_name) if n]
        if contact.organisation is not None:
            names = [contact.organisation.display_name, *names]
    street = contact.street or ""
    extra = [contact.address_extra] if contact.address_extra else []
    return build_address_lines(
        [*names, *extra], street, contact.postcode, contact.city, contact.country or "DE"
    )


def _company_dict(profile: CompanyProfile) -> dict[str, Any]:
    return {
        "name": _company_name(profile),
        "street": profile.street,
        "postcode": profile.postcode,
        "town": profile.city,
        "country": profile.country or "DE",
        "contact_person": profile.contact_name,
        "phone": profile.phone,
        "email": profile.email,
        "website": profile.website,
        "tax_number": profile.tax_number,
        "vat_id": profile.vat_id,
        "bank_name": profile.bank_name,
        "iban": profile.iban,
        "bic": profile.bic,
        "register_court": profile.register_court,
        "register_number": profile.register_number,
        "managing_director": profile.representative
        if get_legal_form(profile.legal_form).representation_required
        else "",
        "legal_form": profile.legal_form,
    }


def make_snapshot(session: Session, invoice: Invoice | Quote) -> dict[str, Any]:
    """Seller and buyer data as printed, frozen into the invoice (or quote) at issuing."""
    profile = get_profile(session)
    contact = session.get(Contact, invoice.contact_id)
    if contact is None:
        raise KmsError("Der Kunde dieser Rechnung existiert nicht mehr.")
    categories = {line.tax_category for line in invoice.lines}
    try:
        recipient = _recipient_lines(contact)
    except RenderError as exc:
        recipient = []
        address_problem = exc.args[0] if exc.args else str(exc)
    else:
        address_problem = ""
    consumer = contact.kind == "person" and contact.organisation is None and not contact.vat_id
    return {
        "seller": _party_dict(seller_party(profile, categories)),
        "buyer": _party_dict(buyer_party(contact)),
        "company": _company_dict(profile) if profile.company_name else {},
        "recipient": recipient,
        "address_problem": address_problem,
        "customer_number": contact.customer_number or "",
        "consumer": consumer,
        "buyer_email": contact.email,
        # The customer's BT-10, used when the draft names none of its own.
        "buyer_reference": contact.buyer_reference,
        "buyer_kind": contact.kind,
        "legal_form": profile.legal_form,
        "representative": profile.representative,
        # Frozen here, so the pre-notification and BT-89/90/91 never change afterwards.
        "direct_debit": direct_debit_snapshot(session, invoice.sepa_mandate_id)
        if invoice.sepa_mandate_id
        else None,
    }


def company_from_snapshot(snapshot: dict[str, Any], logo: bytes | None = None) -> Company:
    """The sender for the renderer (logo bytes are not part of the snapshot)."""
    c = dict(snapshot["company"])
    address = PostalAddress(c.pop("street"), c.pop("postcode"), c.pop("town"), c.pop("country"))
    c.pop("legal_form", None)
    return Company(address=address, logo=logo, **c)


# --- the EN 16931 document ----------------------------------------------------------


def _transfer_means(company: dict[str, Any]) -> tuple[PaymentMeans, ...]:
    """SEPA credit transfer to the seller's account (BG-17), if there is one."""
    if not company.get("iban"):
        return ()
    return (
        PaymentMeans(
            iban=company["iban"],
            bic=company.get("bic") or None,
            account_name=(company.get("name") or "")[:70] or None,
        ),
    )


def build_document(
    invoice: Invoice, snapshot: dict[str, Any], *, number: str, issue_date: date
) -> InvoiceDocument:
    """The EN 16931 invoice of a stored invoice and its frozen snapshot."""
    seller = Party(**snapshot["seller"])
    buyer = Party(**snapshot["buyer"])
    lines = tuple(to_einvoice_line(line, i) for i, line in enumerate(invoice.lines, start=1))
    period = None
    if invoice.period_start and invoice.period_end:
        period = Period(invoice.period_start, invoice.period_end)
    delivery = invoice.service_date
    if invoice.service_date_is_issue_date and period is None:
        delivery = issue_date
    due = issue_date + timedelta(days=invoice.payment_term_days)
    skonto: tuple[Skonto, ...] = ()
    if invoice.skonto_percent and invoice.skonto_days:
        skonto = (Skonto(invoice.skonto_percent, invoice.skonto_days),)
    terms_text = (
        f"Zahlbar ohne Abzug bis {format_date(due)}."
        if invoice.payment_term_days
        else "Zahlbar sofort ohne Abzug."
    )
    company = snapshot.get("company") or {}
    means: tuple[PaymentMeans, ...] = ()
    debit = snapshot.get("direct_debit")
    if debit:
        terms_text = f"Der Betrag wird am {format_date(due)} per SEPA-Lastschrift eingezogen."
        means = (
            PaymentMeans(
                code=PaymentMeansCode.SEPA_DIRECT_DEBIT,
                mandate_reference=debit["mandate_reference"],
                creditor_id=debit["creditor_id"],
                debtor_iban=debit["debtor_iban"],
            ),
        )
    else:
        means = _transfer_means(company)
    return InvoiceDocument(
        number=number,
        issue_date=issue_date,
        seller=seller,
        buyer=buyer,
        lines=lines,
        delivery_date=delivery,
        period=period,
        buyer_reference=invoice.buyer_reference or snapshot.get("buyer_reference") or None,
        payment_means=means,
        payment_terms=PaymentTerms(due_date=due, text=terms_text, skonto=skonto),
        payment_reference=number,
        allowances=tuple(to_einvoice_allowance(row) for row in invoice.allowances),
        type_code=billing_type_code(invoice),
        preceding_invoices=preceding_references(invoice),
    )


def xrechnung_xml(invoice: Invoice, doc: InvoiceDocument) -> bytes | None:
    """The XRechnung in the syntax chosen for the invoice, or None for Factur-X only."""
    chosen = EInvoiceFormat(invoice.einvoice_format)
    if chosen is EInvoiceFormat.XRECHNUNG_UBL:
        return build_ubl(doc)
    if chosen is EInvoiceFormat.XRECHNUNG_CII:
        return build_xml(doc, xrechnung=True)
    return None


# --- completeness -------------------------------------------------------------------


def _p(rule: str, message: str) -> IssueProblem:
    return IssueProblem(rule, message)


def check_completeness(
    session: Session, invoice: Invoice, snapshot: dict[str, Any], issue_date: date
) -> list[IssueProblem]:
    """Our own checks before the XML: § 14 Abs. 4 UStG, legal details, Besteuerung."""
    problems: list[IssueProblem] = []
    profile = get_profile(session)
    if not profile.company_name or not (profile.street and profile.postcode and profile.city):
        problems.append(
            _p(
                "§14-4-1",
                "Name und Anschrift Ihres Unternehmens fehlen (Einstellungen → Firmendaten).",
            )
        )
    if not profile.tax_number and not profile.vat_id:
        problems.append(_p("§14-4-2", "Steuernummer oder USt-IdNr. fehlt (Einstellungen)."))
    if profile.legal_form:
        form = get_legal_form(profile.legal_form)
        if form.register_required and not (profile.register_court and profile.register_number):
            problems.append(
                _p(
                    "RECHTSFORM",
                    f"Für die Rechtsform {form.name} gehören "
                    f"Registergericht und -nummer auf die Rechnung ({form.legal_basis}).",
                )
            )
        if form.representation_required and not profile.representative:
            problems.append(
                _p(
                    "RECHTSFORM",
                    f"Für die Rechtsform {form.name} muss die Vertretung "
                    f"genannt werden ({form.legal_basis}).",
                )
            )
    buyer = snapshot["buyer"]
    if not buyer["name"] or not (buyer["street"] and buyer["postcode"] and buyer["city"]):
        problems.append(
            _p("§14-4-1", "Name und vollständige Anschrift des Kunden fehlen (Straße, PLZ, Ort).")
        )
    if snapshot.get("address_problem"):
        problems.append(_p("DIN5008", snapshot["address_problem"]))
    if not invoice.lines:
        problems.append(_p("§14-4-5", "Die Rechnung hat keine Positionen."))
    elif amount_problem(invoice):
        problems.append(_p("BETRAG", amount_problem(invoice)))
    has_period = invoice.period_start is not None and invoice.period_end is not None
    if not (invoice.service_date or invoice.service_date_is_issue_date or has_period):
        problems.append(
            _p(
                "§14-4-6",
                "Leistungsdatum oder Leistungszeitraum fehlt (oder "
                "„Leistungsdatum entspricht Rechnungsdatum“ wählen).",
            )
        )
    if invoice.xrechnung and not (invoice.buyer_reference or snapshot.get("buyer_reference")):
        # [BR-DE-15] checked here first, so the user reads why and where to enter it.
        problems.append(
            _p(
                "BR-DE-15",
                f"{BUYER_REFERENCE_EXPLANATION} Bitte beim Kunden (Kunden → Leitweg-ID / "
                "Käuferreferenz) oder im Entwurf eintragen.",
            )
        )
    if invoice.sepa_mandate_id:
        problems += _debit_problems(session, invoice, profile, issue_date)
    if not profile.iban:
        problems.append(
            _p(
                "BR-DE-23-a",
                "Für die Zahlung per Überweisung fehlt Ihre IBAN (Einstellungen → Bank).",
            )
        )
    problems += _tax_problems(session, invoice, snapshot, issue_date)
    if final_problem(invoice):
        problems.append(_p("SCHLUSSRECHNUNG", final_problem(invoice)))
    if invoice.is_correction:
        problems += [_p("KORREKTUR", m) for m in _correction_problems(session, invoice)]
    return problems


def _correction_problems(session: Session, correction: Invoice) -> list[str]:
    """A Rechnungskorrektur needs its invoice to still stand, and the same customer."""
    original = correction.corrects
    if original is None:
        return ["Die korrigierte Rechnung fehlt. Bitte den Entwurf löschen."]
    problems = []
    if _cancelled(session, original):
        problems.append(
            f"{original.label} wurde inzwischen storniert; eine Korrektur dazu ist nicht mehr "
            "möglich. Bitte den Entwurf löschen."
        )
    if correction.contact_id != original.contact_id:
        problems.append(
            f"Eine Rechnungskorrektur geht an denselben Kunden wie {original.label}. "
            "Bitte den Kunden zurücksetzen."
        )
    return problems


def _cancelled(session: Session, invoice: Invoice) -> bool:
    return session.scalar(select(Invoice.id).where(Invoice.cancels_id == invoice.id)) is not None


def _debit_problems(
    session: Session, invoice: Invoice, profile: CompanyProfile, day: date
) -> list[IssueProblem]:
    """A direct debit needs the Gläubiger-ID (BR-DE-30), a valid mandate, and no Skonto."""
    problems = []
    if not profile.creditor_id:
        problems.append(
            _p(
                "BR-DE-30",
                "Für die Lastschrift fehlt Ihre Gläubiger-Identifikationsnummer "
                "(Einstellungen → Firmendaten → Gläubiger-ID).",
            )
        )
    problem = mandate_problem(session, invoice.sepa_mandate_id or 0, invoice.contact_id, day)
    if problem:
        problems.append(_p("MANDAT", problem))
    if invoice.skonto_percent:
        problems.append(
            _p(
                "SKONTO",
                "Bei Zahlung per Lastschrift ziehen Sie selbst ein: Skonto passt dazu nicht. "
                "Bitte Skonto entfernen oder kein Mandat wählen.",
            )
        )
    return problems


def _tax_problems(
    session: Session, invoice: Invoice, snapshot: dict[str, Any], issue_date: date
) -> list[IssueProblem]:
    problems: list[IssueProblem] = []
    regime = regime_on(session, issue_date)
    allowed = OPTIONS_BY_REGIME.get(regime.kind, ()) if regime else ()
    if regime is None:
        problems.append(
            _p(
                "BESTEUERUNG",
                f"Für den {format_date(issue_date)} ist keine "
                "Besteuerung hinterlegt (Einstellungen → Besteuerung).",
            )
        )
    used = {tax_key(line) for line in invoice.lines}
    for key in sorted(used - set(allowed)):
        if regime is not None:
            problems.append(
                _p(
                    "BESTEUERUNG",
                    f"„{TAX_OPTIONS[key].label}“ passt nicht zur "
                    f"Besteuerung am {format_date(issue_date)} "
                    f"({'Kleinunternehmer' if regime.kind == 'klein' else 'Regelbesteuerung'}).",
                )
            )
    categories = {line.tax_category for line in invoice.lines}
    buyer, seller = snapshot["buyer"], snapshot["seller"]
    if TaxCategory.REVERSE_CHARGE.value in categories and not buyer.get("vat_id"):
        problems.append(
            _p(
                "BR-AE-02",
                "Für § 13b UStG (Reverse Charge) braucht die Rechnung "
                "die USt-IdNr. des Kunden (§ 14a Abs. 5 UStG).",
            )
        )
    if TaxCategory.INTRA_COMMUNITY.value in categories:
        if not buyer.get("vat_id") or not seller.get("vat_id"):
            problems.append(
                _p(
                    "BR-IC-02",
                    "Eine innergemeinschaftliche Lieferung braucht die "
                    "USt-IdNr. von Ihnen und vom Kunden (§ 14a Abs. 3 UStG).",
                )
            )
        if buyer.get("country") == "DE" or buyer.get("country") not in EU_COUNTRIES:
            problems.append(
                _p(
                    "BR-IC-12",
                    "Eine innergemeinschaftliche Lieferung geht an einen "
                    "Kunden in einem anderen EU-Staat.",
                )
            )
    if regime is not None and regime.kind == "klein" and not problems:
        try:
            assert_kleinunternehmer_invoice_allowed(session, issue_date, invoice.net_total)
        except KmsError as exc:
            problems.append(_p("§19", exc.message))
    return problems


def _xml_problems(xml: bytes, *, xrechnung: bool) -> list[IssueProblem]:
    return [IssueProblem(p.rule, p.message) for p in validate(xml, xrechnung=xrechnung)]


# --- step 1: prepare ----------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A checked draft: snapshot, date and the version that was checked."""

    invoice_id: int
    version: int
    issue_date: date
    snapshot: dict[str, Any]


def prepare_issue(session: Session, invoice_id: int, *, issue_date: date | None = None) -> Prepared:
    """Check everything with a placeholder number; raise IssueRefused listing all problems."""
    require_permission(Permission.INVOICES_WRITE, session)
    invoice = get_invoice(session, invoice_id)
    if invoice.is_issued:
        raise KmsError(f"{invoice.label} ist bereits abgeschlossen.")
    day = issue_date or today()
    snapshot = make_snapshot(session, invoice)
    problems = check_completeness(session, invoice, snapshot, day)
    if not problems:
        # EN 16931 (and XRechnung) validation of the exact XML, number still a placeholder.
        doc = build_document(invoice, snapshot, number=PLACEHOLDER_NUMBER, issue_date=day)
        problems += _xml_problems(build_xml(doc), xrechnung=False)
        xrechnung = xrechnung_xml(invoice, doc)
        if xrechnung is not None:
            problems += _xml_problems(xrechnung, xrechnung=True)
    if problems:
        raise IssueRefused(_unique(problems))
    return Prepared(invoice.id, invoice.version, day, snapshot)


def _unique(problems: list[IssueProblem]) -> list[IssueProblem]:
    seen: list[IssueProblem] = []
    for p in problems:
        if p not in seen:
            seen.append(p)
    return seen


# --- step 2: issue ------------------------------------------------------------------


def _lock(session: Session, invoice_id: int) -> Invoice:
    invoice = session.scalar(
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if invoice is None:
        raise KmsError("Diese Rechnung gibt es nicht (mehr).")
    return invoice


def _girocode(doc: InvoiceDocument, company: Company) -> GiroCode | None:
    """EPC069-12 code for the amount due, only where a SEPA transfer is due."""
    due = compute(doc).due
    if any(means.direct_debit for means in doc.payment_means):
        return None  # nothing to transfer: the amount is collected
    if doc.type_code.value != "380" or due <= 0 or not company.iban:
        return None
    return GiroCode(
        name=company.display_name[:MAX_NAME],
        iban=company.iban,
        bic=company.bic,
        amount=due,
        remittance=f"Rechnung {doc.number}"[:140],
    )


def _render_files(
    session: Session,
    invoice: Invoice,
    doc: InvoiceDocument,
    snapshot: dict[str, Any],
    created: datetime,
) -> list[NewFile]:
    """Render PDF/A-3 + factur-x.xml (and XRechnung) once; these bytes are the originals."""
    logo = logo_bytes(get_profile(session))
    company = company_from_snapshot(snapshot, logo)
    xml = build_xml(doc)
    layout = InvoiceLayout(
        company=company,
        recipient=tuple(snapshot["recipient"]),
        intro=invoice.intro_text,
        closing=invoice.closing_text,
        customer_number=snapshot.get("customer_number", ""),
        buyer_vat_id=snapshot["buyer"].get("vat_id") or ""
        if {ln.tax_category for ln in invoice.lines} & {"AE", "K"}
        else "",
        consumer=bool(snapshot.get("consumer")),
        girocode=_girocode(doc, company),
        kind=billing_title(invoice),
        deductions=deduction_lines(invoice),
    )
    try:
        visual = render_invoice(doc, layout, created_at=created)
    except RenderError as exc:
        raise KmsError(f"Die Rechnung konnte nicht gesetzt werden: {exc.args[0]}") from exc
    pdf = embed(visual, xml, kind=billing_title(invoice) or None)
    stem = doc.number.replace("/", "-")
    files = [
        NewFile("pdf", f"{stem}.pdf", "application/pdf", pdf),
        NewFile("facturx_xml", "factur-x.xml", "application/xml", xml),
    ]
    xrechnung = xrechnung_xml(invoice, doc)
    if xrechnung is not None:
        ubl = invoice.einvoice_format == EInvoiceFormat.XRECHNUNG_UBL
        files.append(
            NewFile(
                "xrechnung_xml",
                f"{stem}-xrechnung{'-ubl' if ubl else ''}.xml",
                "application/xml",
                xrechnung,
            )
        )
    return files


def issue(session: Session, prepared: Prepared, *, actor: str = "") -> Invoice:
    """Take the number and store the originals (inside the caller's short transaction)."""
    require_permission(Permission.INVOICES_WRITE, session)
    invoice = _lock(session, prepared.invoice_id)
    if invoice.is_issued:
        raise KmsError(f"{invoice.label} wurde inzwischen abgeschlossen.")
    if invoice.version != prepared.version:
        raise ConflictError(
            "Der Entwurf wurde nach der Prüfung geändert. Bitte noch einmal abschließen."
        )
    if amount_problem(invoice):  # also when a caller built `prepared` by hand
        raise IssueRefused([_p("BETRAG", amount_problem(invoice))])
    problem = deduction_problem(session, invoice)
    if problem:
        raise IssueRefused([_p("SCHLUSSRECHNUNG", problem)])
    return _finalize(
        session,
        invoice,
        prepared.snapshot,
        prepared.issue_date,
        actor,
        RANGE_INVOICE,
        lambda number: build_document(
            invoice, prepared.snapshot, number=number, issue_date=prepared.issue_date
        ),
    )


def _finalize(
    session: Session,
    invoice: Invoice,
    snapshot: dict[str, Any],
    day: date,
    actor: str,
    range_key: str,
    make_doc: Any,
) -> Invoice:
    number = take_number(session, range_key, day)
    doc: InvoiceDocument = make_doc(number)
    now = utcnow()
    files = _render_files(session, invoice, doc, snapshot, now)
    invoice.number = number
    invoice.issue_date = day
    invoice.due_date = doc.payment_terms.due_date if doc.payment_terms else day
    if invoice.is_cancellation:
        invoice.due_date = None
    invoice.snapshot = snapshot
    invoice.issued_at = now
    invoice.issued_by = actor
    invoice.search_key = (f"{number.lower()} {invoice.search_key}")[:1000]
    try:
        session.flush()
    except IntegrityError as exc:
        raise KmsError(
            f"Die Nummer {number} ist schon vergeben (Nummernformat geändert?). Bitte das "
            "Nummernformat in den Rechnungseinstellungen prüfen."
        ) from exc
    stored = [
        store_file(session, invoice, f, contact_ids=(invoice.contact_id,), issued_on=day)
        for f in files
    ]
    audit.record(
        session,
        entity=ENTITY,
        entity_id=invoice.id,
        action="cancelled" if invoice.is_cancellation else "issued",
        actor=actor,
        number=number,
        issue_date=day,
        gross=invoice.gross_total,
        net=invoice.net_total,
        tax=invoice.tax_total,
        cancels=invoice.cancels_id,
        files={f.role: f.sha256 for f in stored},
    )
    return invoice


def issue_invoice(
    invoice_id: int, *, actor: str = "", issue_date: date | None = None, url: str | None = None
) -> Invoice:
    """▶ Rechnung abschließen: check outside, then number and store in a short transaction."""
    with session_scope(url, write=False) as session:
        prepared = prepare_issue(session, invoice_id, issue_date=issue_date)
    with session_scope(url) as session:
        invoice = issue(session, prepared, actor=actor)
        session.flush()
        session.expunge(invoice)
    return invoice


# --- Storno and Korrektur -----------------------------------------------------------


def original_document(invoice: Invoice) -> InvoiceDocument:
    """The EN 16931 document of an issued invoice, rebuilt from its frozen data."""
    if invoice.snapshot is None or invoice.number is None or invoice.issue_date is None:
        raise KmsError("Nur abgeschlossene Rechnungen haben ein Original.")
    return build_document(
        invoice, invoice.snapshot, number=invoice.number, issue_date=invoice.issue_date
    )


def cancel(
    session: Session, invoice_id: int, *, actor: str = "", issue_date: date | None = None
) -> Invoice:
    """▶ Stornieren: a Stornorechnung (type 381, BG-3 reference) from its own number range."""
    require_permission(Permission.INVOICES_WRITE, session)
    original = _lock(session, invoice_id)
    if not original.is_issued:
        raise KmsError("Ein Entwurf wird nicht storniert, sondern gelöscht.")
    if original.is_cancellation:
        raise KmsError("Eine Stornorechnung kann nicht storniert werden.")
    if original.is_correction:
        raise KmsError(
            "Eine Rechnungskorrektur wird nicht storniert: bitte eine weitere Teilkorrektur "
            "zur ursprünglichen Rechnung erstellen."
        )
    if _cancelled(session, original):
        raise KmsError(f"{original.label} ist bereits storniert.")
    corrections = corrections_of(session, original.id)
    if corrections:
        names = ", ".join(c.number or "" for c in corrections)
        raise KmsError(
            f"{original.label} wurde bereits durch Rechnungskorrektur {names} geändert. Eine "
            "Stornierung hebt nur die ursprüngliche Rechnung auf, nicht die Korrektur: bitte "
            "den verbleibenden Betrag mit einer weiteren Teilkorrektur ausgleichen."
        )
    final = deducted_in(session, original)
    if final is not None:
        raise KmsError(
            f"{original.label} wird in {final.label} abgezogen und kann deshalb nicht allein "
            f"storniert werden. Bitte zuerst {final.label} stornieren und danach eine neue "
            "Schlussrechnung erstellen."
        )
    day = issue_date or today()
    if original.issue_date and day < original.issue_date:
        raise KmsError("Die Stornorechnung kann nicht vor der Rechnung datiert sein.")
    storno = Invoice(
        kind=KIND_CANCELLATION,
        contact_id=original.contact_id,
        cancels_id=original.id,
        **{k: getattr(original, k) for k in _COPIED},
    )
    storno.lines = [_copy_line(line) for line in original.lines]
    storno.allowances = [_copy_allowance(row) for row in original.allowances]
    storno.net_total, storno.tax_total, storno.gross_total = compute_totals(storno)
    storno.search_key = original.search_key
    session.add(storno)
    session.flush()
    base = original_document(original)
    snapshot = original.snapshot or {}
    if snapshot.get("direct_debit"):  # a refund is transferred, never debited
        base = replace(base, payment_means=_transfer_means(snapshot.get("company") or {}))
    storno = _finalize(
        session,
        storno,
        snapshot,
        day,
        actor,
        RANGE_CANCELLATION,
        lambda number: cancellation_of(base, number=number, issue_date=day),
    )
    if has_system_warning(session, OVERDUE_WARNING_KEY):  # a cancelled invoice is not overdue
        refresh_overdue_banner(session, today())
    return storno


_COPIED = (
    "service_date",
    "service_date_is_issue_date",
    "period_start",
    "period_end",
    "payment_term_days",
    "buyer_reference",
    "einvoice_format",
)
_LINE_COPIED = (
    "position",
    "description",
    "quantity",
    "unit_code",
    "unit_price",
    "tax_category",
    "tax_rate",
    "discount_kind",
    "discount_value",
    "discount_reason",
)


_ALLOWANCE_COPIED = (
    "position",
    "charge",
    "reason",
    "reason_code",
    "kind",
    "value",
    "tax_category",
    "tax_rate",
)


def _copy_line(line: InvoiceLine) -> InvoiceLine:
    return InvoiceLine(**{k: getattr(line, k) for k in _LINE_COPIED})


def _copy_allowance(row: InvoiceAllowance) -> InvoiceAllowance:
    return InvoiceAllowance(**{k: getattr(row, k) for k in _ALLOWANCE_COPIED})


def correct(
    session: Session, invoice_id: int, *, actor: str = "", issue_date: date | None = None
) -> tuple[Invoice, Invoice]:
    """▶ Korrigieren: Storno plus a new draft prefilled from the original."""
    require_permission(Permission.INVOICES_WRITE, session)
    storno = cancel(session, invoice_id, actor=actor, issue_date=issue_date)
    original = get_invoice(session, invoice_id)
    draft = Invoice(
        kind=KIND_INVOICE,
        contact_id=original.contact_id,
        corrects_id=original.id,
        intro_text=original.intro_text,
        closing_text=original.closing_text,
        skonto_percent=original.skonto_percent,
        skonto_days=original.skonto_days,
        sepa_mandate_id=original.sepa_mandate_id,
        **{k: getattr(original, k) for k in _COPIED},
    )
    draft.lines = [_copy_line(line) for line in original.lines]
    draft.allowances = [_copy_allowance(row) for row in original.allowances]
    # An Abschlags- or Schlussrechnung stays one: the Storno freed the advances a final
    # invoice deducted, so its draft deducts them again (linked, as on every save).
    draft.billing, draft.order_reference = original.billing, original.order_reference
    if original.billing == BILLING_FINAL:
        attach_deductions(session, draft)
    _add_draft_of(session, draft, original, actor, corrects=original.number)
    return storno, draft


def _add_draft_of(
    session: Session, draft: Invoice, original: Invoice, actor: str, **details: Any
) -> None:
    """Store a draft made from an issued invoice: totals, search key, audit entry."""
    draft.net_total, draft.tax_total, draft.gross_total = compute_totals(draft)
    draft.search_key = original.search_key.removeprefix(f"{(original.number or '').lower()} ")
    session.add(draft)
    session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id=draft.id,
        action="created",
        actor=actor,
        gross=draft.gross_total,
        **details,
    )


def corrections_of(session: Session, invoice_id: int, *, issued: bool = True) -> list[Invoice]:
    """The issued Rechnungskorrekturen of an invoice (or its correction drafts), oldest first."""
    done = Invoice.issued_at.is_not(None)
    return list(
        session.scalars(
            select(Invoice)
            .where(
                Invoice.corrects_id == invoice_id,
                Invoice.billing == BILLING_CORRECTION,
                done if issued else ~done,
            )
            .order_by(Invoice.issue_date, Invoice.id)
        )
    )


def create_correction(
    session: Session, invoice_id: int, *, positions: tuple[int, ...] = (), actor: str = ""
) -> Invoice:
    """▶ Teilkorrektur erstellen: a Rechnungskorrektur draft (BT-3 384, BG-3 = the invoice)
    that keeps the invoice standing and holds only the difference.

    The chosen `positions` of the invoice are copied with negated quantity (a full reduction
    of that position, to be edited, e.g. -1 instead of -3); without positions the draft
    starts empty. Issued like any invoice, from the normal number range."""
    require_permission(Permission.INVOICES_WRITE, session)
    original = _lock(session, invoice_id)
    if not original.is_issued:
        raise KmsError("Ein Entwurf wird nicht korrigiert, sondern bearbeitet.")
    if original.is_cancellation:
        raise KmsError("Eine Stornorechnung kann nicht korrigiert werden.")
    if original.is_correction:
        raise KmsError(
            "Eine Rechnungskorrektur wird nicht erneut korrigiert: bitte eine weitere "
            "Teilkorrektur zur ursprünglichen Rechnung erstellen."
        )
    if original.billing == BILLING_ADVANCE:
        raise KmsError(
            "Eine Abschlagsrechnung wird über die Schlussrechnung ausgeglichen, nicht über "
            "eine Rechnungskorrektur."
        )
    if _cancelled(session, original):
        raise KmsError(f"{original.label} ist storniert und kann nicht mehr korrigiert werden.")
    by_position = {line.position: line for line in original.lines}
    unknown = [p for p in positions if p not in by_position]
    if unknown:
        raise KmsError(f"{original.label} hat keine Position {unknown[0]}.")
    draft = Invoice(
        kind=KIND_INVOICE,
        billing=BILLING_CORRECTION,
        contact_id=original.contact_id,
        corrects_id=original.id,
        **{k: getattr(original, k) for k in _COPIED},
    )
    lines = [_copy_line(by_position[p]) for p in sorted(set(positions))]
    for index, line in enumerate(lines, start=1):
        line.position, line.quantity = index, -line.quantity
    draft.lines = lines
    _add_draft_of(session, draft, original, actor, amends=original.number)
    return draft


def describe_refusal(exc: IssueRefused) -> list[str]:
    """German lines for the UI: "[rule] message"."""
    return [f"{p.message} ({p.rule})" for p in exc.problems]

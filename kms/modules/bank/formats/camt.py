"""CAMT.052/053/054 (ISO 20022 bank-to-customer reports) -> Statement.

Parsed with lxml and safe parser settings (no entities, no DTD, no network, no huge trees);
a document with a DOCTYPE is refused before parsing (billion laughs, XXE). Element names are
matched by local name, so camt.053.001.02 up to .08 (and 052/054) read the same way.

Per entry (`Ntry`): only booked entries (`<Sts>BOOK</Sts>` or `<Sts><Cd>BOOK</Cd></Sts>`)
become lines; pending ones are skipped with a warning. A batch entry with several `TxDtls`
that carry their own amounts becomes one line per `TxDtls`.

Purpose: the `RmtInf/Ustrd` lines are stripped and joined with one space. A token the bank
split across two lines ("RE-2026-" / "0042") thus reads "RE-2026- 0042"; the import's matcher
also searches the purpose with all whitespace removed, which finds "RE-2026-0042".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from kms.formatting import format_date, format_money
from kms.modules.bank.formats.common import CENT, build_statement, clean_iban, join_purpose
from kms.modules.bank.statement import Statement, StatementError, StatementLine

_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_CAMT_NS = re.compile(r"camt\.(05[234])\.")
_ROOTS = {"BkToCstmrStmt": "053", "BkToCstmrAcctRpt": "052", "BkToCstmrDbtCdtNtfctn": "054"}
_REPORTS = ("Stmt", "Rpt", "Ntfctn")
# ISO bank transaction sub-families that mean a returned or reversed payment
_RETURN_SUBFAMILIES = {"RRTN", "UPDD", "RPCR", "PRDD", "ARET"}
_RETURN_GVC = {"108", "109", "159"}


def parse_xml(data: bytes) -> etree._Element:
    """The root element of `data`, parsed safely; StatementError for DOCTYPE or broken XML."""
    if _DOCTYPE.search(data):
        raise StatementError(
            "Die XML-Datei enthält eine DOCTYPE- oder ENTITY-Deklaration und wird aus "
            "Sicherheitsgründen nicht gelesen."
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = f" (Zeile {exc.lineno})" if exc.lineno else ""
        raise StatementError(
            f"Die XML-Datei ist unvollständig oder fehlerhaft{line}: {exc.msg}"
        ) from exc
    if root is None:
        raise StatementError("Die XML-Datei ist leer.")
    return root


def camt_kind(root: etree._Element) -> str | None:
    """'052', '053' or '054' for a CAMT document, else None."""
    match = _CAMT_NS.search(etree.QName(root).namespace or "")
    if match:
        return match.group(1)
    for child in root:
        if isinstance(child.tag, str) and etree.QName(child).localname in _ROOTS:
            return _ROOTS[etree.QName(child).localname]
    return None


def _strip_namespaces(root: etree._Element) -> None:
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
    etree.cleanup_namespaces(root)


def _text(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    return (element.findtext(path) or "").strip()


def _decimal(text: str, where: str) -> Decimal:
    try:
        return Decimal(text.strip()).quantize(CENT)
    except InvalidOperation as exc:
        raise StatementError(f"{where}: „{text.strip()}“ ist kein gültiger Betrag.") from exc


def _date(element: etree._Element | None, where: str, timestamp: str = "DtTm") -> date | None:
    """Date of a `Dt` or `DtTm` child (BookgDt, ValDt; FrToDt with FrDtTm/ToDtTm)."""
    text = _text(element, "Dt") or _text(element, timestamp)[:10]
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise StatementError(f"{where}: „{text}“ ist kein gültiges Datum.") from exc


def parse_camt(data: bytes) -> Statement:
    """A CAMT.052/053/054 document as one Statement (several reports of one account merged)."""
    root = parse_xml(data)
    kind = camt_kind(root)
    if kind is None:
        namespace = etree.QName(root).namespace or etree.QName(root).localname
        raise StatementError(
            f"Unbekanntes Format: XML mit „{namespace}“ ist kein CAMT-Kontoauszug "
            "(camt.052, camt.053 oder camt.054)."
        )
    _strip_namespaces(root)
    reports = [el for el in root.iter(*_REPORTS) if el.getparent() is not None]
    reports = [el for el in reports if el.getparent().tag in _ROOTS]  # type: ignore[union-attr]
    if not reports:
        raise StatementError("Die CAMT-Datei enthält keinen Kontoauszug.")
    parser = _CamtReader()
    for report in reports:
        parser.read_report(report)
    return parser.statement(f"camt.{kind}")


@dataclass
class _Party:
    name: str = ""
    iban: str = ""
    bic: str = ""


class _CamtReader:
    def __init__(self) -> None:
        self.iban = ""
        self.currency = ""
        self.lines: list[StatementLine] = []
        self.warnings: list[str] = []
        self.period_from: date | None = None
        self.period_to: date | None = None
        self.opening: Decimal | None = None
        self.closing: Decimal | None = None
        self.entry_no = 0

    def statement(self, fmt: str) -> Statement:
        return build_statement(
            fmt,
            self.iban,
            self.lines,
            currency=self.currency,
            period=(self.period_from, self.period_to),
            balances=(self.opening, self.closing),
            warnings=self.warnings,
        )

    def read_report(self, report: etree._Element) -> None:
        iban = clean_iban(_text(report, "Acct/Id/IBAN") or _text(report, "Acct/Id/Othr/Id"))
        if self.iban and iban and iban != self.iban:
            raise StatementError(
                f"Die Datei enthält Auszüge mehrerer Konten ({self.iban}, {iban}); "
                "bitte je Konto eine Datei einlesen."
            )
        self.iban = self.iban or iban
        self.currency = self.currency or _text(report, "Acct/Ccy")
        period = report.find("FrToDt")
        start = _date(period, "Zeitraum", "FrDtTm")
        end = _date(period, "Zeitraum", "ToDtTm")
        self.period_from = self.period_from or start
        self.period_to = end or self.period_to
        for balance in report.findall("Bal"):
            self._read_balance(balance)
        for entry in report.findall("Ntry"):
            self._read_entry(entry)

    def _read_balance(self, balance: etree._Element) -> None:
        code = _text(balance, "Tp/CdOrPrtry/Cd") or _text(balance, "Tp/CdOrPrtry/Prtry")
        amount = _decimal(_text(balance, "Amt"), "Saldo")
        if _text(balance, "CdtDbtInd") == "DBIT":
            amount = -amount
        if code in ("OPBD", "PRCD") and self.opening is None:
            self.opening = amount
        elif code == "CLBD":
            self.closing = amount

    def _read_entry(self, entry: etree._Element) -> None:
        self.entry_no += 1
        where = f"Eintrag {self.entry_no}"
        amount = _decimal(_text(entry, "Amt"), where)
        credit = _text(entry, "CdtDbtInd") != "DBIT"
        booking_date = _date(entry.find("BookgDt"), where)
        value_date = _date(entry.find("ValDt"), where)
        status = _text(entry, "Sts/Cd") or _text(entry, "Sts")
        if status and status != "BOOK":
            signed = amount if credit else -amount
            day = booking_date or value_date
            when = f" vom {format_date(day)}" if day else ""
            self.warnings.append(
                f"{where}: nicht gebuchter Umsatz ({status}){when} über "
                f"{format_money(signed)} übersprungen."
            )
            return
        booking_date = booking_date or value_date
        if booking_date is None:
            raise StatementError(f"{where}: Das Buchungsdatum fehlt.")
        details = entry.findall("NtryDtls/TxDtls")
        batch = len(details) > 1 and all(_tx_amount(tx) for tx in details)
        if not batch:
            details = details[:1]
        for tx in details or [None]:
            line_amount, line_credit = amount, credit
            if batch and tx is not None:
                line_amount = _decimal(_tx_amount(tx), where)
                indicator = _text(tx, "CdtDbtInd")
                line_credit = indicator != "DBIT" if indicator else credit
            self._add_line(entry, tx, line_amount, line_credit, booking_date, value_date, batch)

    def _add_line(
        self,
        entry: etree._Element,
        tx: etree._Element | None,
        amount: Decimal,
        credit: bool,
        booking_date: date,
        value_date: date | None,
        batch: bool,
    ) -> None:
        role = "Dbtr" if credit else "Cdtr"
        party = _party(tx, role)
        if not party.name and not party.iban:  # e.g. a returned debit names only the debtor
            party = _party(tx, "Cdtr" if credit else "Dbtr")
        purpose = (
            join_purpose([el.text or "" for el in tx.iterfind("RmtInf/Ustrd")])
            if tx is not None
            else ""
        )
        if not purpose and tx is not None:
            purpose = _text(tx, "RmtInf/Strd/CdtrRefInf/Ref")
        is_return, reason = _return_info(entry, tx)
        end_to_end = _text(tx, "Refs/EndToEndId")
        fee = _fees(tx) if tx is not None else Decimal("0.00")
        if not fee and not batch:
            fee = _fees(entry)
        self.lines.append(
            StatementLine(
                booking_date=booking_date,
                amount=amount if credit else -amount,
                purpose=purpose,
                counterparty_name=party.name,
                counterparty_iban=party.iban,
                counterparty_bic=party.bic,
                value_date=value_date,
                currency=entry.find("Amt").get("Ccy", "EUR"),  # type: ignore[union-attr]
                end_to_end_id="" if end_to_end.upper() == "NOTPROVIDED" else end_to_end,
                mandate_reference=_text(tx, "Refs/MndtId"),
                creditor_id=_creditor_id(tx),
                bank_reference=_text(tx, "Refs/AcctSvcrRef") or _text(entry, "AcctSvcrRef"),
                booking_text=_text(entry, "AddtlNtryInf") or _text(tx, "AddtlTxInf"),
                is_return=is_return,
                return_reason=reason,
                fee=fee,
                line_no=len(self.lines) + 1,
            )
        )


def _tx_amount(tx: etree._Element) -> str:
    return _text(tx, "Amt") or _text(tx, "AmtDtls/TxAmt/Amt")


def _party(tx: etree._Element | None, role: str) -> _Party:
    """Name, IBAN, BIC of the debtor ('Dbtr') or creditor ('Cdtr') of a transaction."""
    if tx is None:
        return _Party()
    parties = tx.find("RltdPties")
    name = _text(parties, f"{role}/Nm") or _text(parties, f"{role}/Pty/Nm")
    if not name:
        name = _text(parties, f"Ultmt{role}/Nm") or _text(parties, f"Ultmt{role}/Pty/Nm")
    iban = _text(parties, f"{role}Acct/Id/IBAN") or _text(parties, f"{role}Acct/Id/Othr/Id")
    agent = tx.find(f"RltdAgts/{role}Agt/FinInstnId")
    bic = _text(agent, "BIC") or _text(agent, "BICFI")
    return _Party(name=name, iban=clean_iban(iban), bic=bic.upper())


def _creditor_id(tx: etree._Element | None) -> str:
    if tx is None:
        return ""
    found = tx.find(".//CdtrSchmeId")
    if found is not None:
        return _text(found, "Id/PrvtId/Othr/Id") or (found.text or "").strip()
    parties = tx.find("RltdPties")
    for path in ("Cdtr/Id/PrvtId/Othr/Id", "Cdtr/Pty/Id/PrvtId/Othr/Id"):
        value = _text(parties, path)
        if value:
            return value
    return ""


def _return_info(entry: etree._Element, tx: etree._Element | None) -> tuple[bool, str]:
    """(is_return, reason code) from RtrInf, RvslInd, the ISO or the German (GVC) code."""
    reason = _text(tx, "RtrInf/Rsn/Cd") or _text(tx, "RtrInf/Rsn/Prtry")
    if tx is not None and tx.find("RtrInf") is not None:
        return True, reason
    if _text(entry, "RvslInd").lower() == "true":
        return True, reason
    for holder in (tx, entry):
        if holder is None:
            continue
        domain = holder.find("BkTxCd/Domn")
        if domain is not None and _text(domain, "Fmly/SubFmlyCd") in _RETURN_SUBFAMILIES:
            return True, reason
        proprietary = _text(holder, "BkTxCd/Prtry/Cd")
        gvc = re.match(r"^[A-Z]{4}\+(\d{3})", proprietary)
        if gvc and gvc.group(1) in _RETURN_GVC:
            return True, reason
    return False, reason


def _fees(holder: etree._Element) -> Decimal:
    """Sum of the charges (`Chrgs`) reported for an entry or transaction, as a positive amount."""
    total = Decimal("0.00")
    for charges in holder.findall("Chrgs"):
        overall = _text(charges, "TtlChrgsAndTaxAmt")
        if overall:
            total += abs(_decimal(overall, "Gebühr"))
            continue
        amounts = [_text(record, "Amt") for record in charges.findall("Rcrd")]
        amounts = amounts or [_text(charges, "Amt")]
        total += sum((abs(_decimal(a, "Gebühr")) for a in amounts if a), Decimal("0.00"))
    return total

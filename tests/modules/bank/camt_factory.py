"""Test support: a valid CAMT.053.001.02 document from a few plain dicts (tests, benchmark).

Each entry dict: amount (Decimal/str, signed: > 0 credit), booking_date (date), purpose
(str or list of Ustrd lines), and optionally value_date, name, iban, bic, end_to_end_id,
mandate_id, creditor_id, reference (AcctSvcrRef), booking_text (AddtlNtryInf), status
("BOOK"/"PDNG"), return_reason (adds RtrInf), fee (Chrgs amount).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def _amount(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _entry(entry: dict[str, Any]) -> str:
    amount = _amount(entry["amount"])
    credit = amount >= 0
    booked: date = entry["booking_date"]
    value: date = entry.get("value_date", booked)
    purpose = entry.get("purpose", "")
    lines = [purpose] if isinstance(purpose, str) else list(purpose)
    ustrd = "".join(f"<Ustrd>{escape(line)}</Ustrd>" for line in lines)
    role = "Dbtr" if credit else "Cdtr"
    parties = ""
    if entry.get("name") or entry.get("iban"):
        parties = (
            f"<RltdPties><{role}><Nm>{escape(entry.get('name', ''))}</Nm></{role}>"
            f"<{role}Acct><Id><IBAN>{entry.get('iban', '')}</IBAN></Id></{role}Acct>"
        )
        if entry.get("creditor_id"):
            parties += (
                (
                    "<Cdtr><Id><PrvtId><Othr><Id>"
                    f"{entry['creditor_id']}</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm>"
                    "</Othr></PrvtId></Id></Cdtr>"
                )
                if credit
                else ""
            )
        parties += "</RltdPties>"
    agents = ""
    if entry.get("bic"):
        agent = f"<FinInstnId><BIC>{entry['bic']}</BIC></FinInstnId>"
        agents = f"<RltdAgts><{role}Agt>{agent}</{role}Agt></RltdAgts>"
    refs = f"<EndToEndId>{escape(entry.get('end_to_end_id', 'NOTPROVIDED'))}</EndToEndId>"
    if entry.get("mandate_id"):
        refs += f"<MndtId>{escape(entry['mandate_id'])}</MndtId>"
    returned = ""
    if entry.get("return_reason"):
        returned = f"<RtrInf><Rsn><Cd>{entry['return_reason']}</Cd></Rsn></RtrInf>"
    charges = ""
    if entry.get("fee"):
        charges = f'<Chrgs><Amt Ccy="EUR">{_amount(entry["fee"])}</Amt></Chrgs>'
    return (
        f'<Ntry><Amt Ccy="EUR">{abs(amount)}</Amt>'
        f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>"
        f"<Sts>{entry.get('status', 'BOOK')}</Sts>"
        f"<BookgDt><Dt>{booked.isoformat()}</Dt></BookgDt>"
        f"<ValDt><Dt>{value.isoformat()}</Dt></ValDt>"
        f"<AcctSvcrRef>{escape(entry.get('reference', ''))}</AcctSvcrRef>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>"
        "</BkTxCd>"
        f"{charges}"
        f"<NtryDtls><TxDtls><Refs>{refs}</Refs>{parties}{agents}"
        f"<RmtInf>{ustrd}</RmtInf>{returned}</TxDtls></NtryDtls>"
        f"<AddtlNtryInf>{escape(entry.get('booking_text', ''))}</AddtlNtryInf></Ntry>"
    )


def camt053_bytes(iban: str, entries: list[dict[str, Any]]) -> bytes:
    """A CAMT.053.001.02 statement of account `iban` with `entries` (see module doc)."""
    days = [e["booking_date"] for e in entries] or [date(2026, 11, 1)]
    start, end = min(days), max(days)
    total = sum(
        (_amount(e["amount"]) for e in entries if e.get("status", "BOOK") == "BOOK"),
        Decimal("0.00"),
    )
    opening = Decimal("1000.00")
    closing = opening + total

    def balance(code: str, amount: Decimal, day: date) -> str:
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="EUR">{abs(amount)}</Amt>'
            f"<CdtDbtInd>{'CRDT' if amount >= 0 else 'DBIT'}</CdtDbtInd>"
            f"<Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>"
        )

    body = "".join(_entry(e) for e in entries)
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="{NAMESPACE}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>KMS-TEST-1</MsgId><CreDtTm>2026-12-01T08:00:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>KMS-TEST-STMT-1</Id><CreDtTm>2026-12-01T08:00:00</CreDtTm>"
        f"<FrToDt><FrDtTm>{start.isoformat()}T00:00:00</FrDtTm>"
        f"<ToDtTm>{end.isoformat()}T23:59:59</ToDtTm></FrToDt>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f"{balance('OPBD', opening, start)}{balance('CLBD', closing, end)}"
        f"{body}</Stmt></BkToCstmrStmt></Document>"
    )
    return document.encode("utf-8")

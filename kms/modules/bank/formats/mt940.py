"""MT940 (SWIFT customer statement, German DK variant) -> Statement.

Hand-written rather than the `mt-940` package: the format layer is small (tags `:25:`,
`:60F:`, `:61:`, `:86:`, `:62F:`), while what matters here, the German structured field 86
(DFÜ-Abkommen Anlage 3: GVC, `?00` Buchungstext, `?20`-`?29`/`?60`-`?63` Verwendungszweck,
`?30`-`?34`, SEPA keywords EREF+/MREF+/CRED+/SVWZ+) and the Sparkasse CSV-MT940 purpose text,
needs the same own code either way (see kms.modules.bank.formats.sepa).

Purpose segments are reassembled the way the DK format cuts them: a segment that fills its
27 characters continues in the next one without a space ("RE-2026-00" + "42"), a shorter
segment ends a word, so a space follows. SEPA keywords split across segments ("S" + "VWZ+")
are therefore found too. The import's matcher also searches with all whitespace removed.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from kms.modules.bank.formats.common import build_statement, clean_iban, german_iban, parse_amount
from kms.modules.bank.formats.sepa import is_return_text, reason_code, split_sepa_purpose
from kms.modules.bank.statement import Statement, StatementError, StatementLine

_TAG = re.compile(r"^:(\d{2}[A-Z]?):(.*)$")
_LINE_61 = re.compile(
    r"^(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)(?P<fund>[A-Z])?"
    r"(?P<amount>\d[\d,]*)(?P<type>[A-Z][A-Z0-9]{3})(?P<ref>[^/]*)(?://(?P<bankref>.*))?$"
)
_BALANCE = re.compile(r"^(?P<mark>[CD])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>[\d,]+)$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
_RETURN_GVC = {"108", "109", "159"}
_SEGMENT = 27


def join_segments(segments: list[str], width: int = _SEGMENT) -> str:
    """Reassemble cut text: a full-width segment continues directly, a shorter one ends a word."""
    text = ""
    previous_full = True
    for segment in segments:
        if not segment:
            continue
        if text and not previous_full and not text.endswith(" "):
            text += " "
        text += segment
        previous_full = len(segment) >= width
    return text.strip()


def _mt_date(text: str, line_no: int) -> date:
    try:
        year = int(text[:2])
        return date(2000 + year if year < 80 else 1900 + year, int(text[2:4]), int(text[4:6]))
    except ValueError as exc:
        raise StatementError(f"Zeile {line_no}: „{text}“ ist kein gültiges Datum.") from exc


def _entry_date(mmdd: str, value_date: date, line_no: int) -> date:
    """The booking date MMDD next to `value_date`, in the year that puts it nearest."""
    candidates = []
    for year in (value_date.year - 1, value_date.year, value_date.year + 1):
        try:
            candidates.append(date(year, int(mmdd[:2]), int(mmdd[2:])))
        except ValueError:
            continue
    if not candidates:
        raise StatementError(f"Zeile {line_no}: „{mmdd}“ ist kein gültiges Buchungsdatum.")
    return min(candidates, key=lambda day: abs((day - value_date).days))


def _account(text: str) -> str:
    """IBAN of field 25: given as IBAN, or computed from German "BLZ/Kontonummer"."""
    value = clean_iban(text)
    if _IBAN.match(value):
        return value
    match = re.fullmatch(r"(\d{8})/(\d{1,10})(EUR)?", value)
    return german_iban(match.group(1), match.group(2)) if match else ""


def _fields(text: str) -> tuple[str, dict[str, list[str]]] | None:
    """GVC and subfields of a structured field 86, None if it is unstructured."""
    match = re.match(r"^(\d{3})(\D)", text)
    if not match:
        return None
    separator = match.group(2)
    result: dict[str, list[str]] = {}
    for part in text[4:].split(separator):
        if len(part) >= 2 and part[:2].isdigit():
            result.setdefault(part[:2], []).append(part[2:])
    return match.group(1), result


def parse_mt940(text: str) -> Statement:
    """An MT940 file (one or more statements of one account) as a Statement."""
    return _Mt940Reader().read(text)


class _Mt940Reader:
    def __init__(self) -> None:
        self.account = ""
        self.currency = ""
        self.opening: Decimal | None = None
        self.closing: Decimal | None = None
        self.period_from: date | None = None
        self.period_to: date | None = None
        self.lines: list[StatementLine] = []
        self.pending: tuple[int, str] | None = None  # line number and text of the open :61:

    def read(self, text: str) -> Statement:
        tags: list[tuple[int, str, list[str]]] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.rstrip("\r")
            match = _TAG.match(line)
            if match:
                tags.append((number, match.group(1), [match.group(2)]))
            elif tags and line.strip() not in ("-", "-}", "}") and not line.startswith("{"):
                tags[-1][2].append(line)
        if not any(tag == "61" for _, tag, _ in tags) and not any(t == "25" for _, t, _ in tags):
            raise StatementError("Die MT940-Datei enthält weder Konto (:25:) noch Umsätze (:61:).")
        for number, tag, parts in tags:
            self._tag(number, tag, parts)
        self._flush(None)
        return build_statement(
            "mt940",
            self.account,
            self.lines,
            currency=self.currency,
            period=(self.period_from, self.period_to),
            balances=(self.opening, self.closing),
        )

    def _tag(self, number: int, tag: str, parts: list[str]) -> None:
        if tag == "25":
            account = _account(parts[0])
            if self.account and account and account != self.account:
                raise StatementError(
                    f"Zeile {number}: Die Datei enthält Auszüge mehrerer Konten "
                    f"({self.account}, {account}); bitte je Konto eine Datei einlesen."
                )
            self.account = self.account or account
        elif tag in ("60F", "60M", "62F", "62M"):
            self._balance(number, tag, parts[0].strip())
        elif tag == "61":
            self._flush(None)
            self.pending = (number, "\n".join(parts))
        elif tag == "86" and self.pending is not None:
            # structured: subfields run on across line breaks; free text: 65-character lines
            structured = re.match(r"^\d{3}\D", parts[0]) is not None
            self._flush("".join(parts) if structured else join_segments(parts, 65))

    def _balance(self, number: int, tag: str, text: str) -> None:
        match = _BALANCE.match(text)
        if not match:
            raise StatementError(f"Zeile {number}: „{text}“ ist kein gültiger Saldo (:{tag}:).")
        amount = parse_amount(match.group("amount"), line_no=number)
        if match.group("mark") == "D":
            amount = -amount
        day = _mt_date(match.group("date"), number)
        self.currency = self.currency or match.group("currency")
        if tag.startswith("60") and self.opening is None:
            self.opening, self.period_from = amount, day
        elif tag.startswith("62"):
            self.closing, self.period_to = amount, day

    def _flush(self, info: str | None) -> None:
        if self.pending is None:
            return
        number, text = self.pending
        self.pending = None
        first, _, extra = text.partition("\n")
        match = _LINE_61.match(first.strip())
        if not match:
            raise StatementError(
                f"Zeile {number}: „{first.strip()}“ ist kein gültiger MT940-Umsatz (:61:)."
            )
        value_date = _mt_date(match.group("value"), number)
        entry = match.group("entry")
        booking_date = _entry_date(entry, value_date, number) if entry else value_date
        amount = parse_amount(match.group("amount"), line_no=number)
        mark = match.group("mark")
        if mark in ("D", "RC"):
            amount = -amount
        reference = (match.group("bankref") or "").strip() or match.group("ref").strip()
        if reference.upper() == "NONREF":
            reference = ""
        self.lines.append(
            self._line(number, info or "", booking_date, value_date, amount, mark, reference, extra)
        )

    def _line(
        self,
        number: int,
        info: str,
        booking_date: date,
        value_date: date,
        amount: Decimal,
        mark: str,
        reference: str,
        extra: str,
    ) -> StatementLine:
        structured = _fields(info)
        gvc, sub = structured if structured is not None else ("", {})
        codes = [str(n) for n in range(20, 30)] + ["60", "61", "62", "63"]
        segments = [segment for code in codes for segment in sub.get(code, [])]
        sepa = split_sepa_purpose(join_segments(segments) if structured else info.strip())
        booking_text = "".join(sub.get("00", [])).strip() or extra.strip()
        is_return = mark in ("RC", "RD") or gvc in _RETURN_GVC or is_return_text(booking_text)
        reason = ""
        if is_return:
            reason = reason_code(sepa.purpose) or "".join(sub.get("34", [])).strip()
        iban = clean_iban("".join(sub.get("31", [])))
        bic = clean_iban("".join(sub.get("30", [])))
        name = join_segments(sub.get("32", []) + sub.get("33", []))
        return StatementLine(
            booking_date=booking_date,
            amount=amount,
            purpose=sepa.purpose,
            counterparty_name=name or sepa.other_name,
            counterparty_iban=iban if _IBAN.match(iban) else "",
            counterparty_bic=bic if _BIC.match(bic) else "",
            value_date=value_date,
            currency=self.currency or "EUR",
            end_to_end_id=sepa.end_to_end_id,
            mandate_reference=sepa.mandate_reference,
            creditor_id=sepa.creditor_id,
            bank_reference=reference,
            booking_text=booking_text,
            is_return=is_return,
            return_reason=reason,
            fee=sepa.compensation,
            line_no=number,
        )

"""Licences for the add-on modules (Preiskalkulation, Podcasts): Ed25519-signed tokens.

A licence is `base64url(payload) "." base64url(Ed25519 signature over exactly those payload
bytes)`. The payload is JSON with exactly the fields of PAYLOAD_FIELDS: format version, key id,
licence id, module, licensee, instance id, valid_from, valid_until (inclusive, to 23:59:59
Europe/Berlin) and issued_at. Anything else, or a module that is not a licensed add-on, is
refused.

Trusted public keys come from release code (RELEASE_PUBLIC_KEYS) or the operator
(KMS_LICENSE_PUBLIC_KEYS, comma-separated base64url raw Ed25519 keys), never from the
database. The demo key pair (DEMO_PRIVATE_KEY is public on purpose) is trusted only by a
process started for the demo (KMS_DEMO=1, set by `python -m kms demo`), only for an instance
whose id the demo made ("demo-…") and only for at most DEMO_MAX_DAYS days.

The state of a licence is derived every time from the installed token (re-verified), the
clock and the retention setting, never stored: active → expired (locked, data kept) → purge
due. A clock behind the newest audit-log entry locks every add-on (rolled back clock?).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import kms.types
from kms.errors import KmsError
from kms.models import get_value, set_value
from kms.notices import set_system_warning
from kms.permissions import Permission, require_permission
from kms.types import BERLIN

LICENCES_KEY = "licences.installed"
INSTANCE_KEY = "instance.id"
RETENTION_KEY = "licences.retention_days"
DEFAULT_RETENTION_DAYS = 180
WARN_DAYS = 30
FORMAT_VERSION = 1
PAYLOAD_FIELDS = frozenset(
    {
        "v",
        "kid",
        "lid",
        "module",
        "licensee",
        "instance",
        "valid_from",
        "valid_until",
        "issued_at",
    }
)
# Public keys of the KMS release (key id → base64url raw key). The vendor's production key
# goes here; operators add their own with KMS_LICENSE_PUBLIC_KEYS.
RELEASE_PUBLIC_KEYS: dict[str, str] = {}
# The demo key pair is public: whoever has the code can sign demo licences, so they only work
# in a demo process, for a demo instance, for a short time.
DEMO_PRIVATE_KEY = "ZGVtby1rbXMtbGljZW5jZS1rZXktMjAyNi0wMDAwMDA"
DEMO_INSTANCE_PREFIX = "demo-"
DEMO_MAX_DAYS = 31
DEMO_ENV = "KMS_DEMO"
# How far the clock may lag the newest audit-log entry before KMS suspects a rollback.
CLOCK_TOLERANCE = timedelta(minutes=10)


class ModuleLocked(KmsError):
    """The add-on module has no valid licence."""


@dataclass(frozen=True)
class Licence:
    """A verified licence."""

    licence_id: str
    key_id: str
    module: str
    licensee: str
    instance: str
    valid_from: date
    valid_until: date
    issued_at: datetime
    token: str
    demo: bool = False

    @property
    def starts(self) -> datetime:
        """00:00:00 Europe/Berlin on valid_from."""
        return datetime.combine(self.valid_from, time(0), BERLIN)

    @property
    def ends(self) -> datetime:
        """The first moment it is no longer valid: 00:00 Berlin after valid_until."""
        return datetime.combine(self.valid_until + timedelta(days=1), time(0), BERLIN)

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until

    def valid_at(self, moment: datetime) -> bool:
        return self.starts <= moment < self.ends


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or set(text) - set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    ):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_key: str) -> str:
    """A short, stable name of a public key (base64url of its SHA-256, 11 characters)."""
    return _b64(hashlib.sha256(_unb64(public_key)).digest()[:8])


def public_key_of(private_key: str) -> str:
    """The base64url raw public key of a base64url raw private key."""
    key = Ed25519PrivateKey.from_private_bytes(_unb64(private_key))
    return _b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


DEMO_PUBLIC_KEY = public_key_of(DEMO_PRIVATE_KEY)
DEMO_KEY_ID = key_id(DEMO_PUBLIC_KEY)


def demo_process() -> bool:
    """True in a process started for the demo (`python -m kms demo` sets KMS_DEMO=1)."""
    return os.environ.get(DEMO_ENV, "") == "1"


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """Key id → public key whose signatures KMS accepts (release code and operator config)."""
    raw = [*RELEASE_PUBLIC_KEYS.values()]
    raw += [k.strip() for k in os.environ.get("KMS_LICENSE_PUBLIC_KEYS", "").split(",")]
    keys: dict[str, Ed25519PublicKey] = {}
    for text in raw:
        if not text:
            continue
        try:
            keys[key_id(text)] = Ed25519PublicKey.from_public_bytes(_unb64(text))
        except ValueError as exc:
            raise KmsError(
                "Ein öffentlicher Lizenzschlüssel in KMS_LICENSE_PUBLIC_KEYS ist ungültig."
            ) from exc
    if demo_process():
        keys[DEMO_KEY_ID] = Ed25519PublicKey.from_public_bytes(_unb64(DEMO_PUBLIC_KEY))
    return keys


def generate_keypair() -> tuple[str, str]:
    """(private, public) as base64url raw keys, for whoever issues licences."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    secret = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return _b64(secret), _b64(public)


def licensed_modules() -> dict[str, str]:
    """Key → title of every add-on that needs a licence."""
    from kms.registry import modules

    return {spec.key: spec.title for spec in modules() if spec.licensed}


def issue(
    private_key: str,
    *,
    module: str,
    licensee: str,
    instance: str,
    valid_until: date,
    valid_from: date | None = None,
    licence_id: str | None = None,
    issued_at: datetime | None = None,
) -> str:
    """Sign a licence token (vendor side)."""
    try:
        key = Ed25519PrivateKey.from_private_bytes(_unb64(private_key.strip()))
    except ValueError as exc:
        raise KmsError("Der private Schlüssel ist kein Ed25519-Schlüssel von KMS.") from exc
    start = valid_from or kms.types.today()
    if valid_until < start:
        raise KmsError("„bis“ liegt vor „ab“: die Lizenz wäre nie gültig.")
    if not instance.strip():
        raise KmsError("Bitte die Instanz-ID angeben (python -m kms license instance-id).")
    payload = json.dumps(
        {
            "v": FORMAT_VERSION,
            "kid": key_id(public_key_of(private_key.strip())),
            "lid": licence_id or secrets.token_hex(8),
            "module": module,
            "licensee": licensee,
            "instance": instance.strip(),
            "valid_from": start.isoformat(),
            "valid_until": valid_until.isoformat(),
            "issued_at": (issued_at or kms.types.utcnow())
            .astimezone(UTC)
            .isoformat(timespec="seconds"),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return f"{_b64(payload)}.{_b64(key.sign(payload))}"


def issue_demo(instance: str, *, days: int = DEMO_MAX_DAYS) -> dict[str, str]:
    """Demo licences for every add-on, bound to the demo instance (python -m kms demo)."""
    start = kms.types.today()
    return {
        module: issue(
            DEMO_PRIVATE_KEY,
            module=module,
            licensee="Demo (Erika Mustermann)",
            instance=instance,
            valid_from=start,
            valid_until=start + timedelta(days=days - 1),
        )
        for module in licensed_modules()
    }


def _parse(token: str) -> tuple[bytes, bytes, dict[str, object]]:
    try:
        payload_b64, sig_b64 = token.strip().split(".")
        payload, signature = _unb64(payload_b64), _unb64(sig_b64)
        data = json.loads(payload)
    except (ValueError, TypeError) as exc:
        raise KmsError("Das ist kein gültiger KMS-Lizenzschlüssel.") from exc
    if not isinstance(data, dict):
        raise KmsError("Das ist kein gültiger KMS-Lizenzschlüssel.")
    return payload, signature, data


def verify(token: str, instance: str | None = None) -> Licence:
    """Check a token's signature against the trusted keys and parse it.

    With `instance`, the licence must be bound to that instance id.
    """
    payload, signature, data = _parse(token)
    if data.get("v") != FORMAT_VERSION:
        raise KmsError("Dieses Lizenzformat kennt diese KMS-Version nicht.")
    key = trusted_keys().get(str(data.get("kid")))
    if key is None:
        if data.get("kid") == DEMO_KEY_ID:
            raise KmsError(
                "Das ist eine Demo-Lizenz; sie gilt nur in der Demo (python -m kms demo)."
            )
        raise KmsError("Die Signatur des Lizenzschlüssels ist ungültig (unbekannter Schlüssel).")
    try:
        key.verify(signature, payload)
    except InvalidSignature as exc:
        raise KmsError("Die Signatur des Lizenzschlüssels ist ungültig.") from exc
    if set(data) != PAYLOAD_FIELDS:
        raise KmsError("Der Lizenzschlüssel enthält unbekannte oder fehlende Angaben.")
    try:
        licence = Licence(
            licence_id=str(data["lid"]),
            key_id=str(data["kid"]),
            module=str(data["module"]),
            licensee=str(data["licensee"]),
            instance=str(data["instance"]),
            valid_from=date.fromisoformat(str(data["valid_from"])),
            valid_until=date.fromisoformat(str(data["valid_until"])),
            issued_at=datetime.fromisoformat(str(data["issued_at"])),
            token=token.strip(),
            demo=data["kid"] == DEMO_KEY_ID,
        )
    except ValueError as exc:
        raise KmsError("Das ist kein gültiger KMS-Lizenzschlüssel.") from exc
    if licence.module not in licensed_modules():
        raise KmsError(f"Das Zusatzmodul „{licence.module}“ gibt es in dieser KMS-Version nicht.")
    if licence.demo and (
        not licence.instance.startswith(DEMO_INSTANCE_PREFIX)
        or (licence.valid_until - licence.valid_from).days >= DEMO_MAX_DAYS
    ):
        raise KmsError("Diese Demo-Lizenz ist ungültig (fremde Instanz oder zu lange Laufzeit).")
    if instance is not None and licence.instance != instance:
        raise KmsError(
            f"Diese Lizenz gilt für eine andere Instanz ({licence.instance}); "
            f"diese Instanz hat die ID {instance}."
        )
    return licence


def instance_id(session: Session, *, demo: bool = False) -> str:
    """This instance's id, generated once and kept in the key-value store (travels in
    backups). `demo` makes a new instance's id a demo id ("demo-…")."""
    current = get_value(session, INSTANCE_KEY)
    if current:
        return str(current)
    prefix = DEMO_INSTANCE_PREFIX if demo else "kms-"
    new = prefix + secrets.token_hex(8)
    set_value(session, INSTANCE_KEY, new)
    session.flush()
    return new


def install_demo(session: Session) -> list[str]:
    """In a demo process: give a new instance a demo id and install short demo licences for
    every add-on (python -m kms demo). Returns the modules licensed."""
    if not demo_process():
        return []
    instance = instance_id(session, demo=True)
    if not instance.startswith(DEMO_INSTANCE_PREFIX):
        return []  # an instance made outside the demo never gets demo licences
    tokens = dict(get_value(session, LICENCES_KEY) or {})
    for module, token in issue_demo(instance).items():
        tokens[module] = verify(token, instance).token
    set_value(session, LICENCES_KEY, tokens)
    return sorted(tokens)


def stored_instance_id(session: Session) -> str | None:
    """The instance id if one was generated (read-only sessions never create one)."""
    current = get_value(session, INSTANCE_KEY)
    return str(current) if current else None


def install(session: Session, token: str) -> Licence:
    """Verify and store a licence (replacing an older one for the same module)."""
    require_permission(Permission.LICENCES, session)
    licence = verify(token, instance_id(session))
    tokens = dict(get_value(session, LICENCES_KEY) or {})
    tokens[licence.module] = licence.token
    set_value(session, LICENCES_KEY, tokens)
    return licence


def installed(session: Session) -> dict[str, Licence]:
    """Installed licences that still verify for this instance, by module (re-verified on
    every call: a hand-edited row is just an invalid token)."""
    result: dict[str, Licence] = {}
    instance = stored_instance_id(session)
    if instance is None:
        return result
    for module, token in (get_value(session, LICENCES_KEY) or {}).items():
        try:
            licence = verify(str(token), instance)
        except KmsError:
            continue
        if licence.module == module:
            result[module] = licence
    return result


def retention_days(session: Session) -> int:
    """Days an expired add-on's data is kept before its purge is due (setting)."""
    value = get_value(session, RETENTION_KEY)
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_RETENTION_DAYS


def set_retention_days(session: Session, days: int) -> None:
    require_permission(Permission.LICENCES, session)
    if days < 30:
        raise KmsError("Die Aufbewahrungsfrist muss mindestens 30 Tage betragen.")
    set_value(session, RETENTION_KEY, days)


def aware(moment: datetime) -> datetime:
    """A database time as an aware UTC time (SQLite returns naive ones)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def newest_audit_time(session: Session) -> datetime | None:
    from kms.audit import AuditEvent

    newest = session.scalar(select(func.max(AuditEvent.at)))
    return None if newest is None else aware(newest)


ACTIVE = "aktiv"
NOT_YET = "noch nicht gültig"
EXPIRED = "abgelaufen"
PURGE_DUE = "Löschung fällig"
MISSING = "nicht lizenziert"
SUSPICIOUS = "Uhrzeit unplausibel"
PURGED = "gelöscht"


@dataclass(frozen=True)
class LicenceState:
    """The derived state of one add-on at one moment."""

    module: str
    title: str
    status: str
    licence: Licence | None = None
    locked_since: datetime | None = None
    kept_until: datetime | None = None

    @property
    def usable(self) -> bool:
        return self.status == ACTIVE

    def describe(self) -> str:
        """One German sentence about the state."""
        fmt = "%d.%m.%Y"
        name = f"„{self.title}“"
        if self.status == SUSPICIOUS:
            return (
                f"{name} ist gesperrt: die Systemuhr geht hinter den letzten Eintrag im "
                "Prüfprotokoll zurück (Uhr zurückgestellt?). Bitte Datum und Uhrzeit des "
                "Servers prüfen."
            )
        if self.status == MISSING or self.licence is None:
            return f"{name} ist nicht lizenziert."
        lic = self.licence
        if self.status == ACTIVE:
            return f"{name} ist lizenziert für {lic.licensee}, gültig bis {lic.valid_until:{fmt}}."
        if self.status == NOT_YET:
            return f"Die Lizenz für {name} gilt erst ab {lic.valid_from:{fmt}}."
        since = (self.locked_since or lic.ends).astimezone(BERLIN)
        kept = (self.kept_until or lic.ends).astimezone(BERLIN)
        if self.status == PURGED:
            return (
                f"Die Lizenz für {name} ist seit {since:{fmt}} abgelaufen; die Daten wurden "
                f"nach der Aufbewahrungsfrist gelöscht (ein Backup davon wird aufbewahrt)."
            )
        if self.status == EXPIRED:
            return (
                f"Die Lizenz für {name} ist seit {since:{fmt}} abgelaufen; das Modul ist "
                f"gesperrt. Die Daten bleiben bis {kept:{fmt}} erhalten; eine neue Lizenz "
                "macht sie sofort wieder nutzbar."
            )
        return (
            f"Die Lizenz für {name} ist seit {since:{fmt}} abgelaufen; die Aufbewahrungsfrist "
            f"endete am {kept:{fmt}}, die Daten werden gelöscht (nach einer Sicherung)."
        )


def state(
    session: Session, module: str, title: str | None = None, now: datetime | None = None
) -> LicenceState:
    """The add-on's licence state now (derived from the verified token and the clock)."""
    moment = now or kms.types.utcnow()
    title = title or licensed_modules().get(module, module)
    newest = newest_audit_time(session)
    if newest is not None and moment < newest - CLOCK_TOLERANCE:
        return LicenceState(module, title, SUSPICIOUS)
    licence = installed(session).get(module)
    if licence is None:
        return LicenceState(module, title, MISSING)
    if moment < licence.starts:
        return LicenceState(module, title, NOT_YET, licence)
    if licence.valid_at(moment):
        return LicenceState(module, title, ACTIVE, licence)
    kept_until = licence.ends + timedelta(days=retention_days(session))
    status = EXPIRED if moment < kept_until else PURGE_DUE
    if status == PURGE_DUE:
        from kms.licensing_purge import purged_at

        purged = purged_at(session, module)
        if purged is not None and purged >= licence.ends:
            status = PURGED
    return LicenceState(module, title, status, licence, licence.ends, kept_until)


def states(session: Session, now: datetime | None = None) -> list[LicenceState]:
    """Every add-on's state, in registry order."""
    return [state(session, key, title, now) for key, title in licensed_modules().items()]


def data_kept(session: Session, module: str) -> bool:
    """False once an expired add-on's retention is over (purge due or done): its public
    read routes (feeds, media) stay online until then."""
    return state(session, module).status not in (PURGE_DUE, PURGED)


def is_licensed(session: Session, module: str, day: date | None = None) -> bool:
    """True when a valid licence covers the module on `day` (now by default)."""
    if day is not None:
        licence = installed(session).get(module)
        return licence is not None and licence.valid_on(day)
    return state(session, module).usable


def require(session: Session | str, module: str | Session, title: str | None = None) -> None:
    """Raise ModuleLocked (German message) unless the add-on is usable now.

    `require(session, "pricing")`; `require("pricing", session)` is accepted as well.
    """
    if isinstance(session, str):
        session, module = module, session
    if not isinstance(session, Session) or not isinstance(module, str):
        raise TypeError("require(session, module)")
    current = state(session, module, title)
    if current.usable:
        return
    if current.status == MISSING:
        raise ModuleLocked(
            f"Das Zusatzmodul „{current.title}“ ist nicht lizenziert. Ihre Daten bleiben "
            "erhalten; mit einer gültigen Lizenz ist es sofort wieder verfügbar."
        )
    raise ModuleLocked(f"Das Zusatzmodul „{current.title}“ ist gesperrt. {current.describe()}")


def licence_watch(session: Session, now: datetime) -> str:
    """⊕ Warn 30 days before an add-on licence expires and 30 days before a purge."""
    day = now.astimezone(BERLIN).date()  # licences end at midnight in Germany
    notes = []
    for current in states(session, now):
        lic = current.licence
        if current.status == ACTIVE and lic is not None:
            left = (lic.valid_until - day).days
            if left <= WARN_DAYS:
                notes.append(f"Lizenz für „{current.title}“ läuft in {left} Tagen ab.")
        elif current.status == EXPIRED and current.kept_until is not None:
            left = (current.kept_until.astimezone(BERLIN).date() - day).days
            note = f"Lizenz für „{current.title}“ ist abgelaufen; das Modul ist gesperrt."
            if left <= WARN_DAYS:
                from kms.licensing_purge import purge_summary

                what = purge_summary(session, current.module)
                note += f" Die Daten werden in {left} Tagen gelöscht ({what})."
            notes.append(note)
        elif current.status == PURGE_DUE:
            from kms.licensing_purge import purge_summary

            notes.append(f"{current.describe()} ({purge_summary(session, current.module)})")
        elif current.status in (PURGED, SUSPICIOUS):
            notes.append(current.describe())
    set_system_warning(session, "licences", " ".join(notes) or None)
    return " ".join(notes) or "Alle Lizenzen gültig."

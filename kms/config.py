"""Runtime configuration from the environment, read lazily and cached until reset."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class EnvVar:
    """One environment variable KMS reads: its name and what it does (German, for --help)."""

    name: str
    meaning: str


# Every KMS_* variable read anywhere in kms/ (a test greps the code against this list);
# `python -m kms --help` and the README's Configuration table show them.
ENVIRONMENT = (
    EnvVar("KMS_DATA_DIR", "Ordner für alle Laufzeitdaten (Standard: ./data)"),
    EnvVar("KMS_DATABASE_URL", "SQLAlchemy-URL der Datenbank (Standard: SQLite im Datenordner)"),
    EnvVar("KMS_COOKIE_KEY", "Schlüssel der Anmelde-Cookies, mind. 32 Byte (sonst zufällig)"),
    EnvVar("KMS_SECRET_KEY", "Schlüssel für gespeicherte Geheimnisse wie das SMTP-Passwort"),
    EnvVar("KMS_SCHEDULER", "0 schaltet die Automatismen im Serverprozess ab (dann cron)"),
    EnvVar("KMS_SCHEDULER_INTERVAL", "Takt der Automatismen in Sekunden (Standard: 20)"),
    EnvVar("KMS_SMTP_HOST", "Mailserver des Betreibers (überschreibt Einstellungen)"),
    EnvVar("KMS_SMTP_PORT", "Port des Mailservers"),
    EnvVar("KMS_SMTP_SECURITY", "starttls, ssl oder none"),
    EnvVar("KMS_SMTP_USER", "Benutzername am Mailserver"),
    EnvVar("KMS_SMTP_PASSWORD", "Passwort am Mailserver"),
    EnvVar("KMS_SMTP_SENDER", "Absenderadresse"),
    EnvVar("KMS_SUPPORT_NAME", "Support-Kontakt in der Seitenleiste: Name"),
    EnvVar("KMS_SUPPORT_EMAIL", "Support-Kontakt: E-Mail"),
    EnvVar("KMS_SUPPORT_PHONE", "Support-Kontakt: Telefon"),
    EnvVar("KMS_LICENSE_PUBLIC_KEYS", "öffentliche Schlüssel für Lizenzen (base64url, mit Komma)"),
    EnvVar("KMS_DEMO", "1: ein Prozess für die Demo, der Demo-Lizenzen annimmt"),
    EnvVar(
        "KMS_PUBLIC_BASE_URL",
        "öffentliche Adresse der Instanz (https://…) für Feeds (überschreibt Einstellungen)",
    ),
    EnvVar(
        "KMS_PODCAST_FEED_TTL", "Sekunden, die ein Podcast-Feed zwischengespeichert bleibt (60)"
    ),
    EnvVar(
        "KMS_PODCAST_STATS_INTERVAL",
        "Sekunden zwischen zwei Schreibvorgängen der Download-Zählung (5)",
    ),
    EnvVar(
        "KMS_IMPORT_PRIVATE_HOSTS",
        "Hosts im lokalen Netz, von denen ▶ Podcast umziehen laden darf (mit Komma; sonst keine)",
    ),
    EnvVar(
        "KMS_TRUSTED_PROXIES", "Reverse-Proxys (Adressen/CIDR, mit Komma), deren X-Forwarded-* gilt"
    ),
    EnvVar(
        "KMS_SESSION_IDLE_MINUTES", "Abmeldung nach so vielen Minuten ohne Aktivität (Standard: 30)"
    ),
    EnvVar(
        "KMS_SESSION_MAX_HOURS", "Abmeldung spätestens so viele Stunden nach der Anmeldung (12)"
    ),
)


@dataclass(frozen=True)
class Config:
    """Where KMS keeps its state and which database it talks to."""

    data_dir: Path
    database_url: str
    cookie_key_env: str | None
    secret_key_env: str | None
    scheduler_enabled: bool
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (addresses or CIDRs).
    trusted_proxies: tuple[str, ...] = ()
    # A login session ends after this long without a request, and after max_age anyway.
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    # The instance's public address (https://kms.example.org) for feeds and media; None: the
    # value saved in the application (kms.modules.podcasts.urls) applies.
    public_base_url: str | None = None
    # Hosts in a private network that server-side downloads (▶ Podcast umziehen) may reach;
    # every other loopback, private, link-local or reserved address is refused.
    import_private_hosts: tuple[str, ...] = ()

    @property
    def secrets_dir(self) -> Path:
        """Secrets live beside, never inside, the data that backups copy."""
        return self.data_dir / "secrets"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_config() -> Config:
    """Read KMS_* variables once; tests call reset_config() after changing them."""
    data_dir = Path(os.environ.get("KMS_DATA_DIR") or ROOT / "data").resolve()
    url = os.environ.get("KMS_DATABASE_URL") or f"sqlite:///{data_dir / 'kms.sqlite3'}"
    return Config(
        data_dir=data_dir,
        database_url=url,
        cookie_key_env=os.environ.get("KMS_COOKIE_KEY") or None,
        secret_key_env=os.environ.get("KMS_SECRET_KEY") or None,
        scheduler_enabled=os.environ.get("KMS_SCHEDULER", "1") != "0",
        trusted_proxies=tuple(
            p.strip() for p in os.environ.get("KMS_TRUSTED_PROXIES", "").split(",") if p.strip()
        ),
        session_idle_minutes=_positive_int("KMS_SESSION_IDLE_MINUTES", 30),
        session_max_hours=_positive_int("KMS_SESSION_MAX_HOURS", 12),
        public_base_url=os.environ.get("KMS_PUBLIC_BASE_URL", "").strip() or None,
        import_private_hosts=tuple(
            h.strip().lower()
            for h in os.environ.get("KMS_IMPORT_PRIVATE_HOSTS", "").split(",")
            if h.strip()
        ),
    )


def _positive_int(name: str, default: int) -> int:
    """A whole number > 0 from the environment; anything else is a German start-up error."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{name} muss eine ganze Zahl größer 0 sein, nicht „{raw}“.")
    return int(raw)


def reset_config() -> None:
    """Forget the cached configuration (tests, restore)."""
    get_config.cache_clear()


# Everything under the data dir is the owner's alone: the database and backups hold bcrypt
# hashes and customer data, so directories are 0700 and files 0600 (ASVS 4.0.3 V8.1, V14.1).
PRIVATE_UMASK = 0o077
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def private_umask() -> None:
    """Process entries (CLI, server) create every new file 0600 and directory 0700."""
    os.umask(PRIVATE_UMASK)


def secure_data_dir() -> None:
    """Start-up: tighten an existing instance's permissions, logged when anything changed."""
    config = get_config()
    changed = tighten_permissions(config)
    if changed:
        logging.getLogger("kms.config").warning(
            "data dir %s: access restricted to the owner (0700/0600) for %d entries",
            config.data_dir,
            changed,
        )


def private_opener(path: str, flags: int) -> int:
    """`open(…, opener=private_opener)`: the file is created 0600 whatever the umask."""
    return os.open(path, flags, PRIVATE_FILE)


def ensure_dirs(config: Config | None = None) -> None:
    """Create the data directory layout, readable by the owner only (whatever the umask)."""
    config = config or get_config()
    for path in (config.data_dir, config.files_dir, config.secrets_dir):
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    for path in (config.data_dir, config.files_dir, config.secrets_dir):
        if path.stat().st_mode & 0o777 != PRIVATE_DIR:
            path.chmod(PRIVATE_DIR)


def tighten_permissions(config: Config | None = None) -> int:
    """Make every directory under the data dir 0700 and every file 0600 (instances created
    before this rule, or by a process with a loose umask); returns how many were changed."""
    config = config or get_config()
    changed = 0
    if not config.data_dir.is_dir():
        return 0
    for root, dirs, files in os.walk(config.data_dir):
        for name, mode in [(d, PRIVATE_DIR) for d in dirs] + [(f, PRIVATE_FILE) for f in files]:
            path = os.path.join(root, name)
            try:
                current = os.lstat(path).st_mode
                if not stat.S_ISLNK(current) and current & 0o777 != mode:
                    os.chmod(path, mode)
                    changed += 1
            except FileNotFoundError:  # removed meanwhile (a temp file)
                continue
    if os.stat(config.data_dir).st_mode & 0o777 != PRIVATE_DIR:
        os.chmod(config.data_dir, PRIVATE_DIR)
        changed += 1
    return changed


def read_or_create_secret(name: str, *, nbytes: int = 48) -> str:
    """Return a random secret stored in the secrets dir, generating it on first use."""
    config = get_config()
    ensure_dirs(config)
    path = config.secrets_dir / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    write_secret(name, value)
    return value


def write_secret(name: str, value: str) -> None:
    """Write a secret atomically with mode 0600."""
    config = get_config()
    ensure_dirs(config)
    path = config.secrets_dir / name
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)

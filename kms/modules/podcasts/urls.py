"""The one place that builds podcast URLs: public paths (served by the module's routes),
absolute URLs under the public base URL, and the podcast:guid derived from the feed URL.

Public paths, relative to the base URL:
- feed:  /pub/podcasts/<slug>/feed.xml
- media: /pub/podcasts/<slug>/media/<storage_name>   (storage_name = "<sha256>.<ext>")
"""

from __future__ import annotations

import ipaddress
import uuid
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session

from kms.config import get_config
from kms.models import get_value

PREFIX = "/pub/podcasts"
# Starlette route patterns of the two public paths (for kms.modules.podcasts.routes).
FEED_ROUTE = PREFIX + "/{slug}/feed.xml"
MEDIA_ROUTE = PREFIX + "/{slug}/media/{name}"
# key_values key of the base URL saved in the application (KMS_PUBLIC_BASE_URL overrides it).
BASE_URL_KEY = "public_base_url"
# The Podcasting 2.0 namespace UUID for podcast:guid (uuid5 over the feed URL).
PODCAST_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


def feed_path(slug: str) -> str:
    """/pub/podcasts/<slug>/feed.xml"""
    return f"{PREFIX}/{quote(slug, safe='')}/feed.xml"


def media_path(slug: str, storage_name: str) -> str:
    """/pub/podcasts/<slug>/media/<storage_name>"""
    return f"{PREFIX}/{quote(slug, safe='')}/media/{quote(storage_name, safe='')}"


def normalize_base_url(value: str) -> str:
    """The base URL without trailing slash; "" stays ""."""
    return value.strip().rstrip("/")


def public_base_url(session: Session) -> str:
    """The instance's public address: KMS_PUBLIC_BASE_URL, else the saved one, else ""."""
    env = get_config().public_base_url
    if env:
        return normalize_base_url(env)
    return normalize_base_url(str(get_value(session, BASE_URL_KEY, "") or ""))


def base_url_problem(base: str) -> str | None:
    """Why `base` cannot serve a public feed (German), or None when it can."""
    if not base:
        return (
            "Die öffentliche Adresse der Instanz ist nicht eingetragen (Podcasts → Kanäle "
            "oder KMS_PUBLIC_BASE_URL)."
        )
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Die öffentliche Adresse muss mit https:// beginnen und einen Servernamen haben."
    if parts.query or parts.fragment:
        return "Die öffentliche Adresse darf keine Parameter (? oder #) enthalten."
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return (
            "Die öffentliche Adresse zeigt auf diesen Rechner (localhost); Podcast-Apps "
            "erreichen sie nicht."
        )
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified:
        return (
            "Die öffentliche Adresse ist eine interne IP-Adresse; Podcast-Apps erreichen sie nicht."
        )
    return None


def feed_url(session: Session, slug: str, *, base: str | None = None) -> str:
    """The absolute feed URL (the base URL may be "" before it is configured). Pass `base`
    (public_base_url) when building many URLs: each lookup is a query."""
    return (public_base_url(session) if base is None else base) + feed_path(slug)


def media_url(session: Session, slug: str, storage_name: str, *, base: str | None = None) -> str:
    """The absolute URL of a stored medium of the channel (`base` as for feed_url)."""
    return (public_base_url(session) if base is None else base) + media_path(slug, storage_name)


def podcast_guid(url: str) -> str:
    """podcast:guid: uuid5 over the feed URL without scheme and trailing slashes."""
    without_scheme = url.split("://", 1)[1] if "://" in url else url
    return str(uuid.uuid5(PODCAST_NAMESPACE, without_scheme.rstrip("/")))

"""Podcasts pages: Podcast-Kanäle, Podcast-Episoden, Anbieterplattformen, ▶ Feed prüfen,
▶ Podcast umziehen.

User text (titles, notes, URLs) only goes into widgets' values, dataframes or st.text/st.code,
never through Markdown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy.orm import Session

from kms.formatting import format_date, format_datetime
from kms.modules.podcasts import migrate, service, urls
from kms.modules.podcasts.check import check_channel
from kms.modules.podcasts.models import (
    EPISODE_STATES,
    EPISODE_TYPES,
    PLATFORM_STATES,
    PLATFORMS,
    SHOW_TYPES,
    PodcastChannel,
)
from kms.permissions import Permission
from kms.types import BERLIN, today, utcnow
from kms.ui.forms import CHOOSE, flash, in_session, labels_of, show_flash
from kms.ui.page import PageContext
from kms.ui.text import plain

T = TypeVar("T")
FLASH = "podcasts_flash"
CHECK_FEED = "podcasts.check_feed"  # kms.modules.podcasts.CHECK_FEED.key
IMPORT_FEED = "podcasts.import_feed"  # kms.modules.podcasts.IMPORT_FEED.key
IMPORT_RESULT = "podcasts_import_result"
NEW = 0
LABELS = {
    "slug": "Kürzel",
    "title": "Titel",
    "description": "Beschreibung",
    "owner_email": "E-Mail des Inhabers",
    "language": "Sprache",
    "category": "Kategorie",
    "subcategory": "Unterkategorie",
    "show_type": "Art",
    "website": "Webseite",
    "funding_url": "Unterstützen-Link",
    "new_feed_url": "Neue Feed-Adresse",
    "persons": "Mitwirkende",
    "public_base_url": "Öffentliche Adresse",
    "publish": "Veröffentlichen",
    "number": "Episodennummer",
    "season": "Staffel",
    "episode_type": "Episodenart",
    "audio": "Audio",
    "platform": "Plattform",
    "status": "Status",
    "url": "Adresse",
}


def _flash(message: str) -> None:
    flash(FLASH, message)


def _show_flash() -> None:
    show_flash(FLASH)


def _write(action: Callable[[Session], T]) -> T | None:
    """A write in a session of its own: committed on success, German errors shown."""
    return in_session(action, LABELS)


def _read(action: Callable[[Session], T]) -> T | None:
    return in_session(action, write=False)


def _show_next(key: str, value: int) -> None:
    """After a create, the select `key` shows the new entry on the next run: its own form
    replaces the filled "Neu" form, so a second click on Speichern cannot create it twice.
    A widget's value may only be set before the widget is drawn, hence the detour."""
    st.session_state[key + "_next"] = value


def _take_next(key: str) -> None:
    if key + "_next" in st.session_state:
        st.session_state[key] = st.session_state.pop(key + "_next")


def _may_write(ctx: PageContext) -> bool:
    return ctx.may(Permission.PODCASTS_WRITE) and not ctx.read_only


def _channels() -> dict[int, str]:
    rows = _read(lambda s: [(c.id, f"{c.title} ({c.slug})") for c in service.list_channels(s)])
    return dict(rows or [])


def _pick_channel(key: str, *, new: bool = False) -> int | None:
    options = _channels()
    choices = ([NEW] if new else []) + list(options)
    labels = {NEW: "Neuer Kanal", **options}
    if not choices:
        st.info("Noch kein Kanal angelegt (Podcast-Kanäle).")
        return None
    _take_next(key)
    picked: int | None = st.selectbox(
        "Kanal", choices, format_func=labels_of(labels), placeholder=CHOOSE, key=key
    )
    return picked


# --- Kanäle -----------------------------------------------------------------------------


def render_channels(ctx: PageContext) -> None:
    _show_flash()
    if ctx.function_requested(CHECK_FEED):
        _check_feed(ctx)
    if ctx.function_requested(IMPORT_FEED) and _may_write(ctx):
        _import_feed(ctx)
    rows = _read(
        lambda s: [
            {
                "Kürzel": c.slug,
                "Titel": c.title,
                "Status": "veröffentlicht" if c.published_at else "nicht veröffentlicht",
                "Feed-Adresse": urls.feed_url(s, c.slug),
            }
            for c in service.list_channels(s)
        ]
    )
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    if ctx.may(Permission.SETTINGS) and not ctx.read_only:
        _base_url_form()
    if not _may_write(ctx):
        return
    channel_id = _pick_channel("podcasts_channel", new=True)
    if channel_id is None:
        return
    channel = None if channel_id == NEW else _read(lambda s: service.get_channel(s, channel_id))
    _channel_form(channel)
    if channel is not None:
        _cover_form(channel)
        _publish_form(channel)


def _base_url_form() -> None:
    with st.expander("Öffentliche Adresse der Instanz"):
        current = _read(urls.public_base_url) or ""
        st.caption(
            "Unter dieser Adresse (https://…) erreichen Podcast-Apps Feeds und Audiodateien. "
            "KMS_PUBLIC_BASE_URL hat Vorrang."
        )
        value = st.text_input("Öffentliche Adresse", value=current, key="podcasts_base")
        if st.button("Adresse speichern", key="podcasts_base_save"):
            if _write(lambda s: service.save_public_base_url(s, value)) is not None:
                _flash("Öffentliche Adresse gespeichert.")
                st.rerun()


def _persons_text(channel: PodcastChannel | None) -> str:
    persons = json.loads(channel.persons) if channel else []
    return "\n".join(
        " | ".join([p["name"], p.get("role", ""), p.get("href", "")]).rstrip(" |") for p in persons
    )


def _persons_value(text: str) -> list[dict[str, str]]:
    result = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if parts and parts[0]:
            result.append(
                {"name": parts[0], "role": parts[1] if len(parts) > 1 else "host",
                 "href": parts[2] if len(parts) > 2 else ""}
            )  # fmt: skip
    return result


def _channel_form(channel: PodcastChannel | None) -> None:
    c = channel
    key = f"podcasts_ch_{c.id if c else 'neu'}"
    categories = service.apple_categories()
    with st.form(key):
        st.subheader("Kanal bearbeiten" if c else "Neuer Kanal")
        col1, col2 = st.columns(2)
        slug = col1.text_input("Kürzel (Teil der Feed-Adresse)", value=c.slug if c else "")
        title = col2.text_input("Titel", value=c.title if c else "")
        description = st.text_area(
            "Beschreibung (höchstens 4000 Zeichen)",
            value=c.description if c else "",
            max_chars=4000,
        )
        col1, col2, col3 = st.columns(3)
        author = col1.text_input("Autor", value=c.author if c else "")
        owner_name = col2.text_input("Inhaber (Name)", value=c.owner_name if c else "")
        owner_email = col3.text_input("E-Mail des Inhabers", value=c.owner_email if c else "")
        col1, col2, col3 = st.columns(3)
        language = col1.text_input("Sprache", value=c.language if c else "de")
        label = service.category_label
        cats = sorted(categories, key=label)
        category = col2.selectbox(
            "Kategorie", cats, index=cats.index(c.category) if c and c.category in cats else None,
            placeholder=CHOOSE, format_func=label,
        )  # fmt: skip
        # A form cannot narrow the list to the chosen category, so each names its own.
        parent = {s: name for name, values in categories.items() for s in values}
        subs = sorted(parent, key=lambda s: (label(parent[s]), label(s)))
        subcategory = col3.selectbox(
            "Unterkategorie (passend zur Kategorie)", subs,
            index=subs.index(c.subcategory) if c and c.subcategory in subs else None,
            placeholder=CHOOSE, format_func=lambda s: f"{label(parent[s])} › {label(s)}",
        )  # fmt: skip
        col1, col2, col3 = st.columns(3)
        types = list(SHOW_TYPES)
        show_type = col1.selectbox(
            "Art", types, index=types.index(c.show_type) if c else 0,
            format_func=labels_of(SHOW_TYPES), placeholder=CHOOSE,
        )  # fmt: skip
        explicit = col2.checkbox("Explizite Inhalte", value=bool(c and c.explicit))
        locked = col3.checkbox(
            "Gegen Übernahme sperren (podcast:locked)", value=bool(c and c.locked)
        )
        col1, col2 = st.columns(2)
        copyright_ = col1.text_input("Copyright", value=c.copyright if c else "")
        website = col2.text_input("Webseite", value=c.website if c else "")
        col1, col2 = st.columns(2)
        funding_url = col1.text_input("Unterstützen-Link", value=c.funding_url if c else "")
        funding_text = col2.text_input(
            "Text des Unterstützen-Links", value=c.funding_text if c else ""
        )
        persons = st.text_area(
            "Mitwirkende (je Zeile: Name | Rolle | Webadresse)", value=_persons_text(c)
        )
        col1, col2 = st.columns(2)
        apple_verify = col1.text_input(
            "Apple-Bestätigungscode (podcast:txt)", value=c.apple_verify if c else ""
        )
        new_feed_url = col2.text_input(
            "Neue Feed-Adresse (nur bei Umzug des Podcasts)",
            value=(c.new_feed_url or "") if c else "",
        )
        submitted = st.form_submit_button("Speichern", type="primary")
    if not submitted:
        return
    values: dict[str, Any] = {
        "slug": slug, "title": title, "description": description, "author": author,
        "owner_name": owner_name, "owner_email": owner_email, "language": language,
        "category": category or "", "subcategory": subcategory or "", "show_type": show_type,
        "explicit": explicit, "locked": locked, "copyright": copyright_, "website": website,
        "funding_url": funding_url, "funding_text": funding_text,
        "persons": _persons_value(persons), "apple_verify": apple_verify,
        "new_feed_url": new_feed_url,
    }  # fmt: skip
    saved = _write(
        lambda s: (
            service.save_channel(
                s, channel_id=c.id if c else None, version=c.version if c else None, **values
            ).id
        )
    )
    if saved is not None:
        if c is None:
            _show_next("podcasts_channel", saved)
        _flash("Kanal gespeichert.")
        st.rerun()


def _cover_form(channel: PodcastChannel) -> None:
    st.subheader("Cover")
    st.caption("JPEG oder PNG, quadratisch, 1400 bis 3000 Pixel, RGB-Farbraum.")
    upload = st.file_uploader("Cover hochladen", key=f"podcasts_cover_{channel.id}")
    if upload is not None and st.button("Cover übernehmen", key="podcasts_cover_go"):
        if _write(lambda s: service.attach_cover(s, channel.id, upload, upload.name)) is not None:
            _flash("Cover gespeichert.")
            st.rerun()


def _publish_form(channel: PodcastChannel) -> None:
    st.subheader("Veröffentlichung")
    if channel.published_at is not None:
        st.text(f"Veröffentlicht seit {format_datetime(channel.published_at)}.")
        st.code(_read(lambda s: urls.feed_url(s, channel.slug)) or "", language=None)
        if st.button("Feed offline nehmen", key="podcasts_unpublish"):
            if _write(lambda s: service.unpublish_channel(s, channel.id)) is not None:
                _flash("Der Feed ist offline.")
                st.rerun()
        return
    problems = _read(lambda s: service.publish_problems(s, service.get_channel(s, channel.id)))
    for problem in problems or []:
        st.text(f"• {problem}")
    sure = st.checkbox(
        "Ich möchte den Podcast öffentlich machen; die Feed-Adresse bleibt danach gleich.",
        key="podcasts_publish_sure",
    )
    if st.button("Veröffentlichen", type="primary", disabled=not sure, key="podcasts_publish"):
        feed = _write(lambda s: service.publish_channel(s, channel.id))
        if feed is not None:
            _flash(f"Veröffentlicht. Feed-Adresse: {feed}")
            st.rerun()


def _check_feed(ctx: PageContext) -> None:
    st.subheader("Feed prüfen")
    channel_id = _pick_channel("podcasts_check_channel")
    if channel_id and st.button("Prüfen", type="primary", key="podcasts_check_go"):
        problems = _read(lambda s: check_channel(s, service.get_channel(s, channel_id).slug))
        if problems == []:
            st.success("Keine Probleme gefunden.", icon=":material/check_circle:")
        for problem in problems or []:
            st.text(f"• {problem}")
    if st.button("Schließen", key="podcasts_check_close"):
        ctx.close_function(CHECK_FEED)
        st.rerun()


def _import_feed(ctx: PageContext) -> None:
    """▶ Podcast umziehen: feed address, confirmation, progress, then what was imported."""
    st.subheader("Podcast umziehen")
    result: migrate.ImportResult | None = st.session_state.get(IMPORT_RESULT)
    if result is not None:
        _import_summary(result)
    st.caption(
        "Die Feed-Adresse (RSS) beim bisherigen Anbieter. KMS lädt Cover und Audiodateien "
        "herunter und legt einen neuen Kanal an; die GUIDs der Episoden und die podcast:guid "
        "bleiben gleich. Danach den Kanal veröffentlichen und beim bisherigen Anbieter auf die "
        "neue Feed-Adresse umleiten."
    )
    url = st.text_input("Feed-Adresse", key="podcasts_import_url")
    slug = st.text_input("Kürzel (leer lassen: aus dem Titel)", key="podcasts_import_slug")
    sure = st.checkbox(
        "Ich möchte diesen Podcast übernehmen; Cover und Audiodateien werden heruntergeladen.",
        key="podcasts_import_sure",
    )
    ready = sure and bool(url.strip())
    if st.button("Übernehmen", type="primary", disabled=not ready, key="podcasts_import_go"):
        bar = st.progress(0.0, text="Feed wird geladen …")

        def progress(done: int, total: int, label: str) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=f"{done} von {total}: {plain(label)}")

        imported = _write(lambda s: migrate.import_feed(s, url, slug=slug, progress=progress))
        if imported is not None:
            st.session_state[IMPORT_RESULT] = imported
            st.rerun()
    if st.button("Schließen", key="podcasts_import_close"):
        st.session_state.pop(IMPORT_RESULT, None)
        ctx.close_function(IMPORT_FEED)
        st.rerun()


def _import_summary(result: migrate.ImportResult) -> None:
    st.success(
        f"Kanal „{plain(result.title)}“ ({plain(result.slug)}) angelegt: "
        f"{len(result.imported)} Episode(n) übernommen.",
        icon=":material/check_circle:",
    )
    if result.skipped:
        st.warning(f"{len(result.skipped)} Episode(n) nicht übernommen:", icon=":material/warning:")
        for title, reason in result.skipped:
            st.text(f"• {title}: {reason}")
    for note in result.notes:
        st.text(f"• {note}")
    st.text("Der Kanal ist noch nicht veröffentlicht (unten unter „Veröffentlichung“).")


# --- Episoden ---------------------------------------------------------------------------


def _state_label(state: str, pub_at: datetime | None) -> str:
    if state == "published" and pub_at is not None and pub_at > utcnow():
        return "Geplant"
    return EPISODE_STATES.get(state, state)


def _duration(seconds: int | None) -> str:
    """1:02:03 or 4:05 (as podcast apps show it); empty without audio, never "None"."""
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def render_episodes(ctx: PageContext) -> None:
    _show_flash()
    channel_id = _pick_channel("podcasts_ep_channel")
    if channel_id is None:
        return
    episodes = _read(lambda s: service.list_episodes(s, channel_id)) or []
    if episodes:
        st.dataframe(
            [
                {
                    "Titel": e.title,
                    "Nr.": "" if e.number is None else str(e.number),
                    "Status": _state_label(e.state, e.pub_at),
                    "Veröffentlichung": format_datetime(e.pub_at) if e.pub_at else "",
                    "Dauer": _duration(e.duration_seconds),
                }
                for e in episodes
            ],
            hide_index=True,
            width="stretch",
        )
    else:
        st.info("Dieser Kanal hat noch keine Episode.")
    if not _may_write(ctx):
        return
    labels = {NEW: "Neue Episode", **{e.id: e.title for e in episodes}}
    _take_next("podcasts_episode")
    picked = st.selectbox(
        "Episode", list(labels), format_func=labels_of(labels), placeholder=CHOOSE,
        key="podcasts_episode",
    )  # fmt: skip
    if picked is None:
        return
    episode = next((e for e in episodes if e.id == picked), None)
    _episode_form(channel_id, episode)
    if episode is not None:
        _episode_media_form(episode.id)
        _episode_publish_form(episode)


def _episode_form(channel_id: int, episode: Any) -> None:
    e = episode
    with st.form(f"podcasts_ep_{e.id if e else 'neu'}"):
        title = st.text_input("Titel", value=e.title if e else "")
        notes = st.text_area(
            # The label shows the syntax itself (escaped), not bold text and a dead link.
            plain("Shownotes (Absätze, **fett**, *kursiv*, [Link](https://…), Listen mit „- “)"),
            value=e.notes if e else "",
        )
        col1, col2, col3, col4 = st.columns(4)
        season = col1.number_input("Staffel", min_value=0, value=(e.season or 0) if e else 0)
        number = col2.number_input("Episodennummer", min_value=0, value=(e.number or 0) if e else 0)
        kinds = list(EPISODE_TYPES)
        episode_type = col3.selectbox(
            "Episodenart", kinds, index=kinds.index(e.episode_type) if e else 0,
            format_func=labels_of(EPISODE_TYPES), placeholder=CHOOSE,
        )  # fmt: skip
        explicit = col4.checkbox("Explizit", value=bool(e and e.explicit))
        submitted = st.form_submit_button("Speichern", type="primary")
    if not submitted:
        return
    values = {
        "title": title, "notes": notes, "season": season or None, "number": number or None,
        "episode_type": episode_type, "explicit": explicit,
    }  # fmt: skip
    saved = _write(
        lambda s: service.save_episode(
            s, channel_id=None if e else channel_id, episode_id=e.id if e else None,
            version=e.version if e else None, **values,
        ).id
    )  # fmt: skip
    if saved is not None:
        if e is None:
            _show_next("podcasts_episode", saved)
        _flash("Episode gespeichert.")
        st.rerun()


MEDIA_KINDS = {
    "audio": "Audio (MP3 oder M4A)",
    "image": "Episodenbild (JPEG/PNG)",
    "transcript": "Transkript (WebVTT oder SRT)",
    "chapters": "Kapitelmarken (JSON)",
}


def _episode_media_form(episode_id: int) -> None:
    st.subheader("Dateien")
    kind = st.selectbox(
        "Art der Datei", list(MEDIA_KINDS), format_func=labels_of(MEDIA_KINDS),
        placeholder=CHOOSE, key="podcasts_media_kind",
    )  # fmt: skip
    upload = st.file_uploader("Datei hochladen", key=f"podcasts_media_{episode_id}")
    if upload is not None and kind and st.button("Datei übernehmen", key="podcasts_media_go"):
        stored = _write(
            lambda s: service.attach_episode_media(s, episode_id, kind, upload, upload.name).id
        )
        if stored is not None:
            _flash("Datei gespeichert.")
            st.rerun()


def _episode_publish_form(episode: Any) -> None:
    st.subheader("Veröffentlichen")
    col1, col2 = st.columns(2)
    day = col1.date_input("Datum", value=today(), format="DD.MM.YYYY", key="podcasts_pub_day")
    at = col2.time_input("Uhrzeit", value=time(6, 0), key="podcasts_pub_time")
    col1, col2, col3 = st.columns(3)
    if col1.button("Jetzt veröffentlichen", type="primary", key="podcasts_pub_now"):
        if _write(lambda s: service.publish_episode(s, episode.id)) is not None:
            _flash("Episode veröffentlicht.")
            st.rerun()
    if col2.button("Zum Zeitpunkt planen", key="podcasts_pub_plan"):
        when = datetime.combine(day, at, tzinfo=BERLIN)
        if _write(lambda s: service.publish_episode(s, episode.id, pub_at=when)) is not None:
            _flash(f"Episode geplant für {format_datetime(when)}.")
            st.rerun()
    if episode.state == "published" and col3.button("Depublizieren", key="podcasts_unpub"):
        if _write(lambda s: service.unpublish_episode(s, episode.id)) is not None:
            _flash("Episode depubliziert.")
            st.rerun()


# --- Anbieterplattformen ----------------------------------------------------------------


def render_platforms(ctx: PageContext) -> None:
    _show_flash()
    channel_id = _pick_channel("podcasts_pl_channel")
    if channel_id is None:
        return
    rows = _read(lambda s: service.list_platforms(s, channel_id)) or []
    if rows:
        st.dataframe(
            [
                {
                    "Plattform": PLATFORMS.get(r.platform, r.platform),
                    "Status": PLATFORM_STATES.get(r.status, r.status),
                    "Datum": format_date(r.date) if r.date else "",
                    "Adresse": r.url,
                    "Notizen": r.notes,
                }
                for r in rows
            ],
            hide_index=True,
            width="stretch",
        )
    else:
        st.info("Noch bei keiner Plattform eingetragen.")
    if not _may_write(ctx):
        return
    with st.form("podcasts_platform"):
        col1, col2, col3 = st.columns(3)
        platform = col1.selectbox(
            "Plattform", list(PLATFORMS), format_func=labels_of(PLATFORMS), placeholder=CHOOSE,
            index=None,
        )  # fmt: skip
        status = col2.selectbox(
            "Status", list(PLATFORM_STATES), format_func=labels_of(PLATFORM_STATES),
            placeholder=CHOOSE,
        )  # fmt: skip
        day = col3.date_input("Datum", value=today(), format="DD.MM.YYYY")
        url = st.text_input("Adresse des Podcasts auf der Plattform")
        notes = st.text_area("Notizen")
        submitted = st.form_submit_button("Eintragen", type="primary")
    if submitted:
        saved = _write(
            lambda s: service.save_platform(
                s, channel_id=channel_id, platform=platform or "", status=status or "",
                url=url, day=day, notes=notes,
            ).id
        )  # fmt: skip
        if saved is not None:
            _flash("Plattform eingetragen.")
            st.rerun()
    if rows:
        labels = {r.id: PLATFORMS.get(r.platform, r.platform) for r in rows}
        gone = st.selectbox(
            "Eintrag entfernen", list(labels), format_func=labels_of(labels), index=None,
            placeholder=CHOOSE, key="podcasts_pl_delete",
        )  # fmt: skip
        if gone is not None and st.button("Entfernen", key="podcasts_pl_delete_go"):
            if _write(lambda s: service.delete_platform(s, gone)) is not None:
                _flash("Eintrag entfernt.")
                st.rerun()

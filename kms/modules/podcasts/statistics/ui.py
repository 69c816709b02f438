"""The Podcast-Statistik page: downloads per day, by app, and the first 7/30 days per episode.

Thin over kms.modules.podcasts.stats (counts only; no listener can be traced back)."""

from __future__ import annotations

import streamlit as st

from kms.db import session_scope
from kms.formatting import format_date
from kms.modules.podcasts import service, stats
from kms.ui.forms import CHOOSE, saving
from kms.ui.page import PageContext

PRIVACY = (
    "Gezählt nach IAB Podcast Measurement 2.x: Abrufe mit GET (200/206), ohne HEAD, ohne "
    "Prüfabrufe (bytes=0-1), ohne Bots; ein Hörer zählt erst, wenn er mindestens eine Minute "
    "der Folge geladen hat (bei kürzeren Folgen die ganze Datei; Teilabrufe innerhalb von "
    "24 Stunden werden zusammengezählt), und je Folge höchstens einmal in 24 Stunden. "
    "IP-Adressen werden nie gespeichert: nur ein täglich wechselnder, danach gelöschter "
    "Schlüssel erkennt Wiederholungen."
)


def render_statistics(ctx: PageContext) -> None:
    """Choose a channel, then its charts and tables."""
    with saving() as result, session_scope(write=False) as session:
        channels = [(c.id, c.title) for c in service.list_channels(session)]
    if not result["ok"]:
        return
    if not channels:
        st.info("Noch kein Podcast-Kanal angelegt.", icon=":material/podcasts:")
        return
    titles = dict(channels)
    channel_id = st.selectbox(
        "Kanal",
        list(titles),
        index=0,
        format_func=lambda cid: titles[cid],
        placeholder=CHOOSE,
        key="podcast_stats_channel",
    )
    if channel_id is None:
        return
    with saving() as result, session_scope(write=False) as session:
        per_day = stats.downloads_per_day(session, channel_id)
        apps = stats.downloads_by_app(session, channel_id)
        launch = stats.launch_comparison(session, channel_id)
    if not result["ok"]:
        return
    st.caption(PRIVACY)
    if per_day.empty:
        st.info("Für diesen Kanal wurden noch keine Downloads gezählt.")
        return
    st.subheader("Downloads pro Tag")
    chart = per_day.pivot_table(
        index="Tag", columns="Folge", values="Downloads", aggfunc="sum", fill_value=0
    )
    chart.index = [format_date(day) for day in chart.index]
    st.line_chart(chart)
    st.subheader("Nach App")
    st.dataframe(apps, hide_index=True)
    st.subheader("Die ersten 7 und 30 Tage je Folge")
    launch["Veröffentlicht"] = [format_date(day) for day in launch["Veröffentlicht"]]
    st.dataframe(launch, hide_index=True)

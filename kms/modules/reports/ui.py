"""The Berichte page: every usable module's reports, rendered from their ReportSpec alone."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

import kms.reports
from kms import registry
from kms.db import session_scope
from kms.formatting import format_date
from kms.permissions import Permission
from kms.reporting import MONTHS, TOTAL, Period, ReportSpec, chart_axis
from kms.reporting_export import MIME_TYPES, display_frame, export, filename
from kms.types import today
from kms.ui.forms import CHOOSE, labels_of
from kms.ui.page import PageContext
from kms.ui.text import plain

# How many years back the period pickers offer (the current year first).
YEARS_BACK = 10
PERIOD_KINDS = {"month": "Monat", "quarter": "Quartal", "year": "Jahr"}
QUARTERS = {q: f"{q}. Quartal" for q in range(1, 5)}


def render_reports_page(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        available = registry.reports(session)
    if not available:
        st.info("Es sind noch keine Berichte verfügbar.")
        return
    labels = {report.key: report.title for _module, report in available}
    key = st.selectbox(
        "Bericht", list(labels), format_func=labels_of(labels), key="rep_key", placeholder=CHOOSE
    )
    if key is None:
        st.info("Bitte einen Bericht auswählen.")
        return
    spec = kms.reports.spec(key)
    if spec.description:
        st.caption(plain(spec.description))
    period = period_picker(spec)
    with session_scope(write=False) as session:
        df = kms.reports.run(spec.key, session, period)
        note = kms.reports.note(spec.key, session, period)
    st.subheader(
        plain(f"{spec.title} · {period.label if period else 'Stand ' + format_date(today())}")
    )
    if note:
        st.info(plain(note), icon=":material/info:")
    st.dataframe(display_frame(spec, df), hide_index=True, width="stretch")
    if spec.chart:
        chart(spec, df)
    if ctx.may(Permission.EXPORT):
        downloads(spec, df, period)


def _years() -> list[int]:
    current = today().year
    return list(range(current, current - YEARS_BACK, -1))


def period_picker(spec: ReportSpec) -> Period | None:
    """The period widgets fitting `spec.period`: a year, or month/quarter/year of a year."""
    if spec.period == "none":
        st.caption(f"Stand: {format_date(today())}")
        return None
    if spec.period == "year":
        year = st.selectbox("Jahr", _years(), key="rep_year", placeholder=CHOOSE)
        return Period.year(year or today().year)
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox(
        "Zeitraum",
        list(PERIOD_KINDS),
        format_func=labels_of(PERIOD_KINDS),
        key="rep_kind",
        placeholder=CHOOSE,
    )
    year = c2.selectbox("Jahr", _years(), key="rep_period_year", placeholder=CHOOSE) or today().year
    if kind == "quarter":
        quarter = c3.selectbox(
            "Quartal",
            list(QUARTERS),
            format_func=labels_of(QUARTERS),
            index=(today().month - 1) // 3,
            key="rep_quarter",
            placeholder=CHOOSE,
        )
        return Period.quarter(year, quarter or 1)
    if kind == "year":
        return Period.year(year)
    months = dict(enumerate(MONTHS, start=1))
    month = c3.selectbox(
        "Monat",
        list(months),
        format_func=labels_of(months),
        index=today().month - 1,
        key="rep_month",
        placeholder=CHOOSE,
    )
    return Period.month(year, month or 1)


def chart_data(spec: ReportSpec, df: pd.DataFrame) -> pd.DataFrame | None:
    """The chart's rows (without the Summe row): the axis as text, the money as numbers.

    Only the chart sees binary floats (Vega-Lite plots numbers); tables and exports keep
    the Decimal cents."""
    axis = chart_axis(spec)
    if spec.chart is None or axis is None:
        return None
    rows = df[df[axis.name] != TOTAL]
    labels: list[Any] = [
        format_date(v) if axis.kind == "date" and v is not None else str(v) for v in rows[axis.name]
    ]
    values = [float(v) for v in rows[spec.chart]]
    return pd.DataFrame({axis.name: labels, spec.chart: values})


def chart(spec: ReportSpec, df: pd.DataFrame) -> None:
    data = chart_data(spec, df)
    if data is None or data.empty:
        return
    axis = data.columns[0]
    st.bar_chart(data, x=axis, y=spec.chart, x_label=axis, y_label=f"{spec.chart} (€)", sort=False)


def downloads(spec: ReportSpec, df: pd.DataFrame, period: Period | None) -> None:
    c1, c2, _ = st.columns([1, 1, 3])
    for column, fmt, label in (
        (c1, "csv", "CSV herunterladen"),
        (c2, "xlsx", "XLSX herunterladen"),
    ):
        column.download_button(
            label,
            data=export(spec, df, fmt, period),
            file_name=filename(spec, period, fmt, today()),
            mime=MIME_TYPES[fmt],
            key=f"rep_download_{fmt}",
            icon=":material/download:",
        )

"""The parts every import and export of a table shares: the checked file's problems and
preview, and the CSV/XLSX download buttons (the files come from kms.tabular)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from kms.permissions import carry
from kms.tabular import ImportPlan
from kms.ui.text import plain

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def show_plan(plan: ImportPlan, preview: list[dict[str, str]]) -> None:
    """Ignored columns, every problem named by its row (nothing is imported while there are
    any), and the rows as they would be imported."""
    if plan.ignored_columns:
        st.caption("Nicht übernommen: " + plain(", ".join(plan.ignored_columns)))
    if not plan.ok:
        lines = plan.problem_lines()
        shown = "\n".join(f"- {plain(line)}" for line in lines[:50])
        more = f"\n- … und {len(lines) - 50} weitere" if len(lines) > 50 else ""
        st.error(
            f"{len(lines)} Problem(e) – es wird nichts importiert, bis die Datei korrigiert "
            f"ist:\n{shown}{more}",
            icon=":material/error:",
        )
    if preview:
        st.dataframe(pd.DataFrame(preview), hide_index=True, width="stretch")


def download_buttons(make: Callable[[str], bytes], name: str, key: str | None = None) -> None:
    """„CSV herunterladen“ and „Excel (XLSX) herunterladen“; `make("csv")` or `make("xlsx")`
    builds the file when it is asked for."""

    def build(fmt: str) -> Any:
        # Streamlit runs a deferred download outside the script run: carry who asked for it.
        return carry(lambda: make(fmt))

    c1, c2 = st.columns(2)
    c1.download_button(
        "CSV herunterladen",
        build("csv"),
        file_name=f"{name}.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"{key}_csv" if key else None,
    )
    c2.download_button(
        "Excel (XLSX) herunterladen",
        build("xlsx"),
        file_name=f"{name}.xlsx",
        mime=XLSX_MIME,
        icon=":material/download:",
        key=f"{key}_xlsx" if key else None,
    )

"""The page picker every paged list shares: "Seite (von 3, 57 Dokumente)"."""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from kms.formatting import count_noun
from kms.paging import Page


def requested_page(key: str, filters: object) -> int:
    """The page the list should load: the picker's, or page 1 again once the filters changed."""
    marker = f"{key}_filters"
    if st.session_state.get(marker) != filters:
        st.session_state[marker] = filters
        st.session_state[key] = 1
    return int(st.session_state.get(key, 1))


def pager(
    result: Page[Any], *, key: str, one: str, many: str, where: DeltaGenerator | None = None
) -> int:
    """The picker for `result`'s page with the hit count (`one`/`many` name the items).

    The list may have clamped the page asked for (the hits shrank), so the picker follows the
    page actually shown. Over a single page it stays visible but cannot be changed.
    """
    if st.session_state.get(key) != result.page:
        st.session_state[key] = result.page
    box = where if where is not None else st
    chosen = box.number_input(
        f"Seite (von {result.pages}, {count_noun(result.total, one, many)})",
        min_value=1,
        max_value=result.pages,
        key=key,
        disabled=result.pages == 1,
    )
    return int(chosen)

"""The input layer: what a browser sends is cleaned here once, before any page sees it.

- Every text typed into st.text_input / st.text_area loses its control characters
  (kms.validation.clean_text), whichever page or dialog asks for it.
- Query parameters that name a record are read by int_param, which never raises.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.elements.widgets import text_widgets

from kms.validation import clean_text

# Primary keys are 32-bit integers on PostgreSQL; SQLite refuses more than 64 bits.
MAX_ID = 2**31 - 1


def _cleaning(original: Any, *, multiline: bool) -> Any:
    def deserialize(self: Any, ui_value: str | None) -> str | None:
        result = original(self, ui_value)
        return clean_text(result, multiline=multiline) if isinstance(result, str) else result

    deserialize.kms_cleaning = True  # type: ignore[attr-defined]
    return deserialize


def install() -> None:
    """Clean every text widget's value as Streamlit deserialises it (idempotent)."""
    for serde, multiline in (
        (text_widgets.TextInputSerde, False),
        (text_widgets.TextAreaSerde, True),
    ):
        if not getattr(serde.deserialize, "kms_cleaning", False):
            serde.deserialize = _cleaning(serde.deserialize, multiline=multiline)  # type: ignore[method-assign]


def int_param(name: str, *, maximum: int = MAX_ID) -> int | None:
    """A positive whole number from the URL's query (`?id=12`), or None for anything else
    (missing, text, negative, or too large for a database key)."""
    raw = st.query_params.get(name)
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > len(str(maximum)):
        return None
    value = int(raw)
    return value if 1 <= value <= maximum else None


install()

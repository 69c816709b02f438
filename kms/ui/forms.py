"""Form helpers: German error lists per field; nothing typed is lost on an error."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import streamlit as st
from sqlalchemy.orm import Session

from kms.db import session_scope
from kms.errors import KmsError, ValidationErrors
from kms.ui.text import plain

T = TypeVar("T")

# Streamlit's own placeholders ("Choose an option", "No options to select", "Choose options")
# are English; every selectbox and multiselect passes this one instead.
CHOOSE = "Bitte auswählen …"


def labels_of(mapping: Mapping[Any, str]) -> Callable[[Any], str]:
    """A selectbox `format_func` naming each option by `mapping`: it is `mapping.get` itself
    (typed for mypy), so a stale value from an earlier run formats as None instead of raising."""
    return cast("Callable[[Any], str]", mapping.get)


def has_extension(name: str, extensions: Sequence[str], what: str) -> bool:
    """True if the uploaded file's name ends in one of `extensions`; else a German error.

    Uploaders take no `type=`: Streamlit would refuse other files with an English message
    ("text/html files are not allowed."), so the page checks the name and names `what` it takes.
    """
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in extensions:
        return True
    allowed = " oder ".join(f".{ext}" for ext in extensions)
    st.error(
        f"„{plain(name)}“ kann hier nicht verwendet werden: erlaubt sind nur {what} ({allowed}).",
        icon=":material/error:",
    )
    return False


def show_field_errors(errors: Mapping[str, str], labels: Mapping[str, str]) -> None:
    """One error box listing every invalid field with its German message (a field without a
    label shows only its message: an internal name such as "line2.tax" is no German word)."""
    lines = [
        f"- **{plain(labels[f])}:** {plain(m)}" if f in labels else f"- {plain(m)}"
        for f, m in errors.items()
    ]
    st.error("Bitte korrigieren Sie:\n" + "\n".join(lines), icon=":material/error:")


@contextmanager
def saving(labels: Mapping[str, str] | None = None) -> Iterator[dict[str, bool]]:
    """Wrap a save: field errors and domain errors become messages; result['ok'] tells."""
    result = {"ok": False}
    try:
        yield result
        result["ok"] = True
    except ValidationErrors as exc:
        show_field_errors(exc.errors, labels or {})
    except KmsError as exc:
        st.error(plain(exc.message), icon=":material/error:")


def attempt(action: Callable[[], T], labels: Mapping[str, str] | None = None) -> T | None:
    """Run `action`; show German errors instead of raising. Returns None on error."""
    with saving(labels) as result:
        value = action()
    return value if result["ok"] else None


def in_session(
    action: Callable[[Session], T], labels: Mapping[str, str] | None = None, *, write: bool = True
) -> T | None:
    """Run `action` in a session of its own (committed on success when `write`); German
    errors are shown instead of raised. Returns None on error."""
    with saving(labels) as result, session_scope(write=write) as session:
        value = action(session)
    return value if result["ok"] else None


def flash(key: str, message: str) -> None:
    """Keep a success message for the next run (after st.rerun) under `key`."""
    st.session_state[key] = message


def show_flash(key: str) -> None:
    """Show and forget the success message kept under `key`, as plain text."""
    message = st.session_state.pop(key, None)
    if message:
        st.success(plain(message), icon=":material/check_circle:")

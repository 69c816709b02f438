"""Drive KMS pages with Streamlit's AppTest: logged in or not, through app.py or by deep link.

`open_page("personen")` runs app.py with the page requested before any `st.navigation` ran,
which is exactly what a fresh server does for a bookmarked URL: it executes pages/personen.py
directly, with app.py as the entry point (so `st.page_link("pages/…")` still resolves).
`open_page(None)` runs app.py itself.
"""

from __future__ import annotations

import re
import time
from typing import Any

from streamlit.testing.v1 import AppTest

from kms import auth
from kms.config import ROOT
from kms.db import ensure_migrated, session_scope
from kms.registry import pages

OWNER = "erika"
OWNER_NAME = "Erika Mustermann"
OWNER_PASSWORD = "Muster-Passwort-2026"
BANNER_NONE = "Kein Wartungsfenster geplant."
TIMEOUT = 30


def page_script(url_path: str) -> str:
    """The script (relative to the project root) registered under `url_path`."""
    return next(p.script for p in pages() if p.url_path == url_path)


def create_owner(username: str = OWNER, display_name: str = OWNER_NAME) -> str:
    """Create the owner login in the test's database; returns the username."""
    ensure_migrated()
    with session_scope() as session:
        auth.create_user(
            session,
            username=username,
            password=OWNER_PASSWORD,
            display_name=display_name,
            is_owner=True,
        )
    return username


def log_in(at: AppTest, username: str = OWNER, display_name: str = OWNER_NAME) -> AppTest:
    """Put a logged-in session into `at` (what a successful login leaves in session state)."""
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = display_name
    at.session_state["logout"] = False
    at.session_state["kms_login_at"] = time.time()
    return at


def open_page(url_path: str | None, *, user: str | None = OWNER) -> AppTest:
    """An AppTest for a page's deep link (or app.py for None), logged in as `user`; not run."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if url_path is not None:
        at.switch_page(page_script(url_path))
    if user is not None:
        log_in(at, user)
    return at


def open_app(*, user: str | None = OWNER) -> AppTest:
    """app.py after it settled on the page st.navigation chose, ready for form input.

    AppTest names that page only in its next run, and widgets outside a page take their ids
    from the page asked for; a browser is settled by app.py's own rerun instead.
    """
    return open_page(None, user=user).run().run()


def unescape(markdown: str) -> str:
    """Markdown text as the user reads it (kms.ui.text.plain escapes punctuation and puts
    invisible word joiners into would-be autolinks)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def values(elements) -> list[str]:  # type: ignore[no-untyped-def]
    """The unescaped text of a list of AppTest elements (errors, captions, markdown …)."""
    return [unescape(str(e.value)) for e in elements]


def everything(at: AppTest) -> str:
    """Every element of the last run (main and sidebar) as text, to prove something is absent."""
    return "\n".join(unescape(str(node.proto)) for node in [*at.main, *at.sidebar])


def banner_text(at: AppTest) -> str:
    """The banner's text (it sits in the keyed container kms_banner)."""
    block = at.get_by_key("kms_banner")
    return "\n".join(unescape(str(n.value)) for n in block if hasattr(n, "value"))


def widget(elements, label: str):  # type: ignore[no-untyped-def]
    """The one widget in `elements` with this label."""
    found = [e for e in elements if e.label == label]
    assert len(found) == 1, f"expected one widget {label!r}, found {len(found)}"
    return found[0]


def fill(at: AppTest, form_values: dict[str, str], *, within=None) -> None:  # type: ignore[no-untyped-def]
    """Type `form_values` (label → text) into text inputs and areas of `within` (default: app)."""
    scope = within if within is not None else at
    inputs = [*scope.text_input, *scope.text_area]
    for label, value in form_values.items():
        widget(inputs, label).input(value)


def click(at: AppTest, label: str, *, within=None) -> AppTest:  # type: ignore[no-untyped-def]
    """Click the button (or form submit button) with this label and rerun."""
    scope = within if within is not None else at
    widget(scope.button, label).click()
    return at.run()


# --- shared assertions ----------------------------------------------------------------------

LOGIN_FIELDS = ["Benutzername", "Passwort"]
UNEXPECTED = "Es ist ein unerwarteter Fehler aufgetreten"


def assert_only_login(at: AppTest, hidden: list[str]) -> None:
    """Only the banner and the login form: no title, no sidebar, none of the `hidden` texts."""
    assert not at.exception
    assert [w.label for w in at.text_input] == LOGIN_FIELDS
    assert [b.label for b in at.button] == ["Anmelden"]
    assert not at.title
    assert len(at.sidebar) == 0, "the sidebar must stay empty before login"
    assert BANNER_NONE in banner_text(at)
    shown = everything(at)
    for text in hidden:
        assert text not in shown


def assert_page_shown(at: AppTest, title: str, banner: str = BANNER_NONE) -> None:
    """The page rendered without error: its title, the banner sentence, the sidebar."""
    assert not at.exception, [e.value for e in at.exception]
    assert not [e for e in values(at.error) if UNEXPECTED in e], values(at.error)
    assert values(at.title) == [title]
    assert banner in banner_text(at)
    assert "Abmelden" in [b.label for b in at.sidebar.button]


def assert_unexpected_error(at: AppTest, url_path: str, cause: str) -> None:
    """The German message with a Fehlernummer, no traceback, and the ErrorLog row it names."""
    from sqlalchemy import select

    from kms.models import ErrorLog

    assert not at.exception
    messages = [m for m in values(at.error) if UNEXPECTED in m]
    assert len(messages) == 1, values(at.error)
    number = re.search(r"Fehlernummer (\d+)", messages[0])
    assert number, messages[0]
    assert "Traceback" not in everything(at)
    assert cause not in everything(at), "the exception text is for the log, not the screen"
    with session_scope(write=False) as session:
        entry = session.scalar(select(ErrorLog).where(ErrorLog.id == int(number.group(1))))
        assert entry is not None
        assert entry.page == url_path
        assert cause in entry.error
        assert "Traceback" in entry.traceback


def input_values(at: AppTest) -> dict[str, str]:
    """Label → current value of every text input and text area of the last run."""
    return {w.label: w.value for w in [*at.text_input, *at.text_area]}


def break_function(monkeypatch, target: str) -> str:  # type: ignore[no-untyped-def]
    """Make the function at dotted path `target` raise an unexpected error; returns its text."""
    cause = f"injected failure in {target}"

    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(cause)

    monkeypatch.setattr(target, fail)
    return cause


def submit(url_path: str, typed: dict[str, str], button: str, *, tab: int | None = None) -> AppTest:
    """Open the page logged in, type `typed` (into tab number `tab`), press `button`."""
    at = open_page(url_path).run()
    fill(at, typed, within=None if tab is None else at.tabs[tab])
    return click(at, button, within=None if tab is None else at.tabs[tab])


def assert_refused(at: AppTest, message: str, typed: dict[str, str]) -> None:
    """One German error naming the problem, no success, and every typed value still there."""
    errors = [e for e in values(at.error) if not e.startswith("Wartung läuft")]
    assert len(errors) == 1 and message in errors[0], errors
    assert not at.success
    current = input_values(at)
    assert {label: current[label] for label in typed} == typed


# --- st.data_editor ---------------------------------------------------------------------------


def edit_table(at: AppTest, key: str, *, added_rows: list[dict[str, object]]) -> None:
    """Stage rows added in the `st.data_editor` with this key, as the browser sends them.

    AppTest has no data editor widget, so this swaps the editor's node for one that serializes
    the editing state. It keeps the one rule of Streamlit's browser side (DataFrame.js, toJson)
    that matters to an app: an added row with an empty cell in a `required` column is not sent.
    """
    import json

    from streamlit.proto.WidgetStates_pb2 import WidgetState
    from streamlit.testing.v1.element_tree import Widget

    class _Editor(Widget):
        def __init__(self, proto: Any, root: Any) -> None:
            super().__init__(proto, root)
            self.type = "data_editor"

        @property
        def _widget_state(self) -> WidgetState:
            required = [
                name
                for name, cfg in json.loads(self.proto.columns or "{}").items()
                if cfg.get("required") and not cfg.get("disabled")
            ]
            sent = [
                row
                for row in self._value or []
                if all(row.get(name) not in (None, "") for name in required)
            ]
            state = WidgetState(id=self.id)
            state.string_value = json.dumps(
                {"edited_rows": {}, "added_rows": sent, "deleted_rows": []}
            )
            return state

        @property
        def id(self) -> str:  # type: ignore[override]
            return str(self.proto.id)

        @property
        def value(self) -> object:
            return self._value

    stack = [at._tree]
    while stack:
        node = stack.pop()
        for name, child in getattr(node, "children", {}).items():
            proto = getattr(child, "proto", None)
            if getattr(proto, "editing_mode", 0) and str(proto.id).endswith(f"-{key}"):
                editor = _Editor(proto, child.root)
                editor._value = added_rows
                node.children[name] = editor
                return
            stack.append(child)
    raise AssertionError(f"no data editor with key {key!r}")

"""German throughout and nothing from other origins: what the widget calls and the config promise.

Streamlit fills gaps with English ("Choose an option", "No options to select", "text/html files
are not allowed.", "None" for a missing cell, "Please fill out this cell."), and a
":material/…:" favicon is fetched from fonts.gstatic.com. These tests read KMS's own calls;
tests/browser/test_german_and_private.py checks the screen and the network.
"""

from __future__ import annotations

import ast
import json
import tomllib

import pytest
from streamlit.commands.page_config import _get_favicon_string

from kms.config import ROOT
from kms.modules.invoices import service
from kms.ui.page import FAVICON
from tests import ui_helpers as ui

SOURCES = sorted([*(ROOT / "kms").rglob("*.py"), *(ROOT / "pages").rglob("*.py"), ROOT / "app.py"])


def widget_calls(name: str) -> list[tuple[str, ast.Call]]:
    """Every call `<something>.name(...)` in KMS's code, with its file:line."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == name
            ):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return found


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


@pytest.mark.parametrize("name", ["selectbox", "multiselect"])
def test_every_select_has_a_german_placeholder(name):
    """No selectbox or multiselect is left with Streamlit's English placeholder."""
    calls = widget_calls(name)
    assert calls, f"no st.{name} found: the scan is broken"
    missing = [where for where, call in calls if keyword(call, "placeholder") is None]
    assert missing == []


def test_no_uploader_uses_streamlits_english_type_filter():
    """Uploaders take any file; KMS checks the type and answers in German."""
    calls = widget_calls("file_uploader")
    assert calls
    assert [where for where, call in calls if keyword(call, "type") is not None] == []


def test_every_date_input_shows_german_dates():
    """Every date input shows TT.MM.JJJJ (format="DD.MM.YYYY"), never Streamlit's default."""
    calls = widget_calls("date_input")
    assert calls
    wrong = [
        where
        for where, call in calls
        if not (
            isinstance(fmt := keyword(call, "format"), ast.Constant) and fmt.value == "DD.MM.YYYY"
        )
    ]
    assert wrong == []


def test_favicon_is_inlined_from_the_app_itself():
    """The favicon is KMS's own SVG, handed to the browser as a data: URI (no request at all)."""
    assert FAVICON.is_file() and FAVICON.read_text(encoding="utf-8").lstrip().startswith("<svg")
    assert _get_favicon_string(FAVICON).startswith("data:image/svg+xml;base64,")


def test_streamlit_config_sends_nothing_home():
    """Usage statistics are off and the theme names no web font to download."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False
    theme = json.dumps(config.get("theme", {}))
    assert "http" not in theme and "fontFaces" not in theme


def test_new_invoice_lines_show_no_english_cells(owner, demo):
    """The draft editor's rows have a value in every cell and every column a default for new
    rows, so it never draws "None" nor asks "Please fill out this cell."."""
    at = ui.open_page("rechnungen").run()
    assert not at.exception
    [editor] = [d for d in at.dataframe if "Beschreibung" in d.value.columns]
    assert not editor.value.isna().any().any(), editor.value
    # The demo owner is regelbesteuert: a new line starts with the first rate on offer.
    assert editor.value.loc[0, "Steuer"] == service.TAX_OPTIONS["S19"].label
    columns = json.loads(editor.proto.columns)
    assert set(columns) >= set(editor.value.columns)
    for name in editor.value.columns:
        assert columns[name].get("default") is not None, name
    assert not columns["Beschreibung"].get("required"), "required text cells answer in English"

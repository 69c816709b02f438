"""Hilfe: login gate; every ▶ function and ⊕ automatism of the registry is listed."""

from __future__ import annotations

from kms.functions import run_automatism
from kms.registry import automatisms, functions, pages
from tests import ui_helpers as ui


def test_deep_link_before_login_shows_only_the_login_form(owner):
    """/hilfe without login lists neither functions nor automatisms."""
    at = ui.open_page("hilfe", user=None).run()
    ui.assert_only_login(at, hidden=["Hilfe", "Automatismen", *[a.label for a in automatisms()]])


def test_every_function_and_automatism_is_listed(owner):
    """The tables list each registered ▶ function with its page and each ⊕ with its schedule."""
    at = ui.open_page("hilfe").run()
    ui.assert_page_shown(at, "Hilfe")
    fns, autos = (frame.value for frame in at.table)
    titles = {p.url_path: p.title for p in pages()}
    assert sorted(zip(fns["Funktion"], fns["Seite"], strict=True)) == sorted(
        (f"▶ {f.label}", titles[f.page]) for f in functions()
    )
    assert list(fns["Was sie tut"]) == [f.description for f in functions()]
    assert list(autos["Automatismus"]) == [f"⊕ {a.label}" for a in automatisms()]
    assert list(autos["Zeitplan"]) == [a.schedule_text for a in automatisms()]
    assert set(autos["Zuletzt"]) == {"noch nie"}


def test_last_run_of_an_automatism_is_shown(owner):
    """After an automatism ran, Hilfe shows its result instead of "noch nie"."""
    spec = automatisms()[0]
    message = run_automatism(spec, force=True)
    at = ui.open_page("hilfe").run()
    autos = at.table[1].value.set_index("Automatismus")
    assert autos.loc[f"⊕ {spec.label}", "Ergebnis"] == message
    assert autos.loc[f"⊕ {spec.label}", "Zuletzt"] != "noch nie"


def test_unexpected_error_shows_number_not_traceback(owner, monkeypatch):
    """A failing service shows the German message with a Fehlernummer and logs the error."""
    cause = ui.break_function(monkeypatch, "kms.functions.last_runs")
    at = ui.open_page("hilfe").run()
    ui.assert_unexpected_error(at, "hilfe", cause)

"""The shared pager through Streamlit's AppTest: German label, moving, clamping, filter reset."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def script() -> None:
    """A list of "Eintrag 1" … "Eintrag 57" (or as many as "stored" says), 25 a page,
    filtered by a search box."""
    import streamlit as st

    from kms.paging import Page, clamp
    from kms.ui.paging import pager, requested_page

    search = st.text_input("Suche", key="search")
    stored = st.session_state.get("stored", 57)
    hits = [f"Eintrag {i}" for i in range(1, stored + 1) if search in f"Eintrag {i}"]
    asked = requested_page("demo_page", (search,))
    shown = clamp(asked, len(hits), 25)
    page = Page(hits[(shown - 1) * 25 : shown * 25], len(hits), shown, 25)
    st.session_state["chosen"] = pager(page, key="demo_page", one="Eintrag", many="Einträge")
    st.write(", ".join(page.items))


def _app() -> AppTest:
    return AppTest.from_function(script, default_timeout=30).run()


def _shown(at: AppTest) -> list[str]:
    return str(at.markdown[0].value).split(", ")


def test_the_pager_names_pages_and_hits_in_german_and_moves() -> None:
    """ "Seite (von 3, 57 Einträge)"; picking page 3 shows the last 7 entries."""
    at = _app()
    assert not at.exception
    picker = at.number_input(key="demo_page")
    assert (picker.label, picker.value, picker.disabled) == ("Seite (von 3, 57 Einträge)", 1, False)
    assert _shown(at)[0] == "Eintrag 1" and len(_shown(at)) == 25
    picker.set_value(3).run()
    assert not at.exception
    assert at.number_input(key="demo_page").value == 3
    assert at.session_state["chosen"] == 3
    assert _shown(at) == [f"Eintrag {i}" for i in range(51, 58)]


def test_a_changed_filter_starts_again_on_page_one() -> None:
    """After a new search the list shows its first page; one page of hits cannot be paged."""
    at = _app()
    at.number_input(key="demo_page").set_value(2).run()
    assert _shown(at)[0] == "Eintrag 26"
    at.text_input(key="search").set_value("Eintrag 1").run()
    assert not at.exception
    picker = at.number_input(key="demo_page")
    # "Eintrag 1", "Eintrag 10" … "Eintrag 19": eleven hits on one page.
    assert (picker.label, picker.value, picker.disabled) == ("Seite (von 1, 11 Einträge)", 1, True)
    at.text_input(key="search").set_value("Eintrag 57").run()
    assert at.number_input(key="demo_page").label == "Seite (von 1, 1 Eintrag)"


def test_the_picker_follows_a_page_the_list_clamped() -> None:
    """Entries deleted meanwhile: page 3 of 57 is beyond the end of 30, so the list shows its
    last page and the picker says 2 of 2 (no error about a value above the maximum)."""
    at = _app()
    at.number_input(key="demo_page").set_value(3).run()
    at.session_state["stored"] = 30
    at.run()
    assert not at.exception
    picker = at.number_input(key="demo_page")
    assert (picker.label, picker.value) == ("Seite (von 2, 30 Einträge)", 2)
    assert _shown(at) == [f"Eintrag {i}" for i in range(26, 31)]

"""KMS entry point: page config, login gate, and the navigation built from the registry."""

import streamlit as st

from kms.config import ROOT
from kms.onboarding import onboarding_done
from kms.registry import SECTIONS, pages
from kms.ui.page import configure, login_required

configure()
user = login_required()
if user is None:
    # Stay on this script until the login or setup form is submitted: a pages/ directory puts
    # Streamlit in multipage mode, and st.navigation here would move the next rerun to
    # pages/start.py, whose form widgets have other ids, losing the first submission.
    # A bookmarked URL runs its own page script, which guards login itself (run_page).
    st.stop()

default = "start" if onboarding_done() else "ersteinrichtung"
sections: dict[str, list[st.Page]] = {name: [] for name in SECTIONS}
for spec in pages():
    sections[spec.section].append(
        st.Page(
            ROOT / spec.script,
            title=spec.title,
            icon=spec.icon,
            url_path=spec.url_path,
            default=spec.url_path == default,
        )
    )
# The sidebar links are drawn by each page (kms.ui.chrome.render_navigation), so that a
# page opened by deep link before any st.navigation ran looks the same.
navigation = st.navigation(
    {name: items for name, items in sections.items() if items}, position="hidden"
)
navigation.run()

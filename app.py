"""KMS entry point: page config, login gate, and the navigation built from the registry."""

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from kms.config import ROOT
from kms.db import ensure_migrated
from kms.onboarding import onboarding_done
from kms.permissions import Permission
from kms.registry import ROOT_PATH, SECTIONS, pages
from kms.ui.auth import current_user, resume_from_cookie
from kms.ui.page import configure, login_required, user_permissions

configure()
ensure_migrated()
requested_page = get_script_run_ctx().page_script_hash
# A reload or a second tab with a live session cookie is logged in before anything is drawn.
resume_from_cookie()

# st.navigation runs on every rerun, logged in or not, and before the login gate: the gate's
# cookie component triggers a rerun of its own, and only once navigation has told the
# browser which page it is on does that rerun keep a bookmarked URL. The page then runs
# after login, so the user lands where the bookmark points.
default = "start" if current_user() is None or onboarding_done() else "ersteinrichtung"
if default == "ersteinrichtung" and Permission.SETTINGS not in user_permissions():
    default = "start"  # the first-run steps are the owner's (roles)
sections: dict[str, list[st.Page]] = {name: [] for name in SECTIONS}
for spec in pages():
    sections[spec.section].append(
        st.Page(ROOT / spec.script, title=spec.title, icon=spec.icon, url_path=spec.url_path)
    )
# The root URL gets an entry of its own, last, that runs the chosen page's script. Streamlit
# serves its default page at "/" only: had /start been the default, a reload or bookmark of
# /start would ask for a page name no entry answers to, and Streamlit's English "Page not
# found" dialog covered the login form whenever that message reached the browser before
# the rerun below (on a busy server). Last, so that links and st.switch_page to a script
# resolve to the page's own path, never to the empty href of the default.
# (The navigation is hidden, so the section it sits in shows nowhere.)
home = next(spec for spec in pages() if spec.url_path == default)
sections = {name: items for name, items in sections.items() if items}
sections[list(sections)[-1]].append(
    st.Page(ROOT / home.script, title=home.title, icon=home.icon, url_path=ROOT_PATH, default=True)
)
# The sidebar links are drawn by each page (kms.ui.chrome.render_navigation), so that a
# page opened by deep link before any st.navigation ran looks the same.
navigation = st.navigation(sections, position="hidden")
if current_user() is None and get_script_run_ctx().page_script_hash != requested_page:
    # Streamlit derives the ids of widgets outside a page from the page the browser asked
    # for. On a first visit the browser learns the page chosen here only afterwards, so the
    # login form would get new ids with the next request and the first click on "Anmelden"
    # would be lost. Rerun once under the chosen page before anyone can click.
    st.rerun()
user = login_required()
if user is None:
    st.stop()
navigation.run()

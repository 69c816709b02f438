"""Shared Streamlit helpers: login gate, banner, sidebar, page runner, widgets."""

from kms.permissions import set_ui_provider


def _logged_in_username() -> str | None:
    """Who acts in this Streamlit run (page, callback, fragment): the logged-in user."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    from kms.ui.auth import current_user

    user = current_user()
    return user.username if user is not None else None


# Registered with the package, so any UI code that calls a service names its user
# (kms.permissions explains how services learn who acts).
set_ui_provider(_logged_in_username)

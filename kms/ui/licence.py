"""What a page of a locked add-on shows instead of its content, and the lock in the sidebar."""

from __future__ import annotations

import streamlit as st

from kms import registry
from kms.db import session_scope
from kms.registry import ModuleSpec, PageSpec
from kms.ui.text import plain

LOCK_ICON = ":material/lock:"


def locked_pages() -> frozenset[str]:
    """URL paths of the pages whose add-on is locked now."""
    with session_scope(write=False) as session:
        return frozenset(
            page.url_path
            for spec in registry.modules()
            if spec.licensed and not registry.usable(session, spec)
            for page in spec.pages
        )


def page_allowed(page: PageSpec, spec: ModuleSpec) -> bool:
    """True when the page may run; otherwise show the licence page and return False."""
    if not spec.licensed:
        return True
    from kms import licensing

    with session_scope() as session:  # writes the instance id once, on first need
        state = licensing.state(session, spec.key, spec.title)
        if state.usable:
            return True
        instance = licensing.instance_id(session)
    st.warning(plain(state.describe()), icon=LOCK_ICON)
    st.markdown(
        "Dieses Zusatzmodul wird separat gebucht. Solange keine gültige Lizenz installiert "
        "ist, ist es gesperrt; seine Daten bleiben bis zum Ende der Aufbewahrungsfrist "
        "erhalten, und eine neue Lizenz macht sie sofort wieder nutzbar."
    )
    st.caption("Instanz-ID dieser KMS-Installation (für die Lizenzbestellung)")
    st.code(instance, language=None)
    st.caption(
        "Lizenz installieren: Einstellungen → Lizenzen oder auf dem Server "
        "python -m kms license install DATEI"
    )
    return False

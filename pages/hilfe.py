"""Hilfe: every function (▶) and automatism (⊕) with its schedule, last and next run."""

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.formatting import format_datetime
from kms.functions import last_runs, states
from kms.registry import automatisms, pages
from kms.ui.page import PageContext, run_page


def _when(value) -> str:  # type: ignore[no-untyped-def]
    return format_datetime(value) if value else "–"


def render(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        runs = last_runs(session)
        state = states(session)
    st.subheader("▶ Funktionen")
    st.caption("Funktionen starten Sie selbst, in der Seitenleiste der jeweiligen Seite.")
    rows = [
        {
            "Funktion": f"▶ {fn.label}",
            "Seite": page.title,
            "Was sie tut": fn.description,
            "Zuletzt ausgeführt": _when(runs[fn.key].started_at) if fn.key in runs else "–",
        }
        for page in pages()
        for fn in page.functions
    ]
    st.table(pd.DataFrame(rows), hide_index=True)
    st.subheader("⊕ Automatismen")
    st.caption("Automatismen führt KMS selbst aus; Sie können sie weder starten noch anhalten.")
    rows = []
    for spec in automatisms():
        s = state.get(spec.key)
        rows.append(
            {
                "Automatismus": f"⊕ {spec.label}",
                "Was er tut": spec.description,
                "Zeitplan": spec.schedule_text,
                "Zuletzt": _when(s.last_finished_at) if s else "noch nie",
                "Ergebnis": (s.last_message if s else "") or "–",
                "Nächster Lauf": _when(s.next_run_at)
                if s and s.next_run_at
                else "beim nächsten Takt",
            }
        )
    st.table(pd.DataFrame(rows), hide_index=True)


run_page("hilfe", render)

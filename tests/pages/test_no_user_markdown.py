"""User and supplier text is never rendered as Markdown: a name carrying link and image
syntax shows literally on every page and detail view (issue 11, ASVS 4.0.3 V5.3.1)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select, text
from streamlit.testing.v1 import AppTest

from kms.db import session_scope
from kms.registry import pages
from kms.ui.text import plain
from tests.ui_helpers import UNEXPECTED, open_page

EVIL = "Beacon GmbH ![x](https:host?id) [Rechnung bezahlen](https:evil.example)"
# The user's syntax, unescaped: "![x](" or "[Rechnung bezahlen](" (kms.ui.text.plain turns
# them into "!\[x\]\(" and "\[Rechnung bezahlen\]\(").
LIVE_SYNTAX = re.compile(r"(?<!\\)!?(?<!\\)\[(x|Rechnung bezahlen)(?<!\\)\]\(")
# Proto string fields that Streamlit renders as Markdown (bodies, labels, help, captions).
MARKDOWN_FIELDS = {"body", "label", "help", "caption", "text", "title", "placeholder"}


def markdown_texts(message: Any) -> list[str]:
    """Every Markdown-rendered string in an element or block proto, recursively."""
    found: list[str] = []
    for field, value in message.ListFields():
        items = list(value) if field.is_repeated else [value]
        if field.type == field.TYPE_MESSAGE:
            for item in items:
                found += markdown_texts(item)
        elif field.type == field.TYPE_STRING and field.name in MARKDOWN_FIELDS:
            found += [str(item) for item in items]
    return found


def walk(node: Any) -> list[Any]:
    nodes = [node]
    for child in getattr(node, "children", {}).values():
        nodes += walk(child)
    return nodes


def live_markdown(at: AppTest) -> list[str]:
    """The rendered texts in which the user's link or image syntax survived."""
    hits = []
    for root in (at.main, at.sidebar):
        for node in walk(root):
            proto = getattr(node, "proto", None)
            if proto is None:
                continue
            hits += [t for t in markdown_texts(proto) if LIVE_SYNTAX.search(t)]
    return hits


@pytest.fixture
def evil(owner: str, demo: None) -> dict[str, int]:
    """The demo data with EVIL as an organisation's and a person's name, a letter subject,
    a document title, an operator notice and a bug report title."""
    from kms.models import Notice
    from kms.modules.contacts.models import Contact
    from kms.modules.documents.models import Document
    from kms.modules.invoices.models import Invoice
    from kms.modules.letters.models import Letter

    with session_scope() as s:
        invoice = s.scalars(
            select(Invoice)
            .join(Contact, Contact.id == Invoice.contact_id)
            .where(Contact.kind == "organisation")
            .order_by(Invoice.id)
        ).first()
        assert invoice is not None
        org_id = invoice.contact_id
        person_id = s.scalar(select(Contact.id).where(Contact.kind == "person").limit(1))
        letter_id = s.scalar(select(Letter.id).limit(1))
        doc_id = s.scalar(select(Document.id).where(Document.doc_type != "backup").limit(1))
        s.execute(text("UPDATE contacts SET name = :n WHERE id = :i"), {"n": EVIL, "i": org_id})
        s.execute(
            text("UPDATE contacts SET last_name = :n WHERE id = :i"), {"n": EVIL, "i": person_id}
        )
        s.execute(
            text("UPDATE letters SET subject = :n, printed_subject = :n WHERE id = :i"),
            {"n": EVIL, "i": letter_id},
        )
        s.execute(text("UPDATE documents SET title = :n WHERE id = :i"), {"n": EVIL, "i": doc_id})
        s.add(Notice(text=EVIL, level="warning"))
    return {
        "org": org_id,
        "person": person_id,
        "letter": letter_id,
        "doc": doc_id,
        "invoice": invoice.id,
    }


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    assert UNEXPECTED not in str([m.value for m in at.error])
    return at


def test_no_page_renders_user_link_or_image_syntax(evil: dict[str, int]) -> None:
    """Every registered page, logged in, shows EVIL only escaped (banner, lists, sidebar)."""
    seen = []
    for page in pages():
        at = _run(open_page(page.url_path))
        assert live_markdown(at) == [], page.url_path
        seen.append(page.url_path)
    assert {"organisationen", "personen", "dokumente", "rechnungen", "schreiben"} <= set(seen)


@pytest.mark.parametrize(
    ("url_path", "state"),
    [
        ("organisationen", {"query": ("id", "org")}),
        ("personen", {"query": ("id", "person")}),
        ("schreiben", {"session": ("letters_selected", "letter")}),
        ("dokumente", {"session": ("doc_pick", "doc")}),
        ("rechnungen", {"session": ("inv_selected", "invoice")}),
    ],
)
def test_detail_views_render_the_name_literally(
    evil: dict[str, int], url_path: str, state: dict[str, tuple[str, str]]
) -> None:
    """The contact heading, the organisation's links, a letter's subject heading, a
    document's detail and an invoice of the renamed customer show EVIL escaped; the
    escaped text is still there for the user to read."""
    at = open_page(url_path)
    if "query" in state:
        key, which = state["query"]
        at.query_params[key] = str(evil[which])
    else:
        key, which = state["session"]
        at.session_state[key] = evil[which]
    _run(at)
    assert live_markdown(at) == []
    shown = "\n".join(
        t
        for root in (at.main, at.sidebar)
        for n in walk(root)
        if getattr(n, "proto", None)
        for t in markdown_texts(n.proto)
    )
    assert plain("[Rechnung bezahlen](https:evil.example)") in shown

"""Modules imported on first use, so a page's rerun does not pay for code it may not run."""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands in for a module until an attribute is read; then imports it (thread-safe,
    under Python's import lock) and hands out its attributes.

    For the heavy parts behind a page (PDF rendering, e-invoice XML and schematron, mail):
    the Rechnungen list and the contact panel need none of them to draw, so a cold process
    no longer imports fpdf, factur-x, pikepdf and lxml before the first list is shown.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

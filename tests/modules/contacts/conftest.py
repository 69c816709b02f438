"""Fixtures for the contacts tests: a registered stand-in module that refers to contacts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kms import registry
from tests.modules.contacts import fake_module


@pytest.fixture
def invoices_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[int, list[str]]]:
    """Registers a module whose "invoices" refer to contacts; yields its contact -> numbers map."""
    monkeypatch.setattr(
        registry, "MODULE_PATHS", (*registry.MODULE_PATHS, "tests.modules.contacts.fake_module")
    )
    fake_module.INVOICES.clear()
    yield fake_module.INVOICES
    fake_module.INVOICES.clear()

"""The invoice module's fixtures (seller, customer, drafts, issuing) for report tests."""

from tests.modules.invoices.conftest import (  # noqa: F401 - pytest finds fixtures by name
    customer,
    issue,
    make_draft,
    seller,
)

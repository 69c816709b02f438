"""Registrations with other modules, done once when the invoices module is imported."""

from __future__ import annotations

from kms.modules.settings.taxation import register_turnover_source


def register() -> None:
    """§ 19 Abs. 2 UStG turnover = received payments, net, per year."""
    from kms.modules.invoices.payments import received_net

    register_turnover_source(received_net)

"""Registrations with other modules, done once when the invoices module is imported."""

from __future__ import annotations

from kms.modules.settings.taxation import register_turnover_source


def register() -> None:
    """§ 19 Abs. 2 UStG turnover (received payments, net) and restore-safe number ranges."""
    from kms.modules.invoices.backup_hooks import register as register_backup_counters
    from kms.modules.invoices.payments import received_net

    register_turnover_source(received_net)
    register_backup_counters()

"""Einstellungen: company master data, Besteuerung, mail server; the §19 limit watch."""

from datetime import timedelta

from kms.functions import AutomatismSpec
from kms.notices import maintenance_switch
from kms.permissions import Permission
from kms.registry import ModuleSpec, PageSpec


def _licence_watch(session, now):  # type: ignore[no-untyped-def]
    from kms.licensing import licence_watch

    return licence_watch(session, now)


def _licence_purge(session, now):  # type: ignore[no-untyped-def]
    from kms.modules.settings.licences import licence_purge

    return licence_purge(session, now)


def _limit_watch(session, now):  # type: ignore[no-untyped-def]
    from kms.modules.settings.taxation import limit_watch

    return limit_watch(session, now)


SPEC = ModuleSpec(
    key="settings",
    title="Einstellungen",
    demo="kms.modules.settings.demo.load",
    models="kms.modules.settings.models",
    pages=(
        PageSpec(
            "pages/einstellungen.py",
            "Einstellungen",
            ":material/settings:",
            "einstellungen",
            "Sonstiges",
            permission=Permission.SETTINGS,
        ),
    ),
    automatisms=(
        AutomatismSpec(
            key="maintenance_switch",
            label="Wartungsmodus schalten",
            description="Schaltet KMS zu Beginn eines Wartungsfensters auf schreibgeschützt "
            "und danach wieder zurück.",
            interval=timedelta(minutes=1),
            run=maintenance_switch,
            runs_in_maintenance=True,
        ),
        AutomatismSpec(
            key="kleinunternehmer_watch",
            label="Kleinunternehmergrenze überwachen",
            description="Berechnet den Umsatz nach § 19 Abs. 2 UStG und warnt im Hinweisbanner, "
            "wenn er sich der Grenze nähert oder sie überschreitet.",
            interval=timedelta(hours=6),
            run=_limit_watch,
        ),
        AutomatismSpec(
            key="licence_watch",
            label="Lizenzen prüfen",
            description="Warnt vor dem Ablauf einer Zusatzmodul-Lizenz; abgelaufene Module "
            "sperren sich selbst, die Daten bleiben erhalten.",
            interval=timedelta(hours=12),
            run=_licence_watch,
        ),
        AutomatismSpec(
            key="licence_purge",
            label="Daten abgelaufener Zusatzmodule löschen",
            description="Löscht die Daten eines Zusatzmoduls, dessen Lizenz länger als die "
            "Aufbewahrungsfrist abgelaufen ist, nach einem dauerhaft aufbewahrten Backup.",
            interval=timedelta(hours=24),
            run=_licence_purge,
        ),
    ),
)

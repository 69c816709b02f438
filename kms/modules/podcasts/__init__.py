"""Podcasts (licensed add-on): channels with their episodes and media, a standards-compliant
RSS feed (Apple Podcasts, Podcasting 2.0) and where the show is listed (Anbieterplattformen).

Public URLs (feed, media) are built only in kms.modules.podcasts.urls."""

from kms.permissions import Permission
from kms.registry import ModuleSpec, PageSpec

SECTION = "Zusatzmodule"

SPEC = ModuleSpec(
    key="podcasts",
    title="Podcasts",
    licensed=True,
    requires=("settings",),
    models="kms.modules.podcasts.models",
    routes="kms.modules.podcasts.routes.routes",
    on_stop="kms.modules.podcasts.stats.shutdown",
    pages=(
        PageSpec(
            "pages/podcast_statistik.py",
            "Podcast-Statistik",
            ":material/monitoring:",
            "podcast-statistik",
            SECTION,
            permission=Permission.PODCASTS_READ,
        ),
    ),
)

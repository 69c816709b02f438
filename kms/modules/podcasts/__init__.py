"""Podcasts (licensed add-on): channels with their episodes and media, a standards-compliant
RSS feed (Apple Podcasts, Podcasting 2.0) and where the show is listed (Anbieterplattformen).

Public URLs (feed, media) are built only in kms.modules.podcasts.urls; the feed is
kms.modules.podcasts.feed.build_feed; stored files are kms.modules.podcasts.media."""

from kms.functions import FunctionSpec
from kms.permissions import Permission
from kms.registry import ModuleSpec, PageSpec

SECTION = "Zusatzmodule"
CHANNELS_PAGE = "podcast-kanaele"

CHECK_FEED = FunctionSpec(
    "podcasts.check_feed",
    "Feed prüfen",
    CHANNELS_PAGE,
    "Prüft den Feed eines Kanals gegen Apples Anforderungen und die Podcasting-2.0-Regeln "
    "und listet jedes Problem auf (fehlendes Cover, Episoden ohne Audiodatei, fehlende Dateien "
    "im Speicher, ungültige Angaben).",
    Permission.PODCASTS_READ,
)
IMPORT_FEED = FunctionSpec(
    "podcasts.import_feed",
    "Podcast umziehen",
    CHANNELS_PAGE,
    "Übernimmt einen Podcast von einem anderen Anbieter über seine Feed-Adresse: Kanal-Angaben, "
    "Cover und alle Episoden mit Audiodatei. Die GUIDs der Episoden und die podcast:guid bleiben "
    "gleich, damit Abonnenten nichts doppelt bekommen. Episoden, die sich nicht übernehmen "
    "lassen, werden mit Grund aufgelistet.",
    Permission.PODCASTS_WRITE,
)


def _page(url_path: str, title: str, icon: str, **kw: object) -> PageSpec:
    # The script is named like its URL, so a deep link opened before the first st.navigation
    # run finds it (see pages/einnahmen-ausgaben.py).
    script = f"pages/{url_path}.py"
    return PageSpec(
        script, title, icon, url_path, SECTION, permission=Permission.PODCASTS_READ,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


SPEC = ModuleSpec(
    key="podcasts",
    title="Podcasts",
    licensed=True,
    requires=("settings",),
    models="kms.modules.podcasts.models",
    files="kms.modules.podcasts.media.files",
    cli="kms.modules.podcasts.cli.register",
    demo="kms.modules.podcasts.demo.load",
    routes="kms.modules.podcasts.routes.routes",
    on_stop="kms.modules.podcasts.stats.shutdown",
    pages=(
        _page(
            CHANNELS_PAGE,
            "Podcast-Kanäle",
            ":material/podcasts:",
            functions=(CHECK_FEED, IMPORT_FEED),
        ),
        _page("podcast-episoden", "Podcast-Episoden", ":material/mic:"),
        _page("anbieterplattformen", "Anbieterplattformen", ":material/hub:"),
        _page("podcast-statistik", "Podcast-Statistik", ":material/monitoring:"),
    ),
)

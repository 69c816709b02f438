"""Preiskalkulation (licensed add-on): fair prices from real costs — Gemeinkosten,
Kalkulationsgrundlagen, Angebote with their break-even, Kapazität."""

from kms.functions import FunctionSpec
from kms.permissions import Permission
from kms.registry import ModuleSpec, PageSpec

SECTION = "Zusatzmodule"
OVERHEADS_PAGE = "gemeinkosten"

FROM_BOOKINGS = FunctionSpec(
    "pricing.from_bookings",
    "Aus Buchungen übernehmen",
    OVERHEADS_PAGE,
    "Schlägt Gemeinkosten-Posten aus den Ausgaben des Vorjahres vor (je Kategorie, abzüglich "
    "abziehbarer Vorsteuer) und legt sie auf Wunsch als jährliche Posten an.",
    Permission.LEDGER_READ,
)

TAKE_PRICE = FunctionSpec(
    "pricing.take_price",
    "Preis übernehmen",
    "angebote",
    "Legt einen neuen Rechnungsentwurf an, dessen Position den fairen oder geplanten Preis "
    "des ausgewählten Angebots trägt.",
    Permission.INVOICES_WRITE,
)


def _page(script: str, title: str, icon: str, **kw: object) -> PageSpec:
    return PageSpec(
        f"pages/{script}.py", title, icon, script, SECTION, permission=Permission.LEDGER_READ,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


SPEC = ModuleSpec(
    key="pricing",
    title="Preiskalkulation",
    licensed=True,
    requires=("settings", "invoices", "ledger"),
    models="kms.modules.pricing.models",
    demo="kms.modules.pricing.demo.load",
    pages=(
        _page(
            OVERHEADS_PAGE, "Gemeinkosten", ":material/receipt_long:", functions=(FROM_BOOKINGS,)
        ),
        _page("kalkulationsgrundlagen", "Kalkulationsgrundlagen", ":material/calculate:"),
        _page("angebote", "Angebote", ":material/sell:", functions=(TAKE_PRICE,)),
        _page("kapazitaet", "Kapazität", ":material/schedule:"),
        _page("nachkalkulation", "Nachkalkulation", ":material/fact_check:"),
    ),
)

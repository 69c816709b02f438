"""Berichte: every usable module's reports on one page, as downloads and on the command line.

The module declares no reports of its own: modules list theirs in `ModuleSpec.reports`
(kms.reporting.ReportSpec); this page, `kms.reports` and `python -m kms report` offer them.
"""

from kms.permissions import Permission
from kms.registry import ModuleSpec, PageSpec

SPEC = ModuleSpec(
    key="reports",
    title="Berichte",
    cli="kms.modules.reports.cli.register",
    pages=(
        PageSpec(
            "pages/berichte.py",
            "Berichte",
            ":material/bar_chart:",
            "berichte",
            "Finanzen",
            permission=Permission.REPORTS,
        ),
    ),
)

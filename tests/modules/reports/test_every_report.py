"""Every registered report (of every module, also those added later) keeps the contract:
its declared columns and dtypes, a runnable export in each format, a resolvable note."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

import kms.reports
from kms.registry import reports
from kms.reporting import Period, ReportSpec, frame_problems
from kms.reporting_export import FORMATS, export
from kms.types import today

SPECS = [report for _module, report in reports()]


def _period(spec: ReportSpec) -> Period | None:
    if spec.period == "none":
        return None
    if spec.period == "year":
        return Period.year(today().year)
    return Period.quarter(today().year, 1)


@pytest.mark.parametrize("spec", SPECS, ids=[s.key for s in SPECS])
def test_the_report_returns_its_declared_frame(sqlite_session: Session, spec: ReportSpec) -> None:
    period = _period(spec)
    df = kms.reports.run(spec.key, sqlite_session, period)
    assert frame_problems(spec, df) == []
    for fmt in FORMATS:
        assert export(spec, df, fmt, period)
    kms.reports.note(spec.key, sqlite_session, period)
    assert getattr(kms.reports, spec.key).__name__ == spec.key


def test_the_invoice_reports_are_registered() -> None:
    assert {"zm", "open_items", "revenue_by_month", "revenue_by_customer"} <= {s.key for s in SPECS}

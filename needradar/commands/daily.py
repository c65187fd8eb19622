"""`needradar daily`: the whole day's job."""

from __future__ import annotations


def daily() -> None:
    """Run the daily job: validate, build vectors, score, forecast, alert, monitor."""
    raise SystemExit("needradar daily is not built yet (issue 5)")

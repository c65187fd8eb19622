"""`needradar serve`: start the BentoML service."""

from __future__ import annotations


def serve() -> None:
    """Start the scoring and forecasting HTTP service."""
    raise SystemExit("needradar serve is not built yet (issue 5)")

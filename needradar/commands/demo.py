"""`needradar demo`: set up the embedded sample data and run the main job on it."""

from __future__ import annotations


def demo() -> None:
    """Generate the sample data and run the daily job on it."""
    raise SystemExit("needradar demo is not built yet")

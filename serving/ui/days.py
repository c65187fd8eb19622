"""Which day folders of the outputs root the dashboard reads."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def finished_days(root: Path) -> list[Path]:
    """Day folders (OUT/YYYY-MM-DD) whose daily job has finished, oldest first."""
    if not root.exists():
        return []
    return sorted(p for p in root.glob("????-??-??") if (p / "run_log.json").exists())


def read_csv(day: Path, name: str) -> pd.DataFrame | None:
    """One CSV output of a day, or None when that step did not write it."""
    return pd.read_csv(day / name) if (day / name).exists() else None


def read_json(day: Path, name: str) -> dict | None:
    """One JSON output of a day, or None."""
    return json.loads((day / name).read_text()) if (day / name).exists() else None

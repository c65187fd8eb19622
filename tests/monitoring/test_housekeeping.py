import pandas as pd

from core.config import Settings, load_config
from monitoring.housekeeping import expired_days, housekeeping


def test_daily_for_a_week_then_the_last_of_each_month_for_a_year():
    days = [f"{d:%Y-%m-%d}" for d in pd.date_range("2025-09-01", "2026-11-23")]
    kept = set(days) - set(expired_days(days, pd.Timestamp("2026-11-23"), Settings()))
    last_week = {f"{d:%Y-%m-%d}" for d in pd.date_range("2026-11-17", "2026-11-23")}
    month_ends = {f"{d:%Y-%m-%d}" for d in pd.date_range("2025-11-30", "2026-10-31", freq="ME")}
    assert kept == last_week | month_ends


def test_dry_run_removes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("NEEDRADAR_HOME", str(tmp_path))
    for day in ("2026-01-10", "2026-01-11", "2026-11-23"):
        (tmp_path / "out" / day).mkdir(parents=True)
    assert housekeeping(load_config(), "2026-11-23", dry_run=True) == ["2026-01-10"]
    assert (tmp_path / "out" / "2026-01-10").exists()
    assert housekeeping(load_config(), "2026-11-23") == ["2026-01-10"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["2026-01-11", "2026-11-23"]

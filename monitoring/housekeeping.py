"""Retention of runtime outputs: daily folders for `daily_keep_days`, then one per month (the
month's last day) for `monthly_keep_months`, as the domain's backup policy asks."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd

from core.config import Settings

logger = logging.getLogger(__name__)


def expired_days(days: list[str], today: pd.Timestamp, settings: Settings) -> list[str]:
    """The day folders (YYYY-MM-DD) that the retention policy no longer keeps."""
    policy = settings.housekeeping
    dates = sorted(pd.Timestamp(d) for d in days)
    month_last = {}
    for d in dates:  # the newest folder of each month is that month's snapshot
        month_last[d.to_period("M")] = d
    this_month = today.to_period("M")
    expired = []
    for d in dates:
        if (today - d).days < policy.daily_keep_days:
            continue
        months_old = (this_month - d.to_period("M")).n
        if month_last[d.to_period("M")] == d and months_old <= policy.monthly_keep_months:
            continue
        expired.append(f"{d:%Y-%m-%d}")
    return expired


def housekeeping(settings: Settings, today: str | None = None, dry_run: bool = False) -> list[str]:
    """Delete the output folders past retention (or only list them); returns their names."""
    root = settings.path("output")
    days = [p.name for p in root.glob("????-??-??") if p.is_dir()] if root.exists() else []
    now = pd.Timestamp(today) if today else pd.Timestamp.now().normalize()
    expired = expired_days(days, now, settings)
    if not dry_run:
        for day in expired:
            shutil.rmtree(Path(root) / day)
        logger.info("housekeeping removed %d output folder(s)", len(expired))
    return expired

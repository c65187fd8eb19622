"""Volume alerts: actuals against the forecast interval and a dynamic 12-week baseline.

Levels (documented in docs/monitoring.md):
- yellow: the actual is above the forecast interval;
- orange: above the interval and at least 1.5x the baseline, or at least `yoy_surge_ratio` (3x,
  "up 200%") the same weekday a year earlier;
- red: above the interval and at least 2.5x the baseline.
The baseline is the mean of the same weekday over the last `baseline_weeks` weeks (a moving
average with a weekly seasonal adjustment), not a fixed threshold. Series with a baseline under
`min_baseline` per day are too small to alert on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import Settings
from monitoring.alerts import Alert, make_alert

MIN_BASELINE = 5.0


def baseline(history: pd.DataFrame, day: pd.Timestamp, weeks: int) -> float:
    """Mean of the same weekday over the `weeks` weeks before `day` (history: ds, y)."""
    same = [day - pd.Timedelta(weeks=k) for k in range(1, weeks + 1)]
    vals = history.set_index("ds")["y"].reindex(same).dropna()
    return float(vals.mean()) if len(vals) else float("nan")


def volume_alerts(
    actuals: pd.DataFrame, forecast: pd.DataFrame, history: pd.DataFrame, as_of, settings: Settings
) -> list[Alert]:
    """Alerts for day `as_of`: actuals (series_id, ds, y) vs the forecast made for that day
    (series_id, ds, yhat, yhat_lower, yhat_upper) and the series' history (series_id, ds, y)."""
    day = pd.Timestamp(as_of).normalize()
    act = actuals[actuals["ds"] == day].set_index("series_id")["y"]
    fc = forecast[forecast["ds"] == day].set_index("series_id")
    alerts = []
    for sid in act.index.intersection(fc.index):
        y, f = float(act[sid]), fc.loc[sid]
        hist = history[history["series_id"] == sid]
        base = baseline(hist, day, settings.alerts.baseline_weeks)
        if not np.isfinite(base) or base < MIN_BASELINE:
            continue
        last_year = hist.set_index("ds")["y"].get(day - pd.Timedelta(weeks=52), np.nan)
        yoy = y / last_year if last_year and np.isfinite(last_year) and last_year > 0 else np.nan
        above = y > f["yhat_upper"]
        if not above and not (np.isfinite(yoy) and yoy >= settings.alerts.yoy_surge_ratio):
            continue
        ratio = y / base
        if above and ratio >= 2.5:
            level, rule = "red", "extreme"
        elif (above and ratio >= 1.5) or (np.isfinite(yoy) and yoy >= settings.alerts.yoy_surge_ratio):
            level, rule = "orange", "surge"
        else:
            level, rule = "yellow", "above_interval"
        alerts.append(
            make_alert(
                "volume",
                level,
                sid,
                day,
                f"{sid}: {y:.0f} on {day:%Y-%m-%d} vs {f['yhat']:.0f} expected "
                f"(interval up to {f['yhat_upper']:.0f}, 12-week weekday baseline {base:.0f})",
                settings,
                actual=y,
                expected=float(f["yhat"]),
                rule=rule,
                evidence={
                    "yhat_upper": round(float(f["yhat_upper"]), 2),
                    "baseline": round(base, 2),
                    "baseline_ratio": round(ratio, 3),
                    "yoy_ratio": None if not np.isfinite(yoy) else round(yoy, 3),
                },
            )
        )
    return alerts

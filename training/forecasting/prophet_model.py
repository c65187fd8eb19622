"""Per-series Prophet with weekly/yearly seasonality, country holidays and the promotion calendar."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from core.config import Settings


def quiet_stan() -> None:
    """Silence cmdstanpy's per-fit INFO lines (it installs its own INFO handler when none exists)."""
    for name in ("prophet", "cmdstanpy"):
        log = logging.getLogger(name)
        if not log.handlers:
            log.addHandler(logging.NullHandler())
        log.setLevel(logging.ERROR)


def promotion_holidays(settings: Settings, years: range) -> pd.DataFrame:
    """The configured promotion windows as Prophet holidays, one row per day."""
    rows = []
    for w in settings.forecast.promotions:
        for year in years:
            for day in pd.date_range(f"{year}-{w.start}", f"{year}-{w.end}"):
                rows.append({"holiday": f"promo_{w.name}", "ds": day})
    return pd.DataFrame(rows, columns=["holiday", "ds"])


def fit_prophet(
    df: pd.DataFrame, settings: Settings | None, sub_daily: bool, interval: float = 0.8, log: bool = True
):
    """Fit Prophet on (ds, y); `log` models log1p(y) so that volumes stay positive."""
    from prophet import Prophet

    # Prophet warns on every fit of a series shorter than two years; once in the docs is enough.
    quiet_stan()
    span = df["ds"].max() - df["ds"].min()
    holidays = None
    if settings is not None and settings.forecast.promotions and not sub_daily:
        years = range(df["ds"].min().year, df["ds"].max().year + 2)
        holidays = promotion_holidays(settings, years)
    m = Prophet(
        yearly_seasonality=span > pd.Timedelta(days=365),
        weekly_seasonality=True,
        daily_seasonality=sub_daily,
        holidays=holidays,
        interval_width=interval,
        uncertainty_samples=200,
    )
    if settings is not None and settings.forecast.country_holidays and not sub_daily:
        m.add_country_holidays(country_name=settings.forecast.country_holidays)
    train = df[["ds", "y"]].assign(y=np.log1p(df["y"]) if log else df["y"])
    m.fit(train)
    m.log_target_ = log
    return m


def predict_prophet(m, ds: pd.Series) -> pd.DataFrame:
    """Point forecast and interval at the given timestamps, the same on every run.

    Prophet samples its intervals from the global NumPy generator: seed it for the call only.
    """
    state = np.random.get_state()
    np.random.seed(0)
    try:
        fc = m.predict(pd.DataFrame({"ds": pd.to_datetime(ds).to_numpy()}))
    finally:
        np.random.set_state(state)
    out = fc[["yhat", "yhat_lower", "yhat_upper"]]
    if getattr(m, "log_target_", False):
        out = np.expm1(out)
    return out.clip(lower=0).reset_index(drop=True)

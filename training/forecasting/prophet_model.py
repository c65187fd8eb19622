"""Per-series Prophet: weekly (and daily, yearly where the data has them) seasonality, holidays."""

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
    df: pd.DataFrame,
    sub_daily: bool,
    interval: float = 0.8,
    country: str | None = None,
    promotions: pd.DataFrame | None = None,
):
    """Fit Prophet on the open rows (ds, y) on the volume scale.

    Yearly seasonality only with two years of history (Prophet's own rule); the country's holidays
    and the promotion windows only when they are given (a user's series gets its own country, never
    a default one); sub-daily series keep their daily profile.
    """
    from prophet import Prophet

    # Prophet warns on every fit of a series shorter than two years; once in the docs is enough.
    quiet_stan()
    span = df["ds"].max() - df["ds"].min()
    m = Prophet(
        yearly_seasonality=span >= pd.Timedelta(days=730),
        weekly_seasonality=True,
        daily_seasonality=sub_daily,
        holidays=promotions if promotions is not None and len(promotions) else None,
        interval_width=interval,
        uncertainty_samples=200,
    )
    if country:
        m.add_country_holidays(country_name=country)
    m.fit(df[["ds", "y"]])
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
    return out.clip(lower=0).reset_index(drop=True)

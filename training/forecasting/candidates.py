"""Every candidate model, fit on a history and forecast at given future timestamps: the one function
that both the backtest (at each fold's origin) and the shipped VolumeForecaster call.

Candidates: Prophet per series, one global LightGBM per family, and statsforecast's
SeasonalNaive, AutoETS, MSTL and AutoTheta per series. Closed days (see calendar.py) are kept out
of every fit and forecast as 0.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.cluster import map_tasks
from training.forecasting.calendar import Calendar, fill_closed
from training.forecasting.global_lgbm import GlobalLGBM
from training.forecasting.prophet_model import fit_prophet, predict_prophet

if TYPE_CHECKING:  # pragma: no cover - typing only
    from distributed import Client

logger = logging.getLogger(__name__)
STATS = ("seasonal_naive", "auto_ets", "mstl", "auto_theta")
MODELS = ("prophet", "lightgbm", *STATS)


@dataclass(frozen=True)
class Setup:
    """How a group of series is forecast: horizon and periods in rows, interval level, holidays."""

    horizon: int
    periods: tuple[int, ...]
    interval: float = 0.8
    country: str | None = None  # None: detected from the closures, if any
    promotions: pd.DataFrame | None = field(default=None, compare=False)  # Prophet holidays
    n_jobs: int = 2

    @property
    def period(self) -> int:
        return self.periods[-1]

    @property
    def sub_daily(self) -> bool:
        return len(self.periods) > 1


def _stats_model(name: str, periods: tuple[int, ...], n: int):
    from statsforecast.models import MSTL, AutoETS, AutoTheta, SeasonalNaive

    main = periods[-1]
    if name == "seasonal_naive":
        return SeasonalNaive(season_length=main)
    # statsforecast's ETS has at most 24 seasons; a longer season uses the daily one or none.
    short = [p for p in periods if p <= 24]
    if name == "auto_ets":
        return AutoETS(season_length=short[-1] if short else 1)
    if name == "mstl":
        fit = [p for p in periods if 2 * p < n] or [1]
        return MSTL(season_length=fit if len(fit) > 1 else fit[0])
    return AutoTheta(season_length=main if 2 * main < n else 1)


def stats_forecast(name: str, y: np.ndarray, h: int, periods: tuple[int, ...]) -> np.ndarray:
    """One statsforecast model fit on `y` (closed rows already filled), `h` rows ahead."""
    model = _stats_model(name, periods, len(y))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = np.asarray(model.forecast(y=np.asarray(y, float), h=h)["mean"], float)
        if np.isfinite(out).all():
            return out
    except (ValueError, ZeroDivisionError, np.linalg.LinAlgError) as exc:
        logger.warning("%s failed (%s); using the seasonal naive forecast", name, type(exc).__name__)
    return stats_forecast("seasonal_naive", y, h, periods) if name != "seasonal_naive" else np.zeros(h)


def prepare(df: pd.DataFrame, calendar: Calendar, period: int) -> pd.DataFrame:
    """(ds, y, closed) with closed rows filled by the value one season earlier."""
    closed = calendar.is_closed(df["ds"])
    return pd.DataFrame(
        {"ds": df["ds"].to_numpy(), "y": fill_closed(df["y"], closed, period), "closed": closed}
    )


def local_forecasts(
    train: pd.DataFrame, ds: pd.Series, setup: Setup, country: str | None, models: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Prophet and the statsforecast models of one series, fit on `train` and forecast at `ds`:
    the per-series task (joblib here, or a Dask task on a cluster)."""
    out = {}
    if "prophet" in models:
        m = fit_prophet(train[~train["closed"]], setup.sub_daily, setup.interval, country, setup.promotions)
        fc = predict_prophet(m, ds)
        for col, name in (
            ("yhat", "prophet"),
            ("yhat_lower", "prophet_lower"),
            ("yhat_upper", "prophet_upper"),
        ):
            out[name] = fc[col].to_numpy()
    y = train["y"].to_numpy(float)
    for name in STATS:
        if name in models:
            out[name] = np.clip(stats_forecast(name, y, len(ds), setup.periods), 0, None)
    return out


def fit_lgbm(train: dict[str, pd.DataFrame], setup: Setup, country: str | None = None) -> GlobalLGBM:
    """The family's global LightGBM; `country`: the calendar's (configured or detected)."""
    promo = None if setup.promotions is None else set(setup.promotions["ds"])
    return GlobalLGBM(setup.horizon, setup.period, promo_days=promo, country=country).fit(train)


@dataclass
class Window:
    """One family's window before its fits: the calendar learned from the history, the prepared
    histories, and per series the frame (ds, closed) that the forecasts fill."""

    calendar: Calendar
    train: dict[str, pd.DataFrame]
    out: dict[str, pd.DataFrame]

    @classmethod
    def plan(cls, history: dict[str, pd.DataFrame], future: dict[str, pd.Series], setup: Setup) -> Window:
        """Learn the calendar from `history` (ds, y per series), prepare it, frame `future`."""
        calendar = Calendar.learn(list(history.values()), setup.country)
        train = {sid: prepare(df, calendar, setup.period) for sid, df in history.items()}
        out = {}
        for sid, ds in future.items():
            ds = pd.Series(pd.to_datetime(ds)).reset_index(drop=True)
            out[sid] = pd.DataFrame({"ds": ds, "closed": calendar.is_closed(ds)})
        return cls(calendar, train, out)

    def lgbm_job(self, setup: Setup, lgbm: GlobalLGBM | None = None) -> tuple:
        """The arguments of `lgbm_forecasts` for this window."""
        return (self.train, {sid: o["ds"] for sid, o in self.out.items()}, setup, lgbm, self.calendar.country)

    def local_jobs(self, setup: Setup, models: tuple[str, ...]) -> list[tuple]:
        """The arguments of `local_forecasts`, one tuple per series."""
        return [
            (self.train[sid], o["ds"], setup, self.calendar.country, models) for sid, o in self.out.items()
        ]

    def fill(
        self, lgbm: dict[str, np.ndarray] | None, local: list[dict[str, np.ndarray]]
    ) -> dict[str, pd.DataFrame]:
        """The per-series frames with every model's forecast; closed days forecast 0."""
        for (sid, frame), columns in zip(self.out.items(), local, strict=True):
            if lgbm is not None and sid in lgbm:
                frame["lightgbm"] = lgbm[sid]
            for name, values in columns.items():
                frame[name] = values
            cols = [c for c in frame if c not in ("ds", "closed")]
            frame.loc[frame["closed"], cols] = 0.0
        return self.out


def lgbm_forecasts(
    train: dict[str, pd.DataFrame],
    future: dict[str, pd.Series],
    setup: Setup,
    lgbm: GlobalLGBM | None = None,
    country: str | None = None,
) -> dict[str, np.ndarray]:
    """The global LightGBM of one family (fit on `train` with the calendar's `country` unless
    given) forecast at `future`."""
    lgbm = lgbm or fit_lgbm(train, setup, country)
    return {sid: lgbm.predict(sid, train[sid], ds) for sid, ds in future.items()}


def local_n_jobs(setup: Setup, models: tuple[str, ...]) -> int:
    """Processes that share the per-series fits without a cluster: the statsforecast fits alone
    are too quick to be worth another process."""
    return setup.n_jobs if "prophet" in models else 1


def forecast_window(
    history: dict[str, pd.DataFrame],
    future: dict[str, pd.Series],
    setup: Setup,
    models: tuple[str, ...] = MODELS,
    lgbm: GlobalLGBM | None = None,
    client: Client | None = None,
) -> tuple[dict[str, pd.DataFrame], Calendar]:
    """Fit every model on `history` (ds, y per series of one family) and forecast at `future`.

    Args:
        lgbm: an already fitted global model to use instead of fitting one on `history`.
        client: a Dask client: the per-series models then run as tasks on its workers (the
            global LightGBM is fit here, on the gathered family).

    Returns:
        per series a frame (ds, closed, one column per model, prophet_lower, prophet_upper), and
        the calendar learned from the history.
    """
    window = Window.plan(history, future, setup)
    global_fc = lgbm_forecasts(*window.lgbm_job(setup, lgbm)) if "lightgbm" in models else None
    jobs = window.local_jobs(setup, models)
    local = map_tasks(client, local_forecasts, jobs, local_n_jobs(setup, models), "forecasting")
    return window.fill(global_fc, local), window.calendar

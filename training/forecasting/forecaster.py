"""VolumeForecaster: the fitted models of every series of the families, stored compactly.

Prophet models are kept as JSON (prophet.serialize), LightGBM boosters as model strings; the
selection, conformal widths and a tail of history travel in a JSON file. No pickles.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from core.config import Settings
from core.errors import ConfigError, DataError
from core.io import write_frame, write_json, write_text
from training.forecasting.backtest import MODELS, BacktestResult, backtest_volumes
from training.forecasting.baselines import moving_average, seasonal_naive
from training.forecasting.global_lgbm import GlobalLGBM
from training.forecasting.metrics import coverage, mase, seasonal_naive_scale
from training.forecasting.prophet_model import fit_prophet, predict_prophet

logger = logging.getLogger(__name__)


def promo_days(settings: Settings, start: pd.Timestamp, end: pd.Timestamp) -> set:
    from training.forecasting.prophet_model import promotion_holidays

    return set(promotion_holidays(settings, range(start.year, end.year + 2))["ds"])


def _fit_one_prophet(sid, df, settings, interval):
    from prophet.serialize import model_to_json

    return sid, model_to_json(fit_prophet(df, settings, False, interval))


class VolumeForecaster:
    """Forecasts daily volume series: the model each series selected in its backtest, with
    intervals (Prophet's own, conformal widths from backtest errors for the others)."""

    def __init__(self, horizon: int, period: int = 7, interval: float = 0.8) -> None:
        self.horizon, self.period, self.interval = horizon, period, interval

    def __repr__(self) -> str:
        return f"VolumeForecaster(horizon={self.horizon}, period={self.period}, interval={self.interval})"

    def fit(self, long: pd.DataFrame, backtest: BacktestResult, settings: Settings) -> VolumeForecaster:
        series = {
            sid: g[["ds", "y"]].reset_index(drop=True) for sid, g in long.groupby("series_id", sort=True)
        }
        self.family_ = long.groupby("series_id")["family"].first().to_dict()
        self.selection_ = backtest.selection.to_dict()
        self.widths_ = backtest.widths
        self.backtest_mase_ = (
            backtest.scores[backtest.scores["model"] == "selected"].set_index("id")["mase"].to_dict()
        )
        start, end = long["ds"].min(), long["ds"].max()
        self.promo_days_ = sorted(promo_days(settings, start, end))
        self.lgbm_ = {}
        for fam in sorted(set(self.family_.values())):
            members = {sid: df for sid, df in series.items() if self.family_[sid] == fam}
            self.lgbm_[fam] = GlobalLGBM(self.horizon, self.period, promo_days=set(self.promo_days_)).fit(
                members
            )
        need = [sid for sid, m in self.selection_.items() if "prophet" in m]
        jobs = Parallel(n_jobs=2)(
            delayed(_fit_one_prophet)(sid, series[sid], settings, self.interval) for sid in need
        )
        self.prophet_json_ = dict(jobs)
        self._prophet_cache: dict = {}
        # Enough rows for the longest lag and its rolling window, also from an origin a horizon back.
        keep = max(self.lgbm_[f].lags[-1] for f in self.lgbm_) + 4 * self.period + 2 * self.horizon
        self.history_ = {sid: df.tail(keep).reset_index(drop=True) for sid, df in series.items()}
        self.last_ds_ = end
        return self

    @property
    def series_ids_(self) -> list[str]:
        return sorted(self.selection_)

    def _prophet(self, sid: str):
        from prophet.serialize import model_from_json

        if sid not in self._prophet_cache:
            m = model_from_json(self.prophet_json_[sid])
            m.log_target_ = True
            self._prophet_cache[sid] = m
        return self._prophet_cache[sid]

    def _one(
        self, model: str, sid: str, hist: pd.DataFrame, future: pd.Series
    ) -> tuple[np.ndarray, np.ndarray | None]:
        h = len(future)
        if model == "prophet":
            fc = predict_prophet(self._prophet(sid), future)
            return fc["yhat"].to_numpy(), fc[["yhat_lower", "yhat_upper"]].to_numpy()
        if model == "lightgbm":
            return self.lgbm_[self.family_[sid]].predict(sid, hist, future), None
        if model == "seasonal_naive":
            return seasonal_naive(hist["y"].to_numpy(), h, self.period), None
        return moving_average(hist["y"].to_numpy(), h, self.period), None

    def add_history(self, actuals: pd.DataFrame) -> None:
        """Remember newer actuals (series_id, ds, y): forecasts then start after them."""
        for sid, g in actuals.groupby("series_id"):
            if sid in self.history_:
                both = pd.concat([self.history_[sid], g[["ds", "y"]]]).drop_duplicates("ds", keep="last")
                self.history_[sid] = both.sort_values("ds").reset_index(drop=True)

    def predict(
        self,
        series_ids: list[str] | None,
        horizon: int,
        history: pd.DataFrame | None = None,
        origin: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Forecast the next `horizon` days after each series' last known day (or after `origin`).

        Args:
            history: newer actuals in long format (series_id, ds, y) so that a model trained
                earlier forecasts from the latest data.
            origin: forecast from this day, ignoring any history after it.
        """
        ids = series_ids or self.series_ids_
        unknown = [s for s in ids if s not in self.selection_]
        if unknown:
            raise DataError(
                f"unknown series {', '.join(unknown[:3])}; known series start with tickets/ or requirements/"
            )
        if not 1 <= horizon <= self.horizon:
            raise DataError(
                f"horizon must be between 1 and {self.horizon} days (the trained horizon), got {horizon}"
            )
        out = []
        for sid in ids:
            hist = self.history_[sid]
            if history is not None:
                newer = history[history["series_id"] == sid][["ds", "y"]]
                hist = (
                    pd.concat([hist, newer])
                    .drop_duplicates("ds", keep="last")
                    .sort_values("ds")
                    .reset_index(drop=True)
                )
            if origin is not None:
                hist = hist[hist["ds"] <= origin].reset_index(drop=True)
            future = pd.Series(
                pd.date_range(hist["ds"].iloc[-1] + pd.Timedelta(days=1), periods=horizon, freq="D")
            )
            choice = self.selection_[sid]
            members = choice.removeprefix("ensemble:").split("+")
            parts = [self._one(m, sid, hist, future) for m in members]
            yhat = np.mean([p[0] for p in parts], axis=0)
            if choice == "prophet":
                lower, upper = parts[0][1][:, 0], parts[0][1][:, 1]
            else:
                key = "ensemble" if choice.startswith("ensemble") else choice
                w = self.widths_[sid].get(key, 0.0)
                lower, upper = yhat - w, yhat + w
            out.append(
                pd.DataFrame(
                    {
                        "series_id": sid,
                        "ds": future,
                        "yhat": yhat,
                        "yhat_lower": np.clip(lower, 0, None),
                        "yhat_upper": upper,
                        "model": choice,
                    }
                )
            )
        return pd.concat(out, ignore_index=True)

    def evaluate(self, holdout: pd.DataFrame) -> dict[str, float]:
        """MASE and interval coverage on held-out actuals (series_id, ds, y) that follow the
        stored history; used by the promotion gate."""
        origin = holdout["ds"].min() - pd.Timedelta(days=1)
        fc = self.predict(sorted(holdout["series_id"].unique()), self.horizon, origin=origin)
        merged = fc.merge(holdout, on=["series_id", "ds"])
        scores = [
            mase(g["y"], g["yhat"], seasonal_naive_scale(self._before(sid, origin), self.period))
            for sid, g in merged.groupby("series_id")
        ]
        scores = [s for s in scores if np.isfinite(s)]
        return {
            "mase": float(np.mean(scores)),
            "coverage": coverage(merged["y"], merged["yhat_lower"], merged["yhat_upper"]),
        }

    def _before(self, sid: str, origin: pd.Timestamp) -> np.ndarray:
        h = self.history_[sid]
        return h.loc[h["ds"] <= origin, "y"].to_numpy()

    def save(self, path: Path) -> None:
        """Write the forecaster into folder `path`: JSON, booster strings and Parquet, no pickles."""
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "horizon": self.horizon,
            "period": self.period,
            "interval": self.interval,
            "family": self.family_,
            "selection": self.selection_,
            "widths": self.widths_,
            "backtest_mase": self.backtest_mase_,
            "promo_days": [str(d.date()) for d in self.promo_days_],
            "last_ds": str(self.last_ds_),
            "lgbm": {
                f: {"lags": g.lags, "columns": g.columns_, "ids": g.ids_} for f, g in self.lgbm_.items()
            },
        }
        write_json(path / "forecaster.json", meta)
        write_json(path / "prophet.json", self.prophet_json_)
        for fam, g in self.lgbm_.items():
            write_text(path / f"lgbm_{fam}.txt", g.booster_.model_to_string())
        write_frame(
            pd.concat([df.assign(series_id=sid) for sid, df in self.history_.items()]),
            path / "history.parquet",
        )

    @classmethod
    def load(cls, path: Path) -> VolumeForecaster:
        """Read a forecaster written by `save`."""
        import lightgbm as lgb

        meta = json.loads((path / "forecaster.json").read_text())
        self = cls(meta["horizon"], meta["period"], meta["interval"])
        self.family_, self.selection_, self.widths_ = meta["family"], meta["selection"], meta["widths"]
        self.backtest_mase_ = meta["backtest_mase"]
        self.promo_days_ = [pd.Timestamp(d) for d in meta["promo_days"]]
        self.last_ds_ = pd.Timestamp(meta["last_ds"])
        self.prophet_json_ = json.loads((path / "prophet.json").read_text())
        self._prophet_cache = {}
        self.lgbm_ = {}
        for fam, info in meta["lgbm"].items():
            g = GlobalLGBM(self.horizon, self.period, promo_days=set(self.promo_days_))
            g.lags, g.columns_, g.ids_ = info["lags"], info["columns"], info["ids"]
            g.booster_ = lgb.Booster(model_str=(path / f"lgbm_{fam}.txt").read_text())
            self.lgbm_[fam] = g
        hist = pd.read_parquet(path / "history.parquet")
        self.history_ = {sid: g[["ds", "y"]].reset_index(drop=True) for sid, g in hist.groupby("series_id")}
        return self


@dataclass
class VolumeTrainResult:
    forecaster: VolumeForecaster
    backtest: BacktestResult
    holdout: pd.DataFrame  # the last horizon of actuals, kept out of the final fit
    seconds: float


def train_volume(
    long: pd.DataFrame,
    settings: Settings,
    models: tuple[str, ...] | None = None,
    holdout_days: int | None = None,
    on_step: Callable[[str], None] | None = None,
) -> VolumeTrainResult:
    """Backtest every model on every daily series, select per series, fit the final models.

    The last `horizon` days are held out of the final fit so that promotion can compare models on
    the same unseen days. `on_step(description)` is called after each backtest fold and after the
    final fit (folds + 1 steps), for progress bars.
    """
    t0 = time.perf_counter()
    models = tuple(models or settings.forecast.models)
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        raise ConfigError(
            f"forecast.models has unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}"
        )
    horizon = settings.forecast.horizon_days
    holdout_days = horizon if holdout_days is None else holdout_days
    cut = long["ds"].max() - pd.Timedelta(days=holdout_days)
    fit_part, holdout = long[long["ds"] <= cut], long[long["ds"] > cut]
    series = {
        sid: g[["ds", "y"]].reset_index(drop=True) for sid, g in fit_part.groupby("series_id", sort=True)
    }
    for sid, df in series.items():
        if len(df) < 2 * 7 + settings.forecast.backtest_folds * horizon:
            raise DataError(
                f"series {sid} has {len(df)} days; forecasting needs at least two weeks plus the backtest"
            )
    promo = promo_days(settings, fit_part["ds"].min(), fit_part["ds"].max())
    bt = backtest_volumes(
        series,
        horizon,
        settings.forecast.backtest_folds,
        7,
        settings,
        models=models,
        interval=settings.forecast.interval_level,
        promo_days=promo,
        on_step=on_step,
    )
    forecaster = VolumeForecaster(horizon, 7, settings.forecast.interval_level).fit(fit_part, bt, settings)
    if on_step is not None:
        on_step("final models fitted")
    forecaster.add_history(holdout)  # forecasts start after the data's end; evaluate() looks back
    return VolumeTrainResult(
        forecaster, bt, holdout[["series_id", "ds", "y"]].reset_index(drop=True), time.perf_counter() - t0
    )

"""VolumeForecaster: the honestly selected configuration of every series, refit on all the data.

It forecasts through the functions each backtest window ran (candidates.Window, local_forecasts,
lgbm_forecasts): local models (Prophet, statsforecast) are fit on the newest history at predict
time, the global LightGBM of each family is stored (booster strings) and reads the newest history
through its lags.
Selection, conformal widths and the history travel in JSON and Parquet. No pickles.
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

from core.cluster import run_calls
from core.config import Settings
from core.errors import ConfigError, DataError, ModelNotFoundError
from core.io import write_frame, write_json, write_text
from training.forecasting.backtest import BacktestResult, backtest_volumes
from training.forecasting.calendar import Calendar
from training.forecasting.candidates import (
    MODELS,
    Setup,
    Window,
    fit_lgbm,
    lgbm_forecasts,
    local_forecasts,
    prepare,
)
from training.forecasting.global_lgbm import GlobalLGBM
from training.forecasting.metrics import coverage, mase, seasonal_naive_scale
from training.forecasting.prophet_model import promotion_holidays
from training.forecasting.selection import candidate_yhat, members

logger = logging.getLogger(__name__)


def setup_for(settings: Settings, start: pd.Timestamp, end: pd.Timestamp, period: int = 7) -> Setup:
    """The Setup of the product's own daily series: the configured country and promotions."""
    years = range(start.year, end.year + 2)
    promos = promotion_holidays(settings, years) if settings.forecast.promotions else None
    return Setup(
        settings.forecast.horizon_days,
        (period,),
        settings.forecast.interval_level,
        settings.forecast.country_holidays,
        promos,
        n_jobs=settings.forecast.processes,
    )


class VolumeForecaster:
    """Forecasts daily volume series with the model each series selected, with conformal intervals."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup

    def __repr__(self) -> str:
        s = self.setup
        return f"VolumeForecaster(horizon={s.horizon}, periods={s.periods}, interval={s.interval})"

    @property
    def horizon(self) -> int:
        return self.setup.horizon

    def fit(self, long: pd.DataFrame, backtest: BacktestResult) -> VolumeForecaster:
        """Keep the backtest's choice per series and refit the global models on all of `long`."""
        self.family_ = long.groupby("series_id")["family"].first().to_dict()
        self.selection_ = backtest.selection.to_dict()
        self.widths_ = backtest.widths
        self.backtest_mase_ = backtest.scores["selected"].groupby("id").mean().to_dict()
        self.history_ = {
            sid: g[["ds", "y"]].reset_index(drop=True) for sid, g in long.groupby("series_id", sort=True)
        }
        self.last_ds_ = long["ds"].max()
        self.lgbm_ = {}
        for fam in sorted(set(self.family_.values())):
            if any("lightgbm" in self.selection_[s] for s in self._family(fam)):
                self.lgbm_[fam] = self._lgbm(fam, {sid: self.history_[sid] for sid in self._family(fam)})
        return self

    def history_frame(self) -> pd.DataFrame:
        """The stored actuals in long format (series_id, ds, y), e.g. to evaluate another model
        on the same history."""
        frames = [df.assign(series_id=sid) for sid, df in self.history_.items()]
        return pd.concat(frames, ignore_index=True)[["series_id", "ds", "y"]]

    @property
    def series_ids_(self) -> list[str]:
        return sorted(self.selection_)

    def _family(self, fam: str) -> list[str]:
        return [sid for sid in sorted(self.family_) if self.family_[sid] == fam]

    def _histories(self, history: pd.DataFrame | None, origin: pd.Timestamp | None) -> dict:
        out = {}
        for sid, hist in self.history_.items():
            if history is not None:
                newer = history[history["series_id"] == sid][["ds", "y"]]
                hist = pd.concat([hist, newer]).drop_duplicates("ds", keep="last").sort_values("ds")
            if origin is not None:
                hist = hist[hist["ds"] <= origin]
            out[sid] = hist.reset_index(drop=True)
        return out

    def _lgbm(self, fam: str, family_hist: dict) -> GlobalLGBM:
        cal = Calendar.learn(list(family_hist.values()), self.setup.country)
        prepared = {sid: prepare(df, cal, self.setup.period) for sid, df in family_hist.items()}
        return fit_lgbm(prepared, self.setup, cal.country)

    def _forecast(self, hist: dict, future: dict[str, pd.Series], refit: bool, client=None) -> pd.DataFrame:
        """Forecast `future` per series from `hist`; `refit` refits the global models on `hist`.

        Per family the calendar and the prepared histories are made once, here; each series' local
        models are one task and each family's global LightGBM forecasts another (on the Dask
        `client`'s workers when given), so a task carries its own series, not its family.
        """
        lgbms = {} if refit else dict(self.lgbm_)
        plans, calls = [], []
        for fam in sorted({self.family_[sid] for sid in future}):
            asked = {sid: ds for sid, ds in future.items() if self.family_[sid] == fam}
            family_hist = {s: hist[s] for s in self._family(fam) if len(hist[s])}
            plan = Window.plan(family_hist, asked, self.setup)
            plans.append(plan)
            chose = [sid for sid in asked if "lightgbm" in self.selection_[sid]]
            if chose and fam not in lgbms:
                lgbms[fam] = self._lgbm(fam, family_hist)
            if chose:
                train = {sid: plan.train[sid] for sid in chose}
                ds = {sid: plan.out[sid]["ds"] for sid in chose}
                calls.append((lgbm_forecasts, (train, ds, self.setup, lgbms[fam])))
            models = {sid: tuple(members(self.selection_[sid])) for sid in asked}
            jobs = [
                (plan.train[sid], plan.out[sid]["ds"], self.setup, plan.calendar.country, models[sid])
                for sid in asked
            ]
            calls += [(local_forecasts, job) for job in jobs]
        results = iter(run_calls(client, calls, what="forecasting"))
        preds = {}
        for plan in plans:
            chose = any("lightgbm" in self.selection_[sid] for sid in plan.out)
            global_fc = next(results) if chose else None
            preds |= plan.fill(global_fc, [next(results) for _ in plan.out])
        out = []
        for sid in future:
            choice = self.selection_[sid]
            p = preds[sid]
            yhat = candidate_yhat(p, choice)
            w = self.widths_.get(sid, float("nan"))
            w = 0.0 if not np.isfinite(w) else w
            closed = p["closed"].to_numpy(bool)
            out.append(
                pd.DataFrame(
                    {
                        "series_id": sid,
                        "ds": p["ds"],
                        "yhat": np.where(closed, 0.0, yhat),
                        "yhat_lower": np.where(closed, 0.0, np.clip(yhat - w, 0, None)),
                        "yhat_upper": np.where(closed, 0.0, yhat + w),
                        "model": choice,
                    }
                )
            )
        return pd.concat(out, ignore_index=True)

    def predict(
        self,
        series_ids: list[str] | None,
        horizon: int,
        history: pd.DataFrame | None = None,
        origin: pd.Timestamp | None = None,
        client=None,
    ) -> pd.DataFrame:
        """Forecast the `horizon` days after each series' last known day (or after `origin`).

        Args:
            history: newer actuals in long format (series_id, ds, y); the models forecast from them.
            origin: forecast from this day, ignoring any history after it.
            client: a Dask client: each series' forecast runs as a task on its workers.
        """
        ids = series_ids or self.series_ids_
        unknown = [s for s in ids if s not in self.selection_]
        if unknown:
            known = sorted({s.split("/")[0] for s in self.selection_})
            raise DataError(
                f"unknown series {', '.join(unknown[:3])}; known series start with {' or '.join(known)}/"
            )
        if not 1 <= horizon <= self.horizon:
            raise DataError(
                f"horizon must be between 1 and {self.horizon} days (the trained horizon), got {horizon}"
            )
        hist = self._histories(history, origin)
        future = {
            sid: pd.Series(pd.date_range(hist[sid]["ds"].iloc[-1] + pd.Timedelta(days=1), periods=horizon))
            for sid in ids
        }
        return self._forecast(hist, future, refit=False, client=client)

    def evaluate(self, holdout: pd.DataFrame, history: pd.DataFrame | None = None) -> dict[str, float]:
        """MASE and coverage of this configuration on `holdout` (series_id, ds, y), every model
        refit on the history before the holdout (the stored one plus `history`, e.g. the
        challenger's, so that champion and challenger see the same data).

        Series the holdout does not share with this model are left out; `series_scored` says how
        many remain (0 gives a NaN MASE, which a promotion gate must refuse).
        """
        origin = holdout["ds"].min() - pd.Timedelta(days=1)
        hist = self._histories(history, origin)
        ids = sorted(set(holdout["series_id"]) & set(self.selection_))
        future = {sid: holdout.loc[holdout["series_id"] == sid, "ds"].sort_values() for sid in ids}
        # A history that does not reach the day before the holdout would forecast across a gap.
        ids = [sid for sid in ids if len(hist[sid]) and hist[sid]["ds"].iloc[-1] == origin]
        if not ids:
            return {"mase": float("nan"), "coverage": float("nan"), "series_scored": 0.0}
        fc = self._forecast(hist, {sid: future[sid] for sid in ids}, refit=True)
        merged = fc.merge(holdout, on=["series_id", "ds"])
        scores = [
            mase(g["y"], g["yhat"], seasonal_naive_scale(hist[sid]["y"].to_numpy(), self.setup.period))
            for sid, g in merged.groupby("series_id")
        ]
        scores = [s for s in scores if np.isfinite(s)]
        return {
            "mase": float(np.mean(scores)) if scores else float("nan"),
            "coverage": coverage(merged["y"], merged["yhat_lower"], merged["yhat_upper"]),
            "series_scored": float(len(scores)),
        }

    def save(self, path: Path) -> None:
        """Write the forecaster into folder `path`: JSON, booster strings and Parquet, no pickles."""
        path.mkdir(parents=True, exist_ok=True)
        s = self.setup
        meta = {
            "horizon": s.horizon,
            "periods": list(s.periods),
            "interval": s.interval,
            "country": s.country,
            "promotions": []
            if s.promotions is None
            else [
                [h, str(d.date())] for h, d in zip(s.promotions["holiday"], s.promotions["ds"], strict=True)
            ],
            "family": self.family_,
            "selection": self.selection_,
            "widths": self.widths_,
            "backtest_mase": self.backtest_mase_,
            "last_ds": str(self.last_ds_),
            "lgbm": {
                f: {
                    "lags": g.lags,
                    "columns": g.columns_,
                    "ids": g.ids_,
                    "target": "log1p_over_level",
                    "country": g.country,
                }
                for f, g in self.lgbm_.items()
            },
        }
        write_json(path / "forecaster.json", meta)
        for fam, g in self.lgbm_.items():
            write_text(path / f"lgbm_{fam}.txt", g.booster_.model_to_string())
        write_frame(self.history_frame(), path / "history.parquet")

    @classmethod
    def load(cls, path: Path) -> VolumeForecaster:
        """Read a forecaster written by `save`."""
        import lightgbm as lgb

        meta = json.loads((path / "forecaster.json").read_text())
        promos = pd.DataFrame(meta["promotions"], columns=["holiday", "ds"]).astype({"ds": "datetime64[ns]"})
        setup = Setup(
            meta["horizon"],
            tuple(meta["periods"]),
            meta["interval"],
            meta["country"],
            promos if len(promos) else None,
        )
        self = cls(setup)
        self.family_, self.selection_, self.widths_ = meta["family"], meta["selection"], meta["widths"]
        self.backtest_mase_ = meta["backtest_mase"]
        self.last_ds_ = pd.Timestamp(meta["last_ds"])
        self.lgbm_ = {}
        for fam, info in meta["lgbm"].items():
            promo = None if setup.promotions is None else set(setup.promotions["ds"])
            g = GlobalLGBM(setup.horizon, setup.period, promo_days=promo, country=info.get("country"))
            if info.get("target") != "log1p_over_level":
                raise ModelNotFoundError(
                    f"{path} holds a LightGBM saved before its target was relative to the level; "
                    "retrain it with `needradar forecast train`"
                )
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
    holdout: pd.DataFrame  # the last backtest window's actuals (series_id, ds, y)
    holdout_metrics: dict[str, float]  # the honest selection's MASE and coverage on it
    seconds: float


def _holdout_metrics(bt: BacktestResult) -> dict[str, float]:
    last = bt.forecasts[bt.forecasts["fold"] == bt.forecasts["fold"].max()]
    scores = bt.scores.xs(last["fold"].iloc[0], level="fold")["selected"]
    inside = last.dropna(subset=["yhat_lower"])
    return {
        "mase": float(scores.mean()) if len(scores) else float("nan"),
        "coverage": coverage(inside["y"], inside["yhat_lower"], inside["yhat_upper"]),
        "series_scored": float(len(scores)),
    }


def train_volume(
    long: pd.DataFrame,
    settings: Settings,
    models: tuple[str, ...] | None = None,
    on_step: Callable[[str], None] | None = None,
    client=None,
) -> VolumeTrainResult:
    """Backtest every model on every daily series with honest selection, then refit the selected
    configuration on all the data. The last backtest window is the holdout that promotion compares.

    `on_step(description)` is called after each backtest window and after the final fit. With a
    Dask `client` the backtest's per-series fits run as tasks on its workers.
    """
    t0 = time.perf_counter()
    models = tuple(models or settings.forecast.models)
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        raise ConfigError(
            f"forecast.models has unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}"
        )
    if long.empty:
        raise DataError("no volume series: the data has no tickets, requirements, transactions or usage")
    horizon, folds = settings.forecast.horizon_days, settings.forecast.backtest_folds
    series = {sid: g[["ds", "y"]].reset_index(drop=True) for sid, g in long.groupby("series_id", sort=True)}
    for sid, df in series.items():
        if len(df) < 2 * 7 + folds * horizon:
            raise DataError(
                f"series {sid} has {len(df)} days; forecasting needs at least two weeks plus the backtest"
            )
    setup = setup_for(settings, long["ds"].min(), long["ds"].max())
    family = long.groupby("series_id")["family"].first().to_dict()
    inner = settings.forecast.evidence_windows
    bt = backtest_volumes(series, folds, setup, models, family, inner=inner, on_step=on_step, client=client)
    forecaster = VolumeForecaster(setup).fit(long, bt)
    if on_step is not None:
        on_step("final models fitted")
    cut = long["ds"].max() - pd.Timedelta(days=horizon)
    holdout = long.loc[long["ds"] > cut, ["series_id", "ds", "y"]].reset_index(drop=True)
    return VolumeTrainResult(forecaster, bt, holdout, _holdout_metrics(bt), time.perf_counter() - t0)

"""How the forecast selection rule is chosen: on series that no benchmark reports on, never on a
benchmark's folds.

The validation sets: the real families of benchmarks/real_series.py (Chicago L stations; US
births and Victoria's daily demand; two half-hourly electricity series alone in their family;
since session 4 a pizza place's daily sales per type and its hourly sales, and New York's daily
departures per airport) and the project's generated series (seed 2027: every third of its 49
daily series, and the hourly totals). Every candidate
model is backtested once per set (the windows `forecast backtest` uses, with EVIDENCE_MAX windows
of evidence before the reported folds) and cached on disk (Parquet under --cache); the rules are
then replayed on those forecasts, each choosing per window from the windows before it only, and
scored on the same reported (series, fold) pairs. `--refit MODEL` backtests one candidate again
with the current code (cached apart), to validate a change to that candidate.

A rule's figure is the mean over the sets of each set's mean MASE, so that a set with many series
does not decide alone; the per-set means are printed too. The rule with the lowest figure ships
(decided before the bank-calls and family benchmarks are run).

Rules (selection.select_honestly's parameters):
  - models: all six candidates, without AutoETS and AutoTheta, or only Prophet, LightGBM and the
    seasonal naive;
  - e: evidence windows (2, 4, 6); k: models in the combination (1-3);
  - own: the series' own share of the score (0.5, or 0: its family's errors only);
  - anchor: LightGBM always in the combination (a prior for the global model) or not;
  - median: the median instead of the mean of three;
  - kall: the mean or median of every model with evidence (no ranking);
  plus median_all (every model's median, no selection), each model alone, and adaptive_rules()
  (since session 7 also one vote per kind of model: Prophet, LightGBM, the best classical one).

    nice .venv/bin/python benchmarks/validate_selection.py [--sets chicago,...] [--cache DIR] [--calendar]
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from real_series import SETS

from training.forecasting.backtest import backtest_volumes
from training.forecasting.calendar import detect_periods
from training.forecasting.candidates import MODELS, STATS, Setup
from training.forecasting.selection import (
    Nested,
    Rule,
    candidate_yhat,
    score_table,
    select_honestly,
    window_scores,
)

FOLDS = 3
EVIDENCE_MAX = 6
MODEL_SETS = {
    "all": MODELS,
    "no_ets_theta": ("prophet", "lightgbm", "seasonal_naive", "mstl"),
    "small": ("prophet", "lightgbm", "seasonal_naive"),
}
HONEST = ["model", "yhat", "yhat_lower", "yhat_upper"]
# Session 7: the calendar a user of each set would configure (`--country`, or the product's config
# for its generated series, which also gets the configured promotion windows): with --calendar every
# candidate is backtested again with it (cached apart), the product's own daily path.
CALENDARS = {
    "chicago": "US",
    "births": "US",  # four US series and Victoria's demand: one country per file, as the CLI takes
    "elec_vic": "AU",
    "elec_taylor": "GB",
    "pizza": "US",
    "pizza_hourly": "US",
    "flights": "US",
    "generated_daily": "CN",
    "generated_hourly": "CN",
}


def generated(freq: str) -> tuple[dict[str, pd.DataFrame], dict[str, str], int]:
    """The project's generated series (seed 2027): daily families or the hourly totals."""
    from core.config import load_config
    from features.generate import generate_sample
    from features.volume_series import build_volume_series

    events = generate_sample(load_config(), customers=6000, days=500, seed=2027).events
    long = build_volume_series(events, freq=freq)
    if freq == "h":
        long = long[long["series_id"].str.endswith("/total") | (long["series_id"] == "tickets/channel=phone")]
        long = long[long["ds"] > long["ds"].max() - pd.Timedelta(days=120)]
    series = {sid: g[["ds", "y"]].reset_index(drop=True) for sid, g in long.groupby("series_id")}
    if freq == "D":  # every third of the 49 daily series, to keep the backtest affordable
        series = {sid: series[sid] for sid in sorted(series)[::3]}
    family = {sid: f for sid, f in long.groupby("series_id")["family"].first().items() if sid in series}
    return series, family, 14 if freq == "D" else 168


def load_set(name: str) -> tuple[dict[str, pd.DataFrame], dict[str, str], int]:
    if name.startswith("generated_"):
        return generated("D" if name == "generated_daily" else "h")
    loader, horizon = SETS[name]
    series = loader()
    return series, {sid: name for sid in series}, horizon


def set_setup(name: str, series: dict[str, pd.DataFrame], horizon: int, calendar: bool) -> Setup:
    """The Setup `forecast backtest` uses for a set; with `calendar`, its CALENDARS country (and the
    configured promotions for the generated series)."""
    periods = max((detect_periods(df["ds"]) for df in series.values()), key=lambda p: p[-1])
    if not calendar:
        return Setup(horizon, periods)
    promotions = None
    if name.startswith("generated_"):
        from core.config import load_config
        from training.forecasting.prophet_model import promotion_holidays

        days = pd.concat([df["ds"] for df in series.values()])
        promotions = promotion_holidays(load_config(), range(days.min().year, days.max().year + 2))
    return Setup(horizon, periods, country=CALENDARS[name], promotions=promotions)


def candidate_forecasts(
    name: str, cache: Path, refit: tuple[str, ...] = (), calendar: bool = False
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every candidate's backtest forecasts of one set (from the cache when there); the `refit`
    models backtested again with the current code (cached apart, under their names); with
    `calendar`, every candidate with the set's configured calendar (cached apart)."""
    path = cache / f"{name}{'_cal' if calendar else ''}_e{EVIDENCE_MAX}_f{FOLDS}.parquet"
    series, family, horizon = load_set(name)
    setup = set_setup(name, series, horizon, calendar)
    if not path.exists():
        bt = backtest_volumes(series, FOLDS, setup, MODELS, family, inner=EVIDENCE_MAX)
        cache.mkdir(parents=True, exist_ok=True)
        bt.forecasts.drop(columns=HONEST).to_parquet(path)
    raw = pd.read_parquet(path)
    if not refit:
        return raw, family
    again = cache / f"{path.stem}_refit_{'+'.join(refit)}.parquet"
    if not again.exists():
        bt = backtest_volumes(series, FOLDS, setup, refit, family, inner=EVIDENCE_MAX)
        bt.forecasts.drop(columns=HONEST).to_parquet(again)
    new = pd.read_parquet(again)
    cols = [c for c in new if any(c == m or c.startswith(f"{m}_") for m in refit)]
    return raw.drop(columns=cols).merge(new[["id", "ds", *cols]], on=["id", "ds"], validate="1:1"), family


def rules() -> dict[str, tuple[tuple[str, ...], int, Rule | Nested]]:
    """tag -> (models, evidence windows, rule)."""
    out = {}
    for set_name, models in MODEL_SETS.items():
        for e in (2, 4, 6):
            for k in (1, 2, 3):
                for own in (0.5, 0.0):
                    for anchor in ((), ("lightgbm",)):
                        for combine in ("ensemble", "median") if k == 3 else ("ensemble",):
                            tag = f"{set_name}_e{e}_k{k}_own{own}" + ("_lgbm" if anchor else "")
                            tag += "_median" if combine == "median" else ""
                            out[tag] = (models, e, Rule(k, own_weight=own, anchor=anchor, combine=combine))
            for combine in ("ensemble", "median"):  # every model with evidence, no ranking
                out[f"{set_name}_e{e}_kall_{combine}"] = (models, e, Rule(combine=combine))
    out.update(adaptive_rules())
    return out


def adaptive_rules() -> dict[str, tuple[tuple[str, ...], int, Rule | Nested]]:
    """Session 4's (and 6's) rules that adapt per series to its own (and its family's) evidence, declared
    before they were replayed; all six models, four evidence windows (the shipped setting)."""
    out = {}
    for own in (0.5, 0.0):
        # the spread: all models when they agree, the leaders when not; session 6 added 1 and 2 (a
        # guard that leaves out only a model three times worse than the best), declared before
        for tol in (0.1, 0.25, 0.5, 1.0, 2.0):
            for combine in ("ensemble", "median"):
                out[f"spread_tol{tol}_{combine}_own{own}"] = (
                    MODELS,
                    4,
                    Rule(tolerance=tol, own_weight=own, combine=combine),
                )
        for k in (None, 3):  # inverse-error weights, shrunk towards equal weights
            for shrink in (0.0, 0.5):
                rule = Rule(k, own_weight=own, combine="weighted", shrink=shrink)
                out[f"weighted_k{k or 'all'}_shrink{shrink}_own{own}"] = (MODELS, 4, rule)
        median = Rule(combine="median")
        best = {k: Rule(k, combine="ensemble") for k in (1, 2, 3)}
        lgbm3 = Rule(3, anchor=("lightgbm",), combine="ensemble")
        subsets = {
            "median|best3": (median, best[3]),
            "median|best2": (median, best[2]),
            "median|best1|best2|best3": (median, best[1], best[2], best[3]),
            "median|best3lgbm": (median, lgbm3),
        }
        for name, sub in subsets.items():
            out[f"nested_{name}_own{own}"] = (MODELS, 4, Nested(sub, own_weight=own))
        # session 7, declared before the replay: one vote per kind of model (Prophet, the global
        # LightGBM, the best of the four statsforecast models), so that four similar classical
        # models cannot outvote the other two; with and without the 3x guard
        for tol in (float("inf"), 2.0):
            for combine in ("ensemble", "median"):
                rule = Rule(tolerance=tol, own_weight=own, combine=combine, groups=(STATS,))
                out[f"kinds_tol{tol}_{combine}_own{own}"] = (MODELS, 4, rule)
    return out


def replay(raw: pd.DataFrame, family: dict[str, str]) -> pd.Series:
    """Mean MASE of every rule and every model alone over the same reported (series, fold) pairs.

    A Nested rule is replayed without the first EVIDENCE_MAX - 4 windows, so that, as in the
    shipped backtest (4 evidence windows before the folds), the rules it compares have forecast
    only the windows that the backtest has."""
    cols = {"median_all": raw.assign(yhat=candidate_yhat(raw, "median:" + "+".join(MODELS)))}
    scores = {models: window_scores(raw, models) for models in MODEL_SETS.values()}
    trimmed = raw[raw["window"] >= EVIDENCE_MAX - 4]
    for tag, (models, evidence, rule) in rules().items():
        if isinstance(rule, Nested):
            cols[tag] = select_honestly(trimmed, models, evidence, 0.8, family, rule)[0]
        else:
            cols[tag] = select_honestly(raw, models, evidence, 0.8, family, rule, scores[models])[0]
    table = {tag: score_table(fc, MODELS)["selected"] for tag, fc in cols.items()}
    table = pd.concat([score_table(cols["median_all"], MODELS)[list(MODELS)], pd.DataFrame(table)], axis=1)
    table = table[np.isfinite(table).all(axis=1)]
    return table.mean().rename(len(table))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default=",".join([*SETS, "generated_daily", "generated_hourly"]))
    ap.add_argument("--cache", default=".cache/validate_selection", help="Candidate forecasts (Parquet).")
    ap.add_argument("--top", type=int, default=15, help="Rules to print, best first.")
    ap.add_argument("--table", help="Write every rule's per-set means here (CSV).")
    ap.add_argument(
        "--refit", default="", help="Models to backtest again with the current code, e.g. prophet."
    )
    ap.add_argument(
        "--calendar", action="store_true", help="Backtest with each set's configured country (CALENDARS)."
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    per_set, pairs = {}, {}
    for name in args.sets.split(","):
        refit = tuple(filter(None, args.refit.split(",")))
        raw, family = candidate_forecasts(name, Path(args.cache), refit, args.calendar)
        means = replay(raw, family)
        per_set[name], pairs[name] = means, int(means.name)
    table = pd.DataFrame(per_set)
    table["mean_of_sets"] = table.mean(axis=1)
    table = table.sort_values("mean_of_sets")
    if args.table:
        table.to_csv(args.table)
    current = "spread_tol2.0_median_own0.5"  # the shipped rule (selection.RULE) since session 6
    out = {
        "sets": pairs,
        "best": table.head(args.top).round(4).to_dict("index"),
        "current_rule": table.loc[current].round(4).to_dict(),
        "current_rank": int(table.index.get_loc(current)) + 1,
        "models_alone": table.loc[list(MODELS)].round(4).to_dict("index"),
        "median_all": table.loc["median_all"].round(4).to_dict(),
        "adaptive_rules": table.loc[list(adaptive_rules())].round(4).to_dict("index"),
        "rules": len(table),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

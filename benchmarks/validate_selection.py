"""How the forecast selection rule was chosen: on generated series of a seed and size that no
benchmark uses, never on a benchmark's folds.

Every candidate is backtested once (the same windows as `forecast backtest`); the rules are then
replayed on those forecasts, each choosing per window from the windows before it only:
  - best_of_21: the old rule, the single model or pair mean with the lowest mean MASE over the
    two windows before;
  - top{k}_pooled: the mean of the k best models, ranked half by the series' own and half by its
    family's relative errors (selection.py; k=3 ships);
  - top3_own: the same without pooling (every series its own family);
  - median_all: the median of every model, no selection.
Prints mean MASE per rule over the same (series, fold) pairs as JSON.

    nice .venv/bin/python benchmarks/validate_selection.py [--seed 2027] [--folds 3] [--freq D|h]
"""

from __future__ import annotations

import argparse
import json
from itertools import combinations

import numpy as np
import pandas as pd

from core.config import load_config
from features.generate import generate_sample
from features.volume_series import build_volume_series
from training.forecasting.backtest import INNER, backtest_volumes
from training.forecasting.candidates import MODELS, Setup
from training.forecasting.metrics import mase
from training.forecasting.selection import candidate_yhat, score_table, select_honestly
from training.forecasting.user import to_series


def best_of_21(forecasts: pd.DataFrame, models: tuple[str, ...]) -> pd.DataFrame:
    """The rule this project used before: lowest mean MASE of models and pairs, two windows back."""
    names = list(models) + [f"ensemble:{a}+{b}" for a, b in combinations(sorted(models), 2)]
    parts = []
    for _, g in forecasts.groupby("id"):
        for w in sorted(g["window"].unique()):
            past = g[g["window"].between(w - INNER, w - 1)]
            rows = g[g["window"] == w].copy()
            if past.empty:
                rows["yhat"] = np.nan
            else:
                err = {
                    n: np.nanmean(
                        [
                            mase(x["y"], candidate_yhat(x, n), x["scale"].iloc[0])
                            for _, x in past.groupby("window")
                        ]
                    )
                    for n in names
                }
                rows["yhat"] = candidate_yhat(
                    rows, min(err, key=lambda n: np.inf if np.isnan(err[n]) else err[n])
                )
            parts.append(rows)
    return pd.concat(parts, ignore_index=True)


def replay(bt, models: tuple[str, ...], fam: dict[str, str]) -> dict[str, pd.DataFrame]:
    """Every rule's honest forecasts of the same reported folds."""
    raw = bt.forecasts.drop(columns=["model", "yhat", "yhat_lower", "yhat_upper"])
    rules = {
        "best_of_21_e2": best_of_21(raw, models),
        "median_all": raw.assign(yhat=candidate_yhat(raw, "median:" + "+".join(models))),
    }
    for e in (2, bt.inner):
        for k in (1, 2, 3):
            rules[f"top{k}_pooled_e{e}"] = select_honestly(raw, models, e, 0.8, None, k)[0]
        for tol in (0.05, 0.1, 0.2):
            rules[f"top3_within{tol}_pooled_e{e}"] = select_honestly(raw, models, e, 0.8, None, 3, tol)[0]
        for k in (1, 2, 3):
            rules[f"top{k}_family_only_e{e}"] = select_honestly(raw, models, e, 0.8, None, k, own_weight=0.0)[
                0
            ]
        rules[f"top3_by_family_e{e}"] = select_honestly(raw, models, e, 0.8, fam, 3)[0]
        rules[f"top3_own_e{e}"] = select_honestly(raw, models, e, 0.8, {s: s for s in fam}, 3)[0]
    return rules


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--customers", type=int, default=6000)
    ap.add_argument("--days", type=int, default=500)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--inner", type=int, default=4)
    ap.add_argument("--keep", default=None, help="Write the candidates' backtest forecasts here (Parquet).")
    ap.add_argument("--freq", choices=["D", "h"], default="D", help="h: the three total series, hourly")
    args = ap.parse_args()
    events = generate_sample(load_config(), customers=args.customers, days=args.days, seed=args.seed).events
    long = build_volume_series(events, freq=args.freq)
    if args.freq == "h":
        long = long[long["series_id"].str.endswith("/total") | (long["series_id"] == "tickets/channel=phone")]
        long = long[long["ds"] > long["ds"].max() - pd.Timedelta(days=120)]
    setup = Setup(14, (7,)) if args.freq == "D" else Setup(168, (24, 168))
    user = to_series(long[["series_id", "ds", "y"]], "ds", "y", "series_id")
    bt = backtest_volumes(user, args.folds, setup, MODELS, inner=args.inner)
    if args.keep:
        bt.forecasts.to_parquet(args.keep)
    models = tuple(c for c in bt.scores.columns if c != "selected")
    fam = long.groupby("series_id")["family"].first().to_dict()
    rules = replay(bt, models, fam)
    table = {name: score_table(fc, models)["selected"] for name, fc in rules.items()}
    table = pd.concat([bt.scores[list(models)], pd.DataFrame(table)], axis=1)
    table = table[np.isfinite(table).all(axis=1)]
    out = {"seed": args.seed, "series_folds": len(table), "mase": table.mean().round(4).to_dict()}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

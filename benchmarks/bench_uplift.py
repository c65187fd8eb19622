"""Uplift targeting vs risk x value at the same daily budget: customers saved, from the generator's truth.

The sample is generated and written as a user has it, then loaded by the loader. The uplift model
is trained by the library's own functions on the lists before the last `TEST_DAYS` days (only
listings whose horizon ended before them). Each day of the last `TEST_DAYS` days, both rules pick
from that day's listed customers (treated and control alike, each with the action and channel the
list gave them) until the day's budget is spent: one by expected saved value (annual value x the
model's saved probability - contact cost), the other by risk x value (the same model's churn risk
without action x annual value; the default S-learner). A pick saves, in truth, p(churn untreated) -
p(churn treated) of a customer (`_truth_contacts.csv`). Budgets are fixed shares of the cost of
contacting the whole day's list, set before any run: 10%, 25% and 50%.

    nice python benchmarks/bench_uplift.py [--customers N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import load_config
from features.campaigns import write_truth
from features.generate import generate_sample
from features.load import load_event_data, write_event_data
from training.uplift import UpliftModel, out_of_time_split, uplift_frame

TEST_DAYS = 90
BUDGET_SHARES = (0.10, 0.25, 0.50)


def pick_within_budget(day: pd.Series, score: np.ndarray, cost: np.ndarray, budget: pd.Series) -> np.ndarray:
    """Per day, the highest scores first while the day's budget lasts (skipping what does not fit)."""
    chosen = np.zeros(len(score), dtype=bool)
    for d, idx in day.groupby(day).groups.items():
        left = budget[d]
        idx = np.asarray(idx)
        for i in idx[np.argsort(-score[idx], kind="stable")]:
            if score[i] > 0 and cost[i] <= left:
                chosen[i] = True
                left -= cost[i]
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    settings = load_config()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sample = generate_sample(settings, customers=args.customers, seed=args.seed)
        write_event_data(sample.events, tmp)
        write_truth(sample.effects, tmp, sample.contact_truth)
        events = load_event_data(tmp, settings, quarantine_dir=Path(tmp) / "_quarantine")
        truth = pd.read_csv(Path(tmp) / "_truth_contacts.csv")
    frame = uplift_frame(events, settings)
    train, test = out_of_time_split(frame, TEST_DAYS, settings.retention.effect_horizon_days)
    model = UpliftModel().fit(train)
    keys = events.contacts.assign(day=events.contacts["ts"].dt.normalize()).merge(truth, on="contact_id")
    keys = keys.groupby(["customer_id", "day"], as_index=False)[["p_untreated", "p_treated"]].first()
    test = test.merge(keys, on=["customer_id", "day"], how="left")
    true_saved = (test["p_untreated"] - test["p_treated"]).to_numpy(float)
    costs = {name: c.cost for name, c in settings.retention.channels.items()}
    cost = test["channel"].map(lambda ch: sum(costs.get(c, 0.0) for c in ch.split("+"))).to_numpy(float)
    value = test["annual_fee"].to_numpy(float)
    risk = model.churn_probability(test)
    scores = {
        "uplift_expected_saved_value": value * model.saved_probability(test, test["action"]) - cost,
        "risk_x_value": risk * value,
    }
    daily_cost = pd.Series(cost).groupby(test["day"]).sum()
    results = []
    for share in BUDGET_SHARES:
        budget = share * daily_cost
        row = {"budget_share": share, "mean_daily_budget_cny": round(float(budget.mean()), 2)}
        for name, score in scores.items():
            chosen = pick_within_budget(test["day"], score, cost, budget)
            row[f"{name}.saved"] = round(float(true_saved[chosen].sum()), 2)
            row[f"{name}.contacted"] = int(chosen.sum())
            row[f"{name}.spent_cny"] = round(float(cost[chosen].sum()), 1)
        row["uplift_vs_risk_x_value"] = round(
            row["uplift_expected_saved_value.saved"] / row["risk_x_value.saved"] - 1, 4
        )
        results.append(row)
    print(
        json.dumps(
            {
                "customers": len(events.customers),
                "test_days": TEST_DAYS,
                "train_listings": len(train),
                "test_listings": len(test),
                "truth_saved_if_all_contacted": round(float(true_saved.sum()), 2),
                "results": results,
                "seconds": round(time.perf_counter() - start, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

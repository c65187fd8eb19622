"""Uplift targeting vs risk x value at the same daily budget: customers saved, from the generator's truth.

The sample is generated and written as a user has it, then loaded by the loader. The uplift learner
and its capacity are chosen, and the model fitted, by the library's own functions
(`select_uplift_model`, as `needradar campaign train-uplift` does) on the lists before the last
`TEST_DAYS` days (only listings whose horizon ended before them); the choice sees only that training
history. Each day of the last `TEST_DAYS` days, every rule picks from that day's listed customers
(treated and control alike, each with the action and channel the list gave them) until the day's
budget is spent, in the order the service spends it (`serving.targeting.fill_budget`):
- uplift: expected saved value (customer value x the model's saved probability - contact cost) per
  CNY, the service's rule once there is an uplift model;
- priors: p(churn) x the configured prior of the action x value - cost, per CNY (the service's rule
  before there is randomised history; p(churn) from the same model);
- relative: the relative learner at its defaults (medium trees, action x risk band), fitted on the
  same training lists whether or not the selection chose it: the priors corrected by the history
  (`training.uplift_relative`), to compare priors, model and correction side by side;
- risk_x_value: the same model's churn risk without action x customer value (the issue's baseline,
  the order of the scored list's `value_at_risk`).
The customer value is the service's own (`serving.scoring.customer_value`: the present value of five
years of the customer's annual value, at least 4x for the top tier).
- oracle: the uplift rule with the generator's true effect in place of the model's (its ceiling);
- oracle_customers: the true effect per CNY, ignoring value (the ceiling of customers saved);
- uplift_best_action / oracle_best_action: as uplift / oracle, but each listing gets the action the
  model (the truth) finds best on its channel instead of the list's (`p_treated_<action>` columns).
  The list's actions were partly random in the sample's history, so these rows show what choosing
  the action adds over that history, not over the service's reason-based playbook.
A pick saves, in truth, p(churn untreated) - p(churn treated) of a customer (`_truth_contacts.csv`);
`net_value_cny` is the truly saved customer value minus the contact cost, what the uplift rule
maximises.
Budgets: the configured `retention.daily_budget_cny` (the headline), and fixed shares of the cost of
contacting the whole day's list (10%, 25%, 50%), all set before any run. Each budget row says on
which share of the days it binds (costs less than the day's list). Where it binds on no day, risk x
value contacts the whole list and the expected-saved-value rules the whole list minus the contacts
whose estimated saving does not pay for them: the ranking plays no part and the comparison measures
only that skip.

    nice python benchmarks/bench_uplift.py [--customers N] [--seeds 42,7,11]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import Settings, load_config
from features.campaigns import write_truth
from features.generate import generate_sample
from features.load import load_event_data, write_event_data
from serving.scoring import customer_value
from serving.targeting import budget_priority, fill_budget
from training.uplift import out_of_time_split, uplift_frame
from training.uplift_relative import RelativeUplift
from training.uplift_selection import select_uplift_model

TEST_DAYS = 90
BUDGET_SHARES = (0.10, 0.25, 0.50)
RULES = (
    "uplift",
    "priors",
    "relative",
    "risk_x_value",
    "oracle",
    "oracle_customers",
    "uplift_best_action",
    "oracle_best_action",
)


def pick_within_budget(
    day: pd.Series, priority: np.ndarray, cost: np.ndarray, budget: pd.Series
) -> np.ndarray:
    """Per day, the service's budget walk over that day's listings."""
    chosen = np.zeros(len(priority), dtype=bool)
    for d, idx in day.groupby(day).groups.items():
        idx = np.asarray(idx)
        chosen[idx] = fill_budget(priority[idx], cost[idx], float(budget[d]))
    return chosen


def run_seed(settings: Settings, customers: int | None, seed: int | None) -> dict:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sample = generate_sample(settings, customers=customers, seed=seed)
        write_event_data(sample.events, tmp)
        write_truth(sample.effects, tmp, sample.contact_truth)
        events = load_event_data(tmp, settings, quarantine_dir=Path(tmp) / "_quarantine")
        truth = pd.read_csv(Path(tmp) / "_truth_contacts.csv")
    r = settings.retention
    frame = uplift_frame(events, settings)
    train, test = out_of_time_split(frame, TEST_DAYS, r.effect_horizon_days)
    chosen = select_uplift_model(train, r.effect_horizon_days, inner_days=TEST_DAYS, priors=r.effect_priors)
    model = chosen.model
    relative = RelativeUplift(r.effect_priors).fit(train)
    keys = events.contacts.assign(day=events.contacts["ts"].dt.normalize()).merge(truth, on="contact_id")
    p_cols = [c for c in truth.columns if c.startswith("p_")]
    keys = keys.groupby(["customer_id", "day"], as_index=False)[p_cols].first()
    test = test.merge(keys, on=["customer_id", "day"], how="left")
    untreated = test["p_untreated"].to_numpy(float)
    true_saved = untreated - test["p_treated"].to_numpy(float)
    costs = {name: c.cost for name, c in r.channels.items()}
    cost = test["channel"].map(lambda ch: sum(costs.get(c, 0.0) for c in ch.split("+"))).to_numpy(float)
    # The uplift frame's vectors are per listed customer, without the population's value tiers; the
    # list's channel tells the tier (the service gives a dedicated agent to the top tier only).
    tier = np.where(test["channel"].str.contains("dedicated_agent"), "top", "potential")
    value = customer_value(test["annual_value"].fillna(0.0).to_numpy(float), tier, settings)
    risk = model.churn_probability(test)
    prior = test["action"].map(r.effect_priors).fillna(0.0).to_numpy(float)
    # Action choice: the model's best action per listing, and the truly best one, on the list's channel.
    best = model.best_action(test)
    saved_by_action = pd.DataFrame(
        {a[len("p_treated_") :]: untreated - test[a] for a in p_cols if a.startswith("p_treated_")}
    )
    best_true = saved_by_action.to_numpy()[
        np.arange(len(test)), saved_by_action.columns.get_indexer(best["best_action"])
    ]
    oracle_best = saved_by_action.max(axis=1).to_numpy(float)
    rules = {  # name: (priority, what each pick truly saves)
        "uplift": (
            budget_priority(value * model.saved_probability(test, test["action"]) - cost, cost),
            true_saved,
        ),
        "priors": (budget_priority(value * risk * prior - cost, cost), true_saved),
        "relative": (
            budget_priority(value * relative.saved_probability(test, test["action"]) - cost, cost),
            true_saved,
        ),
        "risk_x_value": (risk * value, true_saved),
        "oracle": (budget_priority(value * true_saved - cost, cost), true_saved),
        "oracle_customers": (budget_priority(true_saved, cost), true_saved),
        "uplift_best_action": (
            budget_priority(value * best["saved_probability"].to_numpy() - cost, cost),
            best_true,
        ),
        "oracle_best_action": (budget_priority(value * oracle_best - cost, cost), oracle_best),
    }
    daily_cost = pd.Series(cost).groupby(test["day"]).sum()
    budgets = {"configured": pd.Series(r.daily_budget_cny, index=daily_cost.index)}
    budgets |= {f"{share:.0%} of list cost": share * daily_cost for share in BUDGET_SHARES}
    results = []
    for label, budget in budgets.items():
        binds = float((budget < daily_cost).mean())
        row: dict = {
            "budget": label,
            "mean_daily_budget_cny": round(float(budget.mean()), 2),
            "binds_on_share_of_days": round(binds, 3),
        }
        if binds == 0:
            row["note"] = "the budget binds on no day: every rule contacts the whole list (bar skips)"
        for name in RULES:
            priority, saves = rules[name]
            picked = pick_within_budget(test["day"], priority, cost, budget)
            row[f"{name}.saved"] = round(float(saves[picked].sum()), 2)
            row[f"{name}.contacted"] = int(picked.sum())
            row[f"{name}.spent_cny"] = round(float(cost[picked].sum()), 1)
            row[f"{name}.net_value_cny"] = round(float((value * saves - cost)[picked].sum()), 1)
        for name in RULES:
            if name == "risk_x_value":
                continue
            row[f"{name}_vs_risk_x_value"] = round(row[f"{name}.saved"] / row["risk_x_value.saved"] - 1, 4)
        results.append(row)
    configured = results[0]
    return {
        "seed": seed if seed is not None else settings.sample.seed,
        "headline": {
            "daily_budget_cny": r.daily_budget_cny,
            "binds_on_share_of_days": configured["binds_on_share_of_days"],
            **{k: v for k, v in configured.items() if k.endswith("_vs_risk_x_value")},
        },
        "customers": len(events.customers),
        "learner": chosen.learner,
        "relative_tau2": round(relative.tau2_, 5),
        "relative_cells": [
            {"action": a, "band": int(b), **{k: round(float(v), 3) for k, v in row.items()}}
            for (a, b), row in relative.cell_table_.iterrows()
        ],
        "capacity": chosen.capacity,
        "inner_validation": {k: round(v, 2) for k, v in chosen.inner.items()},
        "train_listings": len(train),
        "test_listings": len(test),
        "mean_daily_list_cost_cny": round(float(daily_cost.mean()), 2),
        "truth_saved_if_all_contacted": round(float(true_saved.sum()), 2),
        "results": results,
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--seeds", default="", help="comma-separated generator seeds; default the sample's")
    args = parser.parse_args()
    settings = load_config()
    seeds = [int(s) for s in args.seeds.split(",") if s] or [None]
    runs = [run_seed(settings, args.customers, seed) for seed in seeds]
    print(json.dumps({"test_days": TEST_DAYS, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()

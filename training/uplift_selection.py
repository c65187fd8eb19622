"""Which uplift learner, at which capacity: chosen out of time on the training history only.

Candidates: the S-, T- and X-learners at three tree capacities, and, given the configured priors, the
relative learner (`training.uplift_relative`: the priors corrected by the history, per action x risk
band, or per action x channel x risk band). The training listings are split once more in time:
candidates are fitted on the older part (listings whose horizon ended before the inner window) and
scored by their area under the Qini curve on the inner window's lists; the best is refitted on all
the training listings. The caller's own held-out window (the benchmark's, the registry's
validation) is never seen here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.errors import DataError
from training.uplift import LEARNERS, UpliftModel, out_of_time_split, qini_auc
from training.uplift_relative import CELLS, RelativeUplift

logger = logging.getLogger(__name__)

CAPACITIES: dict[str, dict[str, Any]] = {
    "small": {"n_estimators": 100, "num_leaves": 4, "min_child_samples": 120},
    "medium": {},  # training.uplift.DEFAULT_PARAMS
    "large": {"n_estimators": 400, "num_leaves": 15, "min_child_samples": 40},
}
FALLBACK = ("x", "medium")  # when the history is too short for an inner window
RELATIVE_CAPACITIES = ("small", "medium")  # of the relative learner's churn model


def candidates(
    learners: tuple[str, ...], capacities: dict[str, dict[str, Any]], priors: dict[str, float] | None
) -> list[tuple[str, str]]:
    """(learner, capacity) pairs; the relative learner's capacity is `<trees>.<cells>`."""
    out = [(learner, name) for learner in learners for name in capacities]
    if priors is not None:
        sizes = [c for c in RELATIVE_CAPACITIES if c in capacities]
        out += [("relative", f"{size}.{cells}") for size in sizes for cells in CELLS]
    return out


def build(
    learner: str, capacity: str, capacities: dict[str, dict[str, Any]], priors: dict[str, float] | None
) -> UpliftModel | RelativeUplift:
    """An unfitted candidate."""
    if learner == "relative":
        size, cells = capacity.split(".")
        return RelativeUplift(priors or {}, capacities.get(size, {}), cells=cells)
    return UpliftModel(capacities.get(capacity, {}), learner=learner)


@dataclass
class Selection:
    model: UpliftModel | RelativeUplift  # the chosen candidate, refitted on all the training listings
    learner: str
    capacity: str
    # Inner validation: auuc_<learner>_<capacity> per candidate, auuc_risk, auuc_priors (p(churn) x
    # the configured prior, when given), and the listing counts.
    inner: dict[str, float] = field(default_factory=dict)


def select_uplift_model(
    train: pd.DataFrame,
    horizon_days: int,
    inner_days: int = 90,
    learners: tuple[str, ...] = LEARNERS,
    capacities: dict[str, dict[str, Any]] | None = None,
    priors: dict[str, float] | None = None,
) -> Selection:
    """Fit every candidate on the older training lists, keep the best inner Qini area."""
    capacities = CAPACITIES if capacities is None else capacities
    fit_part, valid = out_of_time_split(train, inner_days, horizon_days)
    inner: dict[str, float] = {
        "inner_train_listings": float(len(fit_part)),
        "inner_valid_listings": float(len(valid)),
    }
    best: tuple[float, str, str] | None = None
    for learner, name in candidates(learners, capacities, priors):
        try:
            model = build(learner, name, capacities, priors).fit(fit_part)
        except DataError as exc:  # too little older history: fall back below
            logger.warning("uplift selection skipped: %s", exc)
            break
        area = qini_auc(model.saved_probability(valid, valid["action"]), valid)[0]
        inner[f"auuc_{learner}_{name}"] = area
        if "auuc_risk" not in inner:
            inner["auuc_risk"] = qini_auc(model.churn_probability(valid), valid)[0]
        if priors is not None and "auuc_priors" not in inner:
            prior = valid["action"].map(priors).fillna(0.0).to_numpy(float)
            inner["auuc_priors"] = qini_auc(model.churn_probability(valid) * prior, valid)[0]
        if best is None or area > best[0]:
            best = (area, learner, name)
    learner, name = (best[1], best[2]) if best is not None else FALLBACK
    logger.info("uplift learner chosen out of time: %s-learner, %s capacity", learner, name)
    return Selection(build(learner, name, capacities, priors).fit(train), learner, name, inner)

"""Which uplift learner, at which capacity: chosen out of time on the training history only.

The training listings are split once more in time: candidates are fitted on the older part (listings
whose horizon ended before the inner window) and scored by their area under the Qini curve on the
inner window's lists; the best is refitted on all the training listings. The caller's own held-out
window (the benchmark's, the registry's validation) is never seen here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.errors import DataError
from training.uplift import LEARNERS, UpliftModel, out_of_time_split, qini_auc

logger = logging.getLogger(__name__)

CAPACITIES: dict[str, dict[str, Any]] = {
    "small": {"n_estimators": 100, "num_leaves": 4, "min_child_samples": 120},
    "medium": {},  # training.uplift.DEFAULT_PARAMS
    "large": {"n_estimators": 400, "num_leaves": 15, "min_child_samples": 40},
}
FALLBACK = ("x", "medium")  # when the history is too short for an inner window


@dataclass
class Selection:
    model: UpliftModel  # the chosen candidate, refitted on all the training listings
    learner: str
    capacity: str
    # Inner validation: auuc_<learner>_<capacity> per candidate, auuc_risk, and the listing counts.
    inner: dict[str, float] = field(default_factory=dict)


def select_uplift_model(
    train: pd.DataFrame,
    horizon_days: int,
    inner_days: int = 90,
    learners: tuple[str, ...] = LEARNERS,
    capacities: dict[str, dict[str, Any]] | None = None,
) -> Selection:
    """Fit every learner x capacity on the older training lists, keep the best inner Qini area."""
    capacities = CAPACITIES if capacities is None else capacities
    fit_part, valid = out_of_time_split(train, inner_days, horizon_days)
    inner: dict[str, float] = {
        "inner_train_listings": float(len(fit_part)),
        "inner_valid_listings": float(len(valid)),
    }
    best: tuple[float, str, str] | None = None
    for learner in learners:
        for name, params in capacities.items():
            try:
                model = UpliftModel(params, learner=learner).fit(fit_part)
            except DataError as exc:  # too little older history: fall back below
                logger.warning("uplift selection skipped: %s", exc)
                break
            area = qini_auc(model.saved_probability(valid, valid["action"]), valid)[0]
            inner[f"auuc_{learner}_{name}"] = area
            if "auuc_risk" not in inner:
                inner["auuc_risk"] = qini_auc(model.churn_probability(valid), valid)[0]
            if best is None or area > best[0]:
                best = (area, learner, name)
    learner, name = (best[1], best[2]) if best is not None else FALLBACK
    params = capacities.get(name, {})
    logger.info("uplift learner chosen out of time: %s-learner, %s capacity", learner, name)
    return Selection(UpliftModel(params, learner=learner).fit(train), learner, name, inner)

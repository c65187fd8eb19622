"""The churn recipe's candidates: LightGBM capacities, regularised categorical splits and the
logistic regression's blend weights and penalties, each scored by the inner validation."""

from __future__ import annotations

from typing import Any

from core.config import ChurnConfig

DEFAULT_PARAMS: dict[str, Any] = dict(ChurnConfig().lightgbm)  # one source: the config's defaults


# The capacity ladder, simplest first. No single capacity suits every table (IBM Telco is almost
# additive, event data has interactions), so the recipe scores each by inner cross-validation.
SHRUNK: dict[str, Any] = {
    "n_estimators": 4000,
    "min_child_samples": 80,
    "colsample_bytree": 0.3,
    "reg_lambda": 10.0,
    "max_bin": 63,
}
# LightGBM's own defaults, spelled out so that the configured defaults do not leak into them; the
# tree budget stays the library's 100 (early stopping may still end sooner).
LIBRARY_DEFAULTS: dict[str, Any] = {
    "n_estimators": 100,
    "learning_rate": 0.1,
    "num_leaves": 31,
    "min_child_samples": 20,
    "subsample": 1.0,
    "subsample_freq": 0,
    "colsample_bytree": 1.0,
    "reg_lambda": 0.0,
    "max_bin": 255,
}
CAPACITY_PRESETS: list[dict[str, Any]] = [
    {**SHRUNK, "num_leaves": 2, "learning_rate": 0.03},  # stumps: an additive model
    {**SHRUNK, "num_leaves": 4, "learning_rate": 0.01},  # pairwise interactions
    {},  # the configured defaults
    LIBRARY_DEFAULTS,  # what `LGBMClassifier()` fits: the recipe is never worse by construction
]
# Weights of the logistic regression in a blend with the best LightGBM (1.0: the regression alone).
LINEAR_WEIGHTS = (0.25, 0.5, 0.75, 1.0)
# Regularised categorical splits (LightGBM's cat_smooth, min_data_per_group, cat_l2 well above
# their defaults 10, 100, 10): with many levels, a level's own churn rate on few rows is noise that
# native splits fit, so the recipe also scores every capacity with these when a categorical column
# has more than CATEGORY_LEVELS levels.
CATEGORY_REGULARISED: dict[str, Any] = {"cat_smooth": 50.0, "min_data_per_group": 200, "cat_l2": 50.0}
CATEGORY_LEVELS = 4
# Penalty strengths (scikit-learn's C) of the regression, chosen by the same inner folds: the peers'
# 1.0 and ten times stronger, for tables with many one-hot levels or correlated columns.
LINEAR_STRENGTHS = (1.0, 0.1)


def params_for(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The recipe's candidate parameter sets: each capacity preset under the user's overrides.

    Values equal to the configured defaults are not overrides; if the user fixes what the presets
    set, the candidates collapse into one.
    """
    overrides = {k: v for k, v in (params or {}).items() if DEFAULT_PARAMS.get(k) != v}
    candidates = []
    for preset in CAPACITY_PRESETS:
        p = {**DEFAULT_PARAMS, **preset, **overrides}
        if p not in candidates:
            candidates.append(p)
    return candidates

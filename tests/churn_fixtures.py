"""Shared, module-scoped churn fixtures: a medium sample and a small, fast model config."""

from __future__ import annotations

from core.config import Settings

FAST_LGBM = {"n_estimators": 150, "learning_rate": 0.08, "num_leaves": 15, "min_child_samples": 20}


def fast_settings(settings: Settings, **churn) -> Settings:
    """The default settings with a small LightGBM and fewer cutoffs, for tests."""
    update = {"lightgbm": FAST_LGBM, "n_cutoffs": 6, **churn}
    return settings.model_copy(update={"churn": settings.churn.model_copy(update=update)})

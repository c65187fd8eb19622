"""Exact TreeSHAP explanations of the churn model, in log-odds space."""

from __future__ import annotations

import numpy as np
import pandas as pd


def tree_shap(model, X: pd.DataFrame) -> np.ndarray:
    """SHAP values (rows, features + 1; the last column is the bias), exact for tree ensembles.

    LightGBM's own TreeSHAP (`pred_contrib`), run on both cores.
    """
    if len(X) == 0:
        return np.zeros((0, len(model.feature_names_) + 1))
    return model.booster_.predict(
        model.prepare(X), pred_contrib=True, num_iteration=model.best_iteration_, num_threads=2
    )


def top_reasons(contrib: np.ndarray, features: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the `n` largest positive contributions per row (-1 when fewer)."""
    values = contrib[:, : len(features)]
    k = min(n, values.shape[1])
    idx = np.argsort(-values, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(values, idx, axis=1)
    idx = np.where(top > 0, idx, -1)
    return idx, top

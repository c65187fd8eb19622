"""The logistic baseline's input cleaning, against a plain column-by-column version."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.evaluation import LogisticBaseline


def _reference(X: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    X = X[columns].copy()
    for c in X.columns:
        if X[c].dtype == "category" or not pd.api.types.is_numeric_dtype(X[c]):
            X[c] = X[c].astype("object").where(X[c].notna(), "missing").astype(str)
        else:
            X[c] = X[c].astype(float).replace([np.inf, -np.inf], np.nan)
    return X


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_equals_column_by_column(seed):
    rng = np.random.default_rng(seed)
    n = 40
    X = pd.DataFrame(
        {
            "f": np.where(rng.random(n) < 0.2, np.inf, rng.normal(size=n)),
            "i": rng.integers(0, 9, n),
            "b": rng.random(n) < 0.5,
            "na": pd.array(np.where(rng.random(n) < 0.3, None, rng.integers(0, 5, n)), dtype="Int64"),
            "cat": pd.Categorical(rng.choice(["a", "b", None], n)),
            "txt": rng.choice(["x", "y", None], n),
            "extra": rng.normal(size=n),
        },
        index=rng.permutation(n) + 100,
    )
    X.loc[X.index[:3], "f"] = [-np.inf, np.nan, 1.5]
    y = rng.random(n) < 0.5
    columns = ["txt", "f", "cat", "i", "na", "b"]
    model = LogisticBaseline().fit(X[columns], y)
    pd.testing.assert_frame_equal(model._clean(X), _reference(X, columns))

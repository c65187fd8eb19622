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


@pytest.mark.parametrize("seed", [0, 1])
def test_linear_encoding_equals_the_pipeline(seed):
    from training.linear_encoding import LinearEncoding

    rng = np.random.default_rng(seed)
    n = 60
    X = pd.DataFrame(
        {
            "f": np.where(rng.random(n) < 0.2, np.inf, rng.normal(size=n)),
            "g": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "empty": np.full(n, np.nan),
            "cat": pd.Categorical(rng.choice(["a", "b", None], n)),
            "tier": pd.Categorical(rng.choice(["top", "low"], n)),
        }
    )
    model = LogisticBaseline().fit(X[:40], rng.random(40) < 0.5)
    new = X[40:].copy()
    new["cat"] = new["cat"].cat.add_categories("unseen")
    new.loc[new.index[:3], "cat"] = "unseen"
    encoding = LinearEncoding.of(model)
    codes = np.stack([encoding.level_codes(j, new[c]) for j, c in enumerate(encoding.categorical)], axis=1)
    encoded = encoding.encode(new[encoding.numeric].to_numpy(np.float64), codes)
    np.testing.assert_array_equal(encoded, model.pipeline_[0].transform(model._clean(new)))
    np.testing.assert_allclose(model.decision_of(encoded), model.decision_function(new), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(model.contributions_of(encoded), model.contributions(new))


def test_rows_sent_as_json_are_read_with_the_training_columns_kinds():
    # /score's rows arrive as JSON records: a numeric column whose values are all null (or text)
    # comes as an object column; it is still numeric to the model (missing, imputed), as in training
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"f": rng.normal(size=50), "g": rng.normal(size=50), "tier": rng.choice(["a", "b"], 50)})
    model = LogisticBaseline().fit(X, rng.random(50) < 0.5)
    sent = pd.DataFrame([{"f": None, "g": "1.5", "tier": "a"}, {"f": None, "g": None, "tier": "b"}])
    same = pd.DataFrame({"f": [np.nan, np.nan], "g": [1.5, np.nan], "tier": ["a", "b"]})
    np.testing.assert_array_equal(model.decision_function(sent), model.decision_function(same))

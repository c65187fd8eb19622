import copy

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from serving import explain, treeshap_tables
from serving.explain import booster_shap, top_reasons, tree_shap
from training.churn_model import ChurnModel


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    x[rng.random(n) < 0.15, 1] = np.nan  # missing values take the default direction
    zeros = np.where(rng.random(n) < 0.4, 0.0, rng.exponential(size=n))
    plan = rng.choice(["basic", "plus", "pro", "max"], size=n)
    logit = 1.5 * x[:, 0] - np.nan_to_num(x[:, 1]) + zeros + (plan == "basic") - 0.5
    return pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "a": x[:, 0],
            "b": x[:, 1],
            "c": x[:, 2],
            "d": x[:, 3],
            "zeros": zeros,
            "plan": pd.Categorical(plan),
            "churned": (logit + rng.logistic(size=n) > 0).astype(int),
        }
    )


@pytest.fixture(scope="module")
def model():
    train = _frame(1500, 1)
    return ChurnModel({"n_estimators": 20, "num_leaves": 15}, calibration="platt").fit(
        train, train["churned"]
    )


def test_equals_lightgbm_pred_contrib_with_missing_zeros_and_categories(model):
    X = _frame(300, 2)
    X.loc[X.index[:5], "plan"] = np.nan  # unseen/missing category
    native = model.booster_.predict(model.prepare(X), pred_contrib=True, num_iteration=model.best_iteration_)
    ours = tree_shap(model, X)
    assert ours.shape == (300, len(model.feature_names_) + 1)
    np.testing.assert_allclose(ours, native, atol=1e-6)
    np.testing.assert_allclose(ours.sum(axis=1), model.raw_score(X), atol=1e-6)


def test_api_sized_requests_and_messy_values_match_lightgbm(model):
    X = _frame(40, 3)  # under SERIAL_ROWS: the single-thread path
    X["plan"] = X["plan"].astype(object)
    X.loc[X.index[:3], "plan"] = ["platinum", None, "pro"]  # unknown level, missing, known
    X["a"] = X["a"].astype(object)
    X.loc[X.index[3], "a"] = "oops"  # text in a numeric column counts as missing
    native = model.booster_.predict(model.prepare(X), pred_contrib=True, num_iteration=model.best_iteration_)
    np.testing.assert_allclose(tree_shap(model, X.iloc[:1]), native[:1], atol=1e-6)
    np.testing.assert_allclose(tree_shap(model, X), native, atol=1e-6)
    np.testing.assert_allclose(model.raw_score(X), native.sum(axis=1), atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_deep_booster_and_zero_missing_type(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2000, 8))
    X[rng.random(X.shape) < 0.2] = 0.0
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + rng.normal(scale=0.1, size=2000)
    params = {
        "num_leaves": 40,
        "max_depth": 8,
        "zero_as_missing": True,
        "verbose": -1,
        "min_child_samples": 3,
    }
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=15)
    rows = X[:200]
    np.testing.assert_allclose(
        booster_shap(booster, rows), booster.predict(rows, pred_contrib=True), atol=1e-6
    )


def test_falls_back_to_lightgbm_for_huge_tables(model, monkeypatch):
    monkeypatch.setattr(treeshap_tables, "MAX_TABLE_ENTRIES", 0)
    monkeypatch.setattr(explain, "_CACHE", explain.weakref.WeakKeyDictionary())
    X = _frame(50, 3)
    assert explain._tables(model.booster_, model.best_iteration_) is None
    native = model.booster_.predict(model.prepare(X), pred_contrib=True, num_iteration=model.best_iteration_)
    np.testing.assert_allclose(tree_shap(model, X), native, atol=1e-9)


def test_empty_input_and_top_reasons(model):
    assert tree_shap(model, _frame(10, 4).head(0)).shape == (0, len(model.feature_names_) + 1)
    contrib = np.array([[0.5, -0.2, 0.9, 0.0, 1.0], [-0.1, -0.2, -0.3, 0.4, 0.0]])
    idx, top = top_reasons(contrib, ["a", "b", "c", "d"], 3)
    assert idx.tolist() == [[2, 0, -1], [3, -1, -1]]  # only positive contributions are reasons
    np.testing.assert_allclose(top[0], [0.9, 0.5, 0.0])


def test_a_blend_explains_its_regression_part_too(model):
    """Contributions add up to the blended raw score, whatever the blend's weight."""
    from training.evaluation import LogisticBaseline

    train, X = _frame(1500, 1), _frame(200, 5)
    blend = copy.deepcopy(model)
    blend.linear_ = LogisticBaseline().fit(train[blend.feature_names_], train["churned"])
    for weight in (0.0, 0.5, 1.0):
        blend.linear_weight_ = weight
        np.testing.assert_allclose(tree_shap(blend, X).sum(axis=1), blend.raw_score(X), atol=1e-6)


def test_tables_built_at_low_priority_are_the_same(model):
    """A serving process builds new tables in a thread of its own at the lowest CPU priority."""
    m = model
    dump = m.booster_.dump_model()
    here, there = treeshap_tables.Tables(dump, None), treeshap_tables.Tables(dump, None)
    here.build()
    there.build(low_priority=True)
    assert there.table.shape == here.table.shape and np.array_equal(there.table, here.table)
    explain.prepare(m)  # the booster's cached tables, built the same way
    assert explain._tables(m.booster_, getattr(m, "best_iteration_", None)) is not None

"""The small-batch /score path gives exactly the answers of `score_customers` on the same customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serving.answers import clean
from serving.scoring import score_customers
from serving.small_batch import StoredScorer, same_answers
from training.churn_model import ChurnModel
from training.evaluation import LogisticBaseline


def _vectors(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tickets = rng.poisson(1.0, n).astype(float)
    trend = rng.uniform(0.3, 1.5, n)
    oldest = rng.exponential(20, n)
    logit = 1.2 * tickets - 2.5 * trend + oldest / 20 - 0.5
    plans = rng.choice(["basic", "plus", "max", None], n, p=[0.4, 0.3, 0.2, 0.1])
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{seed}-{i:04d}" for i in range(n)],
            "tickets_unresolved_30d": tickets,
            "usage_minutes_trend_30d": np.where(rng.random(n) < 0.1, np.nan, trend),
            "req_oldest_open_days": np.where(rng.random(n) < 0.05, np.inf, oldest),
            "monthly_fee": rng.uniform(10, 50, n),
            "promo": rng.random(n) < 0.3,  # a category to the booster, a number to the regression
            "days_since_last_activity": rng.exponential(15, n),
            "plan": pd.Categorical(plans),
            "segment": pd.Categorical(rng.choice(["consumer", "business"], n)),
            "value_tier": pd.Categorical(rng.choice(["top", "potential", "reactivate"], n)),
            "annual_value": rng.uniform(100, 1000, n),
            "churned": (logit + rng.logistic(size=n) > 0).astype(int),
        }
    )
    return frame


@pytest.fixture(scope="module")
def fitted():
    train = _vectors(800, 1)
    X, y = train.drop(columns=["churned"]), train["churned"]
    model = ChurnModel({"n_estimators": 20, "num_leaves": 7}, calibration="platt", linear=True).fit(X, y)
    return model, {C: LogisticBaseline(C).fit(X[model.feature_names_], y) for C in (1.0, 0.1)}


def _blend(fitted, weight: float, C: float = 1.0) -> ChurnModel:
    """The fitted model as a blend of the given weight with the regression at penalty C (the
    recipe picks both by validation)."""
    model, linear = fitted
    model.linear_weight_, model.linear_ = weight, linear[C] if weight else None
    return model


def _stored(seed: int) -> pd.DataFrame:
    vectors = _vectors(120, seed).drop(columns="churned")
    vectors["plan"] = vectors["plan"].cat.add_categories("unseen")
    vectors.loc[vectors.index[:5], "plan"] = "unseen"  # a level training never saw
    return vectors.set_index("customer_id", drop=False)


@pytest.mark.parametrize(("weight", "C"), [(0.0, 1.0), (0.25, 1.0), (1.0, 1.0), (0.25, 0.1)])
@pytest.mark.parametrize("base_rate", [None, 0.3])
def test_same_answers_as_score_customers(fitted, settings, weight, C, base_rate):
    model = _blend(fitted, weight, C)
    vectors = _stored(2)
    terms = {"base_rate": base_rate, "lapsed_after_days": 20.0}
    scorer = StoredScorer.build(model, vectors, settings, **terms)
    assert scorer is not None
    ids = list(vectors.index)
    for batch in [ids[:1], ids[7:8], ids[:5], ids[3:19], ids]:
        expected = score_customers(model, vectors.loc[batch].reset_index(drop=True), settings, **terms)
        expected = [clean(r) for r in expected.to_dict("records")]
        got = scorer.score(batch)
        assert set(got) == set(batch)
        assert same_answers(expected, [clean(got[r["customer_id"]]) for r in expected], tol=1e-12)
    assert {r["risk_tier"] for r in scorer.score(ids).values()} > {"lapsed"}
    assert any(r["reason_1_text"] for r in scorer.score(ids).values())


def test_same_answers_notices_a_difference():
    a = {"customer_id": "C1", "churn_probability": 0.25, "reason_1_shap": None, "action": "call"}
    assert same_answers([a], [dict(a)])
    assert not same_answers([a], [a | {"churn_probability": 0.25 + 1e-6}])
    assert not same_answers([a], [a | {"action": "email"}])
    assert not same_answers([a], [{"churn_probability": 0.25} | a])  # another key order
    assert not same_answers([a], [])


def test_a_state_whose_answers_differ_keeps_the_batch_path(fitted, settings, monkeypatch):
    model = _blend(fitted, 0.25)
    monkeypatch.setattr(StoredScorer, "_value", lambda self, row, feature: "something else")
    assert StoredScorer.build(model, _stored(3), settings, base_rate=None, lapsed_after_days=20.0) is None


def test_all_numeric_regression_columns_share_the_booster_matrix(settings):
    train = _vectors(600, 4).drop(columns="promo")
    X, y = train.drop(columns=["churned"]), train["churned"]
    model = ChurnModel({"n_estimators": 10, "num_leaves": 7}, calibration="platt").fit(X, y)
    model.linear_weight_, model.linear_ = 0.5, LogisticBaseline().fit(X[model.feature_names_], y)
    vectors = _stored(5).drop(columns="promo")
    terms = {"base_rate": 0.3, "lapsed_after_days": 20.0}
    scorer = StoredScorer.build(model, vectors, settings, **terms)
    assert scorer is not None and scorer.numeric is scorer.matrix  # one matrix, not two
    ids = list(vectors.index[10:14])
    expected = score_customers(model, vectors.loc[ids].reset_index(drop=True), settings, **terms)
    expected = [clean(r) for r in expected.to_dict("records")]
    got = scorer.score(ids)
    assert same_answers(expected, [clean(got[r["customer_id"]]) for r in expected], tol=1e-12)

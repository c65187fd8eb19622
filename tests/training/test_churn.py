import numpy as np
import pandas as pd
import pytest

from core.errors import DataError
from features.generate import generate_sample
from features.labels import build_training_frame, default_cutoffs
from serving.explain import tree_shap
from serving.scoring import score_customers
from tests.churn_fixtures import fast_settings
from training.churn_model import DEFAULT_PARAMS, ChurnModel, params_for, simplest_within_one_se
from training.churn_recipes import backtest_churn, evaluate_table, normalise_label, prepare_table, train_churn
from training.evaluation import classification_metrics, top_decile_lift

CAUSE_PREFIXES = {
    "unmet_needs": ("req_",),
    "slow_service": ("ticket", "first_response", "resolution", "csat"),
    "price_sensitivity": ("monthly_fee", "promo", "plan"),
    "falling_usage": ("usage_", "days_since_last"),
}


@pytest.fixture(scope="module")
def trained(settings):
    cfg = fast_settings(settings)
    sample = generate_sample(cfg, customers=3000, days=500, seed=5)
    cutoffs = default_cutoffs(sample.events, 30, 30, 6)
    frame = build_training_frame(sample.events, cfg, cutoffs, 30)
    return cfg, sample, train_churn(sample.events, cfg, frame, cutoffs, 30)


def test_learns_real_signal_out_of_time(trained):
    _, _, result = trained
    auc = result.comparison.loc["lightgbm", "auc"]
    assert auc > 0.70, result.comparison
    assert set(result.comparison.index) == {"lightgbm", "logistic_regression", "recency_rule"}
    assert result.cutoffs["holdout"][0] > result.cutoffs["valid"][-1] > result.cutoffs["train"][-1]


def test_probabilities_are_calibrated(trained):
    _, _, result = trained
    p = result.model.predict_proba(result.holdout)
    y = result.holdout["churned"]
    assert abs(p.mean() - y.mean()) < 0.02  # mean prediction near the observed rate
    assert result.model.calibrator_.method in {"platt", "isotonic"}


def test_shap_is_exact_and_sums_to_raw_score(trained):
    _, _, result = trained
    X = result.holdout.head(200)
    contrib = tree_shap(result.model, X)
    native = result.model.booster_.predict(
        result.model.prepare(X), pred_contrib=True, num_iteration=result.model.best_iteration_
    )
    np.testing.assert_allclose(contrib, native, atol=1e-4)
    np.testing.assert_allclose(contrib.sum(axis=1), result.model.raw_score(X), atol=1e-6)


def test_reasons_of_real_churners_name_the_true_causes(trained):
    cfg, sample, result = trained
    holdout = result.holdout[result.holdout["churned"] == 1]
    scored = score_customers(result.model, holdout, cfg).set_index("customer_id")
    truth = sample.truth.set_index("customer_id")["churn_cause"]
    hits: dict[str, list[bool]] = {}
    for cid, row in scored.iterrows():
        cause = truth[cid]
        reasons = [row[f"reason_{j}_feature"] or "" for j in (1, 2, 3)]
        hits.setdefault(cause, []).append(any(r.startswith(CAUSE_PREFIXES[cause]) for r in reasons))
    rate = {c: np.mean(h) for c, h in hits.items() if len(h) >= 5}
    overall = np.mean([x for h in hits.values() for x in h])
    assert overall >= 0.6, rate
    assert all(r >= 0.4 for r in rate.values()), rate


def test_model_repr_and_prepare(trained):
    _, _, result = trained
    assert "ChurnModel(params=" in repr(result.model)
    with pytest.raises(DataError, match="input lacks 1 model feature"):
        result.model.prepare(result.holdout.drop(columns=["tenure_days"]))


def test_metrics_by_hand():
    y = np.array([0, 0, 1, 1, 0, 0, 0, 0, 0, 1])
    p = np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.1, 0.2, 0.1, 0.3, 0.35])
    m = classification_metrics(y, p)
    assert m["auc"] == pytest.approx(1.0)
    assert top_decile_lift(y, p) == pytest.approx(1 / 0.3)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))


@pytest.fixture()
def table():
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "id": [f"X{i}" for i in range(n)],
            "contract": rng.choice(["month", "year"], n),
            "charges": [" " if i % 50 == 0 else f"{v:.2f}" for i, v in enumerate(rng.uniform(10, 100, n))],
            "x": x,
            "tenure": rng.integers(1, 72, n),
            "left": np.where(x + rng.normal(size=n) > 1, "Yes", "No"),
        }
    )


def test_evaluate_any_table(table):
    summary = evaluate_table(table, "left", "id", folds=3, seed=1, params={"n_estimators": 50}).summary()
    assert len(summary["folds"]) == 9  # 3 folds x (model + 2 baselines)
    assert summary["mean"]["lightgbm"]["auc"] > 0.7
    X, _ = prepare_table(table, "left", "id")
    assert X["charges"].dtype == float and X["charges"].isna().sum() == 12
    assert X["contract"].dtype == "category"


def test_bad_labels_and_tables(table):
    with pytest.raises(DataError, match=r"label column 'left' has unknown value\(s\) 'maybe'"):
        normalise_label(pd.Series(["yes", "maybe"]), "left")
    with pytest.raises(DataError, match="has only one class"):
        normalise_label(pd.Series(["no", "no"]), "left")
    with pytest.raises(DataError, match="label column 'churn' not found"):
        prepare_table(table, "churn", "id")
    with pytest.raises(DataError, match="no usable feature column"):
        prepare_table(table[["id", "left"]], "left", "id")
    with pytest.raises(DataError, match="only one class"):
        ChurnModel().fit(table[["x"]], np.zeros(len(table)))


def test_backtest_uses_only_the_past(trained):
    cfg, sample, _ = trained
    cutoff = sample.events.last_event_ts().normalize() - pd.Timedelta(days=60)
    result = backtest_churn(sample.events, cfg, cutoff, 30, every_days=30, n_cutoffs=4)
    assert all(pd.Timestamp(c) + pd.Timedelta(days=30) <= cutoff for c in result["training_cutoffs"])
    assert result["metrics"]["lightgbm"]["auc"] > 0.6
    with pytest.raises(DataError, match="reaches past the data's end"):
        backtest_churn(sample.events, cfg, sample.events.last_event_ts(), 30)


def test_capacity_candidates_and_the_one_se_rule():
    assert [p["num_leaves"] for p in params_for()] == [2, 4, DEFAULT_PARAMS["num_leaves"]]
    assert params_for(DEFAULT_PARAMS) == params_for()  # the configured defaults are not overrides
    assert len(params_for({"num_leaves": 7, "learning_rate": 0.1})) == 2  # the user's values win
    rng = np.random.default_rng(0)
    best, noise = 0.4 + 0.1 * rng.normal(size=1000), 0.05 * rng.normal(size=1000)
    assert simplest_within_one_se([best + 0.001 + noise, best]) == 0  # within the noise: the simpler
    assert simplest_within_one_se([best + 0.01 + noise, best]) == 1

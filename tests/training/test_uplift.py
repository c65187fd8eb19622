import numpy as np
import pandas as pd
import pytest

from features.generate import generate_sample
from training.uplift import UpliftModel, out_of_time_split, qini_auc, uplift_frame


def test_qini_of_a_perfect_score_beats_random():
    rng = np.random.default_rng(0)
    n = 4000
    treated = rng.random(n) < 0.5
    helped = rng.random(n) < 0.3  # the action saves these customers, who churn otherwise
    churned = np.where(treated, ~helped & (rng.random(n) < 0.1), helped | (rng.random(n) < 0.1))
    test = pd.DataFrame({"group": np.where(treated, "treatment", "control"), "churned": churned})
    area, x, q = qini_auc(helped.astype(float), test)
    assert x[0] == 0 and x[-1] == 1 and q[0] == 0
    assert area > 0.05 * n
    assert abs(qini_auc(rng.random(n), test)[0]) < area / 4


@pytest.fixture(scope="module")
def frame(settings):
    events = generate_sample(settings, customers=3000, days=500, seed=8).events
    return events, uplift_frame(events, settings)


def test_uplift_frame_is_point_in_time(frame, settings):
    events, f = frame
    assert (f["as_of"] < f["day"]).all()
    # Vectors as of a cutoff equal those computed on data truncated at that cutoff.
    as_of = f["as_of"].max()
    row = f[f["as_of"] == as_of].iloc[0]
    cutoff = as_of + pd.Timedelta(days=1)
    assert (
        row["contacts_90d"]
        == (
            (events.contacts["customer_id"] == row["customer_id"])
            & (events.contacts["group"] == "treatment")
            & (events.contacts["ts"] < cutoff)
            & (events.contacts["ts"] >= cutoff - pd.Timedelta(days=90))
        ).sum()
    )


def test_t_learner_fits_and_splits_out_of_time(frame, settings):
    _, f = frame
    train, test = out_of_time_split(f, 90, settings.retention.effect_horizon_days)
    assert (train["day"] + pd.Timedelta(days=30)).max() <= test["day"].min()
    for learner in ("t", "s"):
        _check_learner(UpliftModel({"n_estimators": 20}, learner=learner).fit(train), test)


def _check_learner(model, test):
    assert "service_upgrade" in model.actions_ and "churned" not in model.feature_names_
    saved = model.saved_probability(test, test["action"])
    assert saved.shape == (len(test),) and np.isfinite(saved).all()
    best = model.best_action(test.head(20))
    assert set(best["best_action"]) <= set(model.actions_)
    assert repr(model).startswith("UpliftModel(")

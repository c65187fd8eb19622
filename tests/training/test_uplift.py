import numpy as np
import pandas as pd
import pytest

from features.generate import generate_sample
from training.uplift import UpliftModel, out_of_time_split, qini_auc, uplift_frame
from training.uplift_selection import select_uplift_model


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


def test_learners_fit_and_split_out_of_time(frame, settings):
    _, f = frame
    train, test = out_of_time_split(f, 90, settings.retention.effect_horizon_days)
    assert (train["day"] + pd.Timedelta(days=30)).max() <= test["day"].min()
    for learner in ("t", "s", "x"):
        _check_learner(UpliftModel({"n_estimators": 20}, learner=learner).fit(train), test)


def test_x_learner_recovers_a_known_heterogeneous_effect():
    # Randomised: the action saves 40% of the churners among "slow" customers and nobody else.
    rng = np.random.default_rng(1)
    n = 12000
    slow = rng.random(n) < 0.5
    treated = rng.random(n) < 0.6
    p = np.where(slow, 0.5, 0.2) * np.where(treated & slow, 0.6, 1.0)
    frame = pd.DataFrame(
        {
            "slow": slow.astype(float),
            "noise": rng.random(n),
            "group": np.where(treated, "treatment", "control"),
            "action": np.where(treated, "service_upgrade", None),
            "channel": "sms",
            "churned": rng.random(n) < p,
        }
    )
    model = UpliftModel({"n_estimators": 60, "min_child_samples": 100}, learner="x").fit(frame)
    saved = model.saved_probability(frame, np.full(n, "service_upgrade", dtype=object))
    assert abs(saved[slow].mean() - 0.2) < 0.05 and abs(saved[~slow].mean()) < 0.05
    assert model.saved_probability(frame.head(3), np.full(3, "promotion", dtype=object)).tolist() == [0, 0, 0]


def test_unknown_learner_is_refused():
    with pytest.raises(ValueError, match="learner must be one of s, t, x, got 'z'"):
        UpliftModel(learner="z")


def test_selection_sees_only_the_training_history(frame, settings):
    _, f = frame
    train, _ = out_of_time_split(f, 90, settings.retention.effect_horizon_days)
    small = {"tiny": {"n_estimators": 10}, "less_tiny": {"n_estimators": 20}}
    chosen = select_uplift_model(train, settings.retention.effect_horizon_days, 60, ("s", "x"), small)
    areas = {k: v for k, v in chosen.inner.items() if k.startswith("auuc_") and k != "auuc_risk"}
    assert set(areas) == {"auuc_s_tiny", "auuc_s_less_tiny", "auuc_x_tiny", "auuc_x_less_tiny"}
    assert f"auuc_{chosen.learner}_{chosen.capacity}" == max(areas, key=areas.get)
    assert chosen.inner["inner_train_listings"] + chosen.inner["inner_valid_listings"] < len(train)
    assert (
        chosen.model.learner == chosen.learner
        and chosen.model.params["n_estimators"] == small[chosen.capacity]["n_estimators"]
    )


def _check_learner(model, test):
    assert "service_upgrade" in model.actions_ and "churned" not in model.feature_names_
    saved = model.saved_probability(test, test["action"])
    assert saved.shape == (len(test),) and np.isfinite(saved).all()
    best = model.best_action(test.head(20))
    assert set(best["best_action"]) <= set(model.actions_)
    assert repr(model).startswith("UpliftModel(")


def test_selection_offers_the_relative_learner_given_priors(frame, settings):
    _, f = frame
    train, _ = out_of_time_split(f, 90, settings.retention.effect_horizon_days)
    small = {"small": {"n_estimators": 10}}
    priors = settings.retention.effect_priors
    chosen = select_uplift_model(train, settings.retention.effect_horizon_days, 60, ("s",), small, priors)
    areas = {
        k: v
        for k, v in chosen.inner.items()
        if k.startswith("auuc_") and k not in ("auuc_risk", "auuc_priors")
    }
    assert set(areas) == {
        "auuc_s_small",
        "auuc_relative_small.action_band",
        "auuc_relative_small.action_channel_band",
    }
    assert f"auuc_{chosen.learner}_{chosen.capacity}" == max(areas, key=areas.get)
    assert "auuc_priors" in chosen.inner and chosen.model.learner == chosen.learner

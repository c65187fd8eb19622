import mlflow
import numpy as np
from mlflow import MlflowClient

import training.uplift_selection as select
from experiments.uplift_experiment import learner_label, load_uplift, train_and_register
from features.generate import generate_sample


def test_train_register_and_load(settings):
    events = generate_sample(settings, customers=2500, days=450, seed=10).events
    outcome = train_and_register(events, settings, test_days=60)
    run = MlflowClient().get_run(outcome.run_id)
    for key in ("auuc_uplift", "auuc_risk", "auuc_risk_x_value", "train_listings", "test_listings"):
        assert key in run.data.metrics
    assert run.data.params["learner"] in {
        "S-learner (LightGBM)",
        "T-learner (LightGBM)",
        "X-learner (LightGBM)",
        "relative (priors x history)",
    }
    candidates = select.candidates(select.LEARNERS, select.CAPACITIES, settings.retention.effect_priors)
    assert (outcome.learner, outcome.capacity) in candidates
    assert run.data.params["capacity"] == outcome.capacity
    assert run.data.params["learner"] == learner_label(outcome.learner)
    assert "inner_auuc_relative_small.action_channel_band" in run.data.metrics
    assert "inner_auuc_risk" in run.data.metrics and "inner_auuc_x_medium" in run.data.metrics
    artifacts = {a.path for a in MlflowClient().list_artifacts(outcome.run_id)}
    assert "qini_curve.html" in artifacts
    name = settings.retention.uplift_model_name
    assert int(MlflowClient().get_model_version_by_alias(name, "challenger").version) == outcome.version
    model = load_uplift(settings, alias="challenger")
    assert model is not None and model.actions_
    pyfunc = mlflow.pyfunc.load_model(f"models:/{name}@challenger")
    from training.uplift import uplift_frame

    frame = uplift_frame(events, settings).head(10)
    served = np.asarray(pyfunc.predict(frame))
    np.testing.assert_allclose(served, model.saved_probability(frame, frame["action"]))
    assert (outcome.champion) == (outcome.metrics["auuc_uplift"] > outcome.metrics["auuc_risk"])
    # The daily list asks the loaded model for each customer's action on the channel it may use.
    from functools import partial

    from serving.targeting import assign_groups, with_uplift

    vectors = frame.drop_duplicates("customer_id")
    scored = vectors[["customer_id", "action", "channel", "risk_tier"]].assign(
        action=vectors["action"].fillna("service_upgrade"), churn_probability=0.3, customer_value=2000.0
    )
    targeted = assign_groups(
        scored, None, "2030-01-01", settings, partial(with_uplift, vectors=vectors, model=model)
    )
    expected = np.clip(model.saved_probability(vectors, scored["action"], scored["channel"]), 0, 1)
    by_id = targeted.set_index("customer_id")["saved_probability"]
    np.testing.assert_allclose(by_id.loc[scored["customer_id"]].to_numpy(), expected)


def test_no_model_means_priors(settings):
    assert load_uplift(settings, alias="no-such-alias") is None

import mlflow
import numpy as np
from mlflow import MlflowClient

from experiments.uplift_experiment import load_uplift, train_and_register
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
    }
    assert run.data.params["capacity"] in {"small", "medium", "large"}
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


def test_no_model_means_priors(settings):
    assert load_uplift(settings, alias="no-such-alias") is None

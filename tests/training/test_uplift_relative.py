import numpy as np
import pandas as pd
import pytest

from training.uplift_relative import RelativeUplift

PRIORS = {"service_upgrade": 0.1, "promotion": 0.1, "brand": 0.03}


def _randomised(n: int, seed: int) -> pd.DataFrame:
    """Listings where a service upgrade saves 40% of would-be churners, a promotion nobody, and a
    brand contact (60 listings only) 90%."""
    rng = np.random.default_rng(seed)
    risk = rng.random(n)
    action = rng.choice(["service_upgrade", "promotion"], n)
    action[:60] = "brand"
    control = rng.random(n) < 0.3
    control[:60] = False
    cut = pd.Series(action).map({"service_upgrade": 0.4, "promotion": 0.0, "brand": 0.9}).to_numpy()
    p = (0.1 + 0.4 * risk) * np.where(control, 1.0, 1 - cut)
    return pd.DataFrame(
        {
            "risk": risk,
            "noise": rng.random(n),
            "group": np.where(control, "control", "treatment"),
            "action": action,
            "channel": rng.choice(["sms", "messaging_app"], n),
            "churned": rng.random(n) < p,
        }
    )


@pytest.fixture(scope="module")
def fitted():
    frame = _randomised(20000, 3)
    params = {"n_estimators": 40, "min_child_samples": 200}
    return frame, RelativeUplift(PRIORS, params).fit(frame)


def test_large_cells_follow_the_randomised_history(fitted):
    frame, model = fitted
    cells = model.cell_table_
    upgrade = cells.loc["service_upgrade", "reduction"]
    promotion = cells.loc["promotion", "reduction"]
    assert (abs(upgrade - 0.4) < 0.1).all() and (abs(promotion) < 0.1).all()
    assert (cells.loc[["service_upgrade", "promotion"], "weight"] > 0.9).all()
    # Saved = calibrated p(churn without action) x the reduction: about 0.4 x the true risk.
    rows = frame["group"] == "treatment"
    saved = model.saved_probability(frame[rows], np.full(rows.sum(), "service_upgrade", dtype=object))
    truth = 0.4 * (0.1 + 0.4 * frame.loc[rows, "risk"].to_numpy())
    assert abs(saved.mean() - truth.mean()) < 0.02 and np.corrcoef(saved, truth)[0, 1] > 0.8


def test_a_small_cell_stays_near_its_prior(fitted):
    _, model = fitted
    brand = model.cell_table_.loc["brand"]
    large = model.cell_table_.loc[["service_upgrade", "promotion"], "weight"]
    assert (brand["n"] < 40).all() and brand["weight"].max() < min(0.8, large.min())
    assert (abs(brand["reduction"] - 0.03) < abs(brand["observed"] - 0.03)).all()


def test_unknown_actions_take_their_prior_or_nothing(fitted):
    frame, model = fitted
    x = frame.head(4)
    saved = model.saved_probability(x, np.full(4, "win_back", dtype=object))
    assert saved.tolist() == [0, 0, 0, 0]
    with_prior = RelativeUplift({**PRIORS, "win_back": 0.2}, model.params).fit(frame)
    saved = with_prior.saved_probability(x, np.full(4, "win_back", dtype=object))
    band = with_prior._keys(x)["band"]
    calibration = with_prior.calibration_.reindex(band).to_numpy()
    assert np.allclose(saved, 0.2 * with_prior.churn_probability(x) * calibration)
    assert set(model.best_action(x)["best_action"]) <= set(model.actions_)


def test_fine_cells_and_bad_cells():
    frame = _randomised(6000, 4)
    model = RelativeUplift(PRIORS, {"n_estimators": 10}, cells="action_channel_band").fit(frame)
    assert model.cell_table_.index.names == ["action", "channel", "band"]
    assert np.isfinite(model.saved_probability(frame, frame["action"])).all()
    assert repr(model).startswith("RelativeUplift(cells='action_channel_band'")
    with pytest.raises(ValueError, match="cells must be one of action_band, action_channel_band, got 'x'"):
        RelativeUplift(PRIORS, cells="x")


def test_a_cell_with_next_to_no_churners_cannot_blow_up_the_spread():
    frame = _randomised(6000, 5)
    rare = frame.index[60:90]  # a channel used 30 times: controls never churn, the treated always do
    frame.loc[rare, "channel"] = "store_visit"
    frame.loc[rare, "churned"] = frame.loc[rare, "group"] == "treatment"
    model = RelativeUplift(PRIORS, {"n_estimators": 10}, cells="action_channel_band").fit(frame)
    table = model.cell_table_
    assert table["observed"].between(-1, 1).all() and (model.calibration_ > 0).all()
    assert model.tau2_ < 1
    assert np.isfinite(model.saved_probability(frame, frame["action"])).all()

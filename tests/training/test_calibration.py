import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold

from training.calibration import IsotonicCalibrator, PlattCalibrator, calibration_slope, choose_calibrator


def _scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores whose true log-odds bend (too timid low, too extreme high), as boosters' do."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(-1.5, 1.5, n)
    true = 1 / (1 + np.exp(-(np.where(raw < 0, 0.5, 1.5) * raw - 1)))
    return raw, (rng.random(n) < true).astype(int)


def _cross_fitted(cls, raw, y) -> np.ndarray:
    p = np.zeros(len(y))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(raw.reshape(-1, 1), y):
        p[te] = cls().fit(raw[tr], y[tr]).transform(raw[te])
    return p


class _Steps:  # the step-function isotonic calibrator this one replaced
    def fit(self, raw, y):
        self.iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4).fit(raw, y)
        return self

    def transform(self, raw):
        return self.iso.predict(raw)


@pytest.mark.parametrize("cls", [IsotonicCalibrator, PlattCalibrator])
def test_distinct_scores_keep_distinct_probabilities_in_order(cls):
    raw, y = _scores(3000, 0)
    calibrator = cls().fit(raw, y)
    grid = np.linspace(raw.min() - 3, raw.max() + 3, 5000)  # beyond both ends of the fitted range
    p = calibrator.transform(grid)
    assert np.all(np.diff(p) > 0)
    assert p.min() > 0 and p.max() < 1
    top = np.sort(calibrator.transform(raw))[-50:]
    assert len(np.unique(top)) == len(np.unique(np.sort(raw)[-50:])) == 50


def test_isotonic_is_calibrated_at_least_as_well_as_its_steps_out_of_fold():
    for seed in (1, 2, 3):
        raw, y = _scores(4000, seed)
        smooth, steps = _cross_fitted(IsotonicCalibrator, raw, y), _cross_fitted(_Steps, raw, y)
        assert brier_score_loss(y, smooth) <= brier_score_loss(y, steps) + 2e-4
        assert abs(calibration_slope(y, smooth) - 1) <= abs(calibration_slope(y, steps) - 1) + 0.02
        assert 0.85 < calibration_slope(y, smooth) < 1.15


def test_a_step_of_only_churners_is_not_a_certainty():
    raw, y = _scores(500, 5)
    top = raw > np.quantile(raw, 0.99)
    y[top] = 1  # the top step: only churners
    calibrator = IsotonicCalibrator().fit(raw, y)
    at_top = np.array([raw[top].mean()])
    assert _Steps().fit(raw, y).transform(at_top)[0] > 0.999
    assert calibrator.transform(at_top)[0] < 0.99  # (churners + 0.5) / (customers + 1) of its step
    assert calibrator.transform(raw).max() < 1


def test_auto_choice_returns_a_strictly_monotone_calibrator():
    raw, y = _scores(2000, 4)
    calibrator, scores = choose_calibrator(raw, y)
    assert set(scores) == {"platt", "isotonic"} and calibrator.method in scores
    assert np.all(np.diff(calibrator.transform(np.sort(raw))) >= 0)

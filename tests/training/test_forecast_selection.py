"""The selection rules on hand-made backtest rows: inverse-error weights, groups and the nested choice."""

import numpy as np
import pandas as pd
import pytest

from training.forecasting.selection import Nested, Rule, candidate_yhat, choose, members, select_honestly

MODELS = ("m1", "m2", "m3", "m4")


def test_inverse_error_weights_shrunk_towards_equal():
    own = pd.DataFrame({"a": [0.5], "b": [1.0], "c": [2.0]})
    plain = choose(own, own, ("a", "b", "c"), Rule(combine="weighted", shrink=0.0))
    # 1/0.5, 1/1, 1/2 -> 4/7, 2/7, 1/7
    assert plain == "weighted:a*0.571+b*0.286+c*0.143"
    assert members(plain) == ["a", "b", "c"]
    half = choose(own, own, ("a", "b", "c"), Rule(combine="weighted", shrink=0.5))
    assert half == "weighted:a*0.452+b*0.310+c*0.238"  # half of each weight is 1/3
    frame = pd.DataFrame({"a": [10.0], "b": [20.0], "c": [40.0]})
    assert candidate_yhat(frame, plain) == pytest.approx([(4 * 10 + 2 * 20 + 40) / 7], abs=0.01)


def test_a_group_of_similar_models_has_one_vote():
    errors = pd.DataFrame({"p": [1.0], "g": [0.9], "s1": [1.4], "s2": [1.2], "s3": [1.3]})
    models = ("p", "g", "s1", "s2", "s3")
    assert choose(errors, errors, models, Rule(combine="median")) == "median:g+p+s1+s2+s3"
    # only the best of s1-s3 (s2) stands for them, so the median is no longer one of theirs
    kinds = Rule(combine="median", groups=(("s1", "s2", "s3"),))
    assert choose(errors, errors, models, kinds) == "median:g+p+s2"
    best_two = Rule(top_k=2, combine="ensemble", groups=(("s1", "s2", "s3"),))
    assert choose(errors, errors, models, best_two) == "ensemble:g+p"
    # a group member without evidence does not take the vote from one with it
    partial = errors.assign(s2=np.nan)
    assert choose(partial, partial, models, kinds) == "median:g+p+s3"


def _series(sid: str, errors: list[dict[str, float]], start: str = "2025-01-01") -> pd.DataFrame:
    """One 2-row window per entry of `errors`, each model missing y=10 by its error there."""
    frames = []
    for w, err in enumerate(errors):
        ds = pd.date_range(start, periods=2, freq="D") + pd.Timedelta(days=2 * w)
        f = pd.DataFrame({"id": sid, "ds": ds, "window": w, "y": 10.0, "scale": 1.0, "closed": False})
        frames.append(f.assign(fold=w - 4, **{m: 10.0 + e for m, e in err.items()}))
    return pd.concat(frames, ignore_index=True)


def test_nested_takes_the_rule_that_did_better_on_the_windows_before():
    """m1 is always right and the others far off: the best model alone beat the median of all in
    the earlier windows, so from there on the nested rule forecasts with it; without evidence it
    starts with its first rule (the median)."""
    rows = _series("a", [{"m1": 0.0, "m2": 3.0, "m3": 4.0, "m4": 9.0}] * 6)
    nested = Nested((Rule(combine="median"), Rule(1)))
    out, final, _ = select_honestly(rows, MODELS, 4, 0.8, rule=nested)
    assert out.loc[out["window"] == 0, "model"].iloc[0] == "median:m1+m2+m3+m4"
    assert (out.loc[out["window"] >= 2, "model"] == "m1").all()
    np.testing.assert_allclose(out.loc[out["window"] >= 2, "yhat"], 10.0)
    assert final == {"a": "m1"}


def test_nested_choices_use_only_earlier_windows():
    """Changing the last window's forecasts leaves every earlier window's choice and yhat as it was."""
    good = {"m1": 0.0, "m2": 3.0, "m3": 4.0, "m4": 9.0}
    rows = _series("a", [good] * 5 + [{"m1": 20.0, "m2": 0.0, "m3": 0.0, "m4": 0.0}])
    other = _series("a", [good] * 6)
    nested = Nested((Rule(combine="median"), Rule(2, combine="ensemble")))
    a, b = (select_honestly(r, MODELS, 4, 0.8, rule=nested)[0] for r in (rows, other))
    cols = ["model", "yhat", "yhat_lower", "yhat_upper"]
    pd.testing.assert_frame_equal(a.loc[a["window"] <= 4, cols], b.loc[b["window"] <= 4, cols])
    last = a["window"] == 5
    assert (a.loc[last, "model"] == b.loc[last, "model"]).all()  # chosen before its data was seen
    assert not np.allclose(a.loc[last, "yhat"], b.loc[last, "yhat"])  # ... which did change

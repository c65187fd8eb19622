import json

import numpy as np
import pandas as pd
import pytest

from core.errors import DataError, ModelNotFoundError
from features.volume_series import build_volume_series
from training.forecasting.backtest import backtest_volumes
from training.forecasting.candidates import Setup, forecast_window, stats_forecast
from training.forecasting.forecaster import VolumeForecaster, train_volume
from training.forecasting.global_lgbm import GlobalLGBM, lags_for
from training.forecasting.metrics import mase, seasonal_naive_scale
from training.forecasting.selection import (
    RULE,
    Rule,
    candidate_yhat,
    choose,
    members,
    select_honestly,
)
from training.forecasting.series_checks import check_series
from training.forecasting.user import backtest_user_series, to_series

CHEAP = ("lightgbm", "seasonal_naive", "auto_ets", "mstl")


def _weekly(n_days=140, seed=0, level=50.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2025-01-06", periods=n_days, freq="D")
    y = level * np.array([1.2, 1.1, 1.0, 1.0, 1.1, 0.6, 0.5])[ds.dayofweek] + rng.normal(0, 3, n_days)
    return pd.DataFrame({"ds": ds, "y": np.clip(y, 0, None).round()})


def test_mase_by_hand():
    train = np.array([1.0, 2, 3, 4, 5, 6])
    assert seasonal_naive_scale(train, 2) == pytest.approx(2.0)
    assert mase([10, 12], [11, 10], 2.0) == pytest.approx(0.75)


def test_statsforecast_candidates_and_lags():
    y = np.tile([1.0, 2, 3, 4, 5, 6, 7], 3)
    assert stats_forecast("seasonal_naive", y, 9, (7,)).tolist() == [1, 2, 3, 4, 5, 6, 7, 1, 2]
    for name in ("auto_ets", "mstl", "auto_theta"):
        out = stats_forecast(name, y + np.random.default_rng(0).normal(0, 0.1, 21), 7, (7,))
        assert np.abs(out - np.arange(1, 8)).max() < 1.0, name  # each learns the weekly profile
    assert lags_for(14, 7) == [14, 21, 28]
    assert min(lags_for(140, 140)) >= 140


@pytest.fixture(scope="module")
def three_series():
    return {f"s{i}": _weekly(n_days=168, seed=i, level=30 + 20 * i) for i in range(3)}


@pytest.fixture(scope="module")
def backtest(three_series):
    return backtest_volumes(three_series, 3, Setup(7, (7,)), CHEAP)


def test_removing_the_last_fold_leaves_earlier_forecasts_unchanged(three_series, backtest):
    """Honest selection: a window's yhat (model choice and interval included) depends only on data
    before it, so cutting the last fold's rows changes nothing that came earlier."""
    cut = {sid: df.iloc[:-7] for sid, df in three_series.items()}
    for folds in (3, 2):  # the same number of folds (windows shift) and one fold fewer
        shorter = backtest_volumes(cut, folds, Setup(7, (7,)), CHEAP).forecasts
        cols = ["id", "ds", "model", "yhat", "yhat_lower", "yhat_upper"]
        full, short = (f[f["fold"] >= 0][cols] for f in (backtest.forecasts, shorter))
        both = full.merge(short, on=["id", "ds"], suffixes=("", "_cut"))
        assert len(both) == 3 * 7 * 2  # the two reported folds both runs share
        assert (both["model"] == both["model_cut"]).all()
        for c in ("yhat", "yhat_lower", "yhat_upper"):
            np.testing.assert_allclose(both[c], both[f"{c}_cut"], equal_nan=True)


def _pooled_choice(fc: pd.DataFrame, sid: str, windows: list[int]) -> str:
    """By hand: each model's MASE over its (series, window)'s median model, half the series' own
    mean and half the mean over every series of the family; the mean of the 3 best."""
    ratios = []
    for (s, _), x in fc[fc["window"].isin(windows)].groupby(["id", "window"]):
        err = pd.Series({m: mase(x["y"], x[m], x["scale"].iloc[0]) for m in CHEAP})
        ratios.append((err / err.median()).rename(s))
    table = pd.DataFrame(ratios)
    score = (table.loc[[sid]].mean() + table.mean()) / 2
    return "ensemble:" + "+".join(sorted(score.nsmallest(3).index))


def test_each_fold_uses_the_pooled_top_models_of_the_windows_before(backtest):
    raw = backtest.forecasts.drop(columns=["model", "yhat", "yhat_lower", "yhat_upper"])
    fc, final, _ = select_honestly(raw, CHEAP, 4, 0.8, None, Rule(top_k=3, combine="ensemble"))
    for sid, g in fc.groupby("id"):
        for w in (4, 5, 6):
            rows = g[g["window"] == w]
            assert rows["model"].iloc[0] == _pooled_choice(fc, sid, list(range(w - 4, w)))
            np.testing.assert_allclose(rows["yhat"], candidate_yhat(rows, rows["model"].iloc[0]))
        assert final[sid] == _pooled_choice(fc, sid, [3, 4, 5, 6])


def test_the_default_rule_is_the_median_of_every_model_not_three_times_worse(backtest):
    """The rule chosen on benchmarks/validate_selection.py: per series and window, the median of
    every model whose error on the windows before (half own, half family) is at most three times
    the best's; the median of all where nothing came before."""
    assert Rule(tolerance=2.0, own_weight=0.5, combine="median") == RULE
    own = pd.DataFrame({"a": [3.1], "b": [2.9], "c": [1.0], "d": [1.2]})
    assert choose(own, own, ("a", "b", "c", "d"), RULE) == "median:b+c+d"  # "a" is 3.1x the best
    fc = backtest.forecasts
    every = "median:" + "+".join(sorted(CHEAP))
    assert (fc.loc[fc["window"] == 0, "model"] == every).all()
    for name in fc["model"].unique():
        assert name in CHEAP or (name.startswith("median:") and set(members(name)) <= set(CHEAP))
    for name, rows in fc.groupby("model"):
        np.testing.assert_allclose(rows["yhat"], candidate_yhat(rows, name))


def test_pooling_outvotes_one_series_noise_and_no_evidence_gives_the_median():
    own = pd.DataFrame({"a": [0.5], "b": [1.0], "c": [1.5], "d": [0.9]})
    family = pd.DataFrame({"a": [3.0] * 4, "b": [1.0] * 4, "c": [0.8] * 4, "d": [0.9] * 4})
    # "a" won the series' only window by luck but is the family's worst: it is not in the top 3
    assert choose(own, family, ("a", "b", "c", "d"), Rule(top_k=3, combine="ensemble")) == "ensemble:b+c+d"
    empty = own.iloc[:0]
    assert choose(empty, empty, ("a", "b", "c")) == "median:a+b+c"
    frame = pd.DataFrame({"a": [1.0], "b": [2.0], "c": [100.0]})
    assert candidate_yhat(frame, "median:a+b+c").tolist() == [2.0]  # one wild model cannot move it


def test_an_anchor_is_always_combined_and_the_median_replaces_the_mean():
    own = pd.DataFrame({"a": [0.5], "b": [1.0], "c": [1.5], "d": [0.9]})
    family = own.copy()
    # "c" is the worst by the evidence, but an anchor stays in; the best others fill up to top_k
    assert (
        choose(own, family, ("a", "b", "c", "d"), Rule(3, anchor=("c",), combine="ensemble"))
        == "ensemble:a+c+d"
    )
    assert choose(own, family, ("a", "b", "c", "d"), Rule(top_k=1, anchor=("c",))) == "c"
    assert choose(own, family, ("a", "b", "c", "d"), Rule(top_k=3, combine="median")) == "median:a+b+d"
    assert choose(own, family, ("a", "b", "c", "d")) == "median:a+b+c+d"  # the default: every model


def test_global_lightgbm_follows_newer_history():
    """Trees cannot extrapolate: a model trained on levels 30-70 used to forecast a series whose
    last five weeks are 100x higher at 1.6x its old forecast. The forecast is relative to the
    newest level, so it rises about in proportion."""
    series = {f"s{i}": _weekly(n_days=168, seed=i, level=30 + 20 * i) for i in range(3)}
    model = GlobalLGBM(7, 7, params={"n_estimators": 60}).fit(series)
    hist = series["s1"]
    future = pd.Series(pd.date_range(hist["ds"].iloc[-1] + pd.Timedelta(days=1), periods=7))
    base = model.predict("s1", hist, future)
    higher = hist.assign(y=np.where(hist.index >= len(hist) - 35, hist["y"] * 100, hist["y"]))
    ratio = model.predict("s1", higher, future).mean() / base.mean()
    assert 50 < ratio < 150
    assert np.abs(base - 50 * np.array([1.2, 1.1, 1.0, 1.0, 1.1, 0.6, 0.5])[future.dt.dayofweek]).mean() < 8


def test_global_lightgbm_learns_the_holidays_of_its_country():
    """With a country, the global LightGBM sees the days to the next and since the last public
    holiday: a series that drops to a fifth on US holidays is forecast low on the next one; without
    the country the forecast cannot know the day is special."""
    import holidays

    ds = pd.date_range("2023-01-02", "2025-06-30", freq="D")
    off = ds.normalize().isin(
        pd.DatetimeIndex(list(holidays.country_holidays("US", years=[2023, 2024, 2025])))
    )
    series = {}
    for i in range(3):
        base = _weekly(n_days=len(ds), seed=i, level=60 + 10 * i).assign(ds=ds)
        series[f"s{i}"] = base.assign(y=np.where(off, base["y"] * 0.2, base["y"]).round())
    hist = {sid: df[df["ds"] < "2025-06-28"].reset_index(drop=True) for sid, df in series.items()}
    future = pd.Series(pd.date_range("2025-06-28", periods=14, freq="D"))  # 4 July on day 7
    july4 = int(np.flatnonzero(future == pd.Timestamp("2025-07-04"))[0])
    same_day = [k for k in range(14) if k != july4 and future[k].dayofweek == future[july4].dayofweek]
    ratios = {}
    for country in ("US", None):
        model = GlobalLGBM(14, 7, params={"n_estimators": 200}, country=country).fit(hist)
        assert ("holiday_next" in model.columns_) == (country is not None)
        fc = model.predict("s1", hist["s1"], future)
        ratios[country] = fc[july4] / fc[same_day].mean()
    assert ratios["US"] < 0.5 < ratios[None]


def test_global_lightgbm_on_too_short_history_says_what_it_needs():
    """A window shorter than the longest lag used to fail inside LightGBM ("Input data must be 2
    dimensional and non empty"); the user gets the rows it needs instead."""
    series = {"s0": _weekly(n_days=20, seed=0, level=30)}
    with pytest.raises(DataError, match=r"more than 28 rows of history .* longest series has 20"):
        GlobalLGBM(7, 7).fit(series)


def test_every_mean_is_over_the_same_series_and_folds():
    """A series whose training part is constant has no MASE scale in a fold: that (series, fold)
    is left out for every model and for "selected" alike."""
    flat = _weekly(n_days=168, seed=5).assign(y=lambda d: np.where(d.index < 147, 10.0, d["y"]))
    series = {"flat": flat, "s": _weekly(n_days=168, seed=6)}
    bt = backtest_volumes(series, 3, Setup(7, (7,)), ("seasonal_naive", "auto_ets"))
    table = bt.scores
    assert np.isfinite(table.to_numpy()).all()
    assert ("flat", 0) not in table.index and ("s", 0) in table.index
    summary = bt.summary()["mase"]
    for col in ("seasonal_naive", "auto_ets", "selected"):
        assert summary[col] == pytest.approx(table[col].mean(), abs=1e-4)
    assert set(bt.per_series()["id"]) == {"flat", "s"}


@pytest.fixture(scope="module")
def trained(settings, sample):
    long = build_volume_series(sample.events)
    keep = long[long["series_id"].isin(["tickets/total", "tickets/channel=phone", "requirements/total"])]
    forecast = settings.forecast.model_copy(update={"backtest_folds": 1, "models": list(CHEAP)})
    return train_volume(keep, settings.model_copy(update={"forecast": forecast})), keep


def test_the_shipped_model_forecasts_as_the_backtest_did(trained):
    """Same functions: the shipped configuration refit at the last window's origin gives that
    window's backtest forecast of the same choice, and it ships refit on all data."""
    result, keep = trained
    f, bt = result.forecaster, result.backtest
    last = bt.forecasts[bt.forecasts["window"] == bt.forecasts["window"].max()]
    hist = f._histories(None, last["ds"].min() - pd.Timedelta(days=1))
    future = {sid: g["ds"] for sid, g in last.groupby("id")}
    again = f._forecast(hist, future, refit=True)
    for sid, g in last.groupby("id"):
        np.testing.assert_allclose(
            again[again["series_id"] == sid]["yhat"], candidate_yhat(g, f.selection_[sid]), rtol=1e-6
        )
    assert result.holdout["ds"].min() == last["ds"].min()
    assert f.last_ds_ == keep["ds"].max()  # refit on all the data
    assert result.holdout_metrics["mase"] == pytest.approx(bt.scores["selected"].xs(0, level="fold").mean())


def test_forecaster_round_trip_history_and_evaluate(trained, tmp_path):
    result, long = trained
    f = result.forecaster
    assert len(f.history_frame()) == len(long)
    a = f.predict(None, 14)
    f.save(tmp_path / "m")
    loaded = VolumeForecaster.load(tmp_path / "m")
    b = loaded.predict(None, 14)
    pd.testing.assert_frame_equal(a, b)
    # Prophet is refit from the loaded setup: the promotion windows must come back by name.
    pd.testing.assert_frame_equal(loaded.setup.promotions, f.setup.promotions.reset_index(drop=True))
    assert loaded.setup == f.setup
    # the LightGBMs come back with the calendar's holidays (the configured country)
    assert {g.country for g in loaded.lgbm_.values()} == {f.setup.country} != {None}
    assert all("holiday_next" in g.columns_ for g in loaded.lgbm_.values())
    assert not list((tmp_path / "m").glob("*.pkl"))
    # A LightGBM saved before its target was relative to the level would be misread: refused.
    meta = json.loads((tmp_path / "m" / "forecaster.json").read_text())
    for info in meta["lgbm"].values():
        del info["target"]
    (tmp_path / "m" / "forecaster.json").write_text(json.dumps(meta))
    assert meta["lgbm"]  # some series ship a mean with LightGBM in it
    with pytest.raises(ModelNotFoundError, match="retrain it with `needradar forecast train`"):
        VolumeForecaster.load(tmp_path / "m")
    assert a["ds"].min() == long["ds"].max() + pd.Timedelta(days=1)  # from the last observed day
    assert (a["yhat_lower"] <= a["yhat"]).all() and (a["yhat"] <= a["yhat_upper"]).all()
    # Newer history moves the forecast origin and raises the forecast, whatever the choice: local
    # models are refit, the stored global LightGBM reads the new level through its lags (14 days:
    # its lags are at least one horizon old).
    sid = sorted(f.selection_)[0]
    newer = pd.DataFrame(
        {"series_id": sid, "ds": long["ds"].max() + pd.to_timedelta(range(1, 15), "D"), "y": 500.0}
    )
    c = f.predict([sid], 7, history=newer)
    assert c["ds"].min() == newer["ds"].max() + pd.Timedelta(days=1)
    assert c["yhat"].mean() > a[a["series_id"] == sid]["yhat"].head(7).mean()
    metrics = f.evaluate(result.holdout)
    assert metrics["series_scored"] == 3 and 0 <= metrics["coverage"] <= 1 and metrics["mase"] < 2
    later = result.holdout.assign(ds=result.holdout["ds"] + pd.Timedelta(days=60))
    # A model whose history ends before the holdout has nothing honest to say: NaN, never "not worse";
    # given the same history as the challenger it is scored.
    assert f.evaluate(later)["series_scored"] == 0 and np.isnan(f.evaluate(later)["mase"])
    gap = long.assign(ds=long["ds"] + pd.Timedelta(days=60))
    gap = gap[gap["ds"] > long["ds"].max()][["series_id", "ds", "y"]]
    assert f.evaluate(later, history=gap)["series_scored"] == 3
    with pytest.raises(DataError, match="unknown series tickets/nope"):
        f.predict(["tickets/nope"], 3)
    with pytest.raises(DataError, match="horizon must be between 1 and 14"):
        f.predict(None, 15)


def test_user_series_with_gaps_and_prophet():
    ds = pd.Series(pd.date_range("2025-01-06", periods=7 * 16, freq="D"))
    weekdays = ds[ds.dt.dayofweek < 5].reset_index(drop=True)
    y = 30 + 10 * (weekdays.dt.dayofweek == 0) + np.random.default_rng(1).normal(0, 2, len(weekdays))
    frame = pd.DataFrame({"t": weekdays.astype(str), "v": y.round()})
    bt = backtest_user_series(to_series(frame, "t", "v"), 5, 2, models=("prophet", "seasonal_naive"))
    assert {"prophet", "seasonal_naive", "selected"} <= set(bt.scores.columns)
    assert bt.forecasts["ds"].dt.dayofweek.max() < 5  # forecasts only at real (weekday) timestamps
    assert "prophet" in bt.coverage()
    # Monday peaks are learned: the Monday forecasts are above the other days'.
    rows = bt.forecasts[bt.forecasts["fold"] >= 0]
    assert (
        rows[rows["ds"].dt.dayofweek == 0]["prophet"].min()
        > rows[rows["ds"].dt.dayofweek > 0]["prophet"].max()
    )


def test_forecast_window_marks_closed_rows_zero():
    df = _weekly(n_days=140)
    df.loc[df["ds"].isin(pd.to_datetime(["2025-03-04", "2025-04-15"])), "y"] = 0  # Tuesdays
    future = pd.Series(pd.date_range(df["ds"].max() + pd.Timedelta(days=1), periods=7))
    preds, cal = forecast_window({"s": df}, {"s": future}, Setup(7, (7,)), ("seasonal_naive", "auto_ets"))
    assert cal.closed == {pd.Timestamp("2025-03-04"), pd.Timestamp("2025-04-15")}
    assert not preds["s"]["closed"].any() and (preds["s"]["auto_ets"] > 20).all()


@pytest.mark.parametrize(
    "frame, horizon, message",
    [
        (_weekly(20), 7, "shorter than two seasons"),
        (
            _weekly().assign(y=lambda d: d["y"].astype(object).where(d.index != 3, "many")),
            7,
            "'many' at row 4 is not a number",
        ),
        (_weekly().assign(y=lambda d: d["y"].where(d.index != 5, -2)), 7, "at row 6 is negative"),
        (pd.concat([_weekly().iloc[:2], _weekly()]).reset_index(drop=True), 7, "is duplicated"),
        (_weekly(), 0, "horizon must be at least 1"),
    ],
)
def test_bad_series(frame, horizon, message):
    with pytest.raises(DataError, match=message):
        check_series(frame, horizon)


def test_train_volume_refuses_short_series_unknown_models_and_no_series(settings):
    long = _weekly(30).assign(series_id="tickets/total", family="tickets")
    with pytest.raises(
        DataError, match="series tickets/total has 30 days; forecasting needs at least two weeks"
    ):
        train_volume(long, settings)
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown model 'arima'; choose from prophet"):
        train_volume(long, settings, models=("arima",))
    with pytest.raises(DataError, match="no volume series: the data has no tickets, requirements"):
        train_volume(long.iloc[:0], settings)


def test_purchase_only_data_forecasts_transactions(sample):
    """A purchase log (customers + transactions only, like CDNOW) gives the transactions series."""
    from dataclasses import replace

    events = replace(sample.events, tickets=None, requirements=None, feedback=None)
    long = build_volume_series(events)
    assert set(long["series_id"]) == {"transactions/total"}
    tx = sample.events.transactions
    assert long["y"].sum() == len(tx[tx["ts"] < tx["ts"].max().normalize() + pd.Timedelta(days=1)])


@pytest.mark.slow
def test_cdnow_purchase_log_trains_a_volume_model(settings):
    """CDNOW (customers + transactions only) used to crash `forecast train` ('float' has no 'year')."""
    from features.importers import cdnow_events

    long = build_volume_series(cdnow_events())
    assert set(long["series_id"]) == {"transactions/total"}
    forecast = settings.forecast.model_copy(update={"models": list(CHEAP)})
    result = train_volume(long, settings.model_copy(update={"forecast": forecast}))
    fc = result.forecaster.predict(None, 14)
    assert fc["ds"].min() == long["ds"].max() + pd.Timedelta(days=1) and (fc["yhat"] >= 0).all()
    assert np.isfinite(result.holdout_metrics["mase"])


def _windows(sid: str, start: str, errors: dict[str, float]) -> pd.DataFrame:
    """Three 2-row windows of a series whose models miss y=10 by the given errors."""
    ds = pd.date_range(start, periods=6, freq="D")
    frame = pd.DataFrame({"id": sid, "ds": ds, "window": np.repeat([0, 1, 2], 2), "y": 10.0})
    frame = frame.assign(fold=frame["window"] - 2, scale=1.0, closed=False)
    return frame.assign(**{m: 10.0 + e for m, e in errors.items()})


def test_pooled_evidence_is_only_what_ended_before_the_window():
    """Another series' window counts as evidence only if it ended before this window starts, so a
    file whose series end on different days cannot leak later data into an earlier choice."""
    mine = _windows("a", "2025-01-01", {"m1": 1.0, "m2": 2.0, "m3": 3.0, "m4": 3.5})
    # "b" says m1 is by far the worst; it helps "a" only if its windows ended before "a"'s last one
    other = {"m1": 50.0, "m2": 2.0, "m3": 3.0, "m4": 3.5}
    rule = Rule(top_k=3, combine="ensemble")
    later = select_honestly(
        pd.concat([mine, _windows("b", "2025-01-04", other)]), ("m1", "m2", "m3", "m4"), 2, 0.8, rule=rule
    )
    earlier = select_honestly(
        pd.concat([mine, _windows("b", "2024-12-01", other)]), ("m1", "m2", "m3", "m4"), 2, 0.8, rule=rule
    )
    a_later, a_earlier = (r[0].query("id == 'a' and window == 2")["model"].iloc[0] for r in (later, earlier))
    assert a_later == "ensemble:m1+m2+m3"  # b's windows overlap or follow a's: not used
    assert a_earlier == "ensemble:m2+m3+m4"  # b's windows ended before: pooled

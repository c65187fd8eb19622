"""Volume backtests, fits and forecasts with per-series tasks on a real Dask cluster equal the
one-process results."""

from __future__ import annotations

import pandas as pd
import pytest

from features.volume_series import build_volume_series
from training.forecasting.forecaster import train_volume

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small(settings):
    forecast = settings.forecast.model_copy(
        update={"backtest_folds": 1, "models": ["prophet", "lightgbm", "seasonal_naive", "auto_ets"]}
    )
    return settings.model_copy(update={"forecast": forecast})


@pytest.fixture(scope="module")
def long(sample):
    frame = build_volume_series(sample.events, freq="D")
    return frame[frame["series_id"].isin(sorted(frame["series_id"].unique())[:3])].reset_index(drop=True)


def test_backtest_fit_and_forecast_on_the_cluster_equal_one_process(cluster, small, long):
    steps = {"here": [], "there": []}
    here = train_volume(long, small, on_step=steps["here"].append)
    there = train_volume(long, small, client=cluster, on_step=steps["there"].append)
    pd.testing.assert_frame_equal(there.backtest.forecasts, here.backtest.forecasts)
    pd.testing.assert_frame_equal(there.backtest.scores, here.backtest.scores)
    assert there.backtest.selection.to_dict() == here.backtest.selection.to_dict()
    assert "prophet" in here.backtest.forecasts  # Prophet really ran per series on the workers
    windows = here.backtest.inner + small.forecast.backtest_folds
    for seen in steps.values():  # every window reported once, as its last fit came back
        assert sorted(seen[:-1]) == [f"backtest window {w}/{windows} done" for w in range(1, windows + 1)]
        assert seen[-1] == "final models fitted"
    ids = here.forecaster.series_ids_
    pd.testing.assert_frame_equal(
        here.forecaster.predict(ids, 7, client=cluster), here.forecaster.predict(ids, 7)
    )

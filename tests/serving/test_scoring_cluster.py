"""The at-risk list scored per partition on a real Dask cluster equals the one-process list."""

from __future__ import annotations

import pandas as pd
import pytest

from serving.scoring import score_customers
from tests.serving.test_scoring import _vectors
from training.churn_model import ChurnModel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model():
    train = _vectors(1500, 1)
    return ChurnModel({"n_estimators": 30, "num_leaves": 7}, calibration="isotonic").fit(
        train.drop(columns=["value_tier", "annual_value"]), train["churned"]
    )


@pytest.mark.parametrize("explain_top", [None, 37, 0])
def test_scores_reasons_and_actions_equal_one_process(cluster, model, settings, explain_top):
    vectors = _vectors(900, 3)
    vectors.loc[vectors.index[::50], "tickets_unresolved_30d"] = None  # missing values travel too
    expected = score_customers(model, vectors, settings, explain_top=explain_top)
    got = score_customers(model, vectors, settings, explain_top=explain_top, client=cluster)
    pd.testing.assert_frame_equal(got, expected)
    k = len(vectors) if explain_top is None else explain_top
    assert got["reason_1_text"].iloc[k:].isna().all()
    assert got["reason_1_text"].iloc[:k].notna().sum() >= k // 2  # the riskier half has reasons


def test_the_model_travels_once_to_every_worker(cluster, model, settings):
    before = cluster.run(lambda dask_worker: len(dask_worker.data))
    score_customers(model, _vectors(300, 4), settings, explain_top=10, client=cluster)
    after = cluster.run(lambda dask_worker: len(dask_worker.data))
    assert len(after) >= 2 and after.keys() == before.keys()  # both workers took part, none lost

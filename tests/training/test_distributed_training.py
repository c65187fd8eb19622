"""Churn trees trained by lightgbm.dask on a real cluster rank as well as the one-process trees."""

from __future__ import annotations

import lightgbm as lgb
import pytest
from sklearn.metrics import roc_auc_score

from tests.serving.test_scoring import _vectors
from training.churn_model import ChurnModel

pytestmark = pytest.mark.slow


def test_lightgbm_dask_auc_within_half_a_point_of_one_process(cluster):
    train, valid, test = _vectors(4000, 11), _vectors(1500, 12), _vectors(3000, 13)
    features = train.drop(columns=["churned"])

    def fit(client):
        model = ChurnModel({"n_estimators": 60, "num_leaves": 7}, calibration="platt")
        return model.fit(features, train["churned"], valid[features.columns], valid["churned"], client=client)

    local, distributed = fit(None), fit(cluster)
    assert isinstance(distributed.booster_, lgb.Booster)  # to_local(): a plain booster to register
    assert distributed.best_iteration_ == local.best_iteration_  # the same choice, made here
    auc = {m: roc_auc_score(test["churned"], m.predict_proba(test)) for m in (local, distributed)}
    assert abs(auc[distributed] - auc[local]) <= 0.005, auc
    assert auc[local] > 0.7  # the frame carries signal, so the comparison means something

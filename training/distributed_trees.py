"""Churn trees trained by `lightgbm.dask` across a Dask cluster's workers, returned as a normal
booster: each worker holds its partitions of the stacked frame, LightGBM's own data-parallel
learner syncs the histograms between them, and `to_local()` hands back a plain model.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover - typing only
    import lightgbm as lgb
    from distributed import Client

logger = logging.getLogger(__name__)


def fit_trees_on_cluster(
    client: Client, M: pd.DataFrame, y: np.ndarray, native: dict[str, Any], n_trees: int
) -> lgb.Booster:
    """`lgb.train(native, Dataset(M, y), n_trees)` as a DaskLGBMClassifier over the workers."""
    import dask.dataframe as dd
    from lightgbm import DaskLGBMClassifier

    workers = len(client.scheduler_info()["workers"])
    M = M.reset_index(drop=True)
    X = dd.from_pandas(M, npartitions=workers)
    Y = dd.from_pandas(pd.Series(np.asarray(y, int), index=M.index, name="churned"), npartitions=workers)
    params = {k: v for k, v in native.items() if k not in ("objective", "num_threads", "seed")}
    model = DaskLGBMClassifier(
        client=client, n_estimators=n_trees, random_state=native.get("seed"), n_jobs=1, **params
    )
    model.fit(X, Y)
    logger.info("churn trees trained by lightgbm.dask on %d workers", workers)
    return model.to_local().booster_

"""Exact TreeSHAP explanations of the churn model, in log-odds (raw score) space.

`tree_shap` equals LightGBM's `pred_contrib` (up to float rounding) but runs the per-leaf table
algorithm of serving/treeshap_tables.py on all cores; for models whose tables would be too large
(very deep trees) it falls back to LightGBM's own TreeSHAP.
"""

from __future__ import annotations

import functools
import logging
import os
import weakref

import lightgbm as lgb
import numpy as np
import pandas as pd

from serving import treeshap_tables as tt

logger = logging.getLogger(__name__)

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
BLOCK_ROWS = 1024  # rows per parallel block; each block walks all trees (measured best of 16..4000)
SERIAL_ROWS = 64  # below this (API requests), one thread: starting the pool costs more than it saves


def _tables(booster: lgb.Booster, num_iteration: int | None, low_priority: bool = False) -> tt.Tables | None:
    """Per-model tables, built once per booster and iteration count (None when too large)."""
    per_booster = _CACHE.setdefault(booster, {})
    if num_iteration not in per_booster:
        tables = tt.Tables(booster.dump_model(num_iteration=num_iteration or -1), num_iteration)
        if tables.size > tt.MAX_TABLE_ENTRIES:
            logger.info("SHAP tables would hold %d entries; using LightGBM's TreeSHAP", tables.size)
            tables = None
        else:
            tables.build(low_priority)
        per_booster[num_iteration] = tables
    return per_booster[num_iteration]


def prepare(model, low_priority: bool = True) -> None:
    """Build a ChurnModel's SHAP tables ahead of its first explanation; by default at the lowest
    CPU priority, as a serving process does while it keeps answering with its current model."""
    if getattr(model, "linear_weight_", 0.0) < 1:
        _tables(model.booster_, getattr(model, "best_iteration_", None), low_priority)


def booster_shap(booster: lgb.Booster, X: np.ndarray, num_iteration: int | None = None) -> np.ndarray:
    """SHAP values (rows, features + 1; last column the bias) of a numeric matrix, as LightGBM codes it."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    tables = _tables(booster, num_iteration)
    if tables is None or booster.num_model_per_iteration() != 1:
        return booster.predict(
            X, pred_contrib=True, num_iteration=num_iteration, num_threads=os.cpu_count() or 1
        )
    t = tables
    args = (
        X,
        t.tree_node_start,
        t.tree_leaf_start,
        t.node_feat,
        t.node_thr,
        t.node_cat,
        t.node_dleft,
        t.node_miss,
        t.node_cstart,
        t.node_clen,
        t.cats,
        t.d,
        t.nsplit,
        t.split_node,
        t.split_dir,
        t.split_k,
        t.leaf_feat,
        t.offset,
        t.table,
        t.n_features,
        t.expected,
    )
    if len(X) < SERIAL_ROWS:
        return tt.shap_rows_serial(*args, len(X))
    return tt.shap_rows(*args, max(16, min(BLOCK_ROWS, -(-len(X) // 4))))


def tree_shap(model, X: pd.DataFrame) -> np.ndarray:
    """SHAP values of a ChurnModel (rows, features + 1; the last column is the bias), exact.

    A blend with a logistic regression adds the regression's exact contributions at its weight.
    """
    if len(X) == 0:
        return np.zeros((0, len(model.feature_names_) + 1))
    w = getattr(model, "linear_weight_", 0.0)
    linear = model.linear_.contributions(X[model.feature_names_]) if w else None
    return blended_shap(model, model.matrix(X) if w < 1 else None, linear)


def blended_shap(model, matrix: np.ndarray | None, linear: np.ndarray | None) -> np.ndarray:
    """`tree_shap` of rows already transformed: the booster's `matrix` and the regression's
    contributions (each None when the blend does not use it)."""
    w = getattr(model, "linear_weight_", 0.0)
    out = 0.0
    if w < 1:
        trees = booster_shap(model.booster_, matrix, getattr(model, "best_iteration_", None))
        out = (1 - w) * trees
    if w:
        out = out + w * linear
    return out


def top_reasons(contrib: np.ndarray, features: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the `n` largest positive contributions per row (-1 when fewer)."""
    values = contrib[:, : len(features)]
    k = min(n, values.shape[1])
    idx = np.argsort(-values, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(values, idx, axis=1)
    idx = np.where(top > 0, idx, -1)
    return idx, top


@functools.lru_cache(maxsize=64)
def _fact_members(facts: tuple[str | None, ...]) -> list[np.ndarray]:
    """The feature indices of each fact, facts in sorted order; worked out once per feature list."""
    names = sorted({f for f in facts if f is not None})
    return [np.flatnonzero(np.array(facts, dtype=object) == name) for name in names]


def top_facts(contrib: np.ndarray, facts: list[str | None], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The `n` facts that raise each row's risk most, each said by its strongest feature.

    Features of one fact (see serving.reasons.fact) are summed before ranking, so that one
    underlying fact is one reason; only facts whose sum is positive (pushing risk up) are kept.
    A feature whose fact is None is never a reason (it still counts in the model's score).

    Returns:
        Per row, the index of the feature that speaks for each fact (-1 when fewer than `n`
        facts raise the risk) and the fact's summed contribution.
    """
    values = contrib[:, : len(facts)]
    members = _fact_members(tuple(facts))
    sums = np.stack([values[:, m].sum(axis=1) for m in members], axis=1) if members else values[:, :0]
    speaker = (
        np.stack([m[np.argmax(values[:, m], axis=1)] for m in members], axis=1)
        if members
        else np.zeros((len(values), 0), int)
    )
    k = min(n, sums.shape[1])
    order = np.argsort(-sums, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(sums, order, axis=1)
    idx = np.where(top > 0, np.take_along_axis(speaker, order, axis=1), -1)
    return idx, top

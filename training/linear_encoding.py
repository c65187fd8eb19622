"""The logistic baseline's fitted preprocessing as plain arrays, for scoring a few rows at a time.

scikit-learn's `ColumnTransformer.transform` checks and converts its input on every call: for one
row that is milliseconds, where the arithmetic is microseconds. `LinearEncoding` holds what the
fitted pipeline learned (medians, means and scales of the numeric columns, the one-hot levels of
the categorical ones) and applies the same operations in the same order with numpy, so the encoded
matrix is the pipeline's own, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class LinearEncoding:
    """What the baseline's ColumnTransformer learned, column by column in its output order."""

    numeric: list[str]
    median: np.ndarray  # SimpleImputer(strategy="median").statistics_
    mean: np.ndarray  # StandardScaler.mean_
    scale: np.ndarray  # StandardScaler.scale_
    categorical: list[str]
    levels: list[dict[str, int]]  # per categorical column: level text -> one-hot column
    width: int  # columns of the encoded matrix

    @classmethod
    def of(cls, baseline) -> LinearEncoding | None:
        """The encoding of a fitted LogisticBaseline; None for a pipeline of another shape."""
        numeric, categorical, median, mean, scale, levels = [], [], None, None, None, []
        start = 0
        for name, trans, cols in baseline.pipeline_[0].transformers_:
            if name == "remainder" or not len(cols):
                continue
            steps = [type(s).__name__ for s in trans]
            if name == "num" and steps == ["SimpleImputer", "StandardScaler"]:
                imputer, scaler = trans
                if imputer.strategy != "median" or not (scaler.with_mean and scaler.with_std):
                    return None
                numeric, median, mean, scale = list(cols), imputer.statistics_, scaler.mean_, scaler.scale_
                if start != 0:
                    return None  # the encoded numeric block is assumed to come first
                start += len(cols)
            elif name == "cat" and steps == ["SimpleImputer", "OneHotEncoder"]:
                encoder = trans[-1]
                if encoder.drop is not None or getattr(encoder, "_infrequent_enabled", False):
                    return None
                categorical = list(cols)
                for cats in encoder.categories_:
                    levels.append({str(level): start + j for j, level in enumerate(cats)})
                    start += len(cats)
            else:
                return None
        if median is None:
            numeric, median, mean, scale = [], np.zeros(0), np.zeros(0), np.ones(0)
        return cls(numeric, median, mean, scale, categorical, levels, start)

    def level_codes(self, column: int, values: pd.Series) -> np.ndarray:
        """One-hot columns of a categorical column's values as the baseline cleans them (missing
        values are the level "missing"); -1 for a level unseen in training (all zeros)."""
        text = values.astype("object").where(values.notna(), "missing").astype(str).to_numpy(object)
        lookup = self.levels[column]
        return np.fromiter((lookup.get(t, -1) for t in text), np.int64, count=len(text))

    def encode(self, numeric: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """The encoded matrix of rows given as numeric values (rows, numeric columns; infinities
        count as missing) and one-hot columns (rows, categorical columns) from `level_codes`."""
        out = np.zeros((len(numeric), self.width))
        x = np.array(numeric, dtype=np.float64)
        x[~np.isfinite(x)] = np.nan
        x = np.where(np.isnan(x), self.median, x)
        x -= self.mean  # StandardScaler.transform, in its order
        x /= self.scale
        out[:, : len(self.numeric)] = x
        rows, cols = np.nonzero(codes >= 0)
        out[rows, codes[rows, cols]] = 1.0
        return out

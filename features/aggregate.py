"""Fast per-customer aggregation of events relative to an as-of cutoff (numpy bincount)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DAY = np.timedelta64(1, "D")


def cutoff_of(as_of: pd.Timestamp | str) -> pd.Timestamp:
    """As of day D means everything known by the end of D: events strictly before D + 1 day."""
    return pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)


@dataclass
class Events:
    """One event table restricted to the known past, with customer codes and ages in days."""

    df: pd.DataFrame
    code: np.ndarray  # row position of the customer in the vectors frame
    age: np.ndarray  # days between the event and the cutoff (> 0)
    n: int  # number of customers

    @classmethod
    def of(cls, df: pd.DataFrame | None, index: pd.Index, cutoff: pd.Timestamp) -> Events | None:
        if df is None:
            return None
        known = df[df["ts"] < cutoff]
        code = index.get_indexer(known["customer_id"])
        known = known[code >= 0]
        code = code[code >= 0]
        age = (cutoff - known["ts"]).to_numpy() / DAY
        return cls(known.reset_index(drop=True), code, age, len(index))

    def count(self, mask: np.ndarray | None = None) -> np.ndarray:
        code = self.code if mask is None else self.code[mask]
        return np.bincount(code, minlength=self.n).astype(float)

    def total(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        values = np.nan_to_num(np.asarray(values, dtype=float))
        if mask is None:
            return np.bincount(self.code, weights=values, minlength=self.n)
        return np.bincount(self.code[mask], weights=values[mask], minlength=self.n)

    def mean(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        ok = ~np.isnan(values) if mask is None else mask & ~np.isnan(values)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.total(values, ok) / self.count(ok)

    def within(self, days: float) -> np.ndarray:
        return self.age <= days

    def between(self, newer: float, older: float) -> np.ndarray:
        """Events aged in (newer, older] days."""
        return (self.age > newer) & (self.age <= older)

    def min_age(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Days since the newest event (NaN when none)."""
        out = np.full(self.n, np.inf)
        code, age = (self.code, self.age) if mask is None else (self.code[mask], self.age[mask])
        np.minimum.at(out, code, age)
        return np.where(np.isinf(out), np.nan, out)

    def max_age(self, mask: np.ndarray | None = None) -> np.ndarray:
        out = np.full(self.n, -np.inf)
        code, age = (self.code, self.age) if mask is None else (self.code[mask], self.age[mask])
        np.maximum.at(out, code, age)
        return np.where(np.isinf(out), np.nan, out)

    def last(self, values: np.ndarray, order: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """The value of the newest event by `order` (a time), per customer; NaN when none."""
        values = np.asarray(values, dtype=float)
        ok = ~np.isnan(values) if mask is None else mask & ~np.isnan(values)
        idx = np.flatnonzero(ok)
        out = np.full(self.n, np.nan)
        if len(idx):
            idx = idx[np.argsort(order[idx], kind="stable")]
            out[self.code[idx]] = values[idx]  # later rows overwrite earlier ones
        return out


def ratio(recent: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Recent vs prior window, smoothed so that empty windows give 1 rather than inf."""
    return (recent + 1.0) / (prior + 1.0)

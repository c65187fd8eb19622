"""/score for stored customers without pandas or scikit-learn on the request path.

`score_customers` serves the daily job: one call over everyone, in frames. For an API request of
one customer the same work costs tens of milliseconds, almost all of it per-call overhead (frame
building, the regression pipeline's input checks, the transform done twice for the score and the
reasons). `StoredScorer` prepares, once per loaded state, the booster's float matrix and the
regression's one-hot columns of every customer of the latest day; a request then gathers its rows,
runs the one transform that the score and the reasons share, and builds the answers directly.

The answers equal `score_customers` on the same customers (the same probabilities, reasons and
actions; tests/serving/test_small_batch.py), and every loaded state checks that on its first
customers before using this path; a model of another shape keeps the batch path.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from core.config import Settings
from core.timing import mark
from serving.explain import blended_shap, top_facts
from serving.playbook import action_for, channels_for
from serving.reasons import describe, reason_fact
from serving.scoring import _fmt, customer_value, risk_tiers, score_customers
from training.linear_encoding import LinearEncoding

logger = logging.getLogger(__name__)

CHECK_ROWS = 32  # customers scored both ways when a state is loaded


class StoredScorer:
    """Scores customers of one day's vectors with one model, as `score_customers` does."""

    def __init__(
        self,
        model,
        vectors: pd.DataFrame,
        settings: Settings,
        base_rate: float | None,
        lapsed_after_days: float,
    ) -> None:
        self.model, self.vectors, self.settings = model, vectors, settings
        self.base_rate, self.after = base_rate, lapsed_after_days
        self.features = list(model.feature_names_)
        self.facts = [reason_fact(f) for f in self.features]
        self.weight = getattr(model, "linear_weight_", 0.0)
        n = len(vectors)
        self.matrix = model.matrix(vectors) if self.weight < 1 else None
        if self.weight:
            self.encoding = LinearEncoding.of(model.linear_)
            frame = model._check_columns(vectors)
            pos = {c: j for j, c in enumerate(self.features)}
            shared = self.matrix is not None and not set(self.encoding.numeric) & set(model.categories_)
            # The booster's matrix already holds the regression's numeric columns as floats: share it.
            self.numeric, self.numeric_columns = (
                (self.matrix, [pos[c] for c in self.encoding.numeric])
                if shared
                else (frame[self.encoding.numeric].to_numpy(np.float64, na_value=np.nan), None)
            )
            codes = [self.encoding.level_codes(j, frame[c]) for j, c in enumerate(self.encoding.categorical)]
            self.codes = np.stack(codes, axis=1) if codes else np.zeros((n, 0), np.int64)
        self.ids = vectors["customer_id"].astype(str).to_numpy()
        self.idle = (
            vectors["days_since_last_activity"].to_numpy(float)
            if "days_since_last_activity" in vectors
            else None
        )
        tiers = vectors["value_tier"].astype(str) if "value_tier" in vectors else np.full(n, "potential")
        self.tiers = np.asarray(tiers)
        self.annual = vectors["annual_value"].to_numpy(float) if "annual_value" in vectors else np.zeros(n)
        labelled = [c for c in ("segment", "region_tier") if c in vectors]
        self.labels = {c: vectors[c].astype(str).to_numpy() for c in labelled}
        self.column_of = {f: vectors.columns.get_loc(f) for f in self.features if f in vectors.columns}
        r = settings.retention
        self.costs = {name: c.cost for name, c in r.channels.items()}

    @classmethod
    def build(cls, model, vectors: pd.DataFrame, settings: Settings, **terms) -> StoredScorer | None:
        """The scorer for a loaded state, or None (the batch path then serves) when the model's
        shape is not one this path knows or its answers differ from `score_customers`."""
        blend = getattr(model, "linear_weight_", 0.0)
        if model is None or not len(vectors) or not vectors.index.is_unique:
            return None
        if blend and LinearEncoding.of(model.linear_) is None:
            logger.info("the regression's pipeline is not the usual one; /score keeps the batch path")
            return None
        ids = list(vectors.index[:CHECK_ROWS])
        try:
            scorer = cls(model, vectors, settings, terms.get("base_rate"), terms["lapsed_after_days"])
            fast = scorer.score(ids)
        except (TypeError, ValueError, KeyError) as e:  # odd dtypes: the batch path says what is wrong
            logger.info("the small-batch path does not fit these vectors (%s); /score keeps batches", e)
            return None
        batch = score_customers(model, vectors.loc[ids].reset_index(drop=True), settings, **terms)
        expected = batch.to_dict("records")
        if not same_answers(expected, [fast[r["customer_id"]] for r in expected]):
            logger.warning("the small-batch path disagrees with score_customers; /score keeps the batch path")
            return None
        return scorer

    def _transform(self, rows: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """The booster's matrix, and the regression's log-odds and contributions, of these rows."""
        matrix = self.matrix[rows] if self.matrix is not None else None
        if not self.weight:
            return matrix, None, None
        cols = self.numeric_columns
        numeric = self.numeric[rows] if cols is None else matrix[:, cols]
        encoded = self.encoding.encode(numeric, self.codes[rows])
        linear = self.model.linear_
        return matrix, linear.decision_of(encoded), linear.contributions_of(encoded)

    def score(self, ids: list[str]) -> dict[str, dict]:
        """Answers for stored customers (each known, once), by customer id."""
        index = self.vectors.index  # unique: get_loc is one hash look-up
        rows = np.fromiter((index.get_loc(i) for i in ids), np.int64, count=len(ids))
        model, settings = self.model, self.settings
        matrix, linear_raw, linear_contrib = self._transform(rows)
        raw = np.asarray(model.raw_score_of(matrix, linear_raw), float)
        p = np.asarray(model.calibrate(raw), float)
        mark("predicted")
        idle = self.idle[rows] if self.idle is not None else None
        lapsed = np.zeros(len(p), bool) if idle is None else np.nan_to_num(idle, nan=np.inf) > self.after
        tiers, annual = self.tiers[rows], self.annual[rows]
        value = customer_value(np.nan_to_num(annual), tiers, settings)
        risk = risk_tiers(p, lapsed, model, settings, self.base_rate)
        n = settings.churn.n_reasons
        idx, top = top_facts(blended_shap(model, matrix, linear_contrib), self.facts, n)
        mark("shap")
        r = settings.retention
        head = {
            "customer_id": self.ids[rows].tolist(),
            "churn_probability": np.round(p, 6).tolist(),
            "risk_tier": risk.tolist(),
            "lapsed": lapsed.tolist(),
            "value_tier": tiers.tolist(),
            "annual_value": np.round(annual, 2).tolist(),
            "customer_value": np.round(value, 2).tolist(),
            "value_at_risk": np.round(p * value, 2).tolist(),
        } | {c: labels[rows].tolist() for c, labels in self.labels.items()}
        out = {}
        for k, row in enumerate(rows):
            answer = {c: values[k] for c, values in head.items()}
            known = []
            for j in range(n):
                i = idx[k, j] if j < idx.shape[1] else -1
                feature = self.features[i] if i >= 0 else None
                x = self._value(row, feature) if feature else None
                answer[f"reason_{j + 1}_feature"] = feature
                answer[f"reason_{j + 1}_value"] = _fmt(x)
                answer[f"reason_{j + 1}_shap"] = float(np.round(top[k, j], 5)) if i >= 0 else None
                answer[f"reason_{j + 1}_text"] = describe(feature, x) if feature else None
                if feature:
                    known.append(feature)
            action = action_for(known, settings) if known else r.quiet_action
            answer["action"] = r.lapsed_action if lapsed[k] else action
            channels = channels_for(tiers[k], settings, risk_tier=risk[k])
            answer["channel"] = "+".join(channels)
            answer["channel_cost"] = sum(self.costs.get(c, 0.0) for c in channels)
            out[answer["customer_id"]] = answer
        mark("actions")
        return out

    def _value(self, row: int, feature: str):
        """A feature's stored value, as the batch path shows it (blank when the vectors lack it)."""
        column = self.column_of.get(feature)
        if column is None:
            return np.nan
        value = self.vectors.iat[row, column]
        # The batch path reads the frame as objects (Python scalars): True is "1" there, not "True"
        return value.item() if isinstance(value, np.generic) else value


def same_answers(a: list[dict], b: list[dict], tol: float = 1e-9) -> bool:
    """Two lists of answers are the same: equal keys, equal texts, numbers within `tol`."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if list(x) != list(y):
            return False
        for key, u in x.items():
            v = y[key]
            if _blank(u) and _blank(v):
                continue
            if isinstance(u, float | np.floating) and isinstance(v, float | np.floating):
                if not abs(float(u) - float(v)) <= tol:
                    return False
            elif u != v:
                return False
    return True


def _blank(x) -> bool:
    return x is None or (isinstance(x, float | np.floating) and np.isnan(x))

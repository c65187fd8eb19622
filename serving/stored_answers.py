"""/score for stored customers answered from the day's list, when the list is what /score would say.

The daily job scores every customer of the day (`at_risk.parquet`: probability, tiers, value,
reasons, action and channel per customer) with `score_customers`, the same function behind
/score. While the serving champion is the model that produced the day, a request for one of the
day's customers would recompute exactly that row: same model, same stored vectors, same terms. So
the answer is read from the list the service already holds (no copy: the list's own columns),
and the model's work (TreeSHAP, the reasons, the playbook) is left for customers the list cannot
answer. Each loaded state checks the list against `score_customers` on its first customers (the
config may have changed the playbook or the wording since the day ran) and otherwise leaves /score
to the small-batch scorer.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from core.config import Settings

logger = logging.getLogger(__name__)

CHECK_ROWS = 32  # customers of the list scored again when a state is loaded


class StoredAnswers:
    """The day's scored list, by customer id, as /score answers."""

    def __init__(self, at_risk: pd.DataFrame, columns: list[str]) -> None:
        self.columns = columns
        # a plain dict: a request looks up one id, where a pandas Index would first build an
        # Index of the request's ids (a tenth of the request's CPU)
        self.position = {c: row for row, c in enumerate(at_risk["customer_id"].astype(str))}
        self.values = [at_risk[c].to_numpy() for c in columns]

    @classmethod
    def build(cls, churn, day, settings: Settings, **terms) -> StoredAnswers | None:
        """The list as answers, or None when another model produced it, or it is not complete, or
        its rows differ from what `score_customers` says now."""
        from serving.scoring import score_customers
        from serving.small_batch import same_answers

        if churn is None or day is None or not len(day.at_risk):
            return None
        made_by = day.models.get("churn", {})
        if (made_by.get("name"), made_by.get("version")) != (churn.name, churn.version):
            logger.info("the day's list was made by another churn model; /score scores each request")
            return None
        at_risk, vectors = day.at_risk, day.vectors
        ids = at_risk["customer_id"].astype(str)
        if not ids.is_unique or len(ids) != len(vectors) or set(ids) != set(vectors.index.astype(str)):
            logger.info("the day's list does not hold every stored customer once; /score scores each request")
            return None
        check = list(vectors.index[:CHECK_ROWS])
        expected = score_customers(churn.model, vectors.loc[check].reset_index(drop=True), settings, **terms)
        missing = [c for c in expected.columns if c not in at_risk.columns]
        if missing:
            logger.info("the day's list lacks %s; /score scores each request", ", ".join(missing))
            return None
        answers = cls(at_risk, list(expected.columns))
        stored = answers.answer(list(expected["customer_id"].astype(str)))
        if not same_answers(expected.to_dict("records"), [stored[c] for c in expected["customer_id"]]):
            logger.warning(
                "the day's list differs from scoring it now (config changed?); /score scores each request"
            )
            return None
        return answers

    def __contains__(self, customer_id: str) -> bool:
        return customer_id in self.position

    def answer(self, ids: list[str]) -> dict[str, dict]:
        """The list's rows of these customers (each in the list, once), by customer id."""
        out = {}
        for customer in ids:
            row = self.position[customer]
            out[customer] = {c: _plain(v[row]) for c, v in zip(self.columns, self.values, strict=True)}
        return out


def _plain(value):
    """A Python scalar, as `score_customers(...).to_dict("records")` gives it."""
    return value.item() if isinstance(value, np.generic) else value

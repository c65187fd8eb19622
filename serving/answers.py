"""What the service's answers are made of: JSON-safe values, errors, the model versions behind
an answer, and scoring of stored customers (or a client's rows) through the micro-batcher."""

from __future__ import annotations

import json
import math

import bentoml
import numpy as np
import pandas as pd
from starlette.responses import Response

from core.timing import mark
from serving.guard import CUSTOMERS_HEADER


def clean(obj):
    """JSON-safe values: NaN, NaT and NA become null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clean(v) for v in obj]
    if obj is pd.NaT or obj is pd.NA:
        return None
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return obj


def json_answer(answer: dict) -> Response:
    """An answer already made JSON-safe by `clean`, serialised here: BentoML's validation and
    serialisation of a returned dict cost more than the scoring of one customer."""
    body = json.dumps(answer, allow_nan=False, separators=(",", ":")).encode()
    return Response(body, media_type="application/json")


def error(ctx: bentoml.Context, status: int, field: str | None, message: str) -> dict:
    ctx.response.status_code = status
    return {"error": message, "field": field}


def over_limit(ctx: bentoml.Context, field: str, items: list | None, limit: int) -> dict | None:
    if items is not None and len(items) > limit:
        return error(ctx, 413, field, f"{len(items)} items exceed the limit of {limit}")
    return None


def model_versions(state) -> dict[str, int | None]:
    return {t: getattr(getattr(state, t), "version", None) for t in ("churn", "volume")}


def stamp(ctx: bentoml.Context, state, customers: int | None = None) -> None:
    """Label the answer with the model versions behind it (and, for the audit, its customers)."""
    versions = model_versions(state)
    ctx.response.headers["x-needradar-model-versions"] = ",".join(f"{t}={v}" for t, v in versions.items())
    if customers is not None:
        ctx.response.headers[CUSTOMERS_HEADER.decode()] = str(customers)


def describe_models(state) -> dict:
    out = {}
    for task in ("churn", "volume"):
        m = getattr(state, task)
        out[task] = (
            None
            if m is None
            else {
                "name": m.name,
                "version": m.version,
                "alias": m.alias,
                "metrics": m.metrics,
                "data_window": m.data_window,
            }
        )
    return clean({"models": out, "days": sorted(state.days)})


class Rows:
    """Behaviour vectors sent by a client, scored through the same batcher as stored ones."""

    def __init__(self, state, frame: pd.DataFrame) -> None:
        self.state, self.frame = state, frame


def score_stored(context, ids: list[str]) -> dict[str, dict]:
    """Score stored customers of the latest day (or a client's rows); results by customer id."""
    from serving.scoring import score_customers

    mark("thread")
    if not isinstance(context, Rows):
        stored = context.stored_answers
        if stored is not None and all(i in stored for i in ids):
            return stored.answer(ids)
        if context.small_batch is not None:
            return context.small_batch.score(ids)
    if isinstance(context, Rows):
        state, frame = context.state, context.frame
    else:
        state, frame = context, context.latest.vectors.loc[ids].reset_index(drop=True)
    terms = state.list_terms
    mark("frame")
    scored = score_customers(state.churn.model, frame, state.settings, **terms)
    out = {r["customer_id"]: r for r in scored.to_dict("records")}
    mark("records")
    return out


def warm_up(state) -> None:
    """Get /score for stored customers ready: the SHAP tables (at low CPU priority), then the day's
    list as answers, or else the small-batch scorer with one customer scored, so that the first
    request does not pay for compiling TreeSHAP."""
    from serving.explain import prepare

    if state.churn is None or state.latest is None or not len(state.latest.vectors):
        return
    prepare(state.churn.model)  # the list's check scores a few customers too
    if state.stored_answers is None:  # requests are scored: have the scorer ready
        score_stored(state, list(state.latest.vectors.index[:1]))

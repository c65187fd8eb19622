"""The BentoML service: scores with reasons, the at-risk list, forecasts and model info over HTTP.

Start with `needradar serve` or `bentoml serve` from the repository root. Every endpoint but
/livez, /readyz, /metrics and the docs needs `Authorization: Bearer $NEEDRADAR_API_KEY`.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import math
import os
from typing import Annotated, Any

import bentoml
import numpy as np
import pandas as pd
from pydantic import Field

from serving.auth import auth_disabled, bearer_token, key_accepted
from serving.batcher import MicroBatcher
from serving.openapi import docs_app
from serving.ui.app import create_app

logger = logging.getLogger("needradar.service")
# /ui checks the same key itself, and shows its login form instead of a 401.
OPEN_PATHS = ("/livez", "/readyz", "/healthz", "/metrics", "/docs", "/docs.json", "/static_content", "/ui")
Value = Annotated[float, Field(allow_inf_nan=False)] | str | bool | None


class AuthMiddleware:
    """Bearer-token check for every path but health, readiness, metrics and the API docs."""

    def __init__(self, app, **_: Any) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or auth_disabled() or path == "/" or path.startswith(OPEN_PATHS):
            return await self.app(scope, receive, send)
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode()
        if key_accepted(bearer_token(header)):
            return await self.app(scope, receive, send)
        body = json.dumps(
            {"error": "missing or wrong API key; send Authorization: Bearer <NEEDRADAR_API_KEY>"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _clean(obj):
    """JSON-safe values: NaN becomes null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return obj


def _error(ctx: bentoml.Context, status: int, field: str | None, message: str) -> dict:
    ctx.response.status_code = status
    return {"error": message, "field": field}


def _model_info(state) -> dict:
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
    return _clean({"models": out, "days": sorted(state.days)})


def _score_stored(state, ids: list[str]) -> dict[str, dict]:
    """Score stored customers of the latest day; results by customer id."""
    from serving.scoring import score_customers

    frame = state.latest.vectors.loc[ids].reset_index(drop=True)
    return {
        r["customer_id"]: r
        for r in score_customers(state.churn.model, frame, state.settings).to_dict("records")
    }


def _generated_openapi() -> dict:
    """BentoML's OpenAPI document for this service, before needradar's additions."""
    return bentoml.get_current_service().bento_service.openapi_spec.asdict()


def _warm_up(state) -> None:
    """Score one stored customer so that the first request does not pay for compiling TreeSHAP."""
    if state.churn is not None and state.latest is not None and len(state.latest.vectors):
        _score_stored(state, list(state.latest.vectors.index[:1]))


@bentoml.service(
    name="needradar", traffic={"timeout": 60}, workers=int(os.environ.get("NEEDRADAR_WORKERS", "1"))
)
@bentoml.asgi_app(create_app(lambda: bentoml.get_current_service().state), path="/ui")
@bentoml.asgi_app(docs_app(_generated_openapi), path="/")
class NeedRadar:
    def __init__(self) -> None:
        from core.config import load_config
        from serving.state import load_state

        if not os.environ.get("NEEDRADAR_API_KEY") and os.environ.get("NEEDRADAR_INSECURE") != "1":
            raise RuntimeError("NEEDRADAR_API_KEY is not set; set it, or start with --insecure for local use")
        self.settings = load_config()
        self.state = load_state(self.settings)
        _warm_up(self.state)
        self.batcher = MicroBatcher(_score_stored, self.settings.serving.max_batch)
        # The models and outputs live as long as the process: keep them out of the garbage
        # collector's full passes, which otherwise stall requests for hundreds of milliseconds.
        gc.collect()
        gc.freeze()

    @bentoml.api(route="/score")
    async def score(
        self,
        ctx: bentoml.Context,
        customer_ids: list[str] | None = Field(
            None, description="Score these customers' latest stored vectors."
        ),
        rows: list[dict[str, Value]] | None = Field(None, description="Or score these behaviour vectors."),
    ) -> dict:
        """Churn probability, risk tier, value tier, value at risk and top reasons per customer."""
        from core.errors import NeedradarError
        from serving.scoring import score_customers

        state = self.state  # one consistent snapshot even if /reload swaps it meanwhile
        if (customer_ids is None) == (rows is None):
            return _error(ctx, 422, "customer_ids", "send exactly one of customer_ids or rows")
        items = customer_ids if customer_ids is not None else rows
        if not items:
            return _error(
                ctx, 422, "customer_ids" if customer_ids is not None else "rows", "must not be empty"
            )
        if len(items) > self.settings.serving.max_batch:
            return _error(
                ctx,
                413,
                "customer_ids" if customer_ids is not None else "rows",
                f"{len(items)} items exceed the batch limit of {self.settings.serving.max_batch}",
            )
        if state.churn is None:
            return _error(
                ctx, 503, None, "no champion churn model; run `needradar churn train` and promote it"
            )
        errors: dict[int, dict] = {}
        if customer_ids is not None:
            if state.latest is None:
                return _error(ctx, 503, None, "no stored vectors; run `needradar daily` first")
            vectors = state.latest.vectors
            known = [c for c in customer_ids if c in vectors.index]
            errors = {
                i: {"customer_id": c, "error": f"unknown customer id {c!r}"}
                for i, c in enumerate(customer_ids)
                if c not in vectors.index
            }
            by_id = await self.batcher.submit(state, known) if known else {}
            ids = customer_ids
        else:
            frame = pd.DataFrame(rows)
            if "customer_id" not in frame:
                frame["customer_id"] = [f"row-{i}" for i in range(len(frame))]
            frame["customer_id"] = frame["customer_id"].astype(str)
            try:
                scored = await asyncio.to_thread(score_customers, state.churn.model, frame, self.settings)
            except NeedradarError as e:
                return _error(ctx, 422, "rows", str(e))
            by_id = {r["customer_id"]: r for r in scored.to_dict("records")}
            ids = list(frame["customer_id"])
        results = [errors.get(i) or by_id[c] for i, c in enumerate(ids)]
        return _clean(
            {
                "model_version": state.churn.version,
                "as_of": getattr(state.latest, "day", None),
                "results": results,
            }
        )

    @bentoml.api(route="/at_risk")
    def at_risk(
        self,
        ctx: bentoml.Context,
        as_of: str | None = Field(None, description="Day of the list (YYYY-MM-DD); default the latest."),
        top: int | None = Field(None, ge=1, description="Only the N highest-risk customers."),
        risk_tiers: list[str] | None = None,
        value_tiers: list[str] | None = None,
        segments: list[str] | None = None,
        regions: list[str] | None = None,
        page: int = Field(1, ge=1),
        page_size: int = Field(100, ge=1, le=1000),
    ) -> dict:
        """Today's (or a stored day's) at-risk list, filtered and paginated."""
        state = self.state
        if not state.days:
            return _error(ctx, 503, None, "no daily outputs yet; run `needradar daily` first")
        day = as_of or max(state.days)
        if day not in state.days:
            return _error(
                ctx, 404, "as_of", f"no at-risk list for {day}; available: {', '.join(sorted(state.days))}"
            )
        df = state.days[day].at_risk
        if top:
            df = df.head(top)
        for col, allowed in (
            ("risk_tier", risk_tiers),
            ("value_tier", value_tiers),
            ("segment", segments),
            ("region_tier", regions),
        ):
            if allowed is not None and col in df:
                df = df[df[col].isin(allowed)]
        total = len(df)
        part = df.iloc[(page - 1) * page_size : page * page_size]
        return _clean(
            {
                "as_of": day,
                "total": total,
                "page": page,
                "pages": math.ceil(total / page_size),
                "items": part.to_dict("records"),
            }
        )

    @bentoml.api(route="/forecast")
    def forecast(
        self,
        ctx: bentoml.Context,
        series: list[str] = Field(..., min_length=1, description="Series ids, e.g. tickets/total."),
        horizon: int = Field(14, description="Days ahead."),
    ) -> dict:
        """Points and intervals per series, today's volume alerts and the staffing plan."""
        from core.errors import NeedradarError

        state = self.state
        if state.volume is None:
            return _error(
                ctx, 503, None, "no champion volume model; run `needradar forecast train` and promote it"
            )
        limit = min(self.settings.serving.max_horizon_days, state.volume.model.horizon)
        if not 1 <= horizon <= limit:
            return _error(ctx, 422, "horizon", f"horizon must be between 1 and {limit} days, got {horizon}")
        unknown = [s for s in series if s not in state.volume.model.selection_]
        if unknown:
            return _error(ctx, 404, "series", f"unknown series {', '.join(unknown[:5])}")
        latest = state.latest
        try:
            if (
                latest is not None
                and latest.forecast is not None
                and set(series) <= set(latest.forecast["series_id"])
            ):
                fc = (
                    latest.forecast[latest.forecast["series_id"].isin(series)]
                    .groupby("series_id")
                    .head(horizon)
                )
            else:
                fc = state.volume.model.predict(series, horizon)
        except NeedradarError as e:
            return _error(ctx, 422, "series", str(e))
        alerts = [
            a for a in (latest.alerts if latest else []) if a["kind"] == "volume" and a["subject"] in series
        ]
        staffing = latest.staffing if latest is not None else None
        return _clean(
            {
                "model_version": state.volume.version,
                "forecast": fc.assign(ds=fc["ds"].dt.strftime("%Y-%m-%d")).to_dict("records"),
                "alerts": alerts,
                "staffing": []
                if staffing is None
                else staffing.assign(ds=staffing["ds"].astype(str)).to_dict("records"),
            }
        )

    @bentoml.api(route="/model_info")
    def model_info(self) -> dict:
        """The model versions and aliases serving, their training metrics and data windows."""
        return _model_info(self.state)

    @bentoml.api(route="/reload")
    def reload(self) -> dict:
        """Load the current champions and outputs, then swap them in; requests in flight finish
        on the state they started with."""
        from serving.state import load_state

        state = load_state(self.settings)
        _warm_up(state)
        self.state = state
        return _model_info(self.state)  # calling the API method would go through HTTP again


NeedRadar.add_asgi_middleware(AuthMiddleware)

"""The BentoML service: scores with reasons, the at-risk list, forecasts and model info over HTTP.

Start with `needradar serve` or `bentoml serve` from the repository root. Every endpoint but
/livez, /readyz, /metrics and the docs needs `Authorization: Bearer <key>` of a role allowed to
call it (serving/auth.py); serving/guard.py checks keys, roles and body size, and audits.
The key of `NEEDRADAR_API_KEY` is read once into `Settings.api_key`. BentoML arguments:
`--arg config=FILE`, `--arg insecure=true`.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import threading
import time
from typing import Annotated, Any

import bentoml
import pandas as pd
from pydantic import BaseModel, Field

from core.timing import mark
from serving.answers import (
    Rows,
    clean,
    describe_models,
    error,
    json_answer,
    over_limit,
    score_stored,
    stamp,
    warm_up,
)
from serving.batcher import MicroBatcher
from serving.guard import GuardMiddleware
from serving.openapi import docs_app
from serving.ui.app import create_app

logger = logging.getLogger("needradar.service")
Value = Annotated[float, Field(allow_inf_nan=False)] | str | bool | None


class ServeArguments(BaseModel):
    """`bentoml serve --arg ...`: the config file (default: `$NEEDRADAR_CONFIG` or the committed
    one) and whether to run without an API key."""

    config: str | None = None
    insecure: bool = False


ARGUMENTS = bentoml.use_arguments(ServeArguments)


def _settings():
    from core.config import load_config

    return load_config(ARGUMENTS.config)


WORKERS = int(os.environ.get("NEEDRADAR_WORKERS", "1"))
# Requests in flight per service (split between the workers) before the gate refuses with 429.
MAX_CONCURRENCY = int(os.environ.get("NEEDRADAR_MAX_CONCURRENCY", "64"))


class Guard(GuardMiddleware):
    """The guard with this server's settings and `--arg insecure`; at the lifespan startup it
    also puts the concurrency gate (serving/gate.py) in front of BentoML's middlewares."""

    def __init__(self, app, **_: Any) -> None:
        super().__init__(app, settings=_settings(), insecure=ARGUMENTS.insecure)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            from serving.gate import install, per_worker

            install(scope["app"], per_worker(MAX_CONCURRENCY, WORKERS))
        return await super().__call__(scope, receive, send)


def _generated_openapi() -> dict:
    """BentoML's OpenAPI document for this service, before needradar's additions."""
    return bentoml.get_current_service().bento_service.openapi_spec.asdict()


DASHBOARD = create_app(lambda: bentoml.get_current_service().state, lambda: ARGUMENTS.insecure)


@bentoml.service(
    name="needradar",
    # A request still running after `timeout` seconds is cut off. The bound on requests in flight
    # is the gate's (MAX_CONCURRENCY, see Guard), which refuses before BentoML's middlewares run.
    traffic={"timeout": float(os.environ.get("NEEDRADAR_TIMEOUT", "30"))},
    workers=WORKERS,
    # BentoML's own per-request access log line and OpenTelemetry span cost as much CPU as a
    # /score answer itself; the guard's audit log already records every call. Both come back with
    # NEEDRADAR_ACCESS_LOG=1 and NEEDRADAR_TRACING=1.
    logging={"access": {"enabled": os.environ.get("NEEDRADAR_ACCESS_LOG") == "1"}},
    tracing={"excluded_urls": [] if os.environ.get("NEEDRADAR_TRACING") == "1" else [".*"]},
)
@bentoml.asgi_app(
    create_app(lambda: bentoml.get_current_service().state, lambda: ARGUMENTS.insecure), path="/ui"
)
@bentoml.asgi_app(docs_app(_generated_openapi), path="/")
class NeedRadar:
    def __init__(self) -> None:
        from serving.auth import stored_keys
        from serving.client_errors import log_client_errors_in_one_line
        from serving.stall_watch import watch_stalls
        from serving.state import load_state, source_stamp

        self._stall_watch = watch_stalls()  # NEEDRADAR_STALLS=FILE: event-loop stalls, for profiling
        log_client_errors_in_one_line()
        self.settings = _settings()
        if not self.settings.api_key and not stored_keys(self.settings) and not ARGUMENTS.insecure:
            raise RuntimeError(
                f"{self.settings.serving.api_key_env} is not set and no key was added with "
                "`needradar keys add`; set one, or start with --insecure for local use"
            )
        self._reload_lock = threading.Lock()
        self._source = source_stamp(self.settings)
        self.state = load_state(self.settings)
        warm_up(self.state)
        self.batcher = MicroBatcher(
            score_stored,
            self.settings.serving.max_batch,
            inline_rows=int(os.environ.get("NEEDRADAR_INLINE_ROWS", "16")),
        )
        # Every worker follows the registry's champion alias and the newest daily outputs itself,
        # so a reload reaches all workers, not only the one that answered /reload.
        threading.Thread(target=self._follow_sources, name="needradar-reload", daemon=True).start()
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
    ) -> dict:  # the schema says a dict; a full answer comes back as that dict already in JSON
        """Churn probability, risk tier, value tier, value at risk and top reasons per customer."""
        from core.errors import NeedradarError

        mark("handler")
        state = self.state  # one consistent snapshot even if /reload swaps it meanwhile
        if (customer_ids is None) == (rows is None):
            return error(ctx, 422, "customer_ids", "send exactly one of customer_ids or rows")
        items = customer_ids if customer_ids is not None else rows
        if not items:
            return error(
                ctx, 422, "customer_ids" if customer_ids is not None else "rows", "must not be empty"
            )
        if too_many := over_limit(
            ctx,
            "customer_ids" if customer_ids is not None else "rows",
            items,
            self.settings.serving.max_batch,
        ):
            return too_many
        if state.churn is None:
            return error(
                ctx, 503, None, "no champion churn model; run `needradar churn train` and promote it"
            )
        errors: dict[int, dict] = {}
        if customer_ids is not None:
            if state.latest is None:
                return error(ctx, 503, None, "no stored vectors; run `needradar daily` first")
            vectors = state.latest.vectors
            known = [c for c in customer_ids if c in vectors.index]
            errors = {
                i: {"customer_id": c, "error": f"unknown customer id {c!r}"}
                for i, c in enumerate(customer_ids)
                if c not in vectors.index
            }
            mark("submit")
            by_id = await self.batcher.submit(state, known) if known else {}
            mark("scored")
            ids = customer_ids
        else:
            frame = pd.DataFrame(rows)
            if "customer_id" not in frame:
                frame["customer_id"] = [f"row-{i}" for i in range(len(frame))]
            frame["customer_id"] = frame["customer_id"].astype(str)
            ids = list(frame["customer_id"])
            try:
                by_id = await self.batcher.submit(Rows(state, frame), list(dict.fromkeys(ids)))
            except NeedradarError as e:
                return error(ctx, 422, "rows", str(e))
        results = [errors.get(i) or by_id[c] for i, c in enumerate(ids)]
        stamp(ctx, state, customers=len(results) - len(errors))
        answer = clean(
            {
                "model_version": state.churn.version,
                "as_of": getattr(state.latest, "day", None),
                "results": results,
            }
        )
        mark("handler_done")
        return json_answer(answer)

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
        limit = self.settings.security.max_list_items
        for name, items in (
            ("risk_tiers", risk_tiers),
            ("value_tiers", value_tiers),
            ("segments", segments),
            ("regions", regions),
        ):
            if too_many := over_limit(ctx, name, items, limit):
                return too_many
        if not state.days:
            return error(ctx, 503, None, "no daily outputs yet; run `needradar daily` first")
        day = as_of or max(state.days)
        if day not in state.days:
            return error(
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
        stamp(ctx, state, customers=len(part))
        return clean(
            {
                "as_of": day,
                "model_version": state.days[day].model_version("churn"),
                "total": total,
                "page": page,
                "pages": math.ceil(total / page_size),
                "items": part.to_dict("records"),
            }
        )

    @bentoml.api(route="/needs")
    def needs(
        self,
        ctx: bentoml.Context,
        as_of: str | None = Field(None, description="Day of the backlog (YYYY-MM-DD); default the latest."),
        product_areas: list[str] | None = None,
        types: list[str] | None = None,
        priorities: list[str] | None = None,
        page: int = Field(1, ge=1),
        page_size: int = Field(100, ge=1, le=1000),
    ) -> dict:
        """The needs backlog: open request groups ranked by the value at risk of the customers waiting."""
        from serving.needs_view import needs_page

        days = {d: out for d, out in self.state.days.items() if out.needs is not None}
        if not days:
            return error(ctx, 503, None, "no needs backlog yet; run `needradar daily` first")
        day = as_of or max(days)
        if day not in days:
            return error(
                ctx, 404, "as_of", f"no needs backlog for {day}; available: {', '.join(sorted(days))}"
            )
        return clean(needs_page(days[day].needs, day, product_areas, types, priorities, page, page_size))

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
        if too_many := over_limit(ctx, "series", series, self.settings.security.max_list_items):
            return too_many
        if state.volume is None:
            return error(
                ctx, 503, None, "no champion volume model; run `needradar forecast train` and promote it"
            )
        limit = min(self.settings.serving.max_horizon_days, state.volume.model.horizon)
        if not 1 <= horizon <= limit:
            return error(ctx, 422, "horizon", f"horizon must be between 1 and {limit} days, got {horizon}")
        series = list(dict.fromkeys(series))  # a repeated series costs nothing extra
        unknown = [s for s in series if s not in state.volume.model.selection_]
        if unknown:
            return error(ctx, 404, "series", f"unknown series {', '.join(unknown[:5])}")
        latest = state.latest
        version = state.volume.version
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
                version = latest.model_version("volume")  # the model that made the stored forecast
            else:
                fc = state.volume.model.predict(series, horizon)
        except NeedradarError as e:
            return error(ctx, 422, "series", str(e))
        alerts = [
            a for a in (latest.alerts if latest else []) if a["kind"] == "volume" and a["subject"] in series
        ]
        staffing = latest.staffing if latest is not None else None
        stamp(ctx, state)
        return clean(
            {
                "model_version": version,
                "forecast": fc.assign(ds=fc["ds"].dt.strftime("%Y-%m-%d")).to_dict("records"),
                "alerts": alerts,
                "staffing": []
                if staffing is None
                else staffing.assign(ds=staffing["ds"].astype(str)).to_dict("records"),
            }
        )

    @bentoml.api(route="/model_info")
    def model_info(self, ctx: bentoml.Context) -> dict:
        """The model versions and aliases serving, their training metrics and data windows."""
        state = self.state
        stamp(ctx, state)
        return describe_models(state)

    @bentoml.api(route="/reload")
    def reload(self, ctx: bentoml.Context) -> dict:
        """Load the current champions and outputs, then swap them in; requests in flight finish
        on the state they started with. Other workers follow within `reload_poll_seconds`."""
        state = self._reload()
        stamp(ctx, state)
        return describe_models(state)  # calling the API method would go through HTTP again

    def _reload(self):
        """One reload at a time, so that a slower, older load never replaces a newer one."""
        from serving.state import load_state, source_stamp

        with self._reload_lock:
            source = source_stamp(self.settings)
            state = load_state(self.settings, previous=self.state)
            warm_up(state)
            self.state, self._source = state, source
            return state

    def _follow_sources(self) -> None:
        from serving.state import source_stamp

        while True:
            time.sleep(self.settings.security.reload_poll_seconds)
            try:
                if source_stamp(self.settings) != self._source:
                    logger.info("champion or daily outputs changed; reloading")
                    self._reload()
            except Exception:  # a failed check must not end the thread; the next one retries
                logger.exception("reload check failed")


NeedRadar.add_asgi_middleware(Guard)

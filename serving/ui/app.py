"""The dashboard's routes: each reads what the service holds (state, day folders, registry) and
renders one template. Sign-in uses the API's key: a Bearer header or the session cookie that the
login form sets."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import pandas as pd
from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from serving.auth import Caller, allowed, bearer, caller_from_session, identify, session_value
from serving.ui import needs, operations, retention
from serving.ui.days import finished_days

HERE = Path(__file__).parent
Choices = Annotated[list[str] | None, Query()]
COOKIE = "needradar_session"
# Nothing but this server: charts, styles and scripts all come from /ui/static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'"
)

HOME_PAGES = ("/", "/needs", "/volumes", "/service", "/models")
REPORT_CSP = "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:"


def plotly_js() -> Path:
    """plotly.min.js (MIT) as shipped inside the installed plotly package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _finite(obj):
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def chart_json(value) -> Markup:
    """Figures as JSON safe inside a <script type="application/json"> (NaN as null, no `</`)."""
    text = json.dumps(_finite(value), default=str, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _caller(request: Request, settings, insecure: bool) -> Caller | None:
    """Who is asking: the bearer header's key, else the session cookie's (anyone, when --insecure)."""
    if insecure:
        return Caller("insecure", "admin")
    token = bearer(list(request.scope.get("headers") or []), settings.security.max_header_bytes)
    if token:
        return identify(token, settings)
    return caller_from_session(request.cookies.get(COOKIE, ""), settings)


def create_app(get_state: Callable[[], object], insecure: Callable[[], bool] = lambda: False) -> FastAPI:
    """The dashboard app; `get_state` returns the service's current ServingState."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["chart_json"] = chart_json

    @app.middleware("http")
    async def guard(request: Request, call_next):
        path = request.url.path.removeprefix(request.scope.get("root_path", ""))
        caller = None
        if not path.startswith(("/static/", "/login")):
            caller = _caller(request, get_state().settings, insecure())
        if path.startswith(("/static/", "/login")):
            response = await call_next(request)
        elif caller is None:
            response = render(request, "login.html", {"error": ""}, status=401)
        elif not allowed(caller.role, "/ui" + path.rstrip("/")):
            message = f"The key '{caller.name}' has the role {caller.role}, which may not open this page."
            response = render(request, "login.html", {"error": message}, status=403)
        else:
            response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def render(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return templates.TemplateResponse(request, name, {"root": root, **context}, status_code=status)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_file() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.post("/login")
    def login(request: Request, key: str = Form("")) -> Response:
        root = request.scope.get("root_path", "")
        settings = get_state().settings
        caller = identify(key.strip().encode(), settings) if key.strip().isascii() else None
        session = session_value(caller, settings) if caller else None
        if session is None:
            return render(request, "login.html", {"error": "That key is not a key of this service."}, 401)
        # A planner key (e.g. a product team's) lands on the first page it may open.
        home = next((p for p in HOME_PAGES if allowed(caller.role, "/ui" + p.rstrip("/"))), "/")
        response = RedirectResponse(f"{root}{home}", status_code=303)
        response.set_cookie(
            COOKIE,
            session,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path=root or "/",
        )
        return response

    @app.post("/logout")
    def logout(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        response = RedirectResponse(f"{root}/", status_code=303)
        response.delete_cookie(COOKIE, path=root or "/")
        return response

    def list_query(risk_tier, value_tier, segment, region_tier, q, sort, desc, page) -> retention.ListQuery:
        chosen = (risk_tier, value_tier, segment, region_tier)
        filters = {col: values or [] for col, values in zip(retention.FILTERS, chosen, strict=True)}
        return retention.ListQuery(filters, q, sort, desc, page)

    @app.get("/", response_class=HTMLResponse)
    def at_risk_page(
        request: Request,
        risk_tier: Choices = None,
        value_tier: Choices = None,
        segment: Choices = None,
        region_tier: Choices = None,
        q: str = "",
        sort: str = "",
        desc: bool = True,
        page: int = 1,
    ) -> HTMLResponse:
        state = get_state()
        latest = state.latest
        if latest is None:
            return render(request, "empty.html", {"page": "retention"})
        query = list_query(risk_tier, value_tier, segment, region_tier, q, sort, desc, page)
        return render(
            request,
            "retention.html",
            {
                "page": "retention",
                "day": latest.day,
                "model_version": getattr(state.churn, "version", None),
                "tiles": retention.tiles(latest.at_risk),
                "list": retention.list_page(latest.at_risk, query),
                "query": query,
                "filters": retention.FILTERS,
                "sortable": retention.SORTABLE,
                "params": urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page"]),
            },
        )

    @app.get("/at_risk.csv")
    def at_risk_csv(
        risk_tier: Choices = None,
        value_tier: Choices = None,
        segment: Choices = None,
        region_tier: Choices = None,
        q: str = "",
        sort: str = "",
        desc: bool = True,
    ) -> Response:
        latest = get_state().latest
        if latest is None:
            return Response("no at-risk list yet; run `needradar daily` first\n", status_code=404)
        query = list_query(risk_tier, value_tier, segment, region_tier, q, sort, desc, 1)
        body = retention.filter_list(latest.at_risk, query).to_csv(index=False)
        return Response(
            body,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="at_risk_{latest.day}.csv"'},
        )

    @app.get("/customer/{customer_id}", response_class=HTMLResponse)
    def customer_page(request: Request, customer_id: str) -> HTMLResponse:
        state = get_state()
        latest = state.latest
        hit = None if latest is None else latest.at_risk[latest.at_risk["customer_id"] == customer_id]
        if hit is None or hit.empty:
            context = {"page": "retention", "what": f"customer {customer_id}"}
            return render(request, "not_found.html", context, 404)
        row = hit.iloc[0]
        reasons = retention.reasons(row)
        history = retention.probability_history(state.days, customer_id)
        return render(
            request,
            "customer.html",
            {
                "page": "retention",
                "day": latest.day,
                "row": row.to_dict(),
                "reasons": reasons,
                "population": retention.against_population(
                    latest.vectors, customer_id, [r["feature"] for r in reasons]
                ),
                "charts": {
                    "history": {
                        "data": [
                            {
                                "type": "scatter",
                                "mode": "lines+markers",
                                "x": [h["day"] for h in history],
                                "y": [h["churn_probability"] for h in history],
                            }
                        ],
                        "layout": {
                            "title": {"text": "Churn probability on each stored day"},
                            "height": 260,
                            "yaxis": {"rangemode": "tozero"},
                        },
                    },
                    "reasons": retention.waterfall(reasons),
                },
            },
        )

    @app.get("/volumes", response_class=HTMLResponse)
    def volumes_page(request: Request, series: str = "tickets/total") -> HTMLResponse:
        state = get_state()
        latest = state.latest
        if latest is None or latest.forecast is None:
            return render(request, "empty.html", {"page": "volumes"})
        ids = sorted(latest.forecast["series_id"].unique())
        series = series if series in ids else ids[0]
        model = getattr(state.volume, "model", None)
        history = getattr(model, "history_", {}).get(series)
        charts = {"volume": operations.volume_chart(history, latest.forecast, series)}
        if latest.staffing is not None and len(latest.staffing):
            charts["staffing"] = operations.staffing_heatmap(latest.staffing)
        return render(
            request,
            "volumes.html",
            {
                "page": "volumes",
                "day": latest.day,
                "series": series,
                "series_ids": ids,
                "mase": getattr(model, "backtest_mase_", {}).get(series),
                "volume_model": state.volume,
                "alerts": [a for a in latest.alerts if a.get("kind") == "volume"],
                "charts": charts,
            },
        )

    @app.get("/service", response_class=HTMLResponse)
    def service_page(request: Request) -> HTMLResponse:
        state = get_state()
        root = state.settings.path("output")
        history = operations.kpi_history(root)
        latest_day = history["day"].max() if len(history) else None
        today = history[history["day"] == latest_day] if latest_day else pd.DataFrame()
        return render(
            request,
            "service.html",
            {
                "page": "service",
                "day": latest_day,
                "kpis": today.drop(columns=["day"]).to_dict("records") if len(today) else [],
                "charts": {f"kpi{i}": c for i, c in enumerate(operations.kpi_charts(history))},
                "alerts": operations.alerts_by_level(state.latest.alerts if state.latest else []),
            },
        )

    @app.get("/needs", response_class=HTMLResponse)
    def needs_page(
        request: Request,
        product_area: Choices = None,
        type: Choices = None,  # named after the backlog's column, like the other filters
        priority: Choices = None,
        page: int = 1,
    ) -> HTMLResponse:
        state = get_state()
        latest = state.latest
        if latest is None or latest.needs is None:
            return render(request, "empty.html", {"page": "needs"})
        settings = state.settings
        day_dir = settings.path("output") / latest.day
        chosen = {"product_area": product_area or [], "type": type or [], "priority": priority or []}
        spots = needs.hot_spots(day_dir, latest.alerts, settings)
        rates = needs.negative_rates(day_dir)
        mix = needs.class_mix(day_dir)
        threshold = settings.requirements.hot_feature_weekly_requests
        limit = settings.alerts.negative_review_rate
        charts = {}
        if len(spots):
            charts["hot_spots"] = needs.hot_spot_chart(spots, threshold)
        if len(rates):
            charts["negative"] = needs.negative_rate_chart(rates, limit)
        if len(mix):
            charts["class_mix"] = needs.class_mix_chart(mix)
        return render(
            request,
            "needs.html",
            {
                "page": "needs",
                "day": latest.day,
                "backlog": needs.backlog_page(latest.needs, latest.day, chosen, page),
                "chosen": chosen,
                "filters": needs.FILTERS,
                "spots": spots.to_dict("records"),
                "rates": rates.to_dict("records"),
                "threshold": threshold,
                "limit": limit,
                "min_texts": settings.needs.negative_rate_min_texts,
                "charts": charts,
                "params": urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page"]),
            },
        )

    @app.get("/models", response_class=HTMLResponse)
    def models_page(request: Request) -> HTMLResponse:
        from experiments.registry import list_versions

        state = get_state()
        root = state.settings.path("output")
        versions = list_versions(state.settings)
        return render(
            request,
            "models.html",
            {
                "page": "models",
                "champions": {"churn": state.churn, "volume": state.volume},
                "versions": versions.fillna("").to_dict("records") if len(versions) else [],
                "drift": operations.drift_history(root),
                "decay": operations.decay_history(root),
                "tracking_uri": state.settings.tracking_uri,
            },
        )

    @app.get("/report/{day}/drift.html")
    def drift_report(day: str) -> Response:
        folders = {p.name: p for p in finished_days(get_state().settings.path("output"))}
        if day not in folders or not (folders[day] / "drift.html").exists():
            return Response(f"no drift report for {day}\n", status_code=404)
        # Evidently's report carries its own inline scripts; still nothing from another host.
        return FileResponse(
            folders[day] / "drift.html",
            media_type="text/html",
            headers={"Content-Security-Policy": REPORT_CSP},
        )

    return app

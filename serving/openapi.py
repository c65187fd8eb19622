"""The API's own OpenAPI document and docs page: needradar's name and version, the bearer scheme
and the error responses every endpoint can give (BentoML's default names none of them)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

OPEN = ("/livez", "/readyz", "/healthz", "/metrics")
ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}
ERRORS = {
    "401": "missing or wrong API key (send `Authorization: Bearer <NEEDRADAR_API_KEY>`)",
    "403": "the key is not allowed this endpoint",
    "413": "more items than `serving.max_batch`",
    "422": "invalid input; `field` names the field",
}


def needradar_openapi(spec: dict[str, Any], version: str) -> dict[str, Any]:
    """BentoML's generated document with needradar's info, the bearer scheme and error responses."""
    spec = {**spec}
    spec["info"] = {
        "title": "needradar",
        "version": version,
        "description": "Churn risk with reasons and actions, volume forecasts and staffing. "
        "Every endpoint but health, readiness and metrics needs `Authorization: Bearer <key>`.",
        "license": {"name": "Apache-2.0"},
    }
    components = spec.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
    components.setdefault("schemas", {})["Error"] = ERROR
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in spec.get("paths", {}).items():
        if path.startswith(OPEN):
            continue
        for op in operations.values():
            if not isinstance(op, dict):
                continue
            op["security"] = [{"bearer": []}]
            responses = op.setdefault("responses", {})
            for code, text in ERRORS.items():
                responses.setdefault(code, {"description": text, "content": body})
    return spec


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>needradar API</title>
<link rel="stylesheet" href="/static_content/swagger-ui.css"><link rel="icon" href="data:,"></head>
<body><div id="swagger-ui"></div>
<script src="/static_content/swagger-ui-bundle.js"></script>
<script src="/static_content/swagger-ui-standalone-preset.js"></script>
<script src="/docs.js"></script></body></html>
"""
DOCS_SCRIPT = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/docs.json", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout",
  });
};
"""
# BentoML's own page loads a tag manager from another host; this one only loads from the server.
DOCS_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"


def docs_app(spec_source) -> Starlette:
    """/docs (Swagger UI from BentoML's bundled assets) and /docs.json (the document above)."""

    async def docs(_: Request) -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE, headers={"Content-Security-Policy": DOCS_CSP})

    async def script(_: Request) -> Response:
        return Response(DOCS_SCRIPT, media_type="text/javascript")

    async def document(_: Request) -> JSONResponse:
        from importlib.metadata import version

        return JSONResponse(needradar_openapi(spec_source(), version("needradar")))

    return Starlette(routes=[Route("/docs", docs), Route("/docs.js", script), Route("/docs.json", document)])

"""Stage time stamps: the guard writes one line per request only when NEEDRADAR_TIMING is set."""

from __future__ import annotations

import asyncio
import json

from core import timing
from serving.guard import GuardMiddleware

KEY = "timing-test-key-01"


async def _app(scope, receive, send):
    """A stand-in endpoint that marks a stage, as the service's handlers do."""
    await receive()
    timing.mark("handler")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _request(guard: GuardMiddleware) -> int:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/score",
        "headers": [(b"authorization", f"Bearer {KEY}".encode())],
        "client": ("127.0.0.1", 1),
    }
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"]


def test_stages_are_written_in_request_order(settings, tmp_path, monkeypatch):
    stamps = tmp_path / "timing.jsonl"
    monkeypatch.setenv("NEEDRADAR_TIMING", str(stamps))
    guard = GuardMiddleware(_app, settings=settings.model_copy(update={"api_key": KEY}))
    assert _request(guard) == 200
    assert _request(guard) == 200
    lines = [json.loads(x) for x in stamps.read_text().splitlines()]
    assert len(lines) == 2
    stages = ["checked", "body_read", "handler", "response_start", "response_sent", "audit_written"]
    assert list(lines[0]) == ["path", *stages]
    assert lines[0]["path"] == "/score"
    at = [lines[0][s] for s in stages]
    assert at == sorted(at) and at[0] >= 0


def test_off_by_default(settings, monkeypatch):
    monkeypatch.delenv("NEEDRADAR_TIMING", raising=False)
    guard = GuardMiddleware(_app, settings=settings.model_copy(update={"api_key": KEY}))
    assert _request(guard) == 200
    assert timing.start() is None
    timing.mark("outside")  # no record open: a no-op
    assert timing._record.get() is None

"""The concurrency gate: refusals past the bound are immediate, cheap and say when to retry."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from bentoml._internal.server.http.traffic import TimeoutMiddleware
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from serving.gate import ConcurrencyGate, install, per_worker


class SlowApp:
    """An ASGI app whose answers wait until released, so that requests stay in flight."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0

    async def __call__(self, scope, receive, send) -> None:
        self.calls += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def _call(app, path: str = "/score") -> tuple[int, dict, bytes]:
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app({"type": "http", "method": "POST", "path": path, "headers": []}, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def test_refuses_past_the_bound_at_once_and_recovers():
    async def main():
        inner = SlowApp()
        gate = ConcurrencyGate(inner, limit=2)
        admitted = [asyncio.create_task(_call(gate)) for _ in range(2)]
        await asyncio.sleep(0.01)
        status, headers, body = await asyncio.wait_for(_call(gate), 1)  # answered while 2 wait
        health = asyncio.create_task(_call(gate, "/livez"))  # health checks always pass
        await asyncio.sleep(0.01)
        assert inner.calls == 3 and gate.in_flight == 2
        inner.release.set()
        done = [s for s, _, _ in await asyncio.gather(*admitted, health)]
        after = (await _call(gate))[0]
        return status, headers, body, done, after, gate

    status, headers, body, done, after, gate = asyncio.run(main())
    assert status == 429 and headers[b"retry-after"] == b"1"
    assert json.loads(body) == {"error": "over 2 requests in flight; retry in 1 s", "field": None}
    assert headers[b"content-length"] == str(len(body)).encode()
    assert done == [200, 200, 200] and after == 200
    assert gate.in_flight == 0 and gate.refused == 1


def test_a_refusal_costs_microseconds():
    """The point of the gate: refusing must not compete with the admitted requests for CPU."""

    async def main(n: int) -> float:
        inner = SlowApp()
        gate = ConcurrencyGate(inner, limit=1)
        held = asyncio.create_task(_call(gate))
        await asyncio.sleep(0.01)
        t0 = time.process_time()
        for _ in range(n):
            await _call(gate)
        cpu = time.process_time() - t0
        inner.release.set()
        await held
        assert gate.refused == n
        return cpu / n

    assert asyncio.run(main(20_000)) < 50e-6


async def _started(app) -> asyncio.Task:
    """Run the app's lifespan startup (its first call, which builds the middleware stack)."""
    done, stop = asyncio.Event(), asyncio.Event()
    messages = iter([{"type": "lifespan.startup"}])

    async def receive():
        message = next(messages, None)
        if message is None:
            await stop.wait()
            return {"type": "lifespan.shutdown"}
        return message

    async def send(message):
        if message["type"] == "lifespan.startup.complete":
            done.set()

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    await asyncio.wait_for(done.wait(), 5)
    task.stop = stop  # type: ignore[attr-defined]
    return task


def test_installed_in_front_of_every_middleware_of_a_started_app():
    order: list[str] = []

    class Inner:
        def __init__(self, app) -> None:
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                order.append("middleware")
            await self.app(scope, receive, send)

    async def hello(request):
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/score", hello, methods=["POST"])])
    app.add_middleware(Inner)
    app.add_middleware(TimeoutMiddleware, timeout=7.5)  # BentoML's, outside ours as in BentoML
    with pytest.raises(RuntimeError, match="has started"):
        install(app, 1)

    async def main():
        lifespan = await _started(app)
        gate = install(app, 1)
        assert install(app, 1) is gate  # a second install keeps the one gate
        assert gate.timeout == 7.5 and not any(isinstance(m, TimeoutMiddleware) for m in _chain(gate))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answered = await client.post("/score")
            gate.in_flight = 1  # as if one request were being served
            refused = await client.post("/score")
        lifespan.stop.set()
        await lifespan
        return answered, refused

    answered, refused = asyncio.run(main())
    assert answered.json() == {"ok": True}
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert order == ["middleware"]  # the refused request met no middleware


@pytest.mark.parametrize(("total", "workers", "each"), [(64, 1, 64), (64, 2, 32), (5, 2, 3), (1, 4, 1)])
def test_bound_split_between_workers(total, workers, each):
    assert per_worker(total, workers) == each


def _chain(app) -> list:
    out = []
    while (app := getattr(app, "app", None)) is not None:
        out.append(app)
    return out


def test_an_answer_not_started_in_time_gets_504_one_started_is_not_cut():
    async def streaming(scope, receive, send):  # starts at once, finishes after the timeout
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0.2)
        await send({"type": "http.response.body", "body": b"{}"})

    async def main():
        slow = SlowApp()  # never answers unless released
        gate = ConcurrencyGate(slow, limit=4, timeout=0.05)
        late = await asyncio.wait_for(_call(gate), 2)
        answered = await _call(ConcurrencyGate(streaming, limit=4, timeout=0.05))
        return late, answered, gate

    (status, _, body), answered, gate = asyncio.run(main())
    assert status == 504 and json.loads(body) == {"error": "not answered within 0.05 seconds", "field": None}
    assert answered[0] == 200 and answered[2] == b"{}"
    assert gate.in_flight == 0

"""The concurrency gate: past a bound of requests in flight, a worker refuses at once.

BentoML's own bound (`traffic.max_concurrency`, a semaphore per worker, answering 429) sits
behind its metrics, tracing and timeout middlewares, so by the time it refuses, a request has
already cost about as much CPU as a `/livez` answer; under overload those refusals compete with
the admitted requests for the same event loop and come back late (p99 765 ms at 3 x 400
requests/s, docs/benchmarks.md). The gate is a pure ASGI callable placed in front of all of them
(`install`): a refusal is a counter check and two `send` calls with a prebuilt 429 answer, a JSON
body and `Retry-After`, so refusing costs microseconds and the worker's time goes to the requests
it admitted. Health, readiness and metrics paths always pass.

The gate also keeps the request timeout, in place of BentoML's `TimeoutMiddleware`, which it takes
out of the chain: that middleware arms a timer per request and never cancels it, so every request
left six objects (timer, future, context, ...) alive for the whole timeout (30 s). At 400
requests/s those were 50,000 objects that each full garbage collection had to walk, every 3 s,
for 20-40 ms of CPU with the event loop stopped (docs/benchmarks.md). The gate's timer is
cancelled when the answer starts; past the timeout with no answer started it answers 504, as
BentoML did.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any

from bentoml._internal.server.http.traffic import TimeoutMiddleware

logger = logging.getLogger(__name__)
ALWAYS_PASS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})
RETRY_AFTER_SECONDS = 1


def per_worker(max_concurrency: int, workers: int) -> int:
    """A service-wide bound split between the workers, as BentoML splits `max_concurrency`."""
    return max(1, math.ceil(max_concurrency / max(1, workers)))


def _answer(status: int, payload: dict, headers: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[dict, dict]:
    """The two ASGI messages of a small JSON answer."""
    body = json.dumps(payload).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class ConcurrencyGate:
    """Admits up to `limit` requests at a time (open paths aside) and refuses the rest with 429;
    an admitted request whose answer has not started after `timeout` seconds gets 504.

    Args:
        app: the ASGI app behind the gate.
        limit: requests in flight in this worker at most.
        timeout: seconds until the answer must have started (None: no limit).
    """

    def __init__(self, app, limit: int, timeout: float | None = None) -> None:
        self.app, self.limit, self.timeout = app, limit, timeout
        self.in_flight = 0
        self.refused = 0
        self._refusal = _answer(
            429,
            {"error": f"over {limit} requests in flight; retry in {RETRY_AFTER_SECONDS} s", "field": None},
            ((b"retry-after", str(RETRY_AFTER_SECONDS).encode()),),
        )
        self._too_slow = _answer(504, {"error": f"not answered within {timeout} seconds", "field": None})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in ALWAYS_PASS:
            return await self.app(scope, receive, send)
        if self.in_flight >= self.limit:
            self.refused += 1
            for message in self._refusal:
                await send(message)
            return
        self.in_flight += 1
        try:
            if self.timeout is None:
                return await self.app(scope, receive, send)
            await self._within_timeout(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _within_timeout(self, scope, receive, send) -> None:
        started = False
        deadline = asyncio.timeout(self.timeout)

        async def sending(message) -> None:
            nonlocal started
            if not started and message["type"] == "http.response.start":
                started = True
                deadline.reschedule(None)  # answering: no more deadline, and the timer is gone
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive, sending)
        except TimeoutError:
            if not deadline.expired():  # raised by the app itself
                raise
            if not started:
                for message in self._too_slow:
                    await send(message)


def _take_out_timeouts(chain) -> float | None:
    """Remove BentoML's `TimeoutMiddleware` from a middleware chain (each middleware holds the
    next one as `.app`); its timeout, or None when the chain has none."""
    timeout, node = None, chain
    while (inner := getattr(node, "app", None)) is not None:
        if isinstance(inner, TimeoutMiddleware):
            timeout = inner.timeout
            node.app = inner.app
            continue
        node = inner
    return timeout


def install(starlette_app: Any, limit: int) -> ConcurrencyGate:
    """Put a gate in front of every middleware of a running Starlette app (BentoML's included),
    keeping BentoML's request timeout in the gate.

    Starlette keeps its whole middleware chain in `middleware_stack`, built by the first call it
    gets (the lifespan startup, before any request); wrapping that chain there makes the gate the
    first code a request meets after Starlette itself.
    """
    if getattr(starlette_app, "middleware_stack", None) is None:
        raise RuntimeError("the concurrency gate needs a Starlette app that has started")
    if isinstance(starlette_app.middleware_stack, ConcurrencyGate):  # a second lifespan: once only
        return starlette_app.middleware_stack
    timeout = _take_out_timeouts(starlette_app.middleware_stack)
    gate = ConcurrencyGate(starlette_app.middleware_stack, limit, timeout)
    starlette_app.middleware_stack = gate
    logger.info("concurrency gate: %d requests in flight per worker, timeout %s s", limit, timeout)
    return gate

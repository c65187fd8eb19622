"""The concurrency gate: past a bound of requests in flight, a worker refuses at once.

BentoML's own bound (`traffic.max_concurrency`, a semaphore per worker, answering 429) sits
behind its metrics, tracing and timeout middlewares, so by the time it refuses, a request has
already cost about as much CPU as a `/livez` answer; under overload those refusals compete with
the admitted requests for the same event loop and come back late (p99 765 ms at 3 x 400
requests/s, docs/benchmarks.md). The gate is a pure ASGI callable placed in front of all of them
(`install`): a refusal is a counter check and two `send` calls with a prebuilt 429 answer, a JSON
body and `Retry-After`, so refusing costs microseconds and the worker's time goes to the requests
it admitted. Health, readiness and metrics paths always pass.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

logger = logging.getLogger(__name__)
ALWAYS_PASS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})
RETRY_AFTER_SECONDS = 1


def per_worker(max_concurrency: int, workers: int) -> int:
    """A service-wide bound split between the workers, as BentoML splits `max_concurrency`."""
    return max(1, math.ceil(max_concurrency / max(1, workers)))


class ConcurrencyGate:
    """Admits up to `limit` requests at a time (open paths aside) and refuses the rest with 429.

    Args:
        app: the ASGI app behind the gate.
        limit: requests in flight in this worker at most.
    """

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit
        self.in_flight = 0
        self.refused = 0
        body = json.dumps(
            {"error": f"over {limit} requests in flight; retry in {RETRY_AFTER_SECONDS} s", "field": None}
        ).encode()
        self._start = {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
        self._body = {"type": "http.response.body", "body": body}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in ALWAYS_PASS:
            return await self.app(scope, receive, send)
        if self.in_flight >= self.limit:
            self.refused += 1
            await send(self._start)
            await send(self._body)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def install(starlette_app: Any, limit: int) -> ConcurrencyGate:
    """Put a gate in front of every middleware of a running Starlette app (BentoML's included).

    Starlette keeps its whole middleware chain in `middleware_stack`, built by the first call it
    gets (the lifespan startup, before any request); wrapping that chain there makes the gate the
    first code a request meets after Starlette itself.
    """
    if getattr(starlette_app, "middleware_stack", None) is None:
        raise RuntimeError("the concurrency gate needs a Starlette app that has started")
    if isinstance(starlette_app.middleware_stack, ConcurrencyGate):  # a second lifespan: once only
        return starlette_app.middleware_stack
    gate = ConcurrencyGate(starlette_app.middleware_stack, limit)
    starlette_app.middleware_stack = gate
    logger.info("concurrency gate: %d requests in flight per worker", limit)
    return gate

"""Micro-batching: concurrent /score requests for stored customers are scored in one call.

Scoring one customer costs a few milliseconds, almost all of it fixed per call (frame
building, the booster's and TreeSHAP's entry costs); fifty customers cost about five times
one. While a batch is being scored, the requests that arrive wait and form the next batch,
so a busy server scores in bulk and an idle one answers at once, without a timer.

Small batches are scored on the event loop itself (`inline_rows`): a call of a millisecond or
two is cheaper there than the hand-over to a thread and back, and a thread would only contend
with the loop for the GIL meanwhile. Larger batches go to a thread so that the loop keeps
answering health checks while they run: the batcher's own single thread, started before the
service says it is ready (one batch runs at a time anyway), rather than `asyncio.to_thread`'s
shared pool, which starts its threads on first use while the event loop waits for each.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

ScoreFn = Callable[[Any, list[str]], dict[str, dict]]


@dataclass
class _Request:
    key: Hashable
    context: Any
    ids: list[str]
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Gathers `submit` calls and runs `score(context, ids) -> {id: result}` once per batch.

    Args:
        score: the blocking scoring function; it runs in a worker thread.
        max_rows: rows per call at most (a larger single request still goes alone).
        inline_rows: batches of at most this many rows run on the event loop instead.
    """

    def __init__(self, score: ScoreFn, max_rows: int, inline_rows: int = 0) -> None:
        self.score = score
        self.max_rows = max_rows
        self.inline_rows = inline_rows
        self._pending: list[_Request] = []
        self._worker: asyncio.Task | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="needradar-batch")
        self._thread.submit(lambda: None).result()  # started now, not by the first large batch

    async def submit(self, context: Any, ids: list[str]) -> dict[str, dict]:
        """Results for `ids`, scored with `context` (requests share a call only with the same one)."""
        request = _Request(id(context), context, ids, asyncio.get_running_loop().create_future())
        self._pending.append(request)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await request.future

    def _next_batch(self) -> list[_Request]:
        key, rows, batch = self._pending[0].key, 0, []
        for r in list(self._pending):
            if r.key == key and (not batch or rows + len(r.ids) <= self.max_rows):
                batch.append(r)
                rows += len(r.ids)
                self._pending.remove(r)
        return batch

    async def _drain(self) -> None:
        while self._pending:
            await asyncio.sleep(0)  # requests the loop has already read join this batch
            batch = self._next_batch()
            ids = list(dict.fromkeys(i for r in batch for i in r.ids))
            try:
                if len(ids) <= self.inline_rows:
                    results = self.score(batch[0].context, ids)
                else:
                    # the copied context carries the request's timing record (core/timing.py)
                    call = functools.partial(
                        contextvars.copy_context().run, self.score, batch[0].context, ids
                    )
                    results = await asyncio.get_running_loop().run_in_executor(self._thread, call)
            except Exception as e:  # every waiting request gets the error, the server stays up
                for r in batch:
                    if not r.future.done():  # done: the client went away
                        r.future.set_exception(e)
                continue
            for r in batch:
                if not r.future.done():
                    r.future.set_result({i: results[i] for i in r.ids})

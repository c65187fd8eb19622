"""Where a request's time goes: time stamps at each stage, for profiling the running service.

Off unless `NEEDRADAR_TIMING` names a file; then the guard opens a record per checked request,
the service and the scoring function mark their stages, and the guard appends one JSON line of
milliseconds since the request reached it. The stamps are the process's CPU time
(`time.process_time`), not the wall clock: on a shared machine the wall clock also counts the
time other programs held the CPU, while the CPU time of a worker serving one client at a time is
this request's own work. The record follows the request through
`asyncio.to_thread` (the context is copied); a micro-batch of several requests marks its scoring
stages in the record of the request that started the batch only, so profile with one client.
"""

from __future__ import annotations

import json
import os
import time
from contextvars import ContextVar, Token

_record: ContextVar[dict[str, float] | None] = ContextVar("needradar_timing", default=None)


def enabled() -> bool:
    return bool(os.environ.get("NEEDRADAR_TIMING"))


def start() -> Token | None:
    """Open a record for this request (None when timing is off)."""
    if not enabled():
        return None
    return _record.set({"start": time.process_time()})


def mark(stage: str) -> None:
    """Stamp `stage` in the current request's record; nothing when there is none."""
    record = _record.get()
    if record is not None:
        record[stage] = time.process_time()


def finish(token: Token | None, path: str) -> None:
    """Append the record as `{"path": ..., stage: ms since start, ...}` and close it."""
    if token is None:
        return
    record = _record.get() or {}
    _record.reset(token)
    t0 = record.pop("start", time.process_time())
    line = {"path": path, **{k: round((v - t0) * 1000, 3) for k, v in record.items()}}
    fd = os.open(os.environ["NEEDRADAR_TIMING"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(line) + "\n").encode())
    finally:
        os.close(fd)

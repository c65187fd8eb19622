"""Inter-process file locks: one writer at a time across commands, workers and machines' processes."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import NeedradarError


@contextmanager
def file_lock(path: str | Path, timeout: float = 120.0) -> Iterator[None]:
    """Hold an exclusive `flock` on `path` (created if absent) for the duration of the block.

    The lock dies with its process, so a crash never leaves a stale lock behind.

    Raises:
        NeedradarError: another process held the lock for longer than `timeout` seconds.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise NeedradarError(
                        f"{path}: another needradar process holds this lock; try again when it finishes"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

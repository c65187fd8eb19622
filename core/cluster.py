"""Where heavy work runs: in this process, or on a Dask cluster named by an address.

`local` or `local:N` starts a LocalCluster of N worker processes (one thread each) for the
command and closes it after; `tcp://host:port` (or `host:port`) joins a cluster someone already
runs (`dask scheduler` / `dask worker`, Kubernetes, YARN). No address: everything stays in-process.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from core.errors import NeedradarError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from distributed import Client

logger = logging.getLogger(__name__)

LOCAL = re.compile(r"^local(?::(\d+))?$")
REMOTE = re.compile(r"^(?:tcp|tls|ucx)://[^\s/:]+:\d+$|^[^\s/:]+:\d+$")
CONNECT_TIMEOUT_S = 5


def check_address(address: str) -> str:
    """Return `address` if it names a local cluster or a scheduler, else raise a one-line error."""
    address = address.strip()
    local = LOCAL.match(address)
    if local and local.group(1) is not None and int(local.group(1)) < 1:
        raise NeedradarError(f"--dask {address}: a local cluster needs at least 1 worker")
    if not local and not REMOTE.match(address):
        raise NeedradarError(
            f"--dask {address!r}: expected 'local', 'local:N' or a scheduler address like tcp://10.0.0.5:8786"
        )
    return address


@contextmanager
def dask_client(address: str | None) -> Iterator[Client | None]:
    """A Dask client for `address` for the length of the block; None means in-process."""
    if not address:
        yield None
        return
    address = check_address(address)
    from distributed import Client, LocalCluster

    local = LOCAL.match(address)
    if local:
        workers = int(local.group(1) or min(os.cpu_count() or 2, 4))
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, dashboard_address=None, processes=True
            ) as cluster,
            Client(cluster) as client,
        ):
            logger.info("started a local Dask cluster of %d workers", workers)
            yield client
        return
    target = address if "://" in address else f"tcp://{address}"
    try:
        client = Client(target, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError) as e:
        raise NeedradarError(
            f"--dask {address}: no Dask scheduler answered within {CONNECT_TIMEOUT_S} s ({type(e).__name__})"
        ) from e
    with client:
        logger.info(
            "joined the Dask cluster at %s (%d workers)", address, len(client.scheduler_info()["workers"])
        )
        yield client

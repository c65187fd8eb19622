"""Where heavy work runs: in this process, or on a Dask cluster named by an address.

`local` or `local:N` starts a LocalCluster of N worker processes (one thread each) for the
command and closes it after; `tcp://host:port` (or `host:port`) joins a cluster someone already
runs (`dask scheduler` / `dask worker`, Kubernetes, YARN). No address: everything stays in-process.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from core.errors import NeedradarError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from distributed import Client

logger = logging.getLogger(__name__)

LOCAL = re.compile(r"^local(?::(\d+))?$")
REMOTE = re.compile(r"^(?:tcp|tls|ucx)://[^\s/:]+:\d+$|^[^\s/:]+:\d+$")
CONNECT_TIMEOUT_S = 5
# Dask settings of the clusters `local:N` starts (docs/scaling.md says what to set on an external
# cluster). Dask's statistical profiler samples every thread of a worker every 10 ms, for its
# dashboard's profile page, which a command's cluster never shows: measured on the forecast
# fits, it costs CPU in every task (benchmarks/bench_dask_task_cpu.py, docs/benchmarks.md).
LOCAL_CLUSTER_CONFIG = {"distributed.worker.profile.enabled": False}


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
        import dask

        workers = int(local.group(1) or min(os.cpu_count() or 2, 4))
        environ = dict(os.environ)
        with dask.config.set(LOCAL_CLUSTER_CONFIG):  # read by the nannies and workers as they start
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None)
        # Each nanny writes its `pre-spawn-environ` (OMP_NUM_THREADS=1, MALLOC_TRIM_THRESHOLD_...)
        # into this process's environment to pass it to its worker; the command's own later
        # children (Stan, joblib) keep the environment the user gave it.
        for key in set(os.environ) - set(environ):
            del os.environ[key]
        os.environ.update(environ)
        with cluster, Client(cluster) as client:
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


def workers_of(client: Client) -> int:
    """How many workers the cluster has now."""
    return len(client.scheduler_info()["workers"])


def gather(client: Client, futures: list, what: str) -> list:
    """The futures' results in order, or one clear line when workers died under them.

    A task whose worker dies is rerun on another (up to `distributed.scheduler.allowed-failures`
    times) when its inputs can be recomputed, as a partition read from a bucketed dataset can;
    data scattered from this process dies with the only worker that held it.
    """
    from concurrent.futures import CancelledError

    from distributed import KilledWorker

    try:
        return client.gather(futures)
    except KilledWorker as e:
        raise NeedradarError(
            f"{what}: Dask workers died while running it, more often than "
            "distributed.scheduler.allowed-failures allows; nothing was written. "
            "Check the workers' memory and logs, then run the command again"
        ) from e
    except CancelledError as e:
        raise NeedradarError(
            f"{what}: a Dask worker died holding data sent from this process, which no other "
            "worker had; nothing was written. Run the command again"
        ) from e


def map_frame(client: Client, fn, frame, parts: int | None = None, what: str = "work", **kwargs):
    """`fn(chunk, **kwargs)` on consecutive row chunks of `frame` on the cluster, stacked in order.

    `fn` must treat every row on its own, so that the result equals `fn(frame, **kwargs)`. Large
    kwargs (a model) should be scattered by the caller once (`client.scatter(x, broadcast=True)`).
    """
    import numpy as np
    import pandas as pd

    parts = parts or max(2 * workers_of(client), 2)
    bounds = np.linspace(0, len(frame), min(parts, max(len(frame), 1)) + 1).astype(int)
    chunks = [frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    futures = client.map(fn, client.scatter(chunks), pure=False, **kwargs)
    return pd.concat(gather(client, futures, what), ignore_index=True)


def map_tasks(
    client: Client | None,
    fn,
    jobs: list[tuple],
    n_jobs: int = 1,
    what: str = "work",
    on_done: Callable[[int], None] | None = None,
) -> list:
    """`fn(*job)` for every job, in order: as Dask tasks on the cluster, else with joblib here.

    `on_done(i)` is called in this thread as job `i` finishes, in the order they finish (for
    progress bars); the results come back in the jobs' order all the same.
    """
    done = on_done or (lambda i: None)
    if client is None:
        if n_jobs <= 1 or len(jobs) <= 1:
            out = []
            for i, job in enumerate(jobs):
                out.append(fn(*job))
                done(i)
            return out
        from joblib import Parallel, delayed

        results = [None] * len(jobs)
        parallel = Parallel(n_jobs=min(n_jobs, len(jobs)), return_as="generator_unordered")
        for i, result in parallel(delayed(_numbered)(i, fn, job) for i, job in enumerate(jobs)):
            results[i] = result
            done(i)
        return results
    if not jobs:
        return []
    from distributed import as_completed

    futures = client.map(fn, *zip(*jobs, strict=True), pure=False)
    number = {f.key: i for i, f in enumerate(futures)}
    for future in as_completed(futures):
        if future.status != "finished":
            break  # gather raises the failure below
        done(number[future.key])
    return gather(client, futures, what)


def _numbered(i: int, fn, job: tuple) -> tuple:
    return i, fn(*job)


def _call(fn, args: tuple):
    return fn(*args)


def run_calls(
    client: Client | None,
    calls: list[tuple],
    n_jobs: int = 1,
    what: str = "work",
    on_done: Callable[[int], None] | None = None,
) -> list:
    """`fn(*args)` for every `(fn, args)` in `calls`, in order, all submitted at once (as Dask
    tasks on the cluster, else with joblib here), so that no worker waits for a slower group of
    calls before it gets the next. `on_done(i)` as in map_tasks."""
    return map_tasks(client, _call, list(calls), n_jobs, what, on_done)

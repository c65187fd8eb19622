"""A Dask worker killed mid-run: its tasks are rerun on the other worker, or the command fails
with one line and writes nothing."""

from __future__ import annotations

import os
import signal
import threading
import time

import dask
import pandas as pd
import pytest
from distributed import Client, LocalCluster
from typer.testing import CliRunner

from core.errors import NeedradarError
from features.distributed import vectors_on_cluster
from features.load import load_event_data, read_raw_tables
from features.partition import write_partitioned
from features.vectors import build_vectors
from needradar.cli import app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dataset(sample_dir, tmp_path_factory):
    return write_partitioned(read_raw_tables(sample_dir), tmp_path_factory.mktemp("parts") / "d", buckets=8)


@pytest.fixture(scope="module")
def as_of(sample):
    return f"{sample.events.last_event_ts() - pd.Timedelta(days=20):%Y-%m-%d}"


def kill_a_busy_worker(client: Client, timeout: float = 120) -> None:
    """SIGKILL the process of a worker as soon as it is running one of our tasks."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            return
        time.sleep(0.02)
    raise AssertionError("no task started on a worker")


def local_cluster(allowed_failures: int):
    with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, processes=True)
    return cluster


def test_a_killed_workers_tasks_are_rerun_and_the_result_is_the_same(dataset, settings, as_of):
    expected = build_vectors(load_event_data(dataset, settings), as_of, settings)
    with local_cluster(allowed_failures=3) as cluster, Client(cluster) as client:
        result = {}
        run = threading.Thread(
            target=lambda: result.update(v=vectors_on_cluster(client, dataset, as_of, settings)[0])
        )
        run.start()
        kill_a_busy_worker(client)
        run.join(timeout=300)
        assert "v" in result
        pd.testing.assert_frame_equal(result["v"], expected)


def test_workers_dying_past_the_allowed_failures_fail_in_one_line_with_no_output(dataset, as_of, tmp_path):
    out = tmp_path / "vectors.parquet"
    with local_cluster(allowed_failures=0) as cluster, Client(cluster) as client:
        outcome = {}
        args = ["features", "build", "--data", str(dataset), "--as-of", as_of, "--out", str(out)]
        run = threading.Thread(
            target=lambda: outcome.update(
                r=CliRunner().invoke(app, [*args, "--dask", cluster.scheduler_address])
            )
        )
        run.start()
        kill_a_busy_worker(client)
        run.join(timeout=300)
    result = outcome["r"]
    assert isinstance(result.exception, NeedradarError), result.output  # the CLI prints it as one line
    message = str(result.exception)
    assert "\n" not in message and "allowed-failures" in message and "nothing was written" in message
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing partial left behind

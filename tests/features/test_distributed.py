"""Vectors on a real Dask cluster equal the single-process vectors, column for column."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

from core.cluster import check_address, dask_client
from core.errors import NeedradarError
from features.distributed import vectors_on_cluster
from features.load import load_event_data, read_raw_tables
from features.partition import dataset_buckets, write_partitioned
from features.vectors import build_vectors

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(cluster):
    return cluster


@pytest.fixture(scope="module")
def as_of(sample):
    return f"{sample.events.last_event_ts() - pd.Timedelta(days=20):%Y-%m-%d}"


def test_in_memory_partitions_equal_one_process(client, sample, settings, as_of):
    expected = build_vectors(sample.events, as_of, settings)
    got, workers = vectors_on_cluster(client, sample.events, as_of, settings)
    pd.testing.assert_frame_equal(got, expected)
    assert len(workers) >= 2  # the work really ran on both worker processes


def test_bucketed_dataset_equals_one_process(client, sample_dir, settings, as_of, tmp_path):
    dataset = write_partitioned(read_raw_tables(sample_dir), tmp_path / "parts", buckets=5)
    assert dataset_buckets(dataset) == [0, 1, 2, 3, 4]
    one_bucket = load_event_data(dataset, settings, bucket=3)
    whole = load_event_data(dataset, settings)
    assert 0 < len(one_bucket.customers) < len(whole.customers)
    expected = build_vectors(whole, as_of, settings)
    got, workers = vectors_on_cluster(client, dataset, as_of, settings)
    pd.testing.assert_frame_equal(got, expected)
    assert len(workers) >= 2
    # the same customers as the original folder, whatever the order of the partitions
    original = build_vectors(load_event_data(sample_dir, settings), as_of, settings)
    assert sorted(got["customer_id"]) == sorted(original["customer_id"])


def test_a_dataset_folder_is_written_whole_or_not_at_all(sample_dir, tmp_path):
    raw = read_raw_tables(sample_dir)
    write_partitioned(raw, tmp_path / "parts", buckets=2)
    with pytest.raises(NeedradarError, match="already exists"):
        write_partitioned(raw, tmp_path / "parts", buckets=2)
    with pytest.raises(NeedradarError, match="no such folder"):
        write_partitioned(raw, tmp_path / "missing" / "parts", buckets=2)
    assert [p.name for p in tmp_path.iterdir()] == ["parts"]  # no staging folder left behind


@pytest.mark.parametrize(
    ("address", "message"),
    [("local:0", "at least 1 worker"), ("http://x", "expected 'local'"), ("somewhere", "expected 'local'")],
)
def test_bad_addresses_are_one_line(address, message):
    with pytest.raises(NeedradarError, match=message):
        check_address(address)


def test_an_unreachable_scheduler_fails_in_seconds_naming_it():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # a port nobody listens on
    start = time.monotonic()
    with pytest.raises(NeedradarError, match=f"127.0.0.1:{port}"), dask_client(f"tcp://127.0.0.1:{port}"):
        pass
    assert time.monotonic() - start < 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 120) -> None:
    """A scheduler started on a busy machine may take a while to listen."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert proc.poll() is None, "the dask scheduler exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"the dask scheduler did not listen on {port} within {seconds} s")


def test_cli_on_a_separately_started_scheduler_and_workers(sample_dir, settings, as_of, tmp_path):
    """As a user with a real cluster would: `dask scheduler`, two `dask worker`, then the CLI."""
    from typer.testing import CliRunner

    from needradar.cli import app

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    procs = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"])]
    try:
        _wait_for_port(port, procs[0])
        worker = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1"]
        procs += [subprocess.Popen([*worker, "--no-dashboard"]) for _ in range(2)]
        runner = CliRunner()
        out = tmp_path / "vectors.parquet"
        args = ["features", "build", "--data", str(sample_dir), "--as-of", as_of, "--out", str(out)]
        result = runner.invoke(app, [*args, "--dask", address])
        assert result.exit_code == 0, result.output
        local = tmp_path / "local.parquet"
        assert runner.invoke(app, [*args[:-1], str(local)]).exit_code == 0
        pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(local))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def test_training_frame_on_the_cluster_equals_one_process(client, sample, settings):
    from features.distributed import training_frame_on_cluster
    from features.labels import build_training_frame, default_cutoffs

    cutoffs = default_cutoffs(sample.events, 30, 30, 3)
    expected = build_training_frame(sample.events, settings, cutoffs, 30)
    got = training_frame_on_cluster(client, sample.events, settings, cutoffs, 30)
    pd.testing.assert_frame_equal(got, expected)

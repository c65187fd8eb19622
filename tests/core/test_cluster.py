"""run_calls: mixed functions, submitted at once, come back in the order they were given, and
report each call as it finishes (progress bars) in the order they finish."""

from __future__ import annotations

import operator
import os
import time

import pytest

from core.cluster import run_calls

CALLS = [(operator.add, (1, 2)), (divmod, (17, 5)), (operator.neg, (4,)), (max, (3, 9, 1))]
EXPECTED = [3, (3, 2), -4, 9]
ENVIRON = dict(os.environ)  # before any cluster started


def nap(seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


# The first call takes longest: on two processes the others finish before it.
SLOW_FIRST = [(nap, (1.5, 0)), (nap, (0.0, 1)), (nap, (0.0, 2)), (nap, (0.0, 3))]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_in_process_calls_keep_their_order(n_jobs):
    assert run_calls(None, CALLS, n_jobs) == EXPECTED


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_each_call_is_reported_as_it_finishes(n_jobs):
    finished = []
    assert run_calls(None, SLOW_FIRST, n_jobs, on_done=finished.append) == [0, 1, 2, 3]
    assert sorted(finished) == [0, 1, 2, 3]
    assert (finished == [0, 1, 2, 3]) == (n_jobs == 1)  # on two processes 0 is not first back


@pytest.mark.slow
def test_cluster_calls_keep_their_order(cluster):
    assert run_calls(cluster, CALLS * 5) == EXPECTED * 5
    assert run_calls(cluster, []) == []
    finished = []
    assert run_calls(cluster, SLOW_FIRST, on_done=finished.append) == [0, 1, 2, 3]
    assert sorted(finished) == [0, 1, 2, 3] and finished[0] != 0


def _profiling() -> bool:
    import dask

    return dask.config.get("distributed.worker.profile.enabled")


@pytest.mark.slow
def test_a_local_cluster_runs_without_the_profiler_and_leaves_this_environment(cluster):
    # The profiler costs CPU in every task; the nannies' pre-spawn environment is the workers'.
    assert set(cluster.run(_profiling).values()) == {False}
    assert os.environ.get("MALLOC_TRIM_THRESHOLD_") == ENVIRON.get("MALLOC_TRIM_THRESHOLD_")
    assert os.environ.get("OMP_NUM_THREADS") == ENVIRON.get("OMP_NUM_THREADS")

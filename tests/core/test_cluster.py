"""run_calls: mixed functions, submitted at once, come back in the order they were given."""

from __future__ import annotations

import operator

import pytest

from core.cluster import run_calls

CALLS = [(operator.add, (1, 2)), (divmod, (17, 5)), (operator.neg, (4,)), (max, (3, 9, 1))]
EXPECTED = [3, (3, 2), -4, 9]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_in_process_calls_keep_their_order(n_jobs):
    assert run_calls(None, CALLS, n_jobs) == EXPECTED


@pytest.mark.slow
def test_cluster_calls_keep_their_order(cluster):
    assert run_calls(cluster, CALLS * 5) == EXPECTED * 5
    assert run_calls(cluster, []) == []

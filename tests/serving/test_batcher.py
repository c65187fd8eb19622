import asyncio
import threading

import pytest

from serving.batcher import MicroBatcher


class Recorder:
    """A scoring function that blocks until released, so that requests pile up behind it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.release = threading.Event()

    def __call__(self, context: str, ids: list[str]) -> dict[str, dict]:
        self.release.wait(5)
        self.calls.append((context, ids))
        if "bad" in ids:
            raise ValueError("cannot score bad")
        return {i: {"customer_id": i, "context": context} for i in ids}


async def _run(batcher: MicroBatcher, recorder: Recorder, requests: list[tuple[str, list[str]]]):
    first = asyncio.create_task(batcher.submit("s1", ["warm"]))
    await asyncio.sleep(0.05)  # the first call is now blocked in its thread
    rest = [asyncio.create_task(batcher.submit(ctx, ids)) for ctx, ids in requests]
    await asyncio.sleep(0.05)
    recorder.release.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


def test_waiting_requests_share_one_call_and_get_their_own_results():
    recorder = Recorder()
    requests = [("s1", ["a"]), ("s1", ["b", "a"]), ("s2", ["c"]), ("s1", ["d"])]
    results = asyncio.run(_run(MicroBatcher(recorder, max_rows=100), recorder, requests))
    assert results[1] == {"a": {"customer_id": "a", "context": "s1"}}
    assert list(results[2]) == ["b", "a"]
    assert results[3] == {"c": {"customer_id": "c", "context": "s2"}}
    # the warm-up alone, then one call for the three s1 requests (ids once each), then s2
    assert recorder.calls == [("s1", ["warm"]), ("s1", ["a", "b", "d"]), ("s2", ["c"])]


def test_row_limit_splits_batches_and_errors_reach_only_their_batch():
    recorder = Recorder()
    requests = [("s1", ["a", "b"]), ("s1", ["bad"]), ("s1", ["c", "d"])]
    results = asyncio.run(_run(MicroBatcher(recorder, max_rows=3), recorder, requests))
    assert isinstance(results[1], ValueError) and isinstance(results[2], ValueError)
    assert results[3] == {i: {"customer_id": i, "context": "s1"} for i in ("c", "d")}
    assert [ids for _, ids in recorder.calls] == [["warm"], ["a", "b", "bad"], ["c", "d"]]


@pytest.mark.parametrize("n", [1, 40])
def test_many_concurrent_requests_all_answered(n):
    recorder = Recorder()
    recorder.release.set()

    async def main():
        batcher = MicroBatcher(recorder, max_rows=10)
        return await asyncio.gather(*(batcher.submit("s", [f"id{i}"]) for i in range(n)))

    results = asyncio.run(main())
    assert [next(iter(r)) for r in results] == [f"id{i}" for i in range(n)]
    assert all(len(ids) <= 10 for _, ids in recorder.calls)


def test_small_batches_run_on_the_loop_and_large_ones_in_a_thread():
    threads: dict[tuple[str, ...], int] = {}

    def score(context: str, ids: list[str]) -> dict[str, dict]:
        threads[tuple(ids)] = threading.get_ident()
        return {i: {"customer_id": i} for i in ids}

    async def main():
        batcher = MicroBatcher(score, max_rows=100, inline_rows=2)
        small = await batcher.submit("s", ["a", "b"])
        large = await batcher.submit("s", ["c", "d", "e"])
        return small, large

    small, large = asyncio.run(main())
    assert list(small) == ["a", "b"] and list(large) == ["c", "d", "e"]
    assert threads[("a", "b")] == threading.get_ident()  # asyncio.run's loop runs in this thread
    assert threads[("c", "d", "e")] != threading.get_ident()


def test_large_batches_use_the_batchers_own_thread_started_up_front():
    """No thread is started while a request waits: the batcher's one thread exists as soon as
    the batcher does, and every large batch runs on it."""

    def batch_threads() -> set[int]:
        return {t.ident for t in threading.enumerate() if t.name.startswith("needradar-batch")}

    used: list[int] = []

    def score(context: str, ids: list[str]) -> dict[str, dict]:
        used.append(threading.get_ident())
        return {i: {"customer_id": i} for i in ids}

    before = batch_threads()
    batcher = MicroBatcher(score, max_rows=100, inline_rows=1)
    (started,) = batch_threads() - before

    async def main():
        return [await batcher.submit("s", [f"a{i}", f"b{i}"]) for i in range(3)]

    assert [list(r) for r in asyncio.run(main())] == [[f"a{i}", f"b{i}"] for i in range(3)]
    assert used == [started] * 3

"""The stall watch names what held the event loop, and tells waiting from working."""

from __future__ import annotations

import asyncio
import json
import time

from serving.stall_watch import watch_stalls


def hold_the_loop_waiting(seconds: float) -> None:
    time.sleep(seconds)  # a blocking call on the loop (releases the GIL: the watcher samples it)


def hold_the_loop_working(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:  # CPU work on the loop
        pass


def test_stalls_are_written_with_their_stacks_and_cpu(tmp_path, monkeypatch):
    path = tmp_path / "stalls.jsonl"
    monkeypatch.setenv("NEEDRADAR_STALLS", str(path))

    async def main():
        watch = watch_stalls()
        await asyncio.sleep(0.2)
        hold_the_loop_waiting(0.25)
        await asyncio.sleep(0.1)
        hold_the_loop_working(0.25)
        await asyncio.sleep(2.2)  # the per-second lines covering both are written
        watch.stop()

    asyncio.run(main())
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    seconds = [line["second"] for line in lines]  # one line a second (fewer on a starved machine)
    assert len(seconds) >= 2 and seconds == sorted(set(seconds))
    stalls = [s for line in lines for s in line["stalls"]]
    waiting = next(s for s in stalls if "hold_the_loop_waiting" in str(s["loop_stacks"]))
    working = next(s for s in stalls if "hold_the_loop_working" in str(s["loop_stacks"]))
    assert waiting["wall_ms"] >= 240 and waiting["loop_cpu_ms"] < 100
    assert working["wall_ms"] >= 240 and working["loop_cpu_ms"] >= 240
    assert all(s["wall_ms"] > 20 for s in stalls)
    assert max(line["loop_max_lag_ms"] for line in lines) >= 240
    assert all(len(line["page_faults_minor_major"]) == 2 for line in lines)


def test_off_without_the_variable(monkeypatch):
    monkeypatch.delenv("NEEDRADAR_STALLS", raising=False)

    async def main():
        return watch_stalls()

    assert asyncio.run(main()) is None

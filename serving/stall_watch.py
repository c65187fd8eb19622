"""Event-loop stalls of the running service, for finding latency tails.

Off unless `NEEDRADAR_STALLS` names a file. Then a heartbeat on the event loop runs every
millisecond and a watcher thread wakes every millisecond too. While the heartbeat is late by more
than `threshold` the watcher samples the loop thread's Python stack (what is running) and the
top frame of every other thread. Once a second it appends one JSON line to the file: the
process's and each busy thread's CPU and page faults in that second, the loop's longest lag, the garbage
collections (generation, milliseconds), and every stall over the threshold with its wall and
loop-thread CPU milliseconds and the stacks seen during it. A stall whose loop-thread CPU is near
its wall time ran code on the loop; one with little CPU waited (for the GIL held by another
thread, for a system call, or for the machine's other programs), and one without stack samples
held the GIL in C code (the watcher could not run either).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import threading
import time
from collections import Counter, deque
from pathlib import Path

TICK = 0.001


def _stack(frame, depth: int = 8) -> str:
    """The innermost `depth` frames as `file:line function`, innermost first."""
    parts = []
    while frame is not None and len(parts) < depth:
        code = frame.f_code
        parts.append(f"{Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}")
        frame = frame.f_back
    return " < ".join(parts)


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each thread of this process, by `name:tid` (from /proc; the Python
    name of the thread when Python started it, else the kernel's)."""
    out = {}
    ticks = os.sysconf("SC_CLK_TCK")
    python_names = {t.native_id: t.name for t in threading.enumerate()}
    for stat in Path("/proc/self/task").glob("*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        tid = int(stat.parent.name)
        name = python_names.get(tid) or text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        out[f"{name}:{tid}"] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def _faults() -> tuple[int, int]:
    """Minor and major page faults of this process so far (from /proc)."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[7]), int(fields[9])


class StallWatch:
    """Watches one event loop from a thread; see the module docstring."""

    def __init__(self, loop: asyncio.AbstractEventLoop, path: Path, threshold: float = 0.02) -> None:
        self.loop, self.path, self.threshold = loop, path, threshold
        self.loop_thread = threading.get_ident()
        self.loop_clock = time.pthread_getcpuclockid(self.loop_thread)
        self.t0 = time.perf_counter()
        self.last_beat = self.t0
        self.stalls: deque = deque()  # (start, wall s, loop CPU s) from the heartbeat
        self.beat_cpu = time.clock_gettime(self.loop_clock)
        self.max_lag = 0.0
        self.samples: deque = deque()  # (time, loop stack, other threads) of the last seconds
        self.collections: deque = deque()  # (start, generation, seconds) of the last seconds
        self.written = 0  # how many of `collections` the per-second lines have counted
        self._gc_start = self._gc_cpu = 0.0
        self.full_collections = 0  # a census of what survives is taken after each
        self._stopped = threading.Event()

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self.loop.call_soon(self._beat)
        threading.Thread(target=self._watch, name="needradar-stallwatch", daemon=True).start()

    def stop(self) -> None:
        """Stop watching (the server never does; a test does)."""
        self._stopped.set()
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _beat(self) -> None:
        if self._stopped.is_set():
            return
        now = time.perf_counter()
        cpu = time.clock_gettime(self.loop_clock)
        gap = now - self.last_beat - TICK
        if gap > self.threshold:
            self.stalls.append((self.last_beat + TICK, gap, cpu - self.beat_cpu))
        self.max_lag = max(self.max_lag, gap)
        self.last_beat, self.beat_cpu = now, cpu
        self.loop.call_later(TICK, self._beat)

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start, self._gc_cpu = time.perf_counter(), time.thread_time()
        else:
            wall, cpu = time.perf_counter() - self._gc_start, time.thread_time() - self._gc_cpu
            self.collections.append((self._gc_start, info["generation"], wall, cpu))
            if info["generation"] == 2:
                self.full_collections += 1

    def _sample(self, now: float) -> None:
        frames = sys._current_frames()
        names = {t.ident: t.name for t in threading.enumerate()}
        loop = _stack(frames.get(self.loop_thread))
        others = "; ".join(
            f"{names.get(ident, ident)}: {_stack(frame, 2)}"
            for ident, frame in frames.items()
            if ident not in (self.loop_thread, threading.get_ident())
        )
        self.samples.append((now, loop, others))

    def _watch(self) -> None:
        second, watcher_gap = int(time.perf_counter() - self.t0), 0.0
        cpu, threads, faults = time.process_time(), _thread_cpu(), _faults()
        previous = time.perf_counter()
        while not self._stopped.is_set():
            time.sleep(TICK)
            now = time.perf_counter()
            watcher_gap = max(watcher_gap, now - previous - TICK)
            previous = now
            if now - self.last_beat > self.threshold:
                self._sample(now)
            if int(now - self.t0) > second:
                cpu_now, threads_now, faults_now = time.process_time(), _thread_cpu(), _faults()
                used = {
                    "cpu": cpu_now - cpu,
                    "faults": [b - a for a, b in zip(faults, faults_now, strict=True)],
                }
                self._write(second, used, threads, threads_now, watcher_gap)
                second, watcher_gap = int(now - self.t0), 0.0
                cpu, threads, faults = cpu_now, threads_now, faults_now

    def _write(self, second: int, used: dict, threads: dict, threads_now: dict, watcher_gap: float) -> None:
        stalls = []
        while self.stalls:
            start, wall, loop_cpu = self.stalls.popleft()
            seen = [(loop, others) for t, loop, others in self.samples if start <= t <= start + wall]
            collections = [
                (g, round(s * 1000, 1), round(c * 1000, 1))
                for t, g, s, c in self.collections
                if start - TICK <= t <= start + wall
            ]
            stalls.append(
                {
                    "at_s": round(start - self.t0, 3),
                    "wall_ms": round(wall * 1000, 1),
                    "loop_cpu_ms": round(loop_cpu * 1000, 1),
                    "gc": collections,
                    "loop_stacks": Counter(loop for loop, _ in seen).most_common(3),
                    "other_threads": Counter(o for _, o in seen).most_common(2),
                }
            )
        gcs: dict[int, list[tuple[float, float]]] = {}
        for _, g, s, c in list(self.collections)[self.written :]:
            gcs.setdefault(g, []).append((s * 1000, c * 1000))
        # a stall reaching into the next second is written then, with its samples and collections
        keep = time.perf_counter() - 2.0
        while self.samples and self.samples[0][0] < keep:
            self.samples.popleft()
        while self.collections and self.collections[0][0] < keep:
            self.collections.popleft()
        self.written = len(self.collections)
        busy = {
            name: round((used - threads.get(name, 0.0)) * 1000)
            for name, used in threads_now.items()
            if used - threads.get(name, 0.0) >= 0.01
        }
        line = {
            "second": second,
            "cpu_ms": round(used["cpu"] * 1000, 1),
            "page_faults_minor_major": used["faults"],
            "threads_cpu_ms": busy,
            "loop_max_lag_ms": round(self.max_lag * 1000, 1),
            "watcher_max_gap_ms": round(watcher_gap * 1000, 1),
            # per generation: collections, longest wall ms, total wall ms, total CPU ms
            "gc": {
                g: [
                    len(v),
                    round(max(w for w, _ in v), 1),
                    round(sum(w for w, _ in v), 1),
                    round(sum(c for _, c in v), 1),
                ]
                for g, v in gcs.items()
            },
            "stalls": stalls,
        }
        if self.full_collections:  # what the full collections have to walk (the frozen part aside)
            self.full_collections = 0
            survivors = gc.get_objects(2)
            line["gen2_objects"] = [
                len(survivors),
                Counter(type(o).__name__ for o in survivors).most_common(12),
            ]
            del survivors
        self.max_lag = 0.0
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)


def watch_stalls() -> StallWatch | None:
    """Start watching the running event loop when `NEEDRADAR_STALLS` names a file."""
    path = os.environ.get("NEEDRADAR_STALLS")
    if not path:
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # constructed outside a server (a test): nothing to watch
        return None
    watch = StallWatch(loop, Path(path))
    watch.start()
    return watch

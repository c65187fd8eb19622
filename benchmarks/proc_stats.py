"""What a benchmark process has used so far: its peak memory and its CPU seconds.

Imported by the benchmark scripts run as `python benchmarks/NAME.py` (their folder is on the path,
and a LocalCluster's spawned workers inherit it) and passed to `client.run` to read every worker.
"""

from __future__ import annotations

import resource


def peak_gib() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux keeps ru_maxrss across
    exec, so a worker spawned by a large driver would report the driver's peak as its own."""
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return round(kib / 2**20, 2)


def cpu_seconds() -> float:
    """CPU seconds (user + system, all threads) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

"""The share of this virtual machine's CPU time taken by its host (steal), once a second; JSON lines.

Usage: python benchmarks/host_steal.py [--seconds S] > steal.jsonl   (beside a latency run)
On a shared cloud host the hypervisor runs other guests on our cores; Linux counts that time as
`steal` in /proc/stat. A latency figure measured while steal is high measures the neighbours.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _ticks() -> tuple[int, int]:
    """Steal ticks and all ticks so far, over all CPUs (the first line of /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return fields[7], sum(fields)


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--seconds", type=float, default=float("inf"), help="stop after this long")
    args = parser.parse_args()
    stop = time.monotonic() + args.seconds
    steal, total = _ticks()
    while time.monotonic() < stop:
        time.sleep(1)
        s, t = _ticks()
        share = 100 * (s - steal) / max(1, t - total)
        print(json.dumps({"time": round(time.time()), "steal_percent": round(share, 1)}), flush=True)
        steal, total = s, t


if __name__ == "__main__":
    main()

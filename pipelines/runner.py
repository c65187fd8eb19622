"""Run a declared table of steps: each step gets the outputs of the steps it needs.

A step that has no input raises `StepSkipped` with the reason; the run goes on and stays ok.
A step that fails is recorded with its error, the files it wrote are removed, and the steps that
need it are not run. Status, timing, reason or error and the files written are recorded per step.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

logger = logging.getLogger(__name__)
Status = Literal["ok", "skipped", "failed", "not run"]


class StepSkipped(Exception):
    """Raised by a step that has nothing to work on; the message says why."""


@dataclass(frozen=True)
class Step:
    """One step: `run(context, **{name: output of name for name in needs + uses})`.

    `needs` must have produced an output; `uses` are passed as None when they did not.
    """

    name: str
    run: Callable[..., Any]
    needs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()


@dataclass
class StepRecord:
    step: str
    status: Status
    seconds: float = 0.0
    reason: str = ""  # why it was skipped or not run
    error: str = ""
    files: list[str] = field(default_factory=list)
    traceback: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", [])}


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def check_table(steps: list[Step]) -> None:
    """Every dependency names an earlier step, and no name is used twice."""
    seen: set[str] = set()
    for step in steps:
        unknown = [n for n in (*step.needs, *step.uses) if n not in seen]
        if unknown:
            raise ValueError(f"step {step.name!r} depends on {unknown}, not an earlier step")
        if step.name in seen:
            raise ValueError(f"step {step.name!r} is declared twice")
        seen.add(step.name)


def run_steps(
    steps: list[Step],
    context: Any,
    folder: Path,
    on_step: Callable[[str], None] | None = None,
) -> tuple[list[StepRecord], dict[str, Any]]:
    """Run `steps` in order against `context`; files are expected under `folder`.

    Returns the records and the outputs of the steps that completed.
    """
    check_table(steps)
    records: dict[str, StepRecord] = {}
    outputs: dict[str, Any] = {}
    for step in steps:
        blocked = [n for n in step.needs if n not in outputs]
        if blocked:
            failed = [n for n in blocked if records[n].status in ("failed", "not run")]
            if failed:
                record = StepRecord(step.name, "not run", reason=f"needs {', '.join(failed)}, which failed")
            else:
                why = "; ".join(f"{n}: {records[n].reason}" for n in blocked)
                record = StepRecord(step.name, "skipped", reason=f"nothing from {why}")
            records[step.name] = record
            logger.info("daily step %s %s: %s", step.name, record.status, record.reason)
            continue
        if on_step:
            on_step(step.name)
        before = _files(folder)
        started = time.perf_counter()
        inputs = {n: outputs[n] for n in step.needs} | {n: outputs.get(n) for n in step.uses}
        try:
            outputs[step.name] = step.run(context, **inputs)
            record = StepRecord(step.name, "ok")
        except StepSkipped as skipped:
            record = StepRecord(step.name, "skipped", reason=str(skipped))
            logger.info("daily step %s skipped: %s", step.name, skipped)
        except Exception as e:  # a failing step must not take the others down
            logger.error("daily step %s failed: %s", step.name, e)
            record = StepRecord(
                step.name, "failed", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc(limit=5)
            )
        record.seconds = round(time.perf_counter() - started, 3)
        written = sorted(_files(folder) - before)
        if record.status == "failed":
            for path in written:  # a half-done step leaves nothing behind
                path.unlink(missing_ok=True)
        else:
            record.files = [str(p.relative_to(folder)) for p in written]
        records[step.name] = record
    return list(records.values()), outputs

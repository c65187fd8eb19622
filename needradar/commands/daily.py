"""`needradar daily`: the whole day's job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from needradar.commands._common import console, emit_json, iso_day, settings, table


def daily(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file.")],
    as_of: Annotated[str, typer.Option(help="The day to run for (YYYY-MM-DD).")],
    out: Annotated[
        Path | None, typer.Option(help="Output root (default from config); results go to OUT/DATE/.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run log as JSON.")] = False,
) -> None:
    """Run the day: load, vectors, at-risk list, forecasts, alerts, staffing, KPIs, drift, decay."""
    from pipelines.daily import run_daily

    as_of = iso_day(as_of)
    cfg = settings()
    with console.status("daily job") as status:
        result = run_daily(
            data, as_of, out or cfg.path("output"), cfg, on_step=lambda s: status.update(f"daily job: {s}")
        )
    if as_json:
        emit_json({"as_of": result.as_of, "ok": result.ok, "steps": result.steps, "outputs": result.outputs})
    else:
        rows = [
            {"step": s["step"], "status": s["status"], "seconds": s["seconds"], "error": s.get("error", "")}
            for s in result.steps
        ]
        console.print(table(f"Daily job {result.as_of} -> {result.day_dir}", rows))
    if not result.ok:
        failed = [s["step"] for s in result.steps if s["status"] != "ok"]
        typer.echo(
            f"error: daily job steps failed or skipped: {', '.join(failed)} "
            f"(see {result.day_dir}/run_log.json)",
            err=True,
        )
        raise typer.Exit(1)

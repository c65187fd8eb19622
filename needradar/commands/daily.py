"""`needradar daily`: the whole day's job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from needradar.commands._common import DaskOption, console, emit_json, iso_day, settings, table


def daily(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file.")],
    as_of: Annotated[str, typer.Option(help="The day to run for (YYYY-MM-DD).")],
    out: Annotated[
        Path | None, typer.Option(help="Output root (default from config); results go to OUT/DATE/.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run log as JSON.")] = False,
    dask: DaskOption = None,
) -> None:
    """Run the day: load, vectors, at-risk list, forecasts, alerts, staffing, KPIs, drift, decay."""
    from core.cluster import dask_client
    from pipelines.daily import run_daily

    as_of = iso_day(as_of)
    cfg = settings()
    with dask_client(dask or cfg.dask_address) as client, console.status("daily job") as status:
        result = run_daily(
            data,
            as_of,
            out or cfg.path("output"),
            cfg,
            on_step=lambda step: status.update(f"daily job: {step}"),
            client=client,
        )
    if as_json:
        emit_json(
            {
                "as_of": result.as_of,
                "ok": result.ok,
                "models": result.models,
                "steps": result.steps,
                "outputs": result.outputs,
            }
        )
    else:
        rows = [
            {
                "step": step["step"],
                "status": step["status"],
                "seconds": step["seconds"],
                "why": step.get("error") or step.get("reason", ""),
            }
            for step in result.steps
        ]
        console.print(table(f"Daily job {result.as_of} -> {result.day_dir}", rows))
    if not result.ok:
        failed = [step["step"] for step in result.steps if step["status"] not in ("ok", "skipped")]
        typer.echo(
            f"error: daily job steps failed or not run: {', '.join(failed)} "
            f"(see {result.day_dir}/run_log.json)",
            err=True,
        )
        raise typer.Exit(1)

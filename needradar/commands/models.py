"""`needradar models ...`: list, promote and roll back registered models (churn and volume)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from needradar.commands._common import console, emit_json, settings, table

app = typer.Typer(
    help="List, promote and roll back registered models (churn and volume).", no_args_is_help=True
)


class Task(StrEnum):
    churn = "churn"
    volume = "volume"


@app.command("list")
def list_(
    task: Annotated[Task | None, typer.Option(help="Only this task's models.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Show registered versions, their aliases and training metrics."""
    from experiments.registry import list_versions

    frame = list_versions(settings(), task.value if task else None)
    if as_json:
        emit_json(frame.to_dict("records"))
    elif frame.empty:
        console.print("no registered models yet; run `needradar churn train` or `needradar forecast train`")
    else:
        for row in frame.to_dict("records"):
            console.print(_describe_version(row), soft_wrap=True, highlight=False)


def _describe_version(row: dict) -> str:
    """One version on one line, never cut: aliases, horizon, data window and key metrics."""
    aliases = f" [{row['aliases']}]" if row.get("aliases") else ""
    parts = [f"{row['task']} v{row['version']}{aliases}", f"created {row['created']}"]
    if row.get("horizon_days") == row.get("horizon_days") and row.get("horizon_days"):  # not NaN
        parts.append(f"horizon {int(row['horizon_days'])} days")
    if row.get("data_start") or row.get("data_end"):
        parts.append(f"data {row.get('data_start') or '?'} to {row.get('data_end') or '?'}")
    for key in ("auc", "lift_top_decile", "brier", "mase"):
        value = row.get(key)
        if isinstance(value, float) and value == value:
            parts.append(f"{key.replace('_', ' ')} {value:.4g}")
    return " · ".join(parts)


@app.command()
def promote(
    task: Annotated[Task, typer.Argument(help="churn or volume.")],
    force: Annotated[bool, typer.Option(help="Promote even when the quality gate refuses.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Make the challenger the champion if it is not worse on the same out-of-time holdout."""
    from experiments.registry import promote as run_promote

    r = run_promote(task.value, settings(), force=force)
    if as_json:
        emit_json(r.__dict__)
    else:
        rows = [{"model": k, **{m: round(v, 4) for m, v in row.items()}} for k, row in r.comparison.items()]
        console.print(table(f"{task.value}: challenger v{r.challenger} vs champion v{r.champion}", rows))
        verdict = "[green]promoted[/]" if r.promoted else "[red]refused[/]"
        console.print(f"{verdict}: {r.reason}")
    if not r.promoted:
        typer.echo(f"error: promotion refused: {r.reason} (use --force to override)", err=True)
        raise typer.Exit(1)


@app.command()
def rollback(task: Annotated[Task, typer.Argument(help="churn or volume.")]) -> None:
    """Return `champion` to the previous champion version."""
    from experiments.registry import rollback as run_rollback

    old, new = run_rollback(task.value, settings())
    console.print(f"{task.value}: champion moved back from v{old} to v{new}")

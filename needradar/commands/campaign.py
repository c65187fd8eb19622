"""`needradar campaign ...`: the measured effect of retention actions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from needradar.commands._common import console, emit_json, settings, table

app = typer.Typer(
    help="Retention campaigns: treated vs control, saved customers, cost.", no_args_is_help=True
)


@app.command()
def report(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file with a contacts table.")],
    since: Annotated[str | None, typer.Option(help="First list day (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Last list day (YYYY-MM-DD).")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the report as JSON to this file.")] = None,
    track: Annotated[bool, typer.Option(help="Log the report to MLflow.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Per action, tier, channel and campaign: churn of treated vs control, effect with a 95% interval,
    saved customers, cost per saved customer and ROI."""
    from core.errors import DataError
    from core.io import write_json
    from monitoring.campaign import ROW_KEYS, campaign_report, log_campaign_report
    from needradar.commands.features import load

    cfg = settings()
    events = load(data)
    if events.contacts is None:
        raise DataError(f"{data}: no contacts table (contacts.csv or .parquet); nothing to report")
    result = campaign_report(events, since, until, cfg)
    if out is not None:
        write_json(out, result)
    if track:
        result["mlflow_run_id"] = log_campaign_report(result, cfg)
    if as_json:
        emit_json(result)
        return
    shown = [k for k in ROW_KEYS if k != "revenue"]  # the report's columns
    rows = [{k: r[k] if r[k] is not None else "" for k in shown} for r in result["actions"]]
    console.print(
        table(f"Campaign effect {result['since']} to {result['until']} ({result['horizon_days']} days)", rows)
    )
    console.print(
        f"{result['listings']:,} listings with a full horizon, {result['pending']:,} still pending; "
        f"control share {result['control_share']}. Effect < 0: the action saves customers."
    )
    thin = [r["action"] for r in result["actions"] if "note" in r]
    if thin:
        console.print(f"too few customers for an interval: {', '.join(thin)}")


@app.command("train-uplift")
def train_uplift(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file with a contacts table.")],
    test_days: Annotated[int, typer.Option(help="Validate on the lists of the last N days.")] = 90,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Train the uplift model on the randomised contacts, validate it out of time, register it."""
    from experiments.uplift_experiment import learner_label, train_and_register
    from needradar.commands.features import load

    cfg = settings()
    with console.status("training the uplift model"):
        outcome = train_and_register(load(data), cfg, test_days=test_days)
    result = {
        "run_id": outcome.run_id,
        "version": outcome.version,
        "champion": outcome.champion,
        "learner": outcome.learner,
        "capacity": outcome.capacity,
    } | {k: round(v, 4) for k, v in outcome.metrics.items()}
    if as_json:
        emit_json(result)
        return
    console.print(
        f"uplift model version {outcome.version} registered ({learner_label(outcome.learner)}, "
        f"{outcome.capacity} capacity, chosen on the older lists); Qini area on the last {test_days} days: "
        f"uplift {result['auuc_uplift']}, risk only {result['auuc_risk']}, "
        f"risk x value {result['auuc_risk_x_value']}"
        + (
            "; now champion"
            if outcome.champion
            else "; stays challenger (not better than risk-only targeting)"
        )
    )

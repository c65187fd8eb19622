"""`needradar churn ...`: train, tune, evaluate, backtest and score the churn model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from needradar.commands._common import (
    DaskOption,
    at_least,
    console,
    emit_json,
    iso_day,
    output_file,
    settings,
    table,
)

app = typer.Typer(help="Train, tune, evaluate, backtest and score the churn model.", no_args_is_help=True)

JSON = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _metrics_rows(metrics: dict[str, dict[str, float]]) -> list[dict]:
    return [{"model": name, **{k: round(v, 4) for k, v in row.items()}} for name, row in metrics.items()]


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file.")],
    horizon_days: Annotated[
        int | None,
        typer.Option(help="Churn within this many days (default: the config's, or the data's rhythm)."),
    ] = None,
    trials: Annotated[
        int | None, typer.Option(help="Tune with an Optuna study of this many trials (resumable).")
    ] = None,
    as_json: JSON = False,
    dask: DaskOption = None,
    distributed_training: Annotated[
        bool,
        typer.Option(help="With --dask: train the shipped trees across the workers with lightgbm.dask."),
    ] = False,
) -> None:
    """Train on stacked cutoffs, log to MLflow and register the model as `challenger`."""
    from core.cluster import dask_client
    from core.errors import NeedradarError
    from experiments.churn_experiment import train_and_register
    from needradar.commands.features import load
    from training.churn_recipes import check_horizon

    if horizon_days is not None:
        check_horizon(horizon_days)
    cfg = settings()
    address = dask or cfg.dask_address
    if distributed_training and not address:
        raise NeedradarError(
            "--distributed-training needs a cluster: add --dask ADDRESS (or set NEEDRADAR_DASK)"
        )
    events = load(data)
    with dask_client(address) as client, console.status("training the churn model"):
        outcome = train_and_register(
            events,
            cfg,
            horizon_days=horizon_days,
            trials=trials,
            client=client,
            distributed_training=distributed_training,
        )
    r = outcome.result
    result = {
        "version": outcome.version,
        "run_id": outcome.run_id,
        "recipe": r.model.recipe_,
        "horizon_days": int(r.data_window["horizon_days"]),
        "calibration": r.model.calibrator_.method,
        "trees": r.model.best_iteration_,
        "cutoffs": r.cutoffs,
        "data_window": r.data_window,
        "holdout": r.comparison.round(4).to_dict("index"),
        "warnings": r.warnings,
    }
    if as_json:
        emit_json(result)
        return
    console.print(table(f"Out-of-time holdout ({r.cutoffs['holdout'][0]})", _metrics_rows(result["holdout"])))
    console.print(f"{result['horizon_days']}-day churn; chosen by inner validation: {result['recipe']}")
    for warning in r.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    console.print(
        f"registered {cfg.tracking.churn_model_name} version {outcome.version} as challenger; "
        f"promote it with `needradar models promote churn`"
    )


@app.command()
def evaluate(
    table_file: Annotated[Path, typer.Option("--table", help="A labelled customer table (CSV or Parquet).")],
    label: Annotated[str, typer.Option(help="The label column (yes/no, true/false or 1/0).")],
    id_col: Annotated[str | None, typer.Option(help="An id column to leave out of the features.")] = None,
    folds: Annotated[int, typer.Option(min=2, help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed of the folds.")] = 42,
    repeats: Annotated[
        int, typer.Option(min=1, help="Repeat with fold seeds seed, seed+1, ... and report their mean.")
    ] = 5,
    as_json: JSON = False,
) -> None:
    """Cross-validate the full modelling recipe on your own labelled table, next to its peers."""
    from core.io import read_frame
    from training.churn_recipes import evaluate_table

    with console.status(f"{folds}-fold cross-validation, {repeats} seed(s)"):
        summary = evaluate_table(
            read_frame(table_file), label, id_col, folds, seed, repeats=repeats
        ).summary()
    if as_json:
        emit_json(summary)
        return
    console.print(table(f"Mean over {folds} folds, seed {seed}", _metrics_rows(summary["mean"])))
    if repeats > 1:
        seeds = f"seeds {seed}-{seed + repeats - 1}"
        console.print(
            table(f"Mean over {folds} folds and {seeds}", _metrics_rows(summary["mean_over_seeds"]))
        )


@app.command()
def backtest(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file.")],
    cutoff: Annotated[str, typer.Option(help="Train only on what was known by this day (YYYY-MM-DD).")],
    horizon_days: Annotated[int, typer.Option(help="Churn within this many days after the cutoff.")],
    every_days: Annotated[int | None, typer.Option(help="Days between training cutoffs.")] = None,
    cutoffs: Annotated[int | None, typer.Option(help="Number of training cutoffs.")] = None,
    as_json: JSON = False,
) -> None:
    """Train as of a past day, score everyone active then, and compare with what really happened."""
    from needradar.commands.features import check_as_of, load
    from training.churn_recipes import backtest_churn

    cutoff, horizon_days = iso_day(cutoff, "--cutoff"), at_least(horizon_days, 1, "--horizon-days")
    every_days, cutoffs = at_least(every_days, 1, "--every-days"), at_least(cutoffs, 1, "--cutoffs")
    events = load(data)
    check_as_of(events, cutoff)
    with console.status("backtesting"):
        result = backtest_churn(events, settings(), cutoff, horizon_days, every_days, cutoffs)
    if as_json:
        emit_json(result)
    else:
        console.print(
            table(f"Backtest at {cutoff}, horizon {horizon_days} days", _metrics_rows(result["metrics"]))
        )


@app.command()
def score(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file.")],
    as_of: Annotated[str, typer.Option(help="Score customers as of this day (YYYY-MM-DD).")],
    out: Annotated[Path, typer.Option(help="Output file (.csv or .parquet); both siblings are written.")],
    top: Annotated[
        int | None, typer.Option(help="Give reasons to the N highest-risk customers only.")
    ] = None,
    as_json: JSON = False,
    dask: DaskOption = None,
) -> None:
    """Write today's at-risk list with the champion: risk, value at risk, reasons, action."""
    from core.cluster import dask_client
    from core.io import write_frame
    from experiments.registry import load as load_model
    from needradar.commands.features import vectors_for
    from serving.scoring import lapsed_after, score_customers

    as_of, out, top = iso_day(as_of), output_file(out), at_least(top, 0, "--top")
    cfg = settings()
    champion = load_model("churn", cfg)
    with dask_client(dask or cfg.dask_address) as client:
        vectors, events = vectors_for(data, as_of, client)
        # a partitioned dataset has one folder per table
        tables = events.tables() if events is not None else [p.name for p in data.iterdir() if p.is_dir()]
        champion.model.check_tables(sorted(tables))
        scored = score_customers(
            champion.model,
            vectors,
            cfg,
            explain_top=top,
            lapsed_after_days=lapsed_after(champion.model, cfg, champion.data_window),
            client=client,
        )
    for suffix in (".csv", ".parquet"):
        write_frame(scored, out.with_suffix(suffix))
    summary = {
        "customers": len(scored),
        "risk_tiers": scored["risk_tier"].value_counts().to_dict(),
        "already_lapsed": int(scored["lapsed"].sum()),
        "actions": scored["action"].value_counts().to_dict(),
        "value_at_risk": round(float(scored["value_at_risk"].sum()), 2),
        "model_version": champion.version,
        "out": [str(out.with_suffix(".csv")), str(out.with_suffix(".parquet"))],
    }
    if as_json:
        emit_json(summary)
        return
    cols = [
        "customer_id",
        "churn_probability",
        "risk_tier",
        "value_tier",
        "value_at_risk",
        "reason_1_text",
        "action",
    ]
    console.print(table(f"Highest risk as of {as_of}", scored[cols].head(10).to_dict("records")))
    console.print(
        f"{len(scored):,} customers scored with champion v{champion.version} -> {out.with_suffix('.csv')}"
    )

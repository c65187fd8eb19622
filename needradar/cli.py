"""The `needradar` command: one Typer app, a sub-app per area.

Commands parse arguments, call one library function and print the result. Heavy libraries are
imported inside the commands so that `needradar --help` stays instant.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from core.errors import NeedradarError
from needradar.commands import (
    campaign,
    churn,
    daily,
    data,
    demo,
    features,
    feedback,
    forecast,
    housekeeping,
    keys,
    models,
    monitor,
    needs,
    privacy,
    serve,
)

app = typer.Typer(
    name="needradar",
    help="Churn risk with reasons and actions, and forecasts of support and request volume.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data.app, name="data")
app.add_typer(features.app, name="features")
app.add_typer(churn.app, name="churn")
app.add_typer(models.app, name="models")
app.add_typer(forecast.app, name="forecast")
app.add_typer(monitor.app, name="monitor")
app.add_typer(campaign.app, name="campaign")
app.add_typer(needs.app, name="needs")
app.add_typer(feedback.app, name="feedback")
app.add_typer(keys.app, name="keys")
app.add_typer(privacy.app, name="privacy")
app.command("housekeeping")(housekeeping.housekeeping)
app.command("serve")(serve.serve)
app.command("daily")(daily.daily)
app.command("demo")(demo.demo)

err_console = Console(stderr=True)


@app.callback()
def _root(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML config (default: configs/needradar.yaml).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug messages.")] = False,
) -> None:
    import os

    from needradar.commands._common import use_config

    use_config(config)
    # MLflow's own switch, not a needradar setting: no progress bars in the CLI's output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, rich_tracebacks=False)],
    )
    for noisy in ("cmdstanpy", "prophet", "alembic", "urllib3", "httpx", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.ERROR)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    try:
        app()
    except NeedradarError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)

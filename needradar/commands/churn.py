"""`needradar churn ...`: Train, tune, evaluate, backtest and score the churn model."""

from __future__ import annotations

import typer

app = typer.Typer(help="Train, tune, evaluate, backtest and score the churn model.", no_args_is_help=True)

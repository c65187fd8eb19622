"""`needradar forecast ...`: Train, backtest and predict ticket and requirement volumes."""

from __future__ import annotations

import typer

app = typer.Typer(help="Train, backtest and predict ticket and requirement volumes.", no_args_is_help=True)

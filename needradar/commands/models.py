"""`needradar models ...`: List, promote and roll back registered models (churn and volume)."""

from __future__ import annotations

import typer

app = typer.Typer(help="List, promote and roll back registered models (churn and volume).", no_args_is_help=True)

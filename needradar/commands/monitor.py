"""`needradar monitor ...`: Service KPIs, drift and model decay."""

from __future__ import annotations

import typer

app = typer.Typer(help="Service KPIs, drift and model decay.", no_args_is_help=True)

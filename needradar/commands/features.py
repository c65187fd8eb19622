"""`needradar features ...`: Build point-in-time behaviour vectors, labels and volume series."""

from __future__ import annotations

import typer

app = typer.Typer(help="Build point-in-time behaviour vectors, labels and volume series.", no_args_is_help=True)

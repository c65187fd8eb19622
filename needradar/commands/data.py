"""`needradar data ...`: Generate, import and validate event data."""

from __future__ import annotations

import typer

app = typer.Typer(help="Generate, import and validate event data.", no_args_is_help=True)

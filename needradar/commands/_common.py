"""Helpers shared by the CLI commands: settings, JSON or rich output, progress bars."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from core.config import Settings, load_config

console = Console()
_invocation: dict[str, Any] = {"config": None, "settings": None}


def use_config(path: Path | None) -> None:
    """Start an invocation: settings come from `path` (`--config`), else `$NEEDRADAR_CONFIG` or the
    default file, loaded on first use."""
    _invocation.update(config=path, settings=None)


def settings() -> Settings:
    """The settings of this invocation, loaded and resolved once."""
    if _invocation["settings"] is None:
        _invocation["settings"] = load_config(_invocation["config"])
    return _invocation["settings"]


def config_path() -> Path | None:
    """The `--config` file of this invocation, if one was given."""
    return _invocation["config"]


def emit_json(obj: Any) -> None:
    """Print a result as JSON on stdout (nothing else goes to stdout with --json)."""
    print(json.dumps(obj, indent=2, default=str))


def table(title: str, rows: list[dict[str, Any]]) -> Table:
    """A rich table from a list of uniform dicts."""
    t = Table(title=title)
    for col in rows[0] if rows else []:
        t.add_column(str(col))
    for row in rows:
        t.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()))
    return t


@contextmanager
def progress(transient: bool = True) -> Iterator[Progress]:
    """A rich progress bar on stderr, for long work."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=transient,
    )
    with bar:
        yield bar


DaskOption = Annotated[
    str | None,
    typer.Option(
        "--dask",
        help="Run on Dask: 'local', 'local:N' (N worker processes) or a scheduler address "
        "(tcp://host:8786). Default: $NEEDRADAR_DASK, else in this process.",
    ),
]

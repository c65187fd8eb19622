"""Helpers shared by the CLI commands: settings, JSON or rich output, progress bars."""

from __future__ import annotations

import json
import re
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
from core.errors import NeedradarError

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


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
OTHER_DAY = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}")


def iso_day(value: str, option: str = "--as-of") -> str:
    """The day as given when it is an ISO date (YYYY-MM-DD); anything else is one clear error.

    Day/month orders differ between countries (03/04/1998 is 3 April or 4 March), and relative
    words ("today", "tomorrow") depend on the machine's clock, so neither is guessed.
    """
    text = value.strip()
    if ISO_DAY.fullmatch(text):
        import pandas as pd

        try:
            pd.Timestamp(text)
        except ValueError:
            raise NeedradarError(f"{option} {value}: there is no such day; use YYYY-MM-DD") from None
        return text
    if OTHER_DAY.fullmatch(text):
        raise NeedradarError(
            f"{option} {value} is ambiguous (which is the day, which the month?); "
            "use an ISO date YYYY-MM-DD, e.g. 1998-03-04"
        )
    raise NeedradarError(
        f"{option} {value!r} is not a date; use an ISO date YYYY-MM-DD "
        "(relative dates such as 'today' or 'tomorrow' are not read)"
    )


def at_least(value: int | None, minimum: int, option: str) -> int | None:
    """The value as given when it is at least `minimum` (None passes: the default applies)."""
    if value is not None and value < minimum:
        raise NeedradarError(f"{option} {value}: must be at least {minimum}")
    return value


def output_file(path: Path | None, option: str = "--out") -> Path | None:
    """An output file whose folder exists and whose extension can be written; checked before
    any work, and the folder is never created (a mistyped path should not make one)."""
    if path is None:
        return None
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise NeedradarError(f"{option} {path}: use a .csv or .parquet file name")
    if not path.parent.is_dir():
        raise NeedradarError(f"{option} {path}: the folder {path.parent} does not exist; create it first")
    return path


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

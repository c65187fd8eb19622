"""Reading and writing files at the edges; every write is atomic."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import DataError

FRAME_SUFFIXES = (".csv", ".parquet")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one step.

    A crash inside the block leaves the old file (or no file) in place, never half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call `write(tmp_path)` and move the result to `path` atomically."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a frame as CSV or Parquet, chosen by the file's extension, atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))
    if suffix == ".parquet":
        return atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))
    raise DataError(f"{path}: unsupported output extension {suffix!r}; use .csv or .parquet")


SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def check_csv(path: str | Path) -> None:
    """Refuse a CSV file a person cannot have meant: empty, or not separated by commas.

    Raises:
        DataError: naming the file and what is wrong with it.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes)")
    with path.open(encoding="utf-8", errors="replace") as f:
        header = f.readline().rstrip("\r\n")
    if not header.strip():
        raise DataError(f"{path}: the first line is empty; it must name the columns")
    if "," not in header:
        for sep, name in SEPARATORS.items():
            if sep in header:
                raise DataError(
                    f"{path}: the columns are separated by {name}, not commas; "
                    "save the file as comma-separated CSV"
                )


def read_frame(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a frame.

    Raises:
        DataError: the file is missing, empty, has only a header, is not comma-separated or
            cannot be parsed; the message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give a .csv or .parquet file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        check_csv(path)
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise DataError(f"{path}: not a readable CSV file ({str(e).strip().splitlines()[-1]})") from e
    elif suffix == ".parquet":
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty (0 bytes)")
        try:
            frame = pd.read_parquet(path)
        except Exception as e:  # pyarrow raises several types for a file that is not Parquet
            raise DataError(f"{path}: not a readable Parquet file ({type(e).__name__})") from e
    else:
        raise DataError(f"{path}: unsupported file extension {suffix!r}; use .csv or .parquet")
    if frame.empty:
        raise DataError(f"{path}: no rows (columns: {', '.join(map(str, frame.columns)) or 'none'})")
    return frame

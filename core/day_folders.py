"""Folders of one day's outputs: written in a staging folder, published whole with a marker.

A day's outputs live in `ROOT/YYYY-MM-DD/`. They are written into `ROOT/.staging-DATE-xxxx/`
first and renamed into place with a completion marker (`_SUCCESS.json`) inside, so a reader
sees a whole day or none of it. A rerun of a day swaps the new folder for the old one in one
step (Linux `renameat2(RENAME_EXCHANGE)`; elsewhere two renames, with the day absent for the
instant between them, never half-written). Readers list completed days with `completed_days`.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from core.io import write_json

logger = logging.getLogger(__name__)
MARKER = "_SUCCESS.json"
STAGING_PREFIX = ".staging-"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def day_name(day: pd.Timestamp | str) -> str:
    return f"{pd.Timestamp(day):%Y-%m-%d}"


def staging_folder(root: Path, day: pd.Timestamp | str) -> Path:
    """A new, empty staging folder for `day` beside the published days (hidden from readers)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    while True:  # mkdir (not mkdtemp) so that the folder gets the usual permissions
        folder = root / f"{STAGING_PREFIX}{day_name(day)}-{secrets.token_hex(4)}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


def stale_staging_folders(root: Path, day: pd.Timestamp | str) -> list[Path]:
    """Staging folders of `day` left by a run that died before publishing."""
    return sorted(Path(root).glob(f"{STAGING_PREFIX}{day_name(day)}-*"))


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one atomic step; False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    return renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0


def publish(staging: Path, root: Path, day: pd.Timestamp | str, marker: dict[str, Any]) -> Path:
    """Write the completion marker into `staging` and move it into place as `root/DATE`.

    Returns the published folder. An earlier folder of the same day is replaced whole.
    """
    final = Path(root) / day_name(day)
    write_json(staging / MARKER, marker)
    if not final.exists():
        os.rename(staging, final)
    elif _exchange(staging, final):
        shutil.rmtree(staging)  # it now holds the replaced day
    else:
        replaced = Path(root) / f".replaced-{final.name}-{secrets.token_hex(4)}"
        os.rename(final, replaced)
        os.rename(staging, final)
        shutil.rmtree(replaced)
    return final


def read_marker(day_dir: Path) -> dict[str, Any] | None:
    """The completion marker of a day folder, or None when the day is not complete."""
    path = Path(day_dir) / MARKER
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def completed_days(root: Path) -> list[Path]:
    """Published day folders that carry a completion marker, oldest first."""
    root = Path(root)
    if not root.exists():
        return []
    return [d for d in sorted(root.glob("????-??-??")) if (d / MARKER).exists()]

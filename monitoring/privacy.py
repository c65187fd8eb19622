"""A customer's right to see and delete their data: export and erase everything under the home folder.

Everything needradar stores lives under its home folder (outputs, quarantine files, drift
references, Evidently workspace, MLflow artifacts, and by default the data folder). Both
operations walk it all, so a file type added later is covered without a list to keep up to date:
tables (.parquet, .csv) lose the customer's rows, JSON lines files their lines, other text files
the id itself; a binary file that holds the id is reported, since it cannot be edited safely.
A customer is found by their raw id and by their pseudonym (the keyed hash used in MLflow).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.config import Settings
from core.io import write_frame, write_text
from core.privacy import KEY_FILE, pseudonym, pseudonym_key, suppress, suppression_path

logger = logging.getLogger(__name__)
ERASED = "[erased]"


@dataclass
class PrivacyReport:
    """What was found (export) or changed (erase), by file relative to the home folder."""

    found: dict[str, list[Any]] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    not_editable: list[str] = field(default_factory=list)


def _skipped(settings: Settings) -> set[Path]:
    """needradar's own secrets and lists, which hold no customer data (or only pseudonyms)."""
    sec = settings.security
    return {
        settings.home / KEY_FILE,
        suppression_path(settings),
        settings.resolve(sec.keys_file),
        settings.resolve(sec.audit_log),
    }


def _files(settings: Settings) -> Iterator[Path]:
    skip = _skipped(settings)
    for path in sorted(settings.home.rglob("*")):
        if path.is_file() and path not in skip and not path.name.endswith(".lock"):
            yield path


def _token(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])")


def _rows(frame: pd.DataFrame, ids: set[str]) -> pd.Series:
    mask = pd.Series(False, index=frame.index)
    for col in frame.columns:
        if frame[col].dtype == object or isinstance(frame[col].dtype, pd.CategoricalDtype | pd.StringDtype):
            mask |= frame[col].astype(str).isin(ids)
    return mask


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)  # written back exactly as read


def _visit(path: Path, ids: set[str], erase: bool, report: PrivacyReport, rel: str) -> None:
    patterns = [_token(i) for i in ids]
    frame = None
    if path.suffix in (".parquet", ".csv"):
        try:
            frame = _read_table(path)
        except (ValueError, OSError, pd.errors.ParserError):
            logger.warning("%s: not a readable table, searched as a file", rel)
    if frame is not None:
        mask = _rows(frame, ids)
        if mask.any():
            report.found[rel] = json.loads(frame[mask].to_json(orient="records", date_format="iso"))
            if erase:
                write_frame(frame[~mask], path)
                report.changed[rel] = int(mask.sum())
        return
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if any(re.search(rb"(?<![\w-])" + re.escape(i.encode()) + rb"(?![\w-])", data) for i in ids):
            report.not_editable.append(rel)
        return
    if not any(p.search(text) for p in patterns):
        return
    if path.suffix == ".jsonl":
        lines = text.splitlines(keepends=True)
        hit = [line for line in lines if any(p.search(line) for p in patterns)]
        report.found[rel] = [json.loads(line) if line.strip().startswith("{") else line for line in hit]
        if erase:
            write_text(path, "".join(line for line in lines if line not in hit))
            report.changed[rel] = len(hit)
        return
    report.found[rel] = [f"{sum(len(p.findall(text)) for p in patterns)} mention(s) in text"]
    if erase:
        for p in patterns:
            text = p.sub(ERASED, text)
        write_text(path, text)
        report.changed[rel] = 1


def _walk(customer_id: str, settings: Settings, erase: bool) -> PrivacyReport:
    ids = {str(customer_id), pseudonym(str(customer_id), pseudonym_key(settings))}
    report = PrivacyReport()
    for path in _files(settings):
        _visit(path, ids, erase, report, str(path.relative_to(settings.home)))
    return report


def export_customer(customer_id: str, settings: Settings) -> dict[str, Any]:
    """Everything stored about one customer: list entries, reasons, vectors, contacts, alerts,
    by file, plus binary files that mention them."""
    report = _walk(customer_id, settings, erase=False)
    return {"customer_id": customer_id, "files": report.found, "binary_files": report.not_editable}


def erase_customer(customer_id: str, settings: Settings) -> PrivacyReport:
    """Remove one customer from every file under the home folder and suppress them in later runs."""
    suppress([customer_id], settings)  # first, so that a run starting meanwhile leaves them out
    report = _walk(customer_id, settings, erase=True)
    logger.info("erased a customer from %d file(s)", len(report.changed))  # never the id itself
    return report

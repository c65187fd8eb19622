"""Reading and writing event data folders (CSV, Parquet) or DuckDB files, with quarantine."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import Settings
from core.errors import DataError
from core.io import check_csv, write_frame
from core.privacy import drop_suppressed, without_sensitive
from features.contract import TABLES, EventData, TableSpec
from features.partition import read_dataset_table
from features.validate import ValidationReport, validate_tables

logger = logging.getLogger(__name__)


def read_raw_tables(path: str | Path, bucket: int | None = None) -> dict[str, pd.DataFrame]:
    """Read the contract's tables from a folder of CSV/Parquet files or a DuckDB file, untyped.

    CSV values are read as text so that a bad value can be reported as it was written. A table
    may also be a bucketed Parquet dataset (features.partition): `bucket` then reads only that one.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such folder or file")
    if path.is_file():
        if path.suffix.lower() not in (".duckdb", ".db"):
            raise DataError(f"{path}: expected a folder of CSV/Parquet files or a .duckdb file")
        import duckdb

        with duckdb.connect(str(path), read_only=True) as con:
            names = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
            return {n: con.execute(f'select * from "{n}"').df() for n in TABLES if n in names}
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        if (path / name).is_dir():
            tables[name] = read_dataset_table(path / name, bucket)
            continue
        for suffix in (".parquet", ".csv"):
            f = path / f"{name}{suffix}"
            if f.exists():
                if suffix == ".csv":
                    check_csv(f)
                    tables[name] = pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""])
                else:
                    tables[name] = pd.read_parquet(f)
                break
    if not tables:
        raise DataError(
            f"{path}: no table files found; expected customers.csv (or .parquet) and event tables"
        )
    return tables


def write_event_data(events: EventData, out_dir: str | Path, fmt: str = "csv") -> Path:
    """Write one file per table (atomically each), `<table>.csv` or `<table>.parquet`."""
    if fmt not in ("csv", "parquet"):
        raise DataError(f"unsupported format {fmt!r}; use csv or parquet")
    out = Path(out_dir)
    for name, df in events.tables().items():
        write_frame(df, out / f"{name}.{fmt}")
    return out


def _quarantine(raw: pd.DataFrame, rows: list[int], report: ValidationReport, table: str, out: Path) -> None:
    reasons: dict[int, list[str]] = {}
    columns: dict[int, list[str]] = {}
    for problem in report.problems:
        if problem.table == table and problem.row is not None:
            reasons.setdefault(problem.row - 1, []).append(problem.message)
            columns.setdefault(problem.row - 1, []).append(problem.column or "")
    quarantined = raw.reset_index(drop=True).iloc[rows].copy()
    quarantined.insert(0, "_reason", ["; ".join(reasons[row]) for row in rows])
    quarantined.insert(0, "_column", ["; ".join(columns[row]) for row in rows])
    quarantined.insert(0, "_row", [row + 1 for row in rows])
    write_frame(quarantined, out / f"{table}.csv")


def load_event_data(
    path: str | Path,
    settings: Settings | None = None,
    as_of: pd.Timestamp | str | None = None,
    quarantine_dir: str | Path | None = None,
    bucket: int | None = None,
) -> EventData:
    """Load, validate and type event data for real work, as known on `as_of` when given.

    Invalid rows never vanish: they go to `quarantine_dir/<table>.csv` with the row number, column
    and reason, and the count is logged. Rows that happen after the as-of date are valid, only not
    known yet: they are left out (and counted in the log), not quarantined. Problems with a whole
    table raise DataError.
    """
    path = Path(path)
    settings = settings or Settings()
    # Sensitive columns (name, email, phone, ...) are dropped at the door: they never reach
    # features, quarantine files, outputs or MLflow.
    raw = {name: without_sensitive(df, settings) for name, df in read_raw_tables(path, bucket).items()}
    report = validate_tables(raw)  # rows after the as-of date are left out below, not invalid
    fatal = report.table_problems()
    if fatal:
        raise DataError(f"{path}: " + "; ".join(str(p) for p in fatal))
    day = pd.Timestamp(as_of).normalize() if as_of is not None else None
    clean: dict[str, pd.DataFrame] = {}
    for name, typed in report.typed.items():
        later = _happens_later(typed, TABLES[name], day)
        if later.any():
            logger.info(
                "%s: %d of %d rows after the as-of date %s left out (not known yet)",
                name,
                later.sum(),
                len(typed),
                f"{day:%Y-%m-%d}",
            )
        bad = sorted(row for row in report.invalid_rows(name) if not later[row])
        if bad:
            if quarantine_dir is None:
                bad_rows = set(bad)
                first = next(
                    p
                    for p in report.problems
                    if p.table == name and p.row is not None and p.row - 1 in bad_rows
                )
                raise DataError(
                    f"{path}: {len(bad)} invalid rows in {name} (first: {first}); "
                    "run `needradar data validate` to see them all, or load with a quarantine folder"
                )
            _quarantine(raw[name], bad, report, name, Path(quarantine_dir))
            logger.warning(
                "quarantined %d of %d rows of %s into %s", len(bad), len(typed), name, quarantine_dir
            )
        keep = ~later
        keep[bad] = False
        clean[name] = typed[keep].reset_index(drop=True)
    clean = {name: drop_suppressed(df, settings) for name, df in clean.items()}
    if day is not None:
        clean = {name: _as_known_on(df, TABLES[name], day) for name, df in clean.items()}
    return EventData(**clean)


def _happens_later(df: pd.DataFrame, spec: TableSpec, day: pd.Timestamp | None) -> np.ndarray:
    """Rows whose own timestamps lie after the as-of day (the day counts whole)."""
    later = np.zeros(len(df), dtype=bool)
    if day is None:
        return later
    day_end = day + pd.Timedelta(days=1)
    for col in spec.ts_columns:
        later |= (df[col] >= day_end).fillna(False).to_numpy(bool)
    return later


def _as_known_on(df: pd.DataFrame, spec: TableSpec, as_of: pd.Timestamp) -> pd.DataFrame:
    """Blank the outcomes that happen after the as-of day: on D they are not known yet."""
    day_end = as_of.normalize() + pd.Timedelta(days=1)  # the as-of day counts whole
    out = df
    for col, carried in spec.later_columns.items():
        later = (df[col] >= day_end).fillna(False).to_numpy(bool)
        if later.any():
            out = out.copy() if out is df else out
            out.loc[later, [col, *carried]] = None
            logger.info(
                "%s: %d %s values after %s are not known yet; blanked",
                spec.name,
                later.sum(),
                col,
                f"{as_of:%Y-%m-%d}",
            )
    return out

"""Customer buckets: split event data so that each partition holds whole customers.

A partitioned dataset is a folder with one Parquet dataset per table, hive-partitioned by
bucket (`transactions/bucket=007/part-0.parquet`). Every table of a customer lands in the same
bucket, so one bucket is a complete, valid data set of its own: a worker reads only its bucket.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import DataError
from features.contract import EventData

BUCKET = "bucket"


def bucket_of(customer_ids: pd.Series, buckets: int) -> np.ndarray:
    """A stable bucket per customer id (the same on every machine and run)."""
    hashed = pd.util.hash_pandas_object(customer_ids.astype(str), index=False).to_numpy()
    return (hashed % np.uint64(buckets)).astype(np.int64)


def split_events(events: EventData, buckets: int) -> list[EventData]:
    """The event data as `buckets` partitions of whole customers, each keeping the rows' order."""
    parts: list[dict[str, pd.DataFrame]] = [{} for _ in range(buckets)]
    for name, df in events.tables().items():
        labels = bucket_of(df["customer_id"], buckets)
        for b in range(buckets):
            parts[b][name] = df[labels == b].reset_index(drop=True)
    return [EventData(**p) for p in parts]


def write_partitioned(tables: dict[str, pd.DataFrame], out_dir: str | Path, buckets: int) -> Path:
    """Write raw tables as a bucketed Parquet dataset; the folder appears whole or not at all."""
    if buckets < 1:
        raise DataError(f"--buckets must be at least 1, got {buckets}")
    if "customers" not in tables:
        raise DataError("a partitioned dataset needs the customers table")
    out = Path(out_dir)
    if out.exists():
        raise DataError(f"{out}: already exists; choose a new folder for the partitioned dataset")
    if not out.parent.exists():
        raise DataError(f"{out.parent}: no such folder")
    staging = out.parent / f".{out.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        for name, df in tables.items():
            labels = bucket_of(df["customer_id"], buckets)
            for b in range(buckets):
                folder = staging / name / f"{BUCKET}={b:03d}"
                folder.mkdir(parents=True)
                df[labels == b].to_parquet(folder / "part-0.parquet", index=False)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def dataset_buckets(path: str | Path) -> list[int]:
    """The buckets of a partitioned dataset (from its customers table), or [] for a plain folder."""
    customers = Path(path) / "customers"
    if not customers.is_dir():
        return []
    return sorted(int(p.name.split("=", 1)[1]) for p in customers.glob(f"{BUCKET}=*") if p.is_dir())


def read_dataset_table(folder: Path, bucket: int | None) -> pd.DataFrame:
    """One table of a partitioned dataset: one bucket, or all of them in bucket order."""
    paths = sorted(folder.glob(f"{BUCKET}=*/*.parquet"))
    if bucket is not None:
        paths = [p for p in paths if int(p.parent.name.split("=", 1)[1]) == bucket]
    if not paths:
        raise DataError(
            f"{folder}: no Parquet files" + (f" for bucket {bucket}" if bucket is not None else "")
        )
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)

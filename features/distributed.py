"""Behaviour vectors on a Dask cluster: `customer_vectors` per partition, then one population pass.

The same functions as in one process (features.vectors), mapped over partitions of whole
customers; only the vectors travel back to the driver, never the events.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pandas.api.types import union_categoricals

from core.cluster import gather
from core.config import Settings
from features.contract import EventData
from features.labels import stack_cutoffs, with_labels
from features.load import load_event_data
from features.partition import dataset_buckets, split_events
from features.vectors import add_population_features, customer_vectors

if TYPE_CHECKING:  # pragma: no cover - typing only
    from distributed import Client

logger = logging.getLogger(__name__)


def bucket_vectors(
    data_dir: Path, bucket: int, as_of: str, settings: Settings, quarantine_dir: Path | None
) -> pd.DataFrame:
    """One bucket of a partitioned dataset, loaded and validated on the worker, as vectors."""
    quarantine = quarantine_dir / f"bucket={bucket:03d}" if quarantine_dir else None
    events = load_event_data(data_dir, settings, quarantine_dir=quarantine, bucket=bucket)
    return customer_vectors(events, as_of, settings)


def gather_per_partition(client: Client, futures: list) -> tuple[list[pd.DataFrame], set[str]]:
    """The partitions' results in order, and the workers that computed them."""
    from distributed import wait

    wait(futures)
    workers = {w for holders in client.who_has(futures).values() for w in holders}
    results = gather(client, futures, "the partitions' vectors")
    logger.info("%d partitions computed on %d Dask workers", len(futures), len(workers))
    return results, workers


def concat_partitions(pieces: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack partitions; a categorical column gets the categories one frame of them all would have."""
    frame = pd.concat(pieces, ignore_index=True)
    for col in pieces[0].select_dtypes("category"):
        categories = union_categoricals([p[col] for p in pieces], sort_categories=True).categories
        frame[col] = pd.Categorical(frame[col].astype(object), categories=categories)
    return frame


def vectors_on_cluster(
    client: Client,
    data: Path | EventData,
    as_of: str,
    settings: Settings,
    quarantine_dir: Path | None = None,
) -> tuple[pd.DataFrame, set[str]]:
    """Vectors equal to `build_vectors` on the same input, computed on the cluster's workers.

    `data` is a bucketed dataset folder (each worker reads its own buckets) or event data already
    in memory (split into whole-customer partitions and scattered). Returns the vectors and the
    workers that did the work.
    """
    if isinstance(data, EventData):
        parts = split_events(data, max(2 * len(client.scheduler_info()["workers"]), 2))
        scattered = client.scatter(parts)
        futures = client.map(customer_vectors, scattered, as_of=as_of, settings=settings)
        pieces, workers = gather_per_partition(client, futures)
        frame = concat_partitions(pieces)
        order = pd.Index(data.customers["customer_id"].astype(str)).get_indexer(frame["customer_id"])
        frame = frame.iloc[order.argsort(kind="stable")].reset_index(drop=True)
    else:
        buckets = dataset_buckets(data)
        if not buckets:
            raise ValueError(f"{data} is not a bucketed dataset; load it and pass the events instead")
        futures = client.map(
            bucket_vectors,
            [data] * len(buckets),
            buckets,
            as_of=as_of,
            settings=settings,
            quarantine_dir=quarantine_dir,
            pure=False,
        )
        pieces, workers = gather_per_partition(client, futures)
        frame = concat_partitions(pieces)
    return add_population_features(frame, settings), workers


def partition_training_rows(
    events: EventData, cutoffs: list[pd.Timestamp], horizon_days: int, settings: Settings
) -> list[pd.DataFrame]:
    """One partition's labelled vectors per cutoff, before the population pass."""
    return [
        with_labels(customer_vectors(events, cutoff, settings), events, cutoff, horizon_days)
        for cutoff in cutoffs
    ]


def training_frame_on_cluster(
    client: Client, events: EventData, settings: Settings, cutoffs: list[pd.Timestamp], horizon_days: int
) -> pd.DataFrame:
    """`build_training_frame` computed per partition of whole customers on the cluster's workers."""
    parts = client.scatter(split_events(events, max(2 * len(client.scheduler_info()["workers"]), 2)))
    futures = client.map(
        partition_training_rows, parts, cutoffs=cutoffs, horizon_days=horizon_days, settings=settings
    )
    per_partition, _ = gather_per_partition(client, futures)
    order = pd.Index(events.customers["customer_id"].astype(str))
    frames = []
    for i, _cutoff in enumerate(cutoffs):
        rows = concat_partitions([p[i] for p in per_partition])
        rows = rows.iloc[order.get_indexer(rows["customer_id"]).argsort(kind="stable")].reset_index(drop=True)
        labels = rows[["cutoff", "churned"]]
        vectors = add_population_features(rows.drop(columns=["cutoff", "churned"]), settings)
        vectors.insert(1, "cutoff", labels["cutoff"].to_numpy())
        vectors["churned"] = labels["churned"].to_numpy()
        frames.append(vectors)
    return stack_cutoffs(frames)

"""The /needs answer: a stored day's needs backlog, filtered and paginated."""

from __future__ import annotations

import math

import pandas as pd

from monitoring.needs_backlog import backlog_json


def needs_page(
    backlog: pd.DataFrame,
    as_of: str,
    product_areas: list[str] | None = None,
    types: list[str] | None = None,
    priorities: list[str] | None = None,
    page: int = 1,
    page_size: int = 100,
) -> dict:
    """`{"as_of", "total", "page", "pages", "groups"}`, groups in ranked order (rank kept)."""
    df = backlog
    for col, allowed in (("product_area", product_areas), ("type", types), ("priority", priorities)):
        if allowed is not None:
            df = df[df[col].isin(allowed)]
    total = len(df)
    part = df.iloc[(page - 1) * page_size : page * page_size]
    return {
        "as_of": as_of,
        "total": total,
        "page": page,
        "pages": math.ceil(total / page_size),
        "groups": backlog_json(part, as_of)["groups"],
    }

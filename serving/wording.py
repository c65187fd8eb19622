"""Numbers, counts and durations as a person writes them in a sentence."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd


def words(slug: str) -> str:
    """A name or category as words: underscores and dashes become spaces."""
    return re.sub(r"[_\-]+", " ", str(slug)).strip()


def count(v: float, unit: str, plural: str | None = None) -> str:
    """'1 purchase', '3 purchases', '1,200 minutes'; 'no purchases' for zero."""
    n = int(round(v))
    word = unit if n == 1 else (plural or unit + "s")
    return f"no {plural or unit + 's'}" if n == 0 else f"{n:,} {word}"


def money(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.2f}".rstrip("0").rstrip(".")


def ago(days: float) -> str:
    """Days before the as-of day: 'today', 'yesterday', '12 days ago'."""
    d = int(math.floor(days))
    return "today" if d <= 0 else "yesterday" if d == 1 else f"{d:,} days ago"


def span(days: float) -> str:
    """A length of time in the unit a person would use: days, months or years."""
    if days < 1:
        return "less than a day"
    if days < 60:
        return count(days, "day")
    if days < 730:
        return count(days / 30.4, "month")
    return f"{days / 365.25:.1f} years"


def hours(v: float) -> str:
    """A duration in hours as a person says it: '25 minutes', '1 hour', '3.5 hours', '30 hours'."""
    if v < 1:
        return count(max(v * 60, 1), "minute")
    if v >= 10 or abs(v - round(v)) < 0.05:
        return count(v, "hour")
    return f"{v:.1f} hours"


def times(v: float) -> str:
    return f"{v:.1f} times" if v < 10 else f"{v:,.0f} times"


def change(v: float, what: str, w: str) -> str:
    """A smoothed recent/prior ratio as a change: 'spend down 45% vs the previous 30 days'."""
    if v >= 3:
        return f"{what} {times(v)} as high as in the previous {w} days"
    if round(abs(v - 1) * 100) == 0:
        return f"{what} unchanged vs the previous {w} days"
    direction = "down" if v < 1 else "up"
    return f"{what} {direction} {abs(v - 1):.0%} vs the previous {w} days"


def score_of(v: float, what: str) -> str:
    return f"{what} than most customers (score {v:.0f} of 5)"


def is_missing(value) -> bool:
    """None, NA, NaT or NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and bool(np.isnan(value))


def number(value: float) -> str:
    """'1,200', '12', '3.5', '3'."""
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.1f}".removesuffix(".0")


def distinct_digits(values, least: int = 3, most: int = 6) -> int:
    """The fewest decimals (at least `least`) that show distinct values as distinct, e.g. for a
    list's churn probabilities, whose neighbours may differ only in the fifth decimal."""
    x = np.unique(np.asarray(values, float)[np.isfinite(np.asarray(values, float))])
    for digits in range(least, most + 1):
        if len(np.unique(np.round(x, digits))) == len(x):
            return digits
    return most


def value_tier(v) -> str:
    """'in the top value tier', 'in the to-be-re-activated value tier'."""
    named = {"top": "top", "potential": "potential", "reactivate": "to-be-re-activated"}
    return f"in the {named.get(str(v), words(v))} value tier"

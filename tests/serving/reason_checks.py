"""What a reason must never look like: code, infinities, raw numbers, wrong plurals, repeats."""

from __future__ import annotations

import re

import pandas as pd

CODE_LIKE = {
    "underscore": re.compile(r"_"),
    "infinity or NaN": re.compile(r"\b(inf|infx|nan)\b", re.IGNORECASE),
    "a missing value": re.compile(r"\b(None|null|NaT|NA)\b"),
    "long decimals": re.compile(r"\d\.\d{3,}"),
    "one with a plural": re.compile(
        r"(?<![\d.,])1 (?!of\b)[a-z ]*?"
        r"(purchases|tickets|requests|days|sessions|minutes|months|points|hours)\b"
    ),
    "no unit after a count of zero": re.compile(r"(?<![\d.,])0 (purchase|ticket|request|session|minute)"),
}


def problems(scored: pd.DataFrame, n_reasons: int = 3) -> list[str]:
    """Every code-like reason text of a scored list, and every row that says a fact twice."""
    found = []
    cols = [f"reason_{j}_text" for j in range(1, n_reasons + 1)]
    texts = scored[cols]
    for col in cols:
        for text in texts[col].dropna().unique():
            found += [f"{name}: {text!r}" for name, rx in CODE_LIKE.items() if rx.search(text)]
    rows = texts.to_numpy(object)
    for row in rows:
        said = [t for t in row if isinstance(t, str)]
        if len(said) != len(set(said)):
            found.append(f"repeated in one row: {said}")
    return found

"""Per-customer features from feedback and ticket texts: negative feedback and complaints.

A text's class and sentiment come from the text model (`pred_class`, `pred_sentiment`, written by
training.text_model.annotate) or, where there is no prediction, from the labels a person gave
(`text_class`, `text_sentiment`). As everywhere in the vectors, only what was known by the end of
the as-of day counts: texts written before the cutoff, and a complaint is unanswered when its
first response had not happened by then.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import Settings
from features.aggregate import Events

WINDOWS = (30, 90)


def label_of(df: pd.DataFrame, what: str) -> pd.Series | None:
    """A text's class or sentiment (`what`): the model's prediction, else the human label."""
    pred, label = f"pred_{what}", f"text_{what}"
    if pred in df and label in df:
        return df[pred].where(df[pred].notna(), df[label])
    if pred in df:
        return df[pred]
    return df.get(label)


def _has_labels(ev: Events | None, what: str) -> bool:
    return ev is not None and (s := label_of(ev.df, what)) is not None and bool(s.notna().any())


def text_features(
    feedback: Events | None, tickets: Events | None, cutoff: pd.Timestamp, settings: Settings
) -> dict[str, np.ndarray]:
    """Negative feedback in 30/90 days, complaints in 30 days (by category) and unanswered ones.

    Returns nothing for data without labelled or classified texts.
    """
    out: dict[str, np.ndarray] = {}
    if _has_labels(feedback, "sentiment"):
        negative = (label_of(feedback.df, "sentiment") == "negative").fillna(False).to_numpy(bool)
        for w in WINDOWS:
            out[f"feedback_negative_{w}d"] = feedback.count(negative & feedback.within(w))
    if _has_labels(tickets, "class"):
        df = tickets.df
        complaint = (label_of(df, "class") == settings.needs.complaint_class).fillna(False).to_numpy(bool)
        recent = complaint & tickets.within(30)
        out["complaints_30d"] = tickets.count(recent)
        categories = df["category"].to_numpy(object)
        for cat in sorted(pd.unique(df["category"].dropna())):
            out[f"complaints_{cat}_30d"] = tickets.count(recent & (categories == cat))
        answered = (df["first_response_ts"] < cutoff).to_numpy(bool)
        out["complaints_unanswered"] = tickets.count(complaint & ~answered)
    return out

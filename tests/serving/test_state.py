"""Reloading the serving state takes over what did not change and loads what did."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from serving.answers import score_stored, warm_up
from serving.state import load_state

pytestmark = pytest.mark.slow  # the trained home


def test_reload_takes_over_the_unchanged_and_reads_a_changed_day(trained_home):
    settings = trained_home["settings"]
    first = load_state(settings)
    warm_up(first)
    assert first.stored_answers is not None  # the day's list was made by the serving champion
    customer = trained_home["customers"][0]
    assert score_stored(first, [customer])[customer]["customer_id"] == customer

    same = load_state(settings, previous=first)
    assert same.churn is first.churn and same.volume is first.volume and same.latest is first.latest
    assert same.stored_answers is first.stored_answers

    day_dir = trained_home["daily"].day_dir
    at_risk = day_dir / "at_risk.parquet"
    frame = pd.read_parquet(at_risk)
    frame.to_parquet(at_risk)  # the day rewritten (a rerun, an erasure)
    later = first.latest.written_ns + 1_000_000
    os.utime(at_risk, ns=(later, later))
    changed = load_state(settings, previous=same)
    assert changed.churn is first.churn and changed.latest is not first.latest
    assert "stored_answers" not in changed.__dict__  # prepared again for the new day
    assert changed.stored_answers is not None and customer in changed.stored_answers

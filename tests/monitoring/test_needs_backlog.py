"""The needs backlog against a plain re-computation, and its point-in-time rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.vectors import build_vectors
from monitoring.needs_backlog import backlog_json, needs_backlog, open_requests


def at_risk_for(vectors: pd.DataFrame, seed: int) -> pd.DataFrame:
    """An at-risk list in the scoring function's shape, with made-up risk and reasons."""
    rng = np.random.default_rng(seed)
    n = len(vectors)
    features = np.array(["req_open", "tickets_30d", "usage_drop_flag", "req_oldest_open_days"])
    p = rng.beta(1, 8, n)
    out = pd.DataFrame(
        {
            "customer_id": vectors["customer_id"].to_numpy(),
            "churn_probability": p,
            "value_at_risk": np.round(p * rng.lognormal(7, 1, n), 2),
        }
    )
    for k in (1, 2, 3):
        out[f"reason_{k}_feature"] = np.where(rng.random(n) < 0.1, None, features[rng.integers(0, 4, n)])
        out[f"reason_{k}_shap"] = np.where(out[f"reason_{k}_feature"].isna(), np.nan, rng.random(n) / k)
    return out


def plain_backlog(req: pd.DataFrame, at_risk: pd.DataFrame, as_of: str, settings) -> pd.DataFrame:
    """The same ranking written as a loop over requests and customers."""
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    risk = {r.customer_id: r for r in at_risk.itertuples()}
    groups: dict = {}
    for r in req.itertuples():
        if r.ts >= end or (pd.notna(r.resolved_ts) and r.resolved_ts < end):
            continue
        g = groups.setdefault((r.product_area, r.type), {"customers": set(), "oldest": 0.0})
        g["customers"].add(r.customer_id)
        g["oldest"] = max(g["oldest"], (end - r.ts) / pd.Timedelta(days=1))
    rows = []
    for (area, type_), g in groups.items():
        p = sum(risk[c].churn_probability for c in g["customers"] if c in risk)
        v = sum(risk[c].value_at_risk for c in g["customers"] if c in risk)
        rows.append((area, type_, len(g["customers"]), round(v, 2), round(p, 2), g["oldest"]))
    rows.sort(key=lambda x: (-x[3], -x[2], -x[5], x[0], x[1]))
    return pd.DataFrame(
        rows,
        columns=["product_area", "type", "customers_waiting", "value_at_risk", "churn_risk_sum", "oldest"],
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_backlog_ranking_matches_a_plain_recomputation(sample, settings, seed):
    events = sample.events
    as_of = f"{events.last_event_ts() - pd.Timedelta(days=30 * seed):%Y-%m-%d}"
    at_risk = at_risk_for(build_vectors(events, as_of, settings), seed)
    got = needs_backlog(events.requirements, at_risk, as_of, settings)
    want = plain_backlog(events.requirements, at_risk, as_of, settings)
    assert len(got) == len(want) > 5
    assert list(zip(got["product_area"], got["type"], strict=True)) == list(
        zip(want["product_area"], want["type"], strict=True)
    )
    assert got["customers_waiting"].tolist() == want["customers_waiting"].tolist()
    np.testing.assert_allclose(got["value_at_risk"], want["value_at_risk"], atol=0.02)
    np.testing.assert_allclose(got["churn_risk_sum"], want["churn_risk_sum"], atol=0.02)
    np.testing.assert_allclose(got["oldest_wait_days"], want["oldest"], atol=1e-3)
    assert set(got["priority"]) <= set(settings.needs.matrix.values())


def test_a_request_resolved_after_the_day_is_open_on_it(sample, settings):
    req = sample.events.requirements
    done = req[req["resolved_ts"].notna()].iloc[0]
    day_before = (done["resolved_ts"] - pd.Timedelta(days=1)).normalize()
    assert done["request_id"] in set(open_requests(req, day_before)["request_id"])
    assert done["request_id"] not in set(open_requests(req, done["resolved_ts"].normalize())["request_id"])
    # Truncating the data at D (what a loader as of D sees) gives the same backlog on D.
    as_of = req["ts"].quantile(0.6).normalize()
    known = req[req["ts"] < as_of + pd.Timedelta(days=1)].copy()
    known.loc[known["resolved_ts"] >= as_of + pd.Timedelta(days=1), ["resolved_ts", "status"]] = [
        pd.NaT,
        "open",
    ]
    at_risk = at_risk_for(build_vectors(sample.events, as_of, settings), 4)
    pd.testing.assert_frame_equal(
        needs_backlog(req, at_risk, as_of, settings), needs_backlog(known, at_risk, as_of, settings)
    )


def test_backlog_json_has_the_documented_shape(sample, settings):
    as_of = f"{sample.events.last_event_ts():%Y-%m-%d}"
    at_risk = at_risk_for(build_vectors(sample.events, as_of, settings), 5)
    out = backlog_json(needs_backlog(sample.events.requirements, at_risk, as_of, settings), as_of)
    assert out["as_of"] == as_of
    first = out["groups"][0]
    assert list(first)[:7] == [
        "product_area",
        "type",
        "customers_waiting",
        "oldest_wait_days",
        "churn_risk_sum",
        "value_at_risk",
        "priority",
    ]
    values = [g["value_at_risk"] for g in out["groups"]]
    assert values == sorted(values, reverse=True)


def test_an_at_risk_list_without_risk_columns_is_refused(sample, settings):
    from core.errors import DataError

    at_risk = pd.DataFrame({"customer_id": ["C000001"], "churn_probability": [0.5]})
    with pytest.raises(DataError, match="at-risk list: missing column\\(s\\) value_at_risk"):
        needs_backlog(sample.events.requirements, at_risk, "2026-11-01", settings)

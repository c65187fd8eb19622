import pandas as pd
import pytest

from features.generate import generate_sample
from features.vectors import build_vectors
from monitoring.drift import check_drift, drift_alerts


@pytest.fixture(scope="module")
def vectors(settings):
    events = generate_sample(settings, customers=3000, days=300, seed=9).events
    end = events.last_event_ts().normalize()
    return build_vectors(events, end - pd.Timedelta(days=7), settings), build_vectors(events, end, settings)


def test_clean_day_raises_no_drift_alert(vectors, settings, tmp_path):
    reference, today = vectors
    result = check_drift(reference, today, settings, out_dir=tmp_path, workspace=False)
    assert result.share_drifted < settings.monitoring.drift_share_threshold
    assert drift_alerts(result, "2026-11-23", settings) == []
    assert (tmp_path / "drift.html").stat().st_size > 10_000 and (tmp_path / "drift.json").exists()


def test_injected_drift_raises_alerts(vectors, settings, tmp_path):
    reference, today = vectors
    broken = today.copy()
    broken["tickets_phone_90d"] = 0.0  # the phone channel stops logging tickets
    # a unit change upstream in the usage, purchase and ticket counts: well over the drifted-share
    # threshold also now that the vectors carry the feedback/complaint text features
    shifted = [c for c in broken.columns if c.startswith(("usage_", "spend_", "txn_count_", "tickets_"))]
    broken[shifted] = broken[shifted] * 3
    broken["churn_probability"] = 0.9
    result = check_drift(
        reference.assign(churn_probability=0.05), broken, settings, out_dir=tmp_path, workspace=True
    )
    assert "tickets_phone_90d" in result.drifted_features
    assert result.share_drifted > settings.monitoring.drift_share_threshold, result.share_drifted
    assert result.prediction_drift
    alerts = drift_alerts(result, "2026-11-23", settings)
    kinds = {(a.subject, a.level) for a in alerts}
    assert ("churn predictions", "orange") in kinds
    assert any(s == "churn features" and level in {"orange", "red"} for s, level in kinds)
    assert (settings.path("evidently_workspace")).exists()


def test_columns_empty_on_either_side_are_left_out(vectors, settings, tmp_path):
    # e.g. purchase-only data: customers.monthly_fee and the ticket features have no values
    reference, today = vectors
    reference = reference.assign(monthly_fee=float("nan"))
    today = today.assign(tickets_30d=float("nan"))
    columns = ["monthly_fee", "tickets_30d", "spend_30d", "txn_count_30d"]
    result = check_drift(reference, today, settings, out_dir=tmp_path, columns=columns, workspace=False)
    assert result.empty_columns == ["monthly_fee", "tickets_30d"]
    assert set(result.per_feature["column"]) == {"spend_30d", "txn_count_30d"}
    assert '"empty_columns"' in (tmp_path / "drift.json").read_text()

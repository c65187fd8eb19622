"""Each daily step on its own: a context, the outputs it needs, what it writes and returns."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from features.contract import EventData
from monitoring.alerts import make_alert
from pipelines import steps
from pipelines.runner import StepSkipped


@pytest.fixture(scope="module")
def day(sample) -> pd.Timestamp:
    return sample.events.last_event_ts().normalize() - pd.Timedelta(days=20)


def _context(data: Path, day, settings, tmp_path: Path) -> steps.DayContext:
    folder = tmp_path / ".staging"
    folder.mkdir(exist_ok=True)
    return steps.DayContext(Path(data), day, settings, folder, tmp_path)


@pytest.fixture(scope="module")
def loaded(sample_dir, day, settings, tmp_path_factory) -> EventData:
    return steps.load(_context(sample_dir, day, settings, tmp_path_factory.mktemp("load")))


def test_load_keeps_only_what_was_known_on_the_day(loaded, day):
    end = day + pd.Timedelta(days=1)
    for name, table in loaded.tables().items():
        if name != "customers":
            assert (table["ts"] < end).all(), name
    assert loaded.tickets is not None and loaded.transactions is not None


def test_vectors_writes_one_row_per_customer(loaded, day, settings, tmp_path):
    ctx = _context(Path("unused"), day, settings, tmp_path)
    vectors = steps.vectors(ctx, loaded)
    assert vectors["customer_id"].is_unique and len(vectors) > 100
    stored = pd.read_parquet(ctx.folder / "vectors.parquet")
    assert list(stored.columns) == list(vectors.columns)
    assert stored["customer_id"].tolist() == vectors["customer_id"].tolist()


def test_kpis_writes_the_table_and_raises_alerts(loaded, day, settings, tmp_path):
    ctx = _context(Path("unused"), day, settings, tmp_path)
    result = steps.kpis(ctx, loaded)
    table = pd.read_csv(ctx.folder / "kpis.csv")
    assert {"first_response_rate", "nps"} <= set(table["kpi"]) and len(table) == len(result.table)
    assert all(alert.kind == "kpi" for alert in result.alerts)


def _purchases_only(events: EventData) -> EventData:
    return EventData(customers=events.customers, transactions=events.transactions)


def test_kpis_skip_without_service_tables(loaded, day, settings, tmp_path):
    ctx = _context(Path("unused"), day, settings, tmp_path)
    with pytest.raises(StepSkipped, match="no tickets, requirements or feedback table"):
        steps.kpis(ctx, _purchases_only(loaded))
    assert not (ctx.folder / "kpis.csv").exists()


def test_forecast_skips_without_volume_tables(loaded, day, settings, tmp_path):
    ctx = _context(Path("unused"), day, settings, tmp_path)
    with pytest.raises(StepSkipped, match="^no tickets or requirements table$"):
        steps.forecast(ctx, EventData(customers=loaded.customers))


def test_staffing_skips_without_ticket_channels(loaded, day, settings, tmp_path):
    ctx = _context(Path("unused"), day, settings, tmp_path)
    ahead = pd.DataFrame(
        {"series_id": ["requirements/total"], "ds": [day + pd.Timedelta(days=1)], "yhat": [3.0]}
    )
    forecast = steps.Forecast(champion=None, ahead=ahead, actuals=ahead.rename(columns={"yhat": "y"}))
    with pytest.raises(StepSkipped, match="no tickets table"):
        steps.staffing(ctx, loaded, forecast)


def test_decay_skips_without_earlier_completed_days(loaded, day, settings, tmp_path):
    ctx = _context(Path("unused"), day, settings, tmp_path)
    (tmp_path / f"{day - pd.Timedelta(days=60):%Y-%m-%d}").mkdir()  # not completed: no marker
    scored = steps.Scored(champion=None, at_risk=pd.DataFrame())
    with pytest.raises(StepSkipped, match="no earlier completed list or forecast"):
        steps.decay(ctx, loaded, scored, None)


def test_alerts_gathers_every_steps_alerts_once(day, settings, tmp_path):
    ctx = _context(Path("unused"), day, settings, tmp_path)
    alert = make_alert("kpi", "yellow", "nps", day, "NPS 12 below the target 40", settings, rule="nps")
    kpis = steps.KPIs(pd.DataFrame(), [alert])
    drift = steps.Drift(0.0, [alert])  # the same alert twice is written once
    emitted = steps.alerts(ctx, forecast=None, kpis=kpis, drift=drift, decay=None)
    assert [a.id for a in emitted] == [alert.id]
    lines = (ctx.folder / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["NPS 12 below the target 40"]

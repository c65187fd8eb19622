import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import pandas as pd

from monitoring.alerts import emit, make_alert, read_alerts
from monitoring.volume_alerts import volume_alerts


def test_same_alert_not_raised_twice_and_levels(settings, tmp_path):
    a = make_alert(
        "kpi",
        "orange",
        "nps (overall)",
        "2026-11-23",
        "nps low",
        settings,
        actual=10,
        expected=40,
        rule="nps",
    )
    b = make_alert(
        "kpi",
        "orange",
        "nps (overall)",
        "2026-11-23",
        "nps low",
        settings,
        actual=10,
        expected=40,
        rule="nps",
    )
    assert a.id == b.id and a.owner == "service-operations" and a.channel == "sms"
    assert pd.Timestamp(a.respond_by) - pd.Timestamp(a.raised_at) == pd.Timedelta(hours=4)
    assert emit([a], tmp_path, settings) == [a]
    assert emit([b], tmp_path, settings) == []
    assert [x.id for x in read_alerts(tmp_path / "alerts.jsonl")] == [a.id]
    red = make_alert("volume", "red", "tickets/total", "2026-11-23", "x", settings)
    assert red.respond_by == red.raised_at and red.channel == "popup"


def test_webhook_against_a_local_server(settings, tmp_path):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cfg = settings.model_copy(
        update={
            "alerts": settings.alerts.model_copy(
                update={"webhook_url": f"http://127.0.0.1:{server.server_port}/hook"}
            )
        }
    )
    try:
        alert = make_alert("drift", "orange", "churn features", "2026-11-23", "drift", cfg)
        emit([alert], tmp_path, cfg)
        emit([alert], tmp_path, cfg)  # not sent twice
    finally:
        server.shutdown()
    assert len(received) == 1 and received[0]["alerts"][0]["id"] == alert.id


def _with_webhook(settings, url: str):
    alerts = settings.alerts.model_copy(update={"webhook_url": url, "webhook_backoff_seconds": 0.01})
    return settings.model_copy(update={"alerts": alerts})


def test_webhook_failure_is_dead_lettered_and_the_url_never_logged(settings, tmp_path, caplog):
    cfg = _with_webhook(settings, "http://127.0.0.1:9/secret-token")
    alert = make_alert("kpi", "yellow", "s", "2026-11-23", "m", cfg)
    emit([alert], tmp_path, cfg)
    assert "alert webhook attempt 4 of 4 failed: ConnectError" in caplog.text
    assert "secret-token" not in caplog.text and "127.0.0.1:9" not in caplog.text
    assert [a.id for a in read_alerts(tmp_path / "alerts.dead-letter.jsonl")] == [alert.id]
    assert [a.id for a in read_alerts(tmp_path / "alerts.jsonl")] == [alert.id]


def test_webhook_retries_until_the_receiver_recovers(settings, tmp_path):
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            calls.append(1)
            self.send_response(503 if len(calls) < 3 else 204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cfg = _with_webhook(settings, f"http://127.0.0.1:{server.server_port}/hook")
    try:
        emit([make_alert("kpi", "red", "s", "2026-11-23", "m", cfg)], tmp_path, cfg)
    finally:
        server.shutdown()
    assert len(calls) == 3
    assert not (tmp_path / "alerts.dead-letter.jsonl").exists()


def _emit_many(day_dir: str, start: int) -> None:
    from core.config import Settings

    cfg = Settings()
    alerts = [make_alert("kpi", "yellow", f"s{i}", "2026-11-23", "m", cfg) for i in range(start, start + 40)]
    for a in alerts:
        emit([a], Path(day_dir), cfg)


def test_concurrent_writers_lose_nothing_and_write_no_id_twice(tmp_path):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    # four processes, overlapping subjects: 0-39, 20-59, 40-79, 60-99
    procs = [ctx.Process(target=_emit_many, args=(str(tmp_path), start)) for start in (0, 20, 40, 60)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    ids = [a.id for a in read_alerts(tmp_path / "alerts.jsonl")]
    assert len(ids) == 100 and len(set(ids)) == 100


def _history(days=400, level=100.0):
    ds = pd.date_range(end="2026-11-22", periods=days, freq="D")
    y = level * np.array([1.1, 1.0, 1.0, 1.0, 1.0, 0.8, 0.7])[ds.dayofweek]
    return pd.DataFrame({"series_id": "tickets/total", "ds": ds, "y": y})


def _fc(yhat, upper):
    return pd.DataFrame(
        {
            "series_id": ["tickets/total"],
            "ds": [pd.Timestamp("2026-11-23")],
            "yhat": [yhat],
            "yhat_lower": [yhat * 0.8],
            "yhat_upper": [upper],
        }
    )


def test_volume_alert_levels(settings):
    hist = _history()
    day = pd.Timestamp("2026-11-23")  # a Monday
    for actual, level in ((105, None), (125, "yellow"), (180, "orange"), (300, "red")):
        act = pd.DataFrame({"series_id": ["tickets/total"], "ds": [day], "y": [actual]})
        alerts = volume_alerts(act, _fc(110, 120), hist, day, settings)
        assert [a.level for a in alerts] == ([level] if level else []), actual
    a = volume_alerts(
        pd.DataFrame({"series_id": ["tickets/total"], "ds": [day], "y": [300]}),
        _fc(110, 120),
        hist,
        day,
        settings,
    )[0]
    assert (
        a.subject == "tickets/total"
        and a.actual == 300
        and a.expected == 110
        and a.evidence["baseline"] == 110
    )


def test_year_on_year_surge_is_orange(settings):
    hist = _history(level=30)
    hist.loc[hist["ds"] == pd.Timestamp("2026-11-23") - pd.Timedelta(weeks=52), "y"] = 20
    day = pd.Timestamp("2026-11-23")
    act = pd.DataFrame({"series_id": ["tickets/total"], "ds": [day], "y": [60]})
    alerts = volume_alerts(act, _fc(40, 70), hist, day, settings)  # inside the interval, but 3x last year
    assert [a.level for a in alerts] == ["orange"] and alerts[0].evidence["yoy_ratio"] == 3.0

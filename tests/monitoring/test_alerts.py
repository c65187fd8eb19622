import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

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


def test_webhook_failure_is_logged_not_fatal(settings, tmp_path, caplog):
    cfg = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"webhook_url": "http://127.0.0.1:9/x"})}
    )
    emit([make_alert("kpi", "yellow", "s", "2026-11-23", "m", cfg)], tmp_path, cfg)
    assert "webhook http://127.0.0.1:9/x failed" in caplog.text
    assert (tmp_path / "alerts.jsonl").exists()


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

"""Against a real BentoML server on loopback: every endpoint, auth, bad input, reload, fuzzing."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from needradar.commands.serve import bentoml_command

pytestmark = pytest.mark.slow
KEY = "test-key-123"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(env: dict, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        bentoml_command("127.0.0.1", port),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def server(trained_home):
    port = _free_port()
    env = {**os.environ, **trained_home["env"], "NEEDRADAR_API_KEY": KEY}
    proc = _start(env, port)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stdout.read()}")
        time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("server did not become ready in 120 s")
    yield {"url": url, **trained_home}
    proc.terminate()
    proc.wait(timeout=30)


def post(server, path, body=None, headers=AUTH, content=None):
    return httpx.post(f"{server['url']}{path}", json=body, content=content, headers=headers, timeout=30)


def test_health_and_metrics_are_open(server):
    assert httpx.get(f"{server['url']}/livez").status_code == 200
    assert httpx.get(f"{server['url']}/readyz").status_code == 200
    assert "bentoml" in httpx.get(f"{server['url']}/metrics").text


def test_auth_required(server):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        r = post(server, "/model_info", {}, headers=headers)
        assert r.status_code == 401
        assert "API key" in r.json()["error"]


def test_refuses_to_serve_without_key(trained_home):
    from typer.testing import CliRunner

    from needradar.cli import app

    env = {**os.environ, **trained_home["env"]}
    env.pop("NEEDRADAR_API_KEY", None)
    port = _free_port()
    proc = _start(env, port)
    try:
        seen, deadline = "", time.time() + 90
        while "NEEDRADAR_API_KEY is not set" not in seen and time.time() < deadline:
            seen += proc.stdout.readline()
        assert "NEEDRADAR_API_KEY is not set and no key was added with `needradar keys add`" in seen
        with pytest.raises(httpx.HTTPError):  # the worker never starts, so nothing is ready
            httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).raise_for_status()
    finally:
        proc.kill()
        proc.wait()
    saved = os.environ.pop("NEEDRADAR_API_KEY", None)
    try:
        result = CliRunner().invoke(app, ["serve"])
    finally:
        if saved is not None:
            os.environ["NEEDRADAR_API_KEY"] = saved
    assert result.exit_code != 0
    assert "NEEDRADAR_API_KEY is not set" in str(result.exception)


def test_score_by_ids_with_unknown_item(server):
    ids = server["customers"][:3] + ["NOPE"]
    r = post(server, "/score", {"customer_ids": ids})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["customer_id"] for x in results] == ids
    assert results[-1] == {"customer_id": "NOPE", "error": "unknown customer id 'NOPE'"}
    first = results[0]
    tiers = {"red", "orange", "yellow", "green", "lapsed"}
    assert 0 <= first["churn_probability"] <= 1 and first["risk_tier"] in tiers
    assert first["reason_1_text"] and first["action"]


def test_score_rows_same_as_batch_job(server):
    import pandas as pd

    at_risk = pd.read_parquet(server["daily"].outputs["at_risk.parquet"]).set_index("customer_id")
    vectors = pd.read_parquet(server["daily"].outputs["vectors.parquet"]).head(2)
    rows = [
        {k: (None if pd.isna(v) else v) for k, v in r.items()}
        for r in vectors.astype(object).to_dict("records")
    ]
    r = post(server, "/score", {"rows": rows})
    assert r.status_code == 200, r.text
    for item in r.json()["results"]:
        assert item["churn_probability"] == pytest.approx(
            at_risk.loc[item["customer_id"], "churn_probability"]
        )


def test_score_by_ids_same_as_batch_job(server):
    """One customer at a time (the small-batch path) answers what the daily list says."""
    import pandas as pd

    at_risk = pd.read_parquet(server["daily"].outputs["at_risk.parquet"])
    picked = pd.concat([at_risk.head(3), at_risk[at_risk["lapsed"]].head(1), at_risk.tail(2)])
    columns = ["churn_probability", "lapsed", "action"] + [
        f"reason_{j}_{part}" for j in (1, 2, 3) for part in ("feature", "value", "shap", "text")
    ]
    for _, expected in picked.iterrows():
        r = post(server, "/score", {"customer_ids": [expected["customer_id"]]})
        assert r.status_code == 200, r.text
        got = r.json()["results"][0]
        for c in columns:
            want = None if pd.isna(expected[c]) else expected[c]
            assert got[c] == (pytest.approx(want, abs=1e-12) if isinstance(want, float) else want), c


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"customer_ids": "C1"}, 400, "customer_ids"),
        ({"rows": [{"monthly_fee": "NaN"}]}, 422, "rows"),
        ({}, 422, "customer_ids"),
        ({"customer_ids": []}, 422, "customer_ids"),
        ({"customer_ids": ["x"] * 1001}, 413, "customer_ids"),
    ],
)
def test_score_bad_input(server, body, status, field):
    r = post(server, "/score", body)
    assert r.status_code == status, r.text
    assert field in r.text


def test_nan_and_malformed_json(server):
    r = post(
        server,
        "/score",
        content=b'{"rows": [{"monthly_fee": NaN}]}',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "rows" in r.text
    r = post(
        server, "/score", content=b'{"customer_ids": [', headers={**AUTH, "Content-Type": "application/json"}
    )
    assert r.status_code == 400


def test_at_risk_filters_and_pages(server):
    r = post(server, "/at_risk", {"page_size": 5, "risk_tiers": ["green", "yellow"]})
    body = r.json()
    assert r.status_code == 200 and body["as_of"] == server["as_of"]
    assert body["model_version"] == server["daily"].models["churn"]["version"]  # the list's own model
    assert len(body["items"]) <= 5 and all(i["risk_tier"] in {"green", "yellow"} for i in body["items"])
    assert body["pages"] == -(-body["total"] // 5)
    assert post(server, "/at_risk", {"as_of": "1999-01-01"}).status_code == 404
    assert post(server, "/at_risk", {"page": 0}).status_code == 400


def test_needs_backlog_filtered_and_paginated(server):
    import pandas as pd

    day_dir = server["daily"].day_dir
    # the daily job writes the backlog itself; without it (an older day) the service says what to run
    written = day_dir / "needs_backlog.parquet"
    assert written.exists()
    kept = pd.read_parquet(written)
    written.unlink()
    try:
        assert post(server, "/reload", {}).status_code == 200
        r = post(server, "/needs", {})
        assert r.status_code == 503 and "needradar daily" in r.json()["error"]
    finally:
        kept.to_parquet(written)
    backlog = kept
    assert post(server, "/reload", {}).status_code == 200
    r = post(server, "/needs", {"product_areas": ["billing"], "page_size": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["as_of"] == server["as_of"] and body["total"] == (backlog["product_area"] == "billing").sum()
    assert [g["type"] for g in body["groups"]] == backlog[backlog["product_area"] == "billing"]["type"].head(
        2
    ).tolist()
    assert post(server, "/needs", {"as_of": "1999-01-01"}).status_code == 404


def test_forecast(server):
    r = post(server, "/forecast", {"series": ["tickets/total"], "horizon": 7})
    body = r.json()
    assert r.status_code == 200, r.text
    assert len(body["forecast"]) == 7 and all(
        f["yhat_lower"] <= f["yhat"] <= f["yhat_upper"] for f in body["forecast"]
    )
    assert body["staffing"] and "agents" in body["staffing"][0]
    assert body["model_version"] == server["daily"].models["volume"]["version"]
    bad = post(server, "/forecast", {"series": ["tickets/nope"], "horizon": 7})
    assert bad.status_code == 404 and bad.json()["field"] == "series"
    far = post(server, "/forecast", {"series": ["tickets/total"], "horizon": 500})
    assert far.status_code == 422 and far.json()["field"] == "horizon"


def test_model_info_and_reload_under_traffic(server):
    info = post(server, "/model_info", {}).json()
    assert info["models"]["churn"]["alias"] == "champion" and info["models"]["volume"]["version"] >= 1
    statuses: list[int] = []

    def traffic():
        for _ in range(30):
            statuses.append(post(server, "/score", {"customer_ids": server["customers"][:1]}).status_code)

    t = threading.Thread(target=traffic)
    t.start()
    assert post(server, "/reload", {}).status_code == 200
    t.join()
    assert statuses and set(statuses) == {200}


def test_fuzz_from_openapi_schema(server):
    """Requests generated from the live OpenAPI schema (schemathesis) never produce a server error."""
    schema = schemathesis.openapi.from_url(f"{server['url']}/docs.json")
    schema = schema.include(path_regex="^/(score|at_risk|forecast|model_info)$")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 4
    seen: list[int] = []
    for operation in operations:

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def call(case):
            response = case.call(base_url=server["url"], headers=AUTH, timeout=30)
            seen.append(response.status_code)
            assert response.status_code < 500, (
                f"{case.path} {case.body!r} -> {response.status_code} {response.text[:300]}"
            )

        call()
    assert len(seen) >= 20 and any(code >= 400 for code in seen)

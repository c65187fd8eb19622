"""Against a real BentoML server: roles, odd tokens, body limits, revocation, audit, versions,
reloads, overload, and a customer's export and erasure leaving no raw id under the home folder."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from needradar.cli import app
from needradar.commands.serve import bentoml_command
from tests.serving.test_service import _free_port
from tests.trained_home import SMALL_CONFIG

pytestmark = pytest.mark.slow
ADMIN = "env-admin-key-0123"
SECURITY = {
    "key_cache_seconds": 0.5,
    "max_body_bytes": 100_000,
    "reload_poll_seconds": 1.0,
}


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def secured(trained_home, tmp_path_factory):
    home = trained_home["home"]
    config = home / "secured.yaml"
    config.write_text(yaml.safe_dump({**SMALL_CONFIG, "security": SECURITY}))
    mp = pytest.MonkeyPatch()
    mp.setenv("NEEDRADAR_CONFIG", str(config))
    mp.delenv("NEEDRADAR_API_KEY", raising=False)
    keys = {
        role: json.loads(_cli("keys", "add", "--role", role, "--name", f"{role}-1", "--json"))["key"]
        for role in ("app", "retention", "planner", "admin")
    }
    port = _free_port()
    env = {
        **os.environ,
        **trained_home["env"],
        "NEEDRADAR_CONFIG": str(config),
        "NEEDRADAR_API_KEY": ADMIN,
        "NEEDRADAR_INSECURE": "0",
        "NEEDRADAR_MAX_CONCURRENCY": "6",
    }
    # the server's log goes to a file: a pipe nobody reads fills up and blocks the server
    log = (tmp_path_factory.mktemp("server_log") / "server.log").open("w")
    proc = subprocess.Popen(bentoml_command("127.0.0.1", port), env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"server exited: {Path(log.name).read_text()}")
        time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("server did not become ready in 180 s")
    yield {"url": url, "keys": {**keys, "env-admin": ADMIN}, **trained_home}
    proc.terminate()
    proc.wait(timeout=30)
    log.close()
    mp.undo()


def call(s, path, body=None, key=None, headers=None, content=None):
    h = dict(headers or {})
    if key is not None:
        h["Authorization"] = f"Bearer {key}"
    return httpx.post(f"{s['url']}{path}", json=body, content=content, headers=h, timeout=60)


def bodies(s) -> dict[str, dict]:
    return {
        "/score": {"customer_ids": s["customers"][:2]},
        "/at_risk": {"page_size": 3},
        "/forecast": {"series": ["tickets/total"], "horizon": 3},
        "/model_info": {},
    }


ALLOWED = {
    "app": {"/score"},
    "retention": {"/score", "/at_risk"},
    "planner": {"/forecast"},
    "admin": {"/score", "/at_risk", "/forecast", "/model_info"},
    "env-admin": {"/score", "/at_risk", "/forecast", "/model_info"},
}


def test_role_matrix(secured):
    for path, body in bodies(secured).items():
        assert call(secured, path, body).status_code == 401
        for who, key in secured["keys"].items():
            r = call(secured, path, body, key)
            if path in ALLOWED[who]:
                assert r.status_code == 200, (who, path, r.text)
            else:
                assert r.status_code == 403, (who, path, r.text)
                needed = {
                    "/score": "app",
                    "/model_info": "admin",
                    "/at_risk": "retention",
                    "/forecast": "planner",
                }[path]
                assert r.json()["role_needed"] == needed and needed in r.json()["error"]
    assert call(secured, "/reload", {}, secured["keys"]["retention"]).json()["role_needed"] == "admin"


@pytest.mark.parametrize(
    "header",
    [
        b"Bearer \xff\xfe\xfd",
        "Bearer é-clé".encode(),
        b"Bearer " + b"x" * 5000,
        b"Basic " + ADMIN.encode(),
        b"Bearer",
        b"Bearer two words",
        ADMIN.encode(),
    ],
)
def test_odd_tokens_get_401_json(secured, header):
    r = httpx.post(f"{secured['url']}/model_info", json={}, headers=[(b"Authorization", header)], timeout=30)
    assert r.status_code == 401 and "API key" in r.json()["error"]


def test_repeated_authorization_header_is_refused(secured):
    headers = [(b"Authorization", f"Bearer {ADMIN}".encode())] * 2
    assert httpx.post(f"{secured['url']}/model_info", json={}, headers=headers).status_code == 401


def test_open_paths_are_matched_exactly(secured):
    assert httpx.get(f"{secured['url']}/livez").status_code == 200
    for path in ("/livez/x", "/metricsx", "/docs.json.bak", "/readyz2"):
        assert httpx.get(f"{secured['url']}{path}").status_code == 401, path


def test_oversized_body_gets_413_before_parsing(secured):
    big = json.dumps({"customer_ids": ["C1"] * 20_000}).encode()
    key = secured["keys"]["app"]
    r = call(secured, "/score", key=key, content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "bytes" in r.json()["error"]

    def chunks():  # no Content-Length: the limit counts the bytes as they arrive
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    r = call(secured, "/score", key=key, content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/at_risk", {"risk_tiers": ["red"] * 101}, "risk_tiers"),
        ("/forecast", {"series": ["tickets/total"] * 101}, "series"),
    ],
)
def test_list_fields_are_bounded(secured, path, body, field):
    r = call(secured, path, body, ADMIN)
    assert r.status_code == 413 and r.json()["field"] == field


def test_new_key_works_and_revoked_key_stops_without_restart(secured):
    key = json.loads(_cli("keys", "add", "--role", "app", "--name", "late-app", "--json"))["key"]
    body = {"customer_ids": secured["customers"][:1]}
    deadline = time.time() + 10
    while call(secured, "/score", body, key).status_code != 200 and time.time() < deadline:
        time.sleep(0.2)
    assert call(secured, "/score", body, key).status_code == 200
    _cli("keys", "revoke", "--name", "late-app")
    start = time.time()
    while call(secured, "/score", body, key).status_code != 401:
        assert time.time() - start < 5, "a revoked key still works after 5 s"
        time.sleep(0.2)
    assert "late-app" not in _cli("keys", "list", "--json")


def test_answers_carry_model_versions(secured):
    for path, body in bodies(secured).items():
        r = call(secured, path, body, ADMIN)
        assert re.fullmatch(r"churn=\d+,volume=\d+", r.headers["x-needradar-model-versions"]), path
    assert call(secured, "/at_risk", {}, ADMIN).json()["model_version"] >= 1
    assert call(secured, "/forecast", bodies(secured)["/forecast"], ADMIN).json()["model_version"] >= 1


def test_rows_are_scored_through_the_batcher_with_versions(secured):
    import pandas as pd

    vectors = pd.read_parquet(secured["daily"].outputs["vectors.parquet"]).head(3)
    rows = [
        {k: (None if pd.isna(v) else v) for k, v in r.items()}
        for r in vectors.astype(object).to_dict("records")
    ]
    r = call(secured, "/score", {"rows": rows}, secured["keys"]["app"])
    assert r.status_code == 200 and len(r.json()["results"]) == 3


def test_audit_log_has_no_keys_and_no_customers(secured):
    call(secured, "/at_risk", {"page_size": 4}, secured["keys"]["retention"])
    # the guard writes a request's line once the answer has gone out, a moment after the client has it
    deadline = time.time() + 10
    while True:
        lines = [json.loads(x) for x in (secured["home"] / "audit.jsonl").read_text().splitlines()]
        mine = [
            x for x in lines if x["key"] == "retention-1" and x["path"] == "/at_risk" and x["status"] == 200
        ]
        if (mine and mine[-1]["customers"] == 4) or time.time() > deadline:
            break
        time.sleep(0.1)
    assert mine and mine[-1]["customers"] == 4 and mine[-1]["role"] == "retention"
    assert any(x["status"] == 401 and x["key"] is None for x in lines)
    text = (secured["home"] / "audit.jsonl").read_text()
    assert not any(k in text for k in secured["keys"].values())
    assert not any(c in text for c in secured["customers"])


def test_concurrent_reloads_and_traffic(secured):
    statuses: list[int] = []

    def traffic():
        for _ in range(20):
            statuses.append(
                call(secured, "/score", {"customer_ids": secured["customers"][:1]}, ADMIN).status_code
            )

    t = threading.Thread(target=traffic)
    t.start()
    with ThreadPoolExecutor(3) as pool:  # with the traffic, within the server's max_concurrency
        reloads = list(pool.map(lambda _: call(secured, "/reload", {}, ADMIN), range(3)))
    t.join()
    assert [r.status_code for r in reloads] == [200] * 3
    info = call(secured, "/model_info", {}, ADMIN).json()
    from experiments.registry import champion_versions

    assert info["models"]["churn"]["version"] == champion_versions(secured["settings"])["churn"]
    assert set(statuses) <= {200, 429} and 200 in statuses


def test_reload_of_a_new_champion_under_steady_load_refuses_nothing(secured):
    """A new champion arrives while /score requests come at a steady rate, past what the bound of
    6 in flight would absorb if the reload stalled the server for more than half a second: the new
    state is built beside the old one (its SHAP tables at low priority), so nothing is refused or
    fails, and the answers switch to the new version."""
    from experiments.registry import promote, register_again

    settings = secured["settings"]
    version = register_again("churn", settings)  # as challenger: the server does not follow it yet
    body = {"customer_ids": secured["customers"][:1]}
    statuses: list[int] = []
    stop = threading.Event()

    def stream() -> None:  # open loop: 10 requests a second whatever the answers do
        with ThreadPoolExecutor(32) as pool:
            due = time.perf_counter()
            while not stop.is_set():
                pool.submit(lambda: statuses.append(call(secured, "/score", body, ADMIN).status_code))
                due += 0.1
                time.sleep(max(0.0, due - time.perf_counter()))

    sender = threading.Thread(target=stream)
    sender.start()
    try:
        time.sleep(1)
        assert promote("churn", settings, force=True).promoted  # every worker follows the alias
        reload = call(secured, "/reload", {}, ADMIN)
        deadline = time.time() + 30
        while call(secured, "/score", body, ADMIN).json()["model_version"] != version:
            assert time.time() < deadline, "the new champion was not served within 30 s"
            time.sleep(0.2)
        time.sleep(1)
    finally:
        stop.set()
        sender.join()
    assert reload.status_code == 200 and reload.json()["models"]["churn"]["version"] == version
    assert len(statuses) > 15 and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}


def test_workers_follow_new_outputs_without_reload(secured):
    out = secured["settings"].path("output")
    day = secured["as_of"]
    nxt = f"{__import__('pandas').Timestamp(day) + __import__('pandas').Timedelta(days=1):%Y-%m-%d}"
    shutil.copytree(out / day, out / nxt)
    deadline = time.time() + 20
    while call(secured, "/at_risk", {"page_size": 1}, ADMIN).json()["as_of"] != nxt:
        assert time.time() < deadline, "the server did not pick up the new day within 20 s"
        time.sleep(0.5)


def test_overload_answers_429_and_recovers(secured):
    """Past NEEDRADAR_MAX_CONCURRENCY (6 here) requests in flight, the server refuses instead of
    queueing: every request gets an answer (no client timeout), some of them 429 from the gate in
    front of BentoML's middlewares (JSON body, Retry-After), and the server serves normally right
    after. How fast a 429 comes back is a latency figure, not asserted on a shared machine (see
    docs/benchmarks.md)."""

    async def burst():  # 60 requests sent at once, so that more than 6 are in flight together
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=secured["url"], limits=limits, timeout=60) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/at_risk", json={"page_size": 300}, headers={"Authorization": f"Bearer {ADMIN}"}
                    )
                    for _ in range(60)
                )
            )

    answers = asyncio.run(burst())
    codes = [r.status_code for r in answers]
    assert set(codes) <= {200, 429} and 429 in codes and 200 in codes, codes
    refused = [r for r in answers if r.status_code == 429]
    assert all(r.headers["retry-after"] == "1" and "in flight" in r.json()["error"] for r in refused)
    assert call(secured, "/at_risk", {"page_size": 1}, ADMIN).status_code == 200


def test_privacy_export_then_erase_leaves_no_raw_id(secured):
    import pandas as pd

    home = secured["home"]
    at_risk = pd.read_parquet(secured["daily"].outputs["at_risk.parquet"])
    customer = str(at_risk["customer_id"].iloc[0])
    exported = json.loads(_cli("privacy", "export", "--customer", customer))
    at_risk_files = [f for f in exported["files"] if f.endswith("at_risk.parquet")]
    assert at_risk_files and exported["files"][at_risk_files[0]][0]["customer_id"] == customer
    assert any(f.endswith("vectors.parquet") for f in exported["files"])
    assert any("mlartifacts" in f or "holdout" in f for f in exported["files"])  # found by pseudonym

    report = json.loads(_cli("privacy", "erase", "--customer", customer, "--json"))
    assert report["changed"] and not report["not_editable"]
    token = re.compile(rb"(?<![\w-])" + re.escape(customer.encode()) + rb"(?![\w-])")
    holding = [str(p) for p in home.rglob("*") if p.is_file() and token.search(p.read_bytes())]
    assert holding == []
    assert json.loads(_cli("privacy", "export", "--customer", customer))["files"] == {}
    from core.config import load_config
    from core.privacy import drop_suppressed

    later = drop_suppressed(pd.DataFrame({"customer_id": [customer, "other"]}), load_config())
    assert later["customer_id"].tolist() == ["other"]


@pytest.mark.parametrize("who", ["app", "retention", "planner", "admin"])
def test_fuzz_with_each_role(secured, who):
    """Schema-generated requests with each role's key: never a server error, and 403 exactly
    where the role may not go."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{secured['url']}/docs.json")
    schema = schema.include(path_regex="^/(score|at_risk|forecast|model_info)$")
    headers = {"Authorization": f"Bearer {secured['keys'][who]}"}
    seen: list[tuple[str, int]] = []
    for operation in [result.ok() for result in schema.get_all_operations()]:

        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def call_(case):
            response = case.call(base_url=secured["url"], headers=headers, timeout=60)
            seen.append((case.path, response.status_code))
            assert response.status_code < 500 or response.status_code == 503, response.text[:300]
            if case.path not in ALLOWED[who]:
                assert response.status_code == 403, (case.path, response.status_code)

        call_()
    assert {p for p, _ in seen} == {"/score", "/at_risk", "/forecast", "/model_info"}

"""The dashboard's pieces without a server: list filters, key and session checks, chart JSON,
finished day folders, and the API's OpenAPI additions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.config import load_config
from serving import auth
from serving.openapi import needradar_openapi
from serving.ui.app import chart_json
from serving.ui.days import finished_days
from serving.ui.retention import ListQuery, filter_list, list_page, tiles


def _list(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in rng.permutation(n)],
            "churn_probability": np.sort(rng.random(n))[::-1],
            "risk_tier": rng.choice(["red", "orange", "yellow", "green"], n),
            "value_tier": rng.choice(["top", "potential", "reactivate"], n),
            "segment": rng.choice(["consumer", "smb", "enterprise"], n),
            "region_tier": rng.choice(["tier1", "tier2", "tier3"], n),
            "value_at_risk": rng.gamma(2, 300, n),
        }
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_filter_list_equals_a_plain_loop(seed):
    df = _list(seed)
    query = ListQuery({"risk_tier": ["red", "orange"], "segment": ["smb"]}, q="00", sort="", page=1)
    expected = [
        r["customer_id"]
        for r in df.to_dict("records")
        if r["risk_tier"] in ("red", "orange") and r["segment"] == "smb" and "00" in r["customer_id"]
    ]
    assert filter_list(df, query)["customer_id"].tolist() == expected
    by_value = filter_list(df, ListQuery({}, sort="value_at_risk", desc=False))
    assert by_value["value_at_risk"].is_monotonic_increasing


def test_list_pages_keep_the_order_and_clamp():
    df = _list(3)
    pages = [list_page(df, ListQuery(page=p)) for p in range(1, 8)]
    assert pages[0]["pages"] == 6  # 300 rows, 50 a page
    joined = [r["customer_id"] for p in pages[:6] for r in p["rows"]]
    assert joined == df["customer_id"].tolist()
    assert pages[6]["page"] == 6  # past the end shows the last page
    assert [t for t, _ in tiles(df)["tiers"]] == ["red", "orange", "yellow", "green"]


def test_key_and_session(monkeypatch, tmp_path):
    monkeypatch.setenv("NEEDRADAR_HOME", str(tmp_path))
    monkeypatch.delenv("NEEDRADAR_API_KEY", raising=False)
    assert auth.identify(b"", load_config()) is None  # no key: nothing passes
    monkeypatch.setenv("NEEDRADAR_API_KEY", "secret-1")
    cfg = load_config()
    caller = auth.identify(b"secret-1", cfg)
    assert caller is not None and auth.identify(b"secret-2", cfg) is None
    token = auth.session_value(caller, cfg)
    assert "secret-1" not in token and auth.caller_from_session(token, cfg) == caller
    monkeypatch.setenv("NEEDRADAR_API_KEY", "secret-2")
    assert auth.caller_from_session(token, load_config()) is None  # a new key ends old sessions


def test_chart_json_is_valid_json_and_cannot_close_the_script():
    text = str(chart_json({"x": [1.0, float("nan"), float("inf")], "label": "</script><b>&"}))
    assert "</" not in text and "<b>" not in text
    assert json.loads(text) == {"x": [1.0, None, None], "label": "</script><b>&"}


def test_finished_days_need_the_run_log(tmp_path):
    for day, done in (("2026-01-01", True), ("2026-01-02", False), ("2026-01-03", True)):
        (tmp_path / day).mkdir()
        if done:
            (tmp_path / day / "run_log.json").write_text("{}")
    (tmp_path / "notes").mkdir()
    assert [p.name for p in finished_days(tmp_path)] == ["2026-01-01", "2026-01-03"]
    assert finished_days(tmp_path / "missing") == []


def test_openapi_names_needradar_bearer_and_errors():
    spec = {
        "openapi": "3.0.2",
        "info": {"title": "BentoML", "version": None},
        "paths": {
            "/score": {"post": {"responses": {"200": {"description": "ok"}}}},
            "/livez": {"get": {"responses": {"200": {"description": "ok"}}}},
        },
    }
    out = needradar_openapi(spec, "1.2.3")
    assert out["info"]["title"] == "needradar" and out["info"]["version"] == "1.2.3"
    assert out["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    score = out["paths"]["/score"]["post"]
    assert score["security"] == [{"bearer": []}]
    assert {"200", "401", "403", "413", "422"} <= set(score["responses"])
    assert "security" not in out["paths"]["/livez"]["get"]


def _backlog(seed: int, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "rank": np.arange(1, n + 1),
            "product_area": rng.choice(["billing", "reporting", "mobile"], n),
            "type": rng.choice(["feature_suggestion", "problem_report", "improvement_suggestion"], n),
            "customers_waiting": rng.integers(1, 40, n),
            "oldest_wait_days": rng.integers(0, 60, n).astype(float),
            "churn_risk_sum": np.sort(rng.random(n))[::-1],
            "value_at_risk": np.sort(rng.gamma(2, 300, n))[::-1],
            "priority": rng.choice(["P0", "P1", "P2", "P3"], n),
        }
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_needs_page_filters_and_pages_like_a_plain_loop(seed):
    from serving.ui.needs import PAGE_SIZE, backlog_page

    df = _backlog(seed)
    chosen = {"product_area": ["billing", "mobile"], "type": [], "priority": ["P0", "P1"]}
    expected = [
        r["rank"]
        for r in df.to_dict("records")
        if r["product_area"] in ("billing", "mobile") and r["priority"] in ("P0", "P1")
    ]
    first = backlog_page(df, "2026-11-23", chosen, 1)
    assert first["total"] == len(expected) and first["as_of"] == "2026-11-23"
    assert [g["rank"] for g in first["groups"]] == expected[:PAGE_SIZE]
    everything = [backlog_page(df, "2026-11-23", {}, p) for p in (1, 2, 3, 9)]
    assert [g["rank"] for p in everything[:3] for g in p["groups"]] == df["rank"].tolist()
    assert everything[3]["page"] == everything[3]["pages"] == 3  # past the end shows the last page
    assert first["choices"]["priority"] == sorted(df["priority"].unique())
    none = backlog_page(pd.DataFrame(), "2026-11-23", chosen, 1)  # a day without requirements
    assert none["groups"] == [] and none["total"] == 0


def test_needs_page_roles():
    assert auth.allowed("planner", "/ui/needs") and auth.allowed("admin", "/ui/needs")
    assert not auth.allowed("retention", "/ui/needs") and not auth.allowed("app", "/ui/needs")


def test_a_planner_key_lands_on_a_page_it_may_open(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from fastapi.testclient import TestClient

    from serving.ui.app import create_app

    monkeypatch.setenv("NEEDRADAR_HOME", str(tmp_path))
    monkeypatch.delenv("NEEDRADAR_API_KEY", raising=False)
    cfg = load_config()
    keys = {role: auth.add_key(cfg, f"k-{role}", role) for role in ("planner", "retention")}
    state = SimpleNamespace(settings=cfg, latest=None, days={})
    client = TestClient(create_app(lambda: state))
    landed = {
        role: client.post("/login", data={"key": key}, follow_redirects=False).headers["location"]
        for role, key in keys.items()
    }
    assert landed == {"planner": "/needs", "retention": "/"}
    page = client.get("/needs", headers={"Authorization": f"Bearer {keys['planner']}"})
    assert page.status_code == 200 and "Nothing to show yet" in page.text  # no daily outputs yet
    denied = client.get("/needs", headers={"Authorization": f"Bearer {keys['retention']}"})
    assert denied.status_code == 403


def test_needs_page_reads_missing_and_empty_outputs_as_empty(tmp_path, settings):
    from serving.ui import needs

    (tmp_path / "feedback_class_mix.csv").write_text("\n")  # what an empty frame's CSV holds
    assert needs.class_mix(tmp_path).empty and needs.negative_rates(tmp_path).empty
    assert needs.hot_spots(tmp_path, [], settings).empty

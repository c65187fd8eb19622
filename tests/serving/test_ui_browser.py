"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against a real server.

Every page opens without console errors and without a request to any other host; the list shows
at_risk.csv's customers in its order; a filter and the CSV download agree; the customer page shows
that customer's reasons; the charts draw; nothing but the login form shows without a key.
Set NEEDRADAR_SCREENSHOTS=DIR to keep a PNG of each page (docs/ holds the README's).
"""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest

from tests.serving.test_service import KEY, _free_port, _start

pytestmark = pytest.mark.slow
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
HOW_TO_GET = "Chromium not found: install Debian's with `apt-get install chromium chromium-driver`"


def _wait_ready(proc, url: str) -> None:
    import httpx

    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stdout.read()}")
        time.sleep(0.5)
    proc.kill()
    pytest.fail("server did not become ready in 120 s")


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{HOW_TO_GET}; CI must run the browser tests (.ci/run installs it)")
        pytest.skip(f"{HOW_TO_GET} to run the browser tests")
    return path


@pytest.fixture(scope="module")
def server(chromium, trained_home):
    port = _free_port()
    env = {**os.environ, **trained_home["env"], "NEEDRADAR_API_KEY": KEY, "NEEDRADAR_INSECURE": "0"}
    proc = _start(env, port)
    url = f"http://127.0.0.1:{port}"
    _wait_ready(proc, url)
    yield {"url": url, "host": f"127.0.0.1:{port}", **trained_home}
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watched:
    """A signed-out browser page that records console errors and every host it requests."""

    def __init__(self, browser, server, **context) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 900}, **context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.hosts.add(urlparse(r.url).netloc))
        self.url = server["url"]

    def open(self, path: str):
        response = self.page.goto(f"{self.url}{path}")
        self.page.wait_for_load_state("networkidle")
        return response

    def sign_in(self, key: str = KEY) -> None:
        self.open("/ui/")
        self.page.fill("input[name=key]", key)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("networkidle")


@pytest.fixture(scope="module")
def signed_in(browser, server):
    w = Watched(browser, server, accept_downloads=True)
    w.sign_in()
    w.errors.clear()  # the login form itself answers 401, which Chromium logs; nothing after may
    yield w
    w.context.close()


def _at_risk(server) -> pd.DataFrame:
    return pd.read_csv(server["daily"].day_dir / "at_risk.csv", dtype={"customer_id": str})


def _shot(w: Watched, name: str) -> None:
    folder = os.environ.get("NEEDRADAR_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        w.page.screenshot(path=str(Path(folder) / f"dashboard-{name}.png"), full_page=False)


def _drawn(w: Watched, chart: str) -> None:
    w.page.wait_for_selector(f"[data-chart={chart}][data-drawn=true]", timeout=15_000)
    assert w.page.locator(f"[data-chart={chart}] .main-svg").count() > 0


def test_no_data_without_a_key(browser, server):
    w = Watched(browser, server)
    for path in ("/ui/", "/ui/customer/" + server["customers"][0], "/ui/volumes", "/ui/needs", "/ui/models"):
        response = w.open(path)
        assert response.status == 401
        assert w.page.locator("input[name=key]").count() == 1
        assert server["customers"][0] not in w.page.content()
    w.sign_in("wrong-key")
    assert "not a key of this service" in w.page.content()
    assert w.page.locator("#at-risk").count() == 0
    csv = w.context.request.get(f"{server['url']}/ui/at_risk.csv")
    assert csv.status == 401 and "customer_id" not in csv.text()
    assert w.errors == [] or all("401" in e for e in w.errors)
    w.context.close()


def test_session_cookie_is_httponly_and_strict(signed_in):
    cookie = next(c for c in signed_in.context.cookies() if c["name"] == "needradar_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert KEY not in cookie["value"]


def test_list_shows_the_day_in_order(signed_in, server):
    w = signed_in
    w.open("/ui/")
    _shot(w, "retention")
    shown = w.page.locator("#at-risk tbody tr td:first-child").all_inner_texts()
    expected = _at_risk(server)["customer_id"].tolist()
    assert shown == expected[: len(shown)] and len(shown) == min(50, len(expected))
    w.page.click("a[rel=next]")
    w.page.wait_for_load_state("networkidle")
    second = w.page.locator("#at-risk tbody tr td:first-child").all_inner_texts()
    assert second == expected[50 : 50 + len(second)]


def test_filter_and_download_agree(signed_in, server):
    w = signed_in
    at_risk = _at_risk(server)
    segment = at_risk["segment"].value_counts().index[0]
    value_tier = at_risk["value_tier"].value_counts().index[0]
    w.open("/ui/")
    w.page.select_option("select[name=segment]", segment)
    w.page.select_option("select[name=value_tier]", value_tier)
    w.page.click("#apply")
    w.page.wait_for_load_state("networkidle")
    expected = at_risk[(at_risk["segment"] == segment) & (at_risk["value_tier"] == value_tier)]
    assert 0 < len(expected) < len(at_risk)
    assert int(w.page.inner_text("#total")) == len(expected)
    with w.page.expect_download() as info:
        w.page.click("#download")
    downloaded = pd.read_csv(info.value.path(), dtype={"customer_id": str})
    assert downloaded["customer_id"].tolist() == expected["customer_id"].tolist()
    shown = w.page.locator("#at-risk tbody tr td:first-child").all_inner_texts()
    assert shown == expected["customer_id"].tolist()[: len(shown)]


def test_search_finds_one_customer(signed_in, server):
    target = _at_risk(server)["customer_id"].iloc[7]
    signed_in.open(f"/ui/?q={target}")
    assert signed_in.page.locator("#at-risk tbody tr td:first-child").all_inner_texts() == [target]


def test_customer_page_shows_its_reasons(signed_in, server):
    w = signed_in
    row = _at_risk(server).iloc[3]
    w.open("/ui/")
    w.page.click(f"#at-risk a:text-is('{row['customer_id']}')")
    w.page.wait_for_load_state("networkidle")
    assert row["customer_id"] in w.page.inner_text("h1")
    reasons = w.page.locator("#reasons li").all_inner_texts()
    assert reasons == [row[f"reason_{i}_text"] for i in (1, 2, 3) if isinstance(row[f"reason_{i}_text"], str)]
    assert w.page.inner_text("#action") == row["action"]
    _drawn(w, "reasons")
    _drawn(w, "history")
    _shot(w, "customer")


def test_volume_page_draws_forecast_and_staffing(signed_in, server):
    w = signed_in
    w.open("/ui/volumes?series=tickets/total")
    _drawn(w, "volume")
    traces = w.page.locator("[data-chart=volume] .scatterlayer .trace").count()
    assert traces >= 3  # actuals, interval, forecast
    _drawn(w, "staffing")
    assert w.page.locator("[data-chart=staffing] .hm, [data-chart=staffing] image").count() > 0
    _shot(w, "volumes")
    w.page.select_option("#series", "tickets/channel=phone")
    w.page.click("form.filters button")
    w.page.wait_for_load_state("networkidle")
    _drawn(w, "volume")
    assert "tickets/channel=phone" in w.page.inner_text("[data-chart=volume]")


def test_service_and_models_pages(signed_in, server):
    w = signed_in
    w.open("/ui/service")
    assert w.page.locator("#kpis tbody tr").count() > 0
    _drawn(w, "kpi0")
    _shot(w, "service")
    w.open("/ui/models")
    assert "champion" in w.page.inner_text("#versions")
    _shot(w, "models")


def _groups(w: Watched) -> list[tuple[str, str]]:
    rows = w.page.locator("#backlog tbody tr").all()
    return [(r.locator("td").nth(1).inner_text(), r.locator("td").nth(2).inner_text()) for r in rows]


def test_needs_page_shows_the_days_backlog_in_order(signed_in, server):
    w = signed_in
    backlog = pd.read_csv(server["daily"].day_dir / "needs_backlog.csv")
    assert len(backlog) > 1
    w.open("/ui/needs")
    expected = list(zip(backlog["product_area"], backlog["type"], strict=True))
    shown = _groups(w)
    assert shown == expected[: len(shown)] and len(shown) == min(25, len(expected))
    for chart in ("hot_spots", "negative", "class_mix"):
        _drawn(w, chart)
    assert w.page.locator("#hot-spots tbody tr").count() > 0
    _shot(w, "needs")
    area = backlog["product_area"].value_counts().index[0]
    w.page.select_option("select[name=product_area]", area)
    w.page.click("#apply")
    w.page.wait_for_load_state("networkidle")
    narrowed = backlog[backlog["product_area"] == area]
    assert 0 < len(narrowed) < len(backlog)
    assert int(w.page.inner_text("#total")) == len(narrowed)
    assert _groups(w) == list(zip(narrowed["product_area"], narrowed["type"], strict=True))[:25]


def test_no_console_errors_and_no_other_host(signed_in, server):
    """Runs last in this module: everything the signed-in browser did, on every page."""
    w = signed_in
    for path in ("/ui/", "/ui/volumes", "/ui/needs", "/ui/service", "/ui/models"):
        w.open(path)
    assert w.errors == []
    assert w.hosts <= {server["host"]}, w.hosts


def test_csv_download_needs_no_browser_state_but_the_key(server):
    import httpx

    r = httpx.get(f"{server['url']}/ui/at_risk.csv", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200
    assert (
        pd.read_csv(io.StringIO(r.text))["customer_id"].tolist() == _at_risk(server)["customer_id"].tolist()
    )


def test_api_docs_page_and_document(browser, server):
    w = Watched(browser, server)
    response = w.open("/docs")
    assert response.status == 200
    w.page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "needradar" in w.page.inner_text(".swagger-ui .info .title")
    assert w.hosts <= {server["host"]}, w.hosts
    spec = w.context.request.get(f"{server['url']}/docs.json").json()
    assert spec["info"]["title"] == "needradar" and spec["info"]["version"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert {"401", "403", "413", "422"} <= set(spec["paths"]["/score"]["post"]["responses"])
    w.context.close()

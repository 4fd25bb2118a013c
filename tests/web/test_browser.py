"""The pages in a real browser: Debian's headless Chromium, driven by playwright, against uvicorn
on 127.0.0.1 serving the store ``test_pages.build_site`` filled with real runs.

Each page is opened at phone and desktop widths (screenshots go to ``test-artifacts/`` at the
repository root), its charts counted, the ``<script>`` column read back as text while any dialog
fails the test, the report table sorted and filtered by clicking, and the charts checked again
with JavaScript turned off. A console error (a CSP violation, a script error) fails the test too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

import driftwatch
from driftwatch.config.daemon import WebSettings
from driftwatch.web import export
from driftwatch.web.server import WebServer

from ..conftest import free_port
from .test_pages import DAYS, NOW, XSS, Site, build_site, make_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install -y chromium)")

if CHROMIUM.exists():
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, sync_playwright


def serve(app: object) -> tuple[WebServer, str]:
    port = free_port()
    server = WebServer(app, "127.0.0.1", port)  # type: ignore[arg-type]
    server.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, base
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("uvicorn did not start")


@pytest.fixture(scope="module")
def browser_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_site(tmp_path_factory.mktemp("browser"))
    yield built
    built.store.dispose()


@pytest.fixture(scope="module")
def base_url(browser_site: Site) -> Iterator[str]:
    server, base = serve(browser_site.app)
    yield base
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def problems() -> list[str]:
    """Dialogs and console errors seen by ``watched`` pages; must stay empty."""
    return []


def watched(page: Page, problems: list[str]) -> Page:
    def on_dialog(dialog: Dialog) -> None:
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return page


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_pages_draw_their_charts(browser: Browser, base_url: str, browser_site: Site, problems: list[str],
                                 width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = watched(context.new_page(), problems)

    page.goto(f"{base_url}/")
    assert page.locator("tr.monitor").count() == 3
    assert page.locator("svg.spark path.series").count() == 2  # shop and busy; broken never succeeded
    assert page.locator("svg.spark.empty").count() == 1
    failed = page.locator("tr.monitor.failed")
    assert failed.count() == 1 and "failed" in failed.inner_text() and "stale" in failed.inner_text()
    shoot(page, f"overview-{width}")

    page.goto(f"{base_url}/monitors/shop")
    cards = page.locator("figure.card")
    assert cards.count() >= 5
    assert page.locator("figure.card svg.series").count() == cards.count()
    assert page.locator("figure.card svg path.series").count() == cards.count()  # one series per chart
    assert page.locator("svg.series circle.point.alert").count() >= 2
    assert page.locator("table.runs tbody tr").count() == DAYS
    assert page.get_by_text(f"deploy {XSS}").count() == 1  # the silence comment, as text
    box = page.locator("figure.card svg").first.bounding_box()
    assert box is not None and 0 < box["width"] <= width
    shoot(page, f"monitor-{width}")

    page.goto(f"{base_url}/runs/{browser_site.shop_runs[-1]}")
    assert page.locator("details.dist svg.dist").count() == 3
    assert page.locator("svg.dist.categorical rect.bar.cur").count() == 4
    assert page.locator("#report tbody tr").count() > 10
    shoot(page, f"run-{width}")
    page.goto(f"{base_url}/runs/{browser_site.broken_runs[0]}")
    assert "<i>gone</i>" in page.locator(".error-box").inner_text()
    shoot(page, f"failed-run-{width}")
    context.close()
    assert problems == []


def test_script_column_is_text(browser: Browser, base_url: str, browser_site: Site, problems: list[str]) -> None:
    page = watched(browser.new_page(), problems)
    page.goto(f"{base_url}/runs/{browser_site.shop_runs[-1]}")
    cells = page.locator("#report td", has_text=XSS)
    assert cells.count() >= 3  # its drift test and quality checks
    assert page.locator(f"details.dist summary:has-text('{XSS}')").count() == 1
    assert page.locator("body script").count() == 0  # nothing from the data became an element
    assert page.evaluate("document.querySelectorAll('script').length") == 1  # table.js only
    tooltip = page.locator("svg.dist.categorical g.cat title").first.text_content() or ""
    assert tooltip.startswith("de: reference ")
    page.close()
    assert problems == []


def visible_rows(page: Page, attribute: str) -> list[str]:
    return list(page.eval_on_selector_all(
        "#report tbody tr:not([hidden])", f"rows => rows.map(r => r.dataset.{attribute})"))


def test_sort_and_filter_by_clicking(browser: Browser, base_url: str, browser_site: Site,
                                     problems: list[str]) -> None:
    page = watched(browser.new_page(), problems)
    page.goto(f"{base_url}/runs/{browser_site.shop_runs[-1]}")
    severities = [int(s) for s in visible_rows(page, "severity")]
    assert severities == sorted(severities, reverse=True)

    page.click("#report th[data-key=feature] button")
    features = visible_rows(page, "feature")
    assert features == sorted(features, key=str.lower)
    assert page.get_attribute("#report th[data-key=feature]", "aria-sort") == "ascending"
    page.click("#report th[data-key=feature] button")
    assert visible_rows(page, "feature") == sorted(features, key=str.lower, reverse=True)

    page.click("#report th[data-key=p] button")
    p_values = [float(p) for p in visible_rows(page, "p") if p]
    assert p_values == sorted(p_values)
    assert visible_rows(page, "p")[-1] == ""  # rows without a p-value last

    total = page.locator("#report tbody tr").count()
    page.fill("#report-filters input[name=q]", "amount")
    assert set(visible_rows(page, "feature")) == {"amount"}
    assert page.inner_text("#report-shown") == f"{len(visible_rows(page, 'feature'))} of {total}"
    page.fill("#report-filters input[name=q]", "")
    page.select_option("#report-filters select[name=status]", "alert")
    assert set(visible_rows(page, "status")) == {"alert"}
    page.select_option("#report-filters select[name=detector]", "quality")
    assert set(visible_rows(page, "detector")) <= {"quality"}
    page.select_option("#report-filters select[name=status]", "")
    page.select_option("#report-filters select[name=detector]", "")
    assert len(visible_rows(page, "feature")) == total
    page.close()
    assert problems == []


def test_charts_without_javascript(browser: Browser, base_url: str, browser_site: Site,
                                   problems: list[str]) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = watched(context.new_page(), problems)
    page.goto(f"{base_url}/runs/{browser_site.shop_runs[-1]}")
    assert page.locator("details.dist svg.dist").count() == 3
    assert page.locator("svg.dist rect.bar").count() > 10
    assert not page.locator("#report-filters").is_visible()  # no controls that cannot work
    assert page.locator("#report th button").count() == 0
    assert page.locator("#report tbody tr:visible").count() == page.locator("#report tbody tr").count()
    page.goto(f"{base_url}/monitors/shop")
    assert page.locator("figure.card svg path.series").count() >= 5
    page.goto(f"{base_url}/")
    assert page.locator("svg.spark path.series").count() == 2
    shoot(page, "overview-nojs-1280")
    context.close()
    assert problems == []


def test_login_then_pages(browser: Browser, browser_site: Site, problems: list[str]) -> None:
    guarded = replace(browser_site.settings, web=WebSettings(auth_token="s3cret-token-for-the-browser"))
    server, base = serve(make_app(browser_site.store, guarded, NOW))
    try:
        page = watched(browser.new_page(), problems)
        page.goto(f"{base}/monitors/shop")
        assert re.search(r"/login\?next=", page.url)
        page.fill("input[name=token]", "wrong")
        page.click("button[type=submit], input[type=submit]")
        assert page.locator("figure.card").count() == 0
        page.fill("input[name=token]", "s3cret-token-for-the-browser")
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_url(f"{base}/monitors/shop")
        assert page.locator("figure.card svg path.series").count() >= 5
        page.click("form.logout button")  # a POST with the page's logout token
        page.wait_for_url(re.compile(r"/login$"))
        page.goto(f"{base}/monitors/shop")
        assert re.search(r"/login\?next=", page.url)  # the session has ended
        page.close()
    finally:
        server.stop()
    # a wrong token is answered with a page, not a dialog or a script error
    assert [p for p in problems if not p.startswith("console: Failed to load resource")] == []


def test_api_docs_render_with_no_request_beyond_the_server(browser: Browser, base_url: str,
                                                           problems: list[str]) -> None:
    """Swagger UI comes from the server itself: an ops network without internet still gets its
    API docs, and every operation of the schema is listed."""
    schema = httpx.get(f"{base_url}/openapi.json").json()
    operations = [op for methods in schema["paths"].values() for op in methods.values()]
    elsewhere: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(re.compile(r"^(?!http://127\.0\.0\.1:).*"),
                  lambda route: (elsewhere.append(route.request.url), route.abort()))
    page = watched(context.new_page(), problems)
    page.goto(f"{base_url}/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() == len(operations)
    assert "driftwatch" in page.locator(".swagger-ui .info .title").inner_text()
    shoot(page, "api-docs-1280")
    context.close()
    assert elsewhere == []
    assert problems == []


def test_report_file_and_notebook_frame_draw_offline(browser: Browser, browser_site: Site, tmp_path: Path,
                                                     problems: list[str]) -> None:
    """``driftwatch report``'s file opened from disk, and ``Results`` as a notebook draws it:
    charts drawn, the ``<script>`` column shown as text, and no request beyond the file."""
    requested: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda route: (requested.append(route.request.url), route.continue_()))
    page = watched(context.new_page(), problems)
    path = tmp_path / "report.html"
    path.write_text(export.stored_run_html(browser_site.store, browser_site.shop_runs[-1]), encoding="utf-8")
    page.goto(path.as_uri())
    assert page.locator("details.dist svg.dist").count() == 3  # as on the run page
    box = page.locator("details.dist svg.dist").first.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 50
    assert page.locator("#report td", has_text=XSS).count() >= 3
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    assert page.locator("#report tbody tr:visible").count() == page.locator("#report tbody tr").count()
    shoot(page, "report-file-1280")

    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"x": rng.normal(size=500), XSS: rng.choice(list("ab"), 500)})
    current = pd.DataFrame({"x": rng.normal(1.0, size=500), XSS: rng.choice(list("abc"), 500)})
    cell = driftwatch.check(reference, current)._repr_html_()
    page.set_content(f"<!doctype html><title>notebook</title><div class='output'>{cell}</div>")
    frame = page.frame_locator("iframe")
    frame.locator("svg.dist").first.wait_for()
    assert frame.locator("details.dist svg.dist").count() == 2
    assert frame.locator(f"details.dist summary:has-text('{XSS}')").count() == 1
    assert frame.locator("#report td", has_text=XSS).count() >= 2
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    shoot(page, "notebook-frame-1280")
    context.close()
    assert requested == [path.as_uri()]
    assert problems == []

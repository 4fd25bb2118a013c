"""The pages over a store filled by real runs: a config and CSV files in ``tmp_path``, run through
``engine.run_monitor`` with alert evaluation, then read back through FastAPI's ``TestClient``.

The ``shop`` monitor drifts in its last two windows and has a column called
``<script>alert(1)</script>`` and a category ``<b>bold</b>``; ``broken`` reads a file that does not
exist, so each of its runs fails with an error naming an ``<i>``-tagged path; ``busy`` is a store-only
monitor with 120 runs for the run list's pages. ``test_browser.py`` reuses ``site``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from markupsafe import escape
from sqlalchemy import update

from driftwatch.alerts.evaluate import AlertContext
from driftwatch.cli import main
from driftwatch.config import Settings, load
from driftwatch.engine import run_monitor
from driftwatch.model import Result, Window
from driftwatch.store import Store
from driftwatch.store.alert_tables import outbox
from driftwatch.store.alerts import add_silence, firing_states
from driftwatch.web import create_app, export, pages
from driftwatch.web.charts import fmt_value

from .conftest import AppFactory

with warnings.catch_warnings():
    # starlette asks for ``httpx2`` and warns when its test client falls back to ``httpx``.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

UTC = timezone.utc
XSS = "<script>alert(1)</script>"
BOLD = "<b>bold</b>"
START = datetime(2026, 3, 1, tzinfo=UTC)
DAYS = 8
#: One hour after the last window of ``shop`` ended: fresh.
NOW = START + timedelta(days=DAYS, hours=1)
STATIC = Path(pages.__file__).parent / "static"

CONFIG = """
[store]
url = "sqlite:///dw.db"

[alerts]
channels = ["log"]
base_url = "http://127.0.0.1:8080"

[channels.log]
type = "log"

[[monitors]]
name = "shop"
window = "1d"

[monitors.schema]
numeric = ["amount", "<script>alert(1)</script>"]
categorical = ["country"]
target = "label"
prediction = "pred"
score = "score"
sensitive = ["group"]

[monitors.current]
type = "file"
path = "data/cur/{start:%Y-%m-%d}.csv"

[monitors.reference]
type = "file"
path = "data/ref.csv"

[[monitors.detectors]]
type = "drift"

[[monitors.detectors]]
type = "quality"

[[monitors.detectors]]
type = "performance"

[[monitors.detectors]]
type = "fairness"
min_group_size = 20

[[monitors]]
name = "broken"
window = "1d"

[monitors.current]
type = "file"
path = "data/<i>gone</i>/{start:%Y-%m-%d}.csv"

[monitors.reference]
type = "file"
path = "data/ref.csv"

[[monitors.detectors]]
type = "drift"
"""


def frame(rng: np.random.Generator, n: int, *, shift: float = 0.0) -> pd.DataFrame:
    """Rows of the shop's data; ``shift`` moves the numbers and the countries (drift)."""
    countries = np.array(["de", "fr", "it", BOLD])
    weights = [0.5, 0.3, 0.15, 0.05] if shift == 0 else [0.2, 0.2, 0.2, 0.4]
    score = rng.uniform(0, 1, n)
    return pd.DataFrame({
        "amount": rng.normal(10 + shift, 2, n),
        XSS: rng.normal(0, 1, n) + shift,
        "country": rng.choice(countries, n, p=weights),
        "group": rng.choice(["a", "b"], n),
        "score": score,
        "pred": (score > 0.5).astype(int),
        "label": (rng.uniform(0, 1, n) < score).astype(int),
    })


@dataclass
class Site:
    """A store filled by real runs, the settings that made it, and the app over both."""

    folder: Path
    settings: Settings
    store: Store
    app: FastAPI
    shop_runs: list[int]
    broken_runs: list[int]


def make_app(store: Store, settings: Settings | None, now: datetime) -> FastAPI:
    """The whole web app (pages behind the login, ``/static``, the API) at the instant ``now``."""
    return create_app(store, settings=settings, clock=lambda: now)


def build_site(folder: Path) -> Site:
    rng = np.random.default_rng(7)
    (folder / "data" / "cur").mkdir(parents=True)
    frame(rng, 400).to_csv(folder / "data" / "ref.csv", index=False)
    for day in range(DAYS):
        shifted = 3.0 if day >= DAYS - 2 else 0.0
        frame(rng, 200, shift=shifted).to_csv(
            folder / "data" / "cur" / f"{(START + timedelta(days=day)):%Y-%m-%d}.csv", index=False)
    (folder / "config.toml").write_text(CONFIG, encoding="utf-8")
    settings = load(folder / "config.toml")
    store = Store(settings.store.url.reveal())
    store.create_all()
    alerts = AlertContext(settings.alerts, settings.webhooks)
    shop_runs, broken_runs = [], []
    for day in range(DAYS):
        window = Window(START + timedelta(days=day), START + timedelta(days=day + 1))
        for monitor, ids in zip(settings.monitors, (shop_runs, broken_runs)):
            outcome = run_monitor(monitor, window, store=store, options=settings.profile, alerts=alerts,
                                  now=window.end + timedelta(hours=1))
            assert outcome.run_id is not None
            ids.append(outcome.run_id)
    # A store-only monitor with many runs, for the pages of the run list.
    for i in range(120):
        window = Window(START + timedelta(hours=i), START + timedelta(hours=i + 1))
        run_id = store.start_run("busy", window, owner="test")
        assert run_id is not None
        store.finish_run(run_id, [Result("busy", run_id, window.start, window.end, "drift", "", "drift_share",
                                         (i % 10) / 10, None, 0.5, "alert" if i % 10 >= 5 else "ok", {})],
                         rows_reference=10, rows_current=10)
    add_silence(store.engine, monitor="shop", starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(days=1),
                created_by="ops", comment=f"deploy {XSS}", now=NOW, feature="amount")
    add_silence(store.engine, monitor="shop", starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=2),
                created_by="ops", comment="maintenance window", now=NOW)
    add_silence(store.engine, monitor="shop", starts_at=NOW - timedelta(days=3), ends_at=NOW - timedelta(days=2),
                created_by="ops", comment="long over", now=NOW)
    with store.engine.begin() as conn:
        first = conn.execute(outbox.select().where(outbox.c.monitor == "shop").order_by(outbox.c.id)).first()
        assert first is not None, "alert evaluation queued no message"
        conn.execute(update(outbox).where(outbox.c.id == first.id).values(
            state="dead", last_status="HTTP 500", last_error=f"receiver said {XSS}"))
    return Site(folder, settings, store, make_app(store, settings, NOW), shop_runs, broken_runs)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_site(tmp_path_factory.mktemp("site"))
    yield built
    built.store.dispose()


@pytest.fixture(scope="module")
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(site.app) as test_client:
        yield test_client


def text_of(html: str) -> str:
    """The page's visible text, tags dropped and entities decoded."""
    return unescape(re.sub(r"<[^>]+>", " ", html))


def rows(html: str, table_class: str) -> list[str]:
    """The ``<tr>`` elements of the first table with ``table_class``."""
    table = re.search(rf'<table[^>]*class="[^"]*\b{table_class}\b[^"]*"[^>]*>(.*?)</table>', html, re.S)
    assert table is not None, f"no table.{table_class}"
    return re.findall(r"<tr\b.*?</tr>", table.group(1), re.S)[1:]


def assert_escaped(html: str) -> None:
    """No markup from the data reached the page as markup."""
    assert "<script>alert" not in html
    assert "<b>bold" not in html and "<i>gone" not in html
    assert "<script" not in html.replace('<script src="/static/table.js" defer></script>', "")


# -- overview -------------------------------------------------------------------------------


def test_overview_lists_configured_and_stored_monitors(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    names = re.findall(r'<a href="/monitors/([^"]+)">', page.text)
    assert names == ["shop", "broken", "busy"]  # configured in config order, then store-only
    assert "not in config" in text_of(rows(page.text, "monitors")[2])


def test_overview_marks_failed_and_shows_firing_and_sparklines(client: TestClient, site: Site) -> None:
    page = client.get("/")
    shop, broken, busy = rows(page.text, "monitors")
    assert 'class="monitor"' in shop and "stale" not in shop
    assert f'href="/runs/{site.shop_runs[-1]}"' in shop
    firing = re.search(r'data-label="Firing" class="num"><strong class="flag firing">(\d+)<', shop)
    assert firing is not None and int(firing.group(1)) >= 1
    # broken: every run failed, so it is failed and (having never succeeded) stale, in words
    assert 'class="monitor failed stale"' in broken
    assert ">failed<" in broken and ">stale<" in broken
    # one sparkline per monitor; shop's has a point per window, busy's the last 30
    assert page.text.count('<svg class="chart spark"') == 2 and 'class="chart spark empty"' in broken
    path = re.search(r'<path class="series" d="([^"]+)"', busy)
    assert path is not None and len(re.findall(r"[ML]", path.group(1))) == 30
    assert "last 30 windows" in text_of(busy)
    summary = text_of(page.text.split("</p>")[0])
    assert "1 failed" in summary and "1 stale" in summary


def test_overview_stale_after_two_periods(site: Site) -> None:
    later = make_app(site.store, site.settings, NOW + timedelta(days=2))
    with TestClient(later) as c:
        shop = rows(c.get("/").text, "monitors")[0]
    assert 'class="monitor stale"' in shop and ">stale<" in shop
    # exactly two periods after the last successful window: not stale yet
    edge = make_app(site.store, site.settings, START + timedelta(days=DAYS + 2))
    with TestClient(edge) as c:
        assert "stale" not in rows(c.get("/").text, "monitors")[0]


def test_overview_without_settings_shows_store_monitors(site: Site) -> None:
    with TestClient(make_app(site.store, None, NOW)) as c:
        page = c.get("/").text
    assert re.findall(r'<a href="/monitors/([^"]+)">', page) == ["broken", "busy", "shop"]
    assert ">stale<" not in page  # no schedules known: nothing is called stale


def test_overview_of_an_empty_store(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    store.create_all()
    with TestClient(make_app(store, None, NOW)) as c:
        page = c.get("/")
    store.dispose()
    assert page.status_code == 200 and "No monitors yet" in page.text


# -- monitor page ---------------------------------------------------------------------------


def test_monitor_page_charts_alerts_silences_dead_rows(client: TestClient, site: Site) -> None:
    page = client.get("/monitors/shop")
    assert page.status_code == 200
    html = page.text
    charts = re.findall(r'<svg class="chart series".*?</svg>', html, re.S)
    assert len(charts) >= 5  # drift_share, row_count, performance figures
    drift = next(c for c in charts if "drift drift_share" in c)
    assert drift.count('class="series"') == 1 and drift.count('class="threshold"') == 1
    assert drift.count('class="point alert"') == 2  # the two drifted windows
    assert "Firing alerts" in html and "demographic_parity" in html or "psi" in html or "ks" in html
    silences = rows(html, "stack")  # first stack table after the charts is firing alerts
    assert silences
    assert ">active<" in html and ">pending<" in html and "long over" not in html
    assert "deploy &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "receiver said &lt;script&gt;" in html and "Undelivered notifications" in html
    assert_escaped(html)
    run_rows = rows(html, "runs")
    assert len(run_rows) == DAYS
    assert f'href="/runs/{site.shop_runs[-1]}"' in run_rows[0]  # newest window first


def test_monitor_page_failed_runs_show_escaped_error(client: TestClient) -> None:
    html = client.get("/monitors/broken").text
    assert "&lt;i&gt;gone&lt;/i&gt;" in html
    assert_escaped(html)
    assert all('class="run failed"' in row for row in rows(html, "runs"))
    assert "No successful run yet" in text_of(html)


def test_run_list_pages_by_before_id(client: TestClient) -> None:
    first = client.get("/monitors/busy").text
    ids = [int(i) for i in re.findall(r'data-label="Run"><a href="/runs/(\d+)"', first)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    cursor = re.search(r'rel="next" href="/monitors/busy\?before_id=(\d+)"', first)
    assert cursor is not None and int(cursor.group(1)) == ids[-1]
    second = client.get(f"/monitors/busy?before_id={ids[-1]}").text
    ids2 = [int(i) for i in re.findall(r'data-label="Run"><a href="/runs/(\d+)"', second)]
    assert len(ids2) == 50 and ids2[0] == ids[-1] - 1
    third = client.get(f"/monitors/busy?before_id={ids2[-1]}").text
    ids3 = [int(i) for i in re.findall(r'data-label="Run"><a href="/runs/(\d+)"', third)]
    assert len(ids3) == 20 and 'rel="next"' not in third
    assert len(set(ids + ids2 + ids3)) == 120
    assert "Newest runs" in third and "<svg" not in third  # charts only on the first page


def test_monitor_page_errors(client: TestClient, site: Site) -> None:
    missing = client.get("/monitors/nope")
    assert missing.status_code == 404 and "monitor &#39;nope&#39;" in missing.text
    hostile = client.get("/monitors/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert hostile.status_code == 404
    assert_escaped(hostile.text)
    assert client.get("/monitors/busy?before_id=abc").status_code == 400
    # a cursor from another monitor gives an empty page, not that monitor's runs
    other = client.get(f"/monitors/busy?before_id={site.shop_runs[-1]}").text
    assert "No runs before that one" in other


# -- run page -------------------------------------------------------------------------------


def report_rows(html: str) -> list[dict[str, str]]:
    table = re.search(r'<table id="report".*?</table>', html, re.S)
    assert table is not None
    return [dict(re.findall(r'data-([a-z]+)="([^"]*)"', tr)) for tr in re.findall(r"<tr class=.*?>", table.group(0), re.S)]


def test_run_report_sorted_by_severity_with_data_attributes(client: TestClient, site: Site) -> None:
    html = client.get(f"/runs/{site.shop_runs[-1]}").text
    found = report_rows(html)
    severities = [int(r["severity"]) for r in found]
    assert severities == sorted(severities, reverse=True) and severities[0] == 3
    assert {r["detector"] for r in found} == {"drift", "quality"}
    drifted = [r for r in found if r["detector"] == "drift" and r["status"] == "alert"]
    assert {r["feature"] for r in drifted} >= {"amount", "country"}
    assert any(unescape(r["feature"]) == XSS for r in found)
    ks = next(r for r in found if r["feature"] == "amount")
    assert float(ks["p"]) < 0.05 and float(ks["threshold"]) == 0.05
    assert float(ks["mde"]) > 0.05  # the smallest drift the window could have flagged, sortable
    assert '<script src="/static/table.js" defer></script>' in html
    assert '<form class="filters" id="report-filters" hidden>' in html  # shown by table.js only


def test_run_report_says_what_decided_and_what_each_window_could_see(client: TestClient, site: Site) -> None:
    html = client.get(f"/runs/{site.shop_runs[-1]}").text
    body = text_of(html)
    assert "Detectable ≥" in body
    assert "significant and at least the threshold" in body  # the drifted columns
    rows = re.findall(r'<tr class="s-[a-z_]+" data-status="[a-z_]+".*?</tr>', html, re.S)
    amount = next(r for r in rows if 'data-feature="amount"' in r and 'data-detector="drift"' in r)
    assert re.search(r"[0-9.]+ sd</div>", amount)  # numeric: also in reference standard deviations
    quality = [r for r in rows if 'data-metric="out_of_range_share"' in r]
    assert quality and all("expected " in text_of(r) for r in quality)


def test_run_report_escapes_feature_and_category_names(client: TestClient, site: Site) -> None:
    html = client.get(f"/runs/{site.shop_runs[-1]}").text
    assert_escaped(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html  # the new category, in the country chart
    assert XSS in text_of(html)


def test_run_report_names_the_columns_a_multivariate_drift_moved(make_client: AppFactory, web_store: Store) -> None:
    window = Window(START, START + timedelta(hours=1))
    run_id = web_store.start_run("mv", window, owner="test")
    assert run_id is not None
    moved = [{"column": XSS, "residual_rise": 0.4}, {"column": "b", "residual_rise": 0.3}]
    web_store.finish_run(run_id, [Result("mv", run_id, window.start, window.end, "multivariate", "",
                                         "reconstruction_error", 1.4, 1e-9, 1.1, "alert",
                                         {"moved": moved, "rule": "significant and at least the threshold"})],
                         rows_reference=10, rows_current=10)
    html = make_client().get(f"/runs/{run_id}").text
    assert_escaped(html)
    assert re.search(r"moved most:\s*" + re.escape(XSS) + r"\s*,\s*b\b", text_of(html))


def test_run_report_distributions(client: TestClient, site: Site) -> None:
    html = client.get(f"/runs/{site.shop_runs[-1]}").text
    cards = re.findall(r'<details class="card dist"( open)?>(.*?)</details>', html, re.S)
    assert len(cards) == 3  # amount, the script column, country
    drifted = [body for is_open, body in cards if is_open]
    assert len(drifted) == 3
    country = next(body for _, body in cards if ">country<" in body)
    assert 'class="chart dist categorical"' in country
    assert country.count('class="bar ref"') == country.count('class="bar cur"') == 4
    amount = next(body for _, body in cards if ">amount<" in body)
    assert 'class="chart dist numeric"' in amount and amount.count('class="bar ref"') >= 5


def test_run_report_performance_and_fairness(client: TestClient, site: Site) -> None:
    html = client.get(f"/runs/{site.shop_runs[0]}").text
    perf = rows(html, "perf")
    assert any(">accuracy<" in row for row in perf)
    assert any(">roc_auc<" in row for row in perf)
    groups = rows(html, "groups")
    assert [re.search(r'class="feature">([^<]*)<', g).group(1) for g in groups] == ["a", "b"]  # type: ignore[union-attr]
    assert "demographic_parity_ratio" in text_of(html)


def test_failed_run_shows_its_error(client: TestClient, site: Site) -> None:
    html = client.get(f"/runs/{site.broken_runs[0]}").text
    assert 'class="error-box"' in html and "&lt;i&gt;gone&lt;/i&gt;" in html
    assert_escaped(html)


def test_unknown_runs_are_404(client: TestClient) -> None:
    for path in ("/runs/999999", "/runs/abc", "/runs/-1", "/runs/99999999999999999999999"):
        page = client.get(path)
        assert page.status_code == 404, path
        assert "Not found" in page.text


def test_static_files(client: TestClient) -> None:
    css = client.get("/static/style.css")
    assert css.status_code == 200 and "prefers-color-scheme: dark" in css.text
    assert len(css.content) < 12_000
    assert client.get("/static/table.js").status_code == 200


def test_pages_reference_nothing_outside(client: TestClient, site: Site) -> None:
    for path in ("/", "/monitors/shop", f"/runs/{site.shop_runs[-1]}"):
        html = client.get(path).text
        urls = re.findall(r'(?:href|src)="([^"]+)"', html)
        assert urls and all(u.startswith("/") or u == "data:," for u in urls), urls  # data:, = no favicon
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in html


def test_overview_redraws_a_sparkline_when_a_run_ends(tmp_path: Path) -> None:
    """The overview keeps drawn sparklines between requests; a new or finished run redraws."""
    store = Store(f"sqlite:///{tmp_path / 'dw.db'}")
    store.create_all()

    def run(i: int, share: float, finish: bool = True) -> int:
        window = Window(START + timedelta(hours=i), START + timedelta(hours=i + 1))
        run_id = store.start_run("m", window, owner="test")
        assert run_id is not None
        if finish:
            store.finish_run(run_id, [Result("m", run_id, window.start, window.end, "drift", "", "drift_share",
                                             share, None, 0.5, "ok", {})], rows_reference=1, rows_current=1)
        return run_id

    def latest_share(c: TestClient) -> str:
        found = re.search(r'</svg> <span class="small">([^<]*)</span>', c.get("/").text)
        assert found is not None
        return found.group(1)

    with TestClient(make_app(store, None, NOW)) as c:
        run(0, 0.1)
        assert latest_share(c) == "0.1"
        assert latest_share(c) == "0.1"
        running = run(1, 0.0, finish=False)
        assert latest_share(c) == "0.1"
        store.finish_run(running, [Result("m", running, START + timedelta(hours=1), START + timedelta(hours=2),
                                          "drift", "", "drift_share", 0.3, None, 0.5, "ok", {})],
                         rows_reference=1, rows_current=1)
        assert latest_share(c) == "0.3"
        run(2, 0.7)
        assert latest_share(c) == "0.7"
    store.dispose()


def test_overview_serves_the_page_it_drew_until_something_it_shows_changes(tmp_path: Path) -> None:
    """The drawn page is kept while nothing on it changes; time moving an "ago" text, a firing
    alert or a new run draws it again."""
    from fastapi import FastAPI

    from driftwatch.store.alert_tables import alert_states

    store = Store(f"sqlite:///{tmp_path / 'dw.db'}")
    store.create_all()
    window = Window(START, START + timedelta(hours=1))
    run_id = store.start_run("m", window, owner="test")
    assert run_id is not None
    store.finish_run(run_id, [], rows_reference=1, rows_current=1)
    finished = store.run(run_id).finished_at  # type: ignore[union-attr]
    clock = [finished + timedelta(minutes=5, seconds=10)]
    app = FastAPI()
    app.state.pages = pages.PagesContext(store, None, lambda: clock[0])
    app.include_router(pages.router)
    with TestClient(app) as c:
        first = c.get("/").text
        assert "5 min ago" in first
        clock[0] += timedelta(seconds=20)  # still "5 min ago": the same page
        assert c.get("/").text == first
        clock[0] += timedelta(minutes=1)
        moved = c.get("/").text
        assert "6 min ago" in moved and moved != first
        with store.engine.begin() as conn:
            conn.execute(alert_states.insert().values(
                fingerprint="f" * 16, monitor="m", detector="drift", feature="x", metric="ks", state="firing",
                severity="alert", breaching_runs=1, clean_runs=0, updated_at=finished))
        fired = c.get("/").text
        assert fired != moved and "1 with firing alerts" in fired
    store.dispose()


def test_run_report_says_where_the_errors_of_a_performance_drop_grew(make_client: AppFactory,
                                                                     web_store: Store) -> None:
    window = Window(START, START + timedelta(hours=1))
    run_id = web_store.start_run("perf", window, owner="test")
    assert run_id is not None
    causes = [{"feature": XSS, "bin": "c", "share_of_drop": 0.62}, {"feature": "z", "bin": "[1.2, 4.4)",
                                                                     "share_of_drop": 0.3}]
    web_store.finish_run(run_id, [Result("perf", run_id, window.start, window.end, "performance", "", "accuracy",
                                         0.61, None, 0.7, "alert", {"causes": causes, "reference": 0.75})],
                         rows_reference=10, rows_current=10)
    html = make_client().get(f"/runs/{run_id}").text
    assert_escaped(html)
    assert re.search(r"errors grew most in:\s*" + re.escape(XSS) + r"\s*c \(62 % of the drop\);\s*z\s*"
                     r"\[1\.2, 4\.4\) \(30 % of the drop\)", text_of(html))


# -- segments -------------------------------------------------------------------------------

SEGMENTED = """
[store]
url = "sqlite:///dw.db"

[alerts]
channels = ["log"]
base_url = "http://127.0.0.1:8080"

[channels.log]
type = "log"

[[monitors]]
name = "regions"
window = "1d"
segments = {columns = ["country"], top = 5, min_rows = 50}

[monitors.schema]
numeric = ["amount"]
categorical = ["country"]
target = "label"
prediction = "pred"
score = "score"

[monitors.current]
type = "file"
path = "cur.csv"
timestamp_column = "ts"

[monitors.reference]
type = "file"
path = "ref.csv"

[[monitors.detectors]]
type = "drift"

[[monitors.detectors]]
type = "performance"
metrics = ["accuracy"]
bootstrap = 50
estimate = false
"""


def segment_frame(rng: np.random.Generator, n: int, *, broken: bool) -> pd.DataFrame:
    """Rows of three countries; with ``broken`` the model is wrong where it was right in BR only."""
    country = rng.choice(["US", "BR", "DE"], n, p=[0.5, 0.3, 0.2])
    score = rng.uniform(0, 1, n)
    label = (rng.uniform(0, 1, n) < score).astype(int)
    if broken:
        label = np.where(country == "BR", 1 - label, label)
    return pd.DataFrame({"amount": rng.normal(10, 2, n), "country": country, "score": score,
                         "pred": (score > 0.5).astype(int), "label": label})


@dataclass
class Segmented:
    store: Store
    client: TestClient
    run_id: int


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Segmented]:
    """One real run of a monitor with ``segments = country`` whose accuracy fell in BR."""
    folder = tmp_path_factory.mktemp("segmented")
    rng = np.random.default_rng(3)
    segment_frame(rng, 600, broken=False).to_csv(folder / "ref.csv", index=False)
    current = segment_frame(rng, 600, broken=True)
    current["ts"] = [(START + timedelta(seconds=int(s))).isoformat() for s in np.linspace(0, 86_000, 600)]
    current.to_csv(folder / "cur.csv", index=False)
    (folder / "config.toml").write_text(SEGMENTED, encoding="utf-8")
    settings = load(folder / "config.toml")
    store = Store(f"sqlite:///{folder / 'dw.db'}")
    store.create_all()
    window = Window(START, START + timedelta(days=1))
    outcome = run_monitor(settings.monitors[0], window, store=store, options=settings.profile,
                          alerts=AlertContext(settings.alerts, settings.webhooks), now=window.end + timedelta(hours=1))
    assert outcome.status == "succeeded" and outcome.run_id is not None, outcome
    with TestClient(make_app(store, settings, NOW)) as test_client:
        yield Segmented(store, test_client, outcome.run_id)
    store.dispose()


def segment_lines(html: str) -> list[tuple[str, str]]:
    """(segment, rows shown) of each line of the run page's segment table."""
    return [(unescape(segment), text_of(rows_cell).strip()) for segment, rows_cell in re.findall(
        r'<tr data-segment="([^"]*)".*?</th>\s*<td class="num">(.*?)</td>', html, re.S)]


def test_run_page_shows_the_whole_window_and_lists_each_segment_with_its_rows(segmented: Segmented) -> None:
    stored = segmented.store.results(run_id=segmented.run_id)
    html = segmented.client.get(f"/runs/{segmented.run_id}").text
    counts = {r.segment: r.value for r in stored if (r.detector, r.metric) == ("segments", "rows")}
    assert list(counts) == ["country=US", "country=BR", "country=DE"]  # the reference's order by rows
    assert segment_lines(html) == [("", "600")] + [(s, f"{n:,.0f}") for s, n in counts.items()]
    assert '<span aria-current="page">whole window</span>' in html
    # The report holds the whole window's results only: each detector/feature/metric once.
    whole = sorted((r.detector, r.feature, r.metric) for r in stored if not r.segment and r.detector != "performance")
    assert sorted((r["detector"], r["feature"], r["metric"]) for r in report_rows(html)) == whole
    assert f'href="/runs/{segmented.run_id}?segment=country%3DBR"' in html


def test_run_page_of_one_segment_shows_its_results(segmented: Segmented) -> None:
    page = segmented.client.get(f"/runs/{segmented.run_id}", params={"segment": "country=BR"})
    assert page.status_code == 200
    html = page.text
    stored = [r for r in segmented.store.results(run_id=segmented.run_id) if r.segment == "country=BR"]
    assert sorted((r["detector"], r["feature"], r["metric"], r["value"]) for r in report_rows(html)) == sorted(
        (r.detector, r.feature, r.metric, repr(r.value)) for r in stored if r.detector != "performance")
    assert ("segments", "", "rows") in {(r["detector"], r["feature"], r["metric"]) for r in report_rows(html)}
    accuracy = next(r for r in stored if r.metric == "accuracy")
    perf = next(row for row in rows(html, "perf") if ">accuracy<" in row)
    assert f'<td class="num">{fmt_value(accuracy.value)}</td>' in perf
    assert "from segments" not in perf  # only the whole window's figure names segments
    assert re.search(r"Features, worst first · segment\s+country=BR", text_of(html))
    assert '<span aria-current="page"><span class="feature">country=BR</span></span>' in html
    assert f'href="/runs/{segmented.run_id}">whole window</a>' in html


def test_run_page_names_the_segments_a_performance_drop_came_from(segmented: Segmented) -> None:
    html = segmented.client.get(f"/runs/{segmented.run_id}").text
    accuracy = next(r for r in segmented.store.results(run_id=segmented.run_id, segment="")
                    if r.metric == "accuracy")
    assert accuracy.status == "alert"
    shares = accuracy.details["segments"]
    assert shares[0]["segment"] == "country=BR"  # where the labels were flipped
    perf = next(row for row in rows(html, "perf") if ">accuracy<" in row)
    expected = ";\\s*".join(
        rf"{re.escape(s['segment'])}\s+{re.escape(fmt_value(s['value']))} vs {re.escape(fmt_value(s['reference']))}"
        rf" \({s['share_of_drop'] * 100:.0f} % of the drop\)" for s in shares)
    assert re.search(r"from segments:\s*" + expected, text_of(perf)), text_of(perf)
    link = re.search(r'class="feature" href="([^"]+)">country=BR</a>', perf)
    assert link is not None and segmented.client.get(unescape(link.group(1))).status_code == 200


def test_monitor_pages_show_the_whole_window_and_name_a_segments_alert(segmented: Segmented) -> None:
    html = segmented.client.get("/monitors/regions").text
    assert "segments rows" not in html  # no chart of a segment's row counts
    assert any(s.key.segment == "country=BR" for s in firing_states(segmented.store.engine, "regions"))
    assert re.search(r"segment\s+country=BR", text_of(html))


def test_run_page_refuses_a_segment_the_run_does_not_have(segmented: Segmented, client: TestClient,
                                                         site: Site) -> None:
    for segment in ("country=XX", "country=BR\x00", "x" * 300):
        page = segmented.client.get(f"/runs/{segmented.run_id}", params={"segment": segment})
        assert page.status_code == 404, segment
        assert_escaped(page.text)
    plain = client.get(f"/runs/{site.shop_runs[-1]}").text
    assert 'id="h-segments"' not in plain  # a monitor without segments shows no segment list


# -- the report as one file (driftwatch report, driftwatch.web.export) -----------------------


def report_part(html: str) -> str:
    """A run's report as drawn, from its feature table to the end of ``<main>``, with links to a
    segment's page turned into the plain names a file shows."""
    part = html[html.index('<section aria-labelledby="h-features">'):html.index("</main>")]
    return re.sub(r'<a class="feature" href="[^"]*">(.*?)</a>', r'<span class="feature">\1</span>', part)


def facts_part(html: str) -> str:
    """The run's facts list above its report."""
    return html[html.index('<dl class="meta">'):html.index("</dl>") + len("</dl>")]


def test_report_file_shows_what_the_run_page_shows(client: TestClient, site: Site, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    run_id = site.shop_runs[-1]  # drifted, with the <script> column and the <b> category
    page = client.get(f"/runs/{run_id}").text
    target = tmp_path / "report.html"
    assert main(["report", "--config", str(site.folder / "config.toml"), "--run", str(run_id),
                 "-o", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote {target}\n"
    exported = target.read_text(encoding="utf-8")
    assert report_part(exported) == report_part(page)
    assert exported.count('<svg class="chart dist') == page.count('<svg class="chart dist') == 3
    assert facts_part(export.stored_run_html(site.store, run_id, now=NOW)) == facts_part(page)
    # Nothing to fetch, nothing to run: no script, no source, no link; the policy forbids requests.
    assert_escaped(exported)
    assert not re.search(r"<script|\bsrc=|\bhref=|@import|url\(", exported)
    assert f'<meta http-equiv="Content-Security-Policy" content="{escape(export.CSP)}">' in exported
    assert "default-src 'none'" in export.CSP


@pytest.mark.parametrize("segment", ["", "country=BR"])
def test_report_file_of_a_segmented_run_matches_its_page(segmented: Segmented, segment: str) -> None:
    page = segmented.client.get(f"/runs/{segmented.run_id}", params={"segment": segment} if segment else {}).text
    exported = export.stored_run_html(segmented.store, segmented.run_id, segment=segment, now=NOW)
    assert report_part(exported) == report_part(page)
    assert facts_part(exported) == facts_part(page)
    if not segment:  # the drop's segments are named, as text: a file has no segment pages to link to
        assert re.search(r'from segments: <span class="feature">country=BR</span>', exported)


def test_report_command_refuses_what_the_store_does_not_hold(site: Site, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    config = str(site.folder / "config.toml")
    target = tmp_path / "report.html"
    for extra, message in ((["--run", "99999"], "--run: no run 99999 in the store"),
                           (["--run", "0"], "--run: no run 0 in the store"),
                           (["--run", str(site.shop_runs[0]), "--segment", "country=XX"],
                            f"--segment: run {site.shop_runs[0]} has no segment 'country=XX'")):
        assert main(["report", "--config", config, *extra, "-o", str(target)]) == 2
        captured = capsys.readouterr()
        assert captured.err.strip() == message and "Traceback" not in captured.err
        assert not target.exists() and list(tmp_path.iterdir()) == []
    assert main(["report", "--config", config, "--run", str(site.shop_runs[0]), "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("<!doctype html>")

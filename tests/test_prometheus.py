"""Prometheus and Grafana, real (issue 15): Debian's ``prometheus`` scrapes the server ``driftwatch
serve`` runs, over a store filled by real runs, and answers through its HTTP API with the store's
figures; ``promtool`` passes ``/metrics``, the deploy/ config and rules, and runs the rules' unit
tests; the repo's rules fire in that Prometheus on the store's firing alerts; and every query of
the Grafana dashboard evaluates there, so a typo in a panel fails here rather than in Grafana.

The tests needing the binaries skip with a reason without them (``.ci/run`` installs them). The
dashboard's and the provisioning files' structure is checked without them. The provisioning YAML
is read with a few patterns, not a YAML parser: PyYAML is no dependency of driftwatch.

One module-scoped project, server and Prometheus (scraping every second) serve all the tests.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from driftwatch.config import Settings, load
from driftwatch.config.daemon import WebSettings
from driftwatch.store import Store
from driftwatch.store import alerts as store_alerts
from driftwatch.web import create_app
from driftwatch.web.server import WebServer

from .conftest import free_port, wait_for
from .web.conftest import build_project

PROMETHEUS = Path("/usr/bin/prometheus")
PROMTOOL = Path("/usr/bin/promtool")
needs_prometheus = pytest.mark.skipif(not (PROMETHEUS.exists() and PROMTOOL.exists()),
                                      reason="Debian's prometheus package (prometheus, promtool) is not installed; "
                                             ".ci/run installs it")

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yaml"
DASHBOARD = DEPLOY / "grafana" / "driftwatch.json"
PROVISIONING = DEPLOY / "grafana" / "provisioning"
#: Where deploy/compose.yaml mounts the dashboard file, and the Prometheus URL inside the stack.
DASHBOARD_MOUNT = "/var/lib/grafana/dashboards/driftwatch.json"
PROMETHEUS_IN_STACK = "http://prometheus:9090"

#: What Grafana puts in place of the dashboard's variables: ``$monitor`` set to All (its
#: ``allValue``), the look-back window and Grafana's own interval variables.
GRAFANA_VALUES = {"monitor": ".*", "window": "1m", "__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range"}
#: The data source every panel and query must name: the dashboard's ``datasource`` variable.
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

_TARGET = {"type": "object", "required": ["refId", "expr", "datasource"],
           "properties": {"refId": {"type": "string", "minLength": 1}, "expr": {"type": "string", "minLength": 1},
                          "datasource": {"const": DATASOURCE}}}
_PANEL = {"type": "object", "required": ["id", "type", "title", "description", "datasource", "gridPos", "targets"],
          "properties": {
              "id": {"type": "integer"},
              "type": {"enum": ["timeseries", "stat", "bargauge", "table"]},
              "title": {"type": "string", "minLength": 1},
              "description": {"type": "string", "minLength": 1},
              "datasource": {"const": DATASOURCE},
              "gridPos": {"type": "object", "required": ["x", "y", "w", "h"],
                          "properties": {"x": {"type": "integer", "minimum": 0, "maximum": 23},
                                         "y": {"type": "integer", "minimum": 0},
                                         "w": {"type": "integer", "minimum": 1, "maximum": 24},
                                         "h": {"type": "integer", "minimum": 1}}},
              "targets": {"type": "array", "minItems": 1, "items": _TARGET}}}
_VARIABLES = {"type": "array", "allOf": [
    {"contains": {"required": ["name", "type", "query"],
                  "properties": {"name": {"const": "datasource"}, "type": {"const": "datasource"},
                                 "query": {"const": "prometheus"}}}},
    {"contains": {"required": ["name", "type", "definition", "includeAll", "allValue", "datasource"],
                  "properties": {"name": {"const": "monitor"}, "type": {"const": "query"},
                                 "definition": {"type": "string", "pattern": r"^label_values\("},
                                 "includeAll": {"const": True}, "allValue": {"const": ".*"},
                                 "datasource": {"const": DATASOURCE}}}}]}
#: The parts of Grafana's dashboard model this dashboard relies on.
DASHBOARD_SCHEMA = {"type": "object", "required": ["uid", "title", "schemaVersion", "panels", "templating"],
                    "properties": {"uid": {"const": "driftwatch"}, "title": {"type": "string", "minLength": 1},
                                   "schemaVersion": {"type": "integer", "minimum": 36},
                                   "panels": {"type": "array", "minItems": 1, "items": _PANEL},
                                   "templating": {"type": "object", "required": ["list"],
                                                  "properties": {"list": _VARIABLES}}}}


@dataclass(frozen=True)
class Stack:
    """The module's driftwatch server, its store and settings, and the Prometheus scraping it."""

    driftwatch: str
    prometheus: str
    store: Store = field(repr=False)
    settings: Settings = field(repr=False)


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def exprs(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) of every query of every panel."""
    return [(panel["title"], target["expr"]) for panel in board["panels"] for target in panel["targets"]]


def grafana_expr(expr: str) -> str:
    """``expr`` with its variables replaced as Grafana would (KeyError on one it does not know)."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: GRAFANA_VALUES[m.group(1)], expr)


def query(stack: Stack, expr: str) -> list[dict[str, Any]]:
    """The result vector of an instant query, failing with Prometheus's error message."""
    response = httpx.get(f"{stack.prometheus}/api/v1/query", params={"query": expr}, timeout=5)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def by_labels(result: list[dict[str, Any]], *names: str) -> dict[tuple[str, ...], float]:
    return {tuple(item["metric"].get(name, "") for name in names): float(item["value"][1]) for item in result}


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PROMTOOL), *args], input=stdin, capture_output=True, text=True, timeout=30,
                          check=False)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _samples_of_runs(prometheus: str) -> float:
    try:
        response = httpx.get(f"{prometheus}/api/v1/query", timeout=1,
                             params={"query": "min(count_over_time(driftwatch_runs_total[1m]))"})
    except httpx.TransportError:
        return 0
    result = response.json().get("data", {}).get("result", []) if response.status_code == 200 else []
    return float(result[0]["value"][1]) if result else 0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The web project's store (real runs; alerts firing on ``churn``) behind the server ``serve``
    runs, with ``metrics.per_feature`` on; and Prometheus scraping it every second with the repo's
    rules, once it holds two scrapes (so rates over a minute have their two samples)."""
    folder = tmp_path_factory.mktemp("prometheus")
    web_port, prom_port = free_port(), free_port()
    driftwatch, prometheus = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{prom_port}"
    # Prometheus first: it scrapes a new target only after its discovery's 5 s throttle, time
    # enough to build the store and start the server meanwhile.
    scrape = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "rule_files": [str(RULES)],
              "scrape_configs": [{"job_name": "driftwatch", "metrics_path": "/metrics",
                                  "static_configs": [{"targets": [f"127.0.0.1:{web_port}"]}]}]}
    prom_config = folder / "prometheus.yml"
    prom_config.write_text(json.dumps(scrape), encoding="utf-8")  # JSON is YAML
    log_path = folder / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([str(PROMETHEUS), f"--config.file={prom_config}",
                                    f"--storage.tsdb.path={folder / 'tsdb'}",
                                    f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
                                   stdout=log, stderr=subprocess.STDOUT)
    store: Store | None = None
    server: WebServer | None = None
    try:
        (folder / "project").mkdir()
        project = build_project(folder / "project")
        config = project.folder / "config.toml"
        with config.open("a", encoding="utf-8") as out:
            out.write("\n[metrics]\nper_feature = true\n")
        settings = load(config)
        assert settings.metrics.per_feature
        store = Store(settings.store.url.reveal())
        server = WebServer(create_app(store, settings=settings), "127.0.0.1", web_port)
        server.start()
        wait_for(lambda: answers(f"{driftwatch}/healthz"), 10, "driftwatch's web server", step=0.05)

        def scraped_twice() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"prometheus exited: {log_path.read_text()}")
            return _samples_of_runs(prometheus) >= 2

        wait_for(scraped_twice, 20, "two scrapes by prometheus", step=0.1)
        yield Stack(driftwatch, prometheus, store, settings)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if server is not None:
            server.stop()
        if store is not None:
            store.dispose()


@needs_prometheus
def test_prometheus_holds_the_stores_runs(stack: Stack) -> None:
    result = query(stack, "driftwatch_runs_total")
    assert {item["metric"]["job"] for item in result} == {"driftwatch"}
    monitors = [m.name for m in stack.settings.monitors]
    stored = Counter((run.monitor, run.status) for m in monitors for run in stack.store.runs(m))
    assert by_labels(result, "monitor", "status") == {key: float(n) for key, n in stored.items()}
    assert sum(stored.values()) > 0


@needs_prometheus
def test_prometheus_holds_the_drift_scores_and_firing_alerts(stack: Stack) -> None:
    expected: dict[tuple[str, ...], float] = {}
    for monitor in stack.settings.monitors:
        latest = stack.store.runs(monitor.name, limit=1)[0]
        assert latest.status == "succeeded"
        expected.update({(r.monitor, r.feature, r.metric): float(r.value)
                         for r in stack.store.results(run_id=latest.id)
                         if r.detector == "drift" and r.feature and not r.segment and r.value is not None})
    scores = by_labels(query(stack, 'driftwatch_drift_score{segment=""}'), "monitor", "feature", "metric")
    assert scores == pytest.approx(expected, rel=1e-12)

    wanted = {m.name for m in stack.settings.monitors}
    firing = Counter((s.key.monitor, s.severity or "alert") for s in store_alerts.firing_states(stack.store.engine)
                     if s.key.monitor in wanted)
    assert firing  # the project's churn monitor drifts from window 3 on
    assert by_labels(query(stack, "driftwatch_alerts_firing"), "monitor", "severity") == {
        key: float(n) for key, n in firing.items()}


@needs_prometheus
def test_the_repos_rules_load_and_fire_on_the_stores_alerts(stack: Stack) -> None:
    response = httpx.get(f"{stack.prometheus}/api/v1/rules", timeout=5).json()
    rules = [rule for group in response["data"]["groups"] for rule in group["rules"]]
    assert {rule["name"] for rule in rules} == {"DriftwatchDown", "DriftwatchStoreDown", "DriftwatchNoSuccessfulRun",
                                                "DriftwatchOutboxDead", "DriftwatchAlertsFiring"}
    firing_monitors = {s.key.monitor for s in store_alerts.firing_states(stack.store.engine)
                       if s.key.monitor in {m.name for m in stack.settings.monitors}}

    def alerts() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = httpx.get(f"{stack.prometheus}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        return found

    def firing() -> set[tuple[str, str | None]]:
        return {(a["labels"]["alertname"], a["labels"].get("monitor")) for a in alerts() if a["state"] == "firing"}

    wait_for(lambda: bool(firing()), 10, "the rules' first evaluation after a scrape", step=0.1)
    assert all(rule["health"] == "ok" for rule in httpx.get(f"{stack.prometheus}/api/v1/rules", timeout=5)
               .json()["data"]["groups"][0]["rules"])
    # Runs just finished, the server answers, nothing is dead: only the store's firing alerts show.
    assert firing() == {("DriftwatchAlertsFiring", monitor) for monitor in firing_monitors}


@needs_prometheus
def test_promtool_check_metrics_finds_no_problem(stack: Stack) -> None:
    body = httpx.get(f"{stack.driftwatch}/metrics", timeout=5).text
    assert "driftwatch_drift_score{" in body  # per_feature on: every family is linted
    checked = promtool("check", "metrics", stdin=body)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


@needs_prometheus
@pytest.mark.parametrize("args", [("check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")),
                                  ("check", "rules", str(RULES)),
                                  ("test", "rules", str(DEPLOY / "prometheus" / "rules_test.yaml"))],
                         ids=["check-config", "check-rules", "test-rules"])
def test_promtool_passes_the_deploy_files(args: tuple[str, ...]) -> None:
    checked = promtool(*args)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


@needs_prometheus
def test_every_series_named_in_the_rules_and_dashboard_is_exported(stack: Stack) -> None:
    """promtool's rule tests feed the rules made-up series; this says those names are real."""
    body = httpx.get(f"{stack.driftwatch}/metrics", timeout=5).text
    exported = set(re.findall(r"^(driftwatch_\w+)[{ ]", body, flags=re.MULTILINE))
    exported |= {"driftwatch_notifications_total"}  # no delivery in serve, so its family has no sample
    named = set(re.findall(r"\bdriftwatch_\w+", RULES.read_text(encoding="utf-8")))
    named |= {name for _, expr in exprs(dashboard()) for name in re.findall(r"\bdriftwatch_\w+", expr)}
    assert named and named <= exported, named - exported


@needs_prometheus
def test_every_dashboard_query_evaluates_with_data(stack: Stack) -> None:
    board = dashboard()
    shown: Counter[str] = Counter()
    for title, expr in exprs(board):
        shown[title] += len(query(stack, grafana_expr(expr)))
    # Every panel shows something for this store: per_feature is on, and the outbox has pending rows.
    assert all(shown[panel["title"]] > 0 for panel in board["panels"]), shown
    monitor = next(v for v in board["templating"]["list"] if v["name"] == "monitor")
    match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", monitor["definition"])
    assert match, monitor["definition"]
    response = httpx.get(f"{stack.prometheus}/api/v1/label/{match[2]}/values", params={"match[]": match[1]},
                         timeout=5).json()
    assert response["data"] == sorted(m.name for m in stack.settings.monitors)


def test_dashboard_structure() -> None:
    board = dashboard()
    jsonschema.validate(board, DASHBOARD_SCHEMA)
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"]), panel["title"]
        if any("driftwatch_drift_score" in t["expr"] for t in panel["targets"]):
            assert "metrics.per_feature" in panel["description"], panel["title"]
    defined = {v["name"] for v in board["templating"]["list"]}
    used = {name for _, expr in exprs(board) for name in re.findall(r"\$\{?(\w+)\}?", expr)}
    assert used - GRAFANA_BUILTINS <= defined
    assert used <= set(GRAFANA_VALUES)  # the live test knows how Grafana fills each one
    titles = " ".join(p["title"].lower() for p in panels)
    for topic in ("runs by status", "run duration", "firing alerts", "outbox", "drift share", "per-feature"):
        assert topic in titles, topic


def test_deploy_files_point_at_the_stack() -> None:
    """Prometheus scrapes the driftwatch service on its default web port (the image's), Grafana's
    data source is the stack's Prometheus, and its dashboard provider reads the folder the
    dashboard file is mounted in."""
    scrape = (DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    assert re.search(rf'^      - targets: \["driftwatch:{WebSettings().port}"\]$', scrape, flags=re.MULTILINE)
    source = (PROVISIONING / "datasources" / "prometheus.yaml").read_text(encoding="utf-8")
    provider = (PROVISIONING / "dashboards" / "driftwatch.yaml").read_text(encoding="utf-8")
    for text in (source, provider):
        assert "\t" not in text and re.search(r"^apiVersion: 1$", text, flags=re.MULTILINE)
    assert re.search(r"^datasources:\n  - name: \S+$", source, flags=re.MULTILINE)
    assert re.search(r"^    type: prometheus$", source, flags=re.MULTILINE)
    assert re.search(rf"^    url: {re.escape(PROMETHEUS_IN_STACK)}$", source, flags=re.MULTILINE)
    assert re.search(r"^providers:\n  - name: \S+$", provider, flags=re.MULTILINE)
    assert re.search(r"^    type: file$", provider, flags=re.MULTILINE)
    path = re.search(r"^    options:\n      path: (\S+)$", provider, flags=re.MULTILINE)
    assert path and path[1] == str(Path(DASHBOARD_MOUNT).parent)

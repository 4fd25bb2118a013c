"""``/api/v1`` against a store filled by real runs (see ``conftest.py``): every endpoint, its
pages and limits, its 404s and 422s, index use of the time-series queries (R33), and no secret in
any response or in the OpenAPI schema.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from driftwatch.alerts.events import WEBHOOK_EVENT_SCHEMA
from driftwatch.config import Settings
from driftwatch.model import AlertKey, AlertState
from driftwatch.store import Store
from driftwatch.store import alerts as store_alerts
from driftwatch.store import outbox as store_outbox
from driftwatch.web import create_app

from .conftest import SCRIPT, SECRETS, TOKEN, WINDOWS, AppFactory, build_project, finish_segmented_run, window

UTC = timezone.utc
API = "/api/v1"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- monitors -----------------------------------------------------------------------------------


def test_monitors_lists_configured_and_stored_monitors_with_their_latest_run(client: TestClient,
                                                                             web_store: Store) -> None:
    body = client.get(f"{API}/monitors").json()
    assert [m["name"] for m in body] == ["churn", "fraud", "removed"]
    assert [m["configured"] for m in body] == [True, True, False]
    for monitor in body:
        latest = web_store.runs(monitor["name"], limit=1)[0]
        run = monitor["last_run"]
        assert (run["id"], run["status"], at(run["window_end"]), at(run["finished_at"])) == (
            latest.id, latest.status, latest.window_end, latest.finished_at)
        assert monitor["firing_alerts"] == len(store_alerts.firing_states(web_store.engine, monitor["name"]))
    assert body[0]["firing_alerts"] > 0 and body[1]["firing_alerts"] == 0


def test_monitors_without_settings_are_the_stored_ones(make_client: AppFactory) -> None:
    body = make_client().get(f"{API}/monitors").json()
    assert [(m["name"], m["configured"]) for m in body] == [("churn", False), ("fraud", False), ("removed", False)]


def test_a_configured_monitor_that_never_ran_has_no_last_run(make_client: AppFactory, settings: Settings) -> None:
    fresh = dataclasses.replace(settings.monitors[0], name="fresh")
    client = make_client(settings=dataclasses.replace(settings, monitors=(*settings.monitors, fresh)))
    client.headers["Authorization"] = f"Bearer {TOKEN}"
    body = {m["name"]: m for m in client.get(f"{API}/monitors").json()}
    assert body["fresh"] == {"name": "fresh", "configured": True, "last_run": None, "firing_alerts": 0}
    page = client.get(f"{API}/monitors/fresh/runs")
    assert page.status_code == 200 and page.json() == {"runs": [], "next_before_id": None}


# -- runs ---------------------------------------------------------------------------------------


def test_runs_are_paged_newest_first_until_next_before_id_is_null(client: TestClient, web_store: Store) -> None:
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 4}
    pages = 0
    while True:
        page = client.get(f"{API}/monitors/churn/runs", params=params).json()
        pages += 1
        seen += page["runs"]
        if page["next_before_id"] is None:
            break
        params["before_id"] = page["next_before_id"]
    assert pages == 2
    expected = web_store.runs("churn")
    assert [r["id"] for r in seen] == [r.id for r in expected]
    assert [at(r["window_end"]) for r in seen] == sorted((r.window_end for r in expected), reverse=True)
    assert {r["monitor"] for r in seen} == {"churn"} and len(seen) == WINDOWS


def test_runs_limit_is_capped_and_must_be_positive(client: TestClient) -> None:
    assert len(client.get(f"{API}/monitors/churn/runs", params={"limit": 10**9}).json()["runs"]) == WINDOWS
    assert client.get(f"{API}/monitors/churn/runs", params={"limit": 0}).status_code == 422
    assert client.get(f"{API}/monitors/churn/runs", params={"limit": "many"}).status_code == 422


def test_runs_of_an_unknown_monitor_404_and_a_foreign_cursor_422(client: TestClient, web_store: Store) -> None:
    response = client.get(f"{API}/monitors/nope/runs")
    assert response.status_code == 404 and response.json() == {"detail": "no monitor 'nope'"}
    fraud_run = web_store.runs("fraud", limit=1)[0].id
    response = client.get(f"{API}/monitors/churn/runs", params={"before_id": fraud_run})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "before_id"]


def test_run_detail_has_the_run_and_every_result(client: TestClient, web_store: Store) -> None:
    run = web_store.runs("churn", limit=1)[0]
    body = client.get(f"{API}/runs/{run.id}").json()
    assert (body["id"], body["monitor"], body["status"], body["rows_current"]) == (run.id, "churn", "succeeded", 200)
    stored = web_store.results(run_id=run.id)
    assert [(r["feature"], r["metric"], r["value"], r["status"]) for r in body["results"]] == [
        (r.feature, r.metric, r.value, r.status) for r in stored]
    assert SCRIPT in {r["feature"] for r in body["results"]}  # JSON carries names as they are
    assert all(isinstance(r["details"], dict) for r in body["results"])


@pytest.mark.parametrize("run_id, status", [(999_999, 404), (2**31 - 1, 404), (0, 422), (2**31, 422), ("x", 422),
                                            ("1%0B", 422), ("%201", 422), ("+1", 422), ("1_0", 422)])
def test_run_detail_errors(client: TestClient, run_id: object, status: int) -> None:
    # an id with a stray character names no run, even where int() would read it (the fuzz test found "9\v")
    assert client.get(f"{API}/runs/{run_id}").status_code == status
    assert client.get(f"{API}/runs/1").status_code == 200


# -- results ------------------------------------------------------------------------------------


def test_results_match_the_store_and_page_by_cursor(client: TestClient, web_store: Store) -> None:
    everything = client.get(f"{API}/results", params={"monitor": "churn"}).json()
    assert everything["next_cursor"] is None
    stored = web_store.results(monitor="churn")
    assert [(r["run_id"], r["feature"], r["metric"], r["value"]) for r in everything["results"]] == [
        (r.run_id, r.feature, r.metric, r.value) for r in stored]
    paged: list[dict[str, Any]] = []
    params: dict[str, Any] = {"monitor": "churn", "limit": 5}
    while True:
        page = client.get(f"{API}/results", params=params).json()
        assert len(page["results"]) <= 5
        paged += page["results"]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert paged == everything["results"]


def test_results_filters(client: TestClient, web_store: Store) -> None:
    by_metric = client.get(f"{API}/results", params={"monitor": "churn", "metric": "drift_share"}).json()["results"]
    assert len(by_metric) == WINDOWS and {r["feature"] for r in by_metric} == {""}
    dataset = client.get(f"{API}/results", params={"monitor": "churn", "feature": ""}).json()["results"]
    assert dataset and {r["feature"] for r in dataset} == {""}
    x = client.get(f"{API}/results", params={"monitor": "churn", "feature": "x"}).json()["results"]
    assert [r["value"] for r in x] == [r.value for r in web_store.results(monitor="churn", feature="x")]
    assert client.get(f"{API}/results", params={"monitor": "nope"}).json() == {"results": [], "next_cursor": None}


def test_results_filter_by_segment_and_every_result_names_its_segment(client: TestClient, web_store: Store) -> None:
    run_id = finish_segmented_run(web_store, "seg", window(0), ["c=a", "c=b"])

    def get(**params: str) -> list[tuple[str, str, str]]:
        body = client.get(f"{API}/results", params={"monitor": "seg", **params}).json()
        return [(r["segment"], r["feature"], r["metric"]) for r in body["results"]]

    stored = [(r.segment, r.feature, r.metric) for r in web_store.results(monitor="seg")]
    assert get() == stored and {s for s, _, _ in stored} == {"", "c=a", "c=b"}  # absent: every row
    assert get(segment="") == [("", "x", "ks"), ("", "", "drift_share")]
    assert get(segment="c=b") == [("c=b", "", "rows"), ("c=b", "x", "ks"), ("c=b", "", "drift_share")]
    assert get(segment="c=a", metric="drift_share") == [("c=a", "", "drift_share")]
    assert get(segment="c=z") == []
    detail = client.get(f"{API}/runs/{run_id}").json()
    assert [r["segment"] for r in detail["results"]] == [s for s, _, _ in stored]
    churn = client.get(f"{API}/results", params={"monitor": "churn", "limit": 3}).json()["results"]
    assert [r["segment"] for r in churn] == ["", "", ""]  # a monitor without segments: always the whole window
    assert client.get(f"{API}/results", params={"monitor": "seg", "segment": "c\x00a"}).status_code == 422
    parameter = next(p for p in client.get("/openapi.json").json()["paths"][f"{API}/results"]["get"]["parameters"]
                     if p["name"] == "segment")
    assert "whole-window" in parameter["description"]


def test_alerts_name_their_segment(client: TestClient, web_store: Store) -> None:
    key = AlertKey("churn", "drift", "x", "ks", "c=a")
    with web_store.engine.begin() as conn:
        store_alerts.save_states(conn, [AlertState(key, state="firing", severity="alert", value=0.3)],
                                 datetime(2026, 11, 2, tzinfo=UTC))
    body = client.get(f"{API}/alerts", params={"monitor": "churn"}).json()
    assert {(a["fingerprint"], a["segment"]) for a in body if a["segment"]} == {(key.fingerprint, "c=a")}
    assert {a["segment"] for a in body} == {"", "c=a"}


def test_results_since_until_are_iso_8601_and_naive_means_utc(client: TestClient, web_store: Store) -> None:
    since, until = datetime(2026, 11, 1, 2, tzinfo=UTC), datetime(2026, 11, 1, 4, tzinfo=UTC)
    expected = [r.window_end for r in web_store.results(monitor="churn", since=since, until=until)]
    assert expected and len(set(expected)) == 3
    for params in ({"since": "2026-11-01T02:00:00", "until": "2026-11-01T04:00:00"},
                   {"since": "2026-11-01T02:00:00Z", "until": "2026-11-01T04:00:00+00:00"},
                   {"since": "2026-11-01T04:00:00+02:00", "until": "2026-11-01T00:00:00-04:00"}):
        body = client.get(f"{API}/results", params={"monitor": "churn", **params}).json()
        assert [at(r["window_end"]) for r in body["results"]] == expected, params


@pytest.mark.parametrize("params", [
    {},                                                   # monitor is required
    {"monitor": "churn", "limit": 10_001},                # beyond the ceiling
    {"monitor": "churn", "limit": 0},
    {"monitor": "churn", "since": "yesterday"},
    {"monitor": "churn", "until": "0001-01-01T00:00:00+01:00"},  # before year 1 in UTC
    {"monitor": "churn", "cursor": "not-a-cursor"},
    {"monitor": "ch\x00urn"},                             # PostgreSQL cannot even compare it
    {"monitor": "x" * 256},
])
def test_results_bad_requests_are_422(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get(f"{API}/results", params=params)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)  # FastAPI's documented shape, also for our own


def test_results_limit_default_is_1000_and_10000_is_allowed(client: TestClient) -> None:
    assert client.get(f"{API}/results", params={"monitor": "churn", "limit": 10_000}).status_code == 200
    openapi = client.get("/openapi.json").json()
    limit = next(p for p in openapi["paths"][f"{API}/results"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["default"], limit["schema"]["maximum"]) == (1000, 10_000)


class Statements:
    """The SELECTs an app sends while the block runs."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, Any]] = []

    def __enter__(self) -> Statements:
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "results" in statement:
            self.seen.append((statement, parameters))


@pytest.mark.parametrize("params", [
    {"monitor": "churn", "metric": "ks"},
    {"monitor": "churn", "metric": "ks", "feature": "x"},
    {"monitor": "churn", "feature": "x"},
    {"monitor": "churn", "metric": "ks", "since": "2026-11-01T02:00:00", "until": "2026-11-01T05:00:00"},
    {"monitor": "churn"},
    {"monitor": "churn", "metric": "drift_share", "feature": "", "segment": ""},
    {"monitor": "churn", "metric": "ks", "segment": ""},
])
def test_results_queries_search_an_r33_index(client: TestClient, web_store: Store, params: dict[str, Any]) -> None:
    with Statements(web_store.engine) as statements:
        first = client.get(f"{API}/results", params={**params, "limit": 2}).json()
        client.get(f"{API}/results", params={**params, "limit": 2, "cursor": first["next_cursor"]})
    assert len(statements.seen) == 2
    with web_store.engine.connect() as conn:
        for statement, parameters in statements.seen:
            plan = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert re.search(r"SEARCH results USING (COVERING )?INDEX ix_results_monitor_", plan), plan
            assert not re.search(r"SCAN results(?! USING)", plan), plan


def test_results_on_postgresql_page_the_same_and_use_an_index(postgres_database: str, tmp_path: Path) -> None:
    project = build_project(tmp_path, store_url=postgres_database)
    with Store(postgres_database) as store, TestClient(create_app(store, settings=project.settings)) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        everything = client.get(f"{API}/results", params={"monitor": "churn"}).json()["results"]
        assert len(everything) == len(store.results(monitor="churn")) > 0
        paged: list[dict[str, Any]] = []
        params: dict[str, Any] = {"monitor": "churn", "metric": "ks", "limit": 2}
        while True:
            page = client.get(f"{API}/results", params=params).json()
            paged += page["results"]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert paged == [r for r in everything if r["metric"] == "ks"]
        assert [r["id"] for r in client.get(f"{API}/monitors/churn/runs", params={"limit": 2}).json()["runs"]] == [
            r.id for r in store.runs("churn", limit=2)]
        with store.engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: ask whether an index *can* serve it
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(
                "EXPLAIN SELECT * FROM results WHERE monitor = 'churn' AND metric = 'ks' "
                "AND window_end >= now() - interval '1 day' ORDER BY window_end, id LIMIT 10"))
        assert "ix_results_monitor_" in plan, plan


# -- alerts -------------------------------------------------------------------------------------


def test_alerts_default_to_firing_and_match_the_store(client: TestClient, web_store: Store) -> None:
    body = client.get(f"{API}/alerts").json()
    firing = store_alerts.firing_states(web_store.engine)
    assert [a["fingerprint"] for a in body] == [s.key.fingerprint for s in firing]
    assert {a["state"] for a in body} == {"firing"} and not any(a["silenced"] for a in body)
    only = client.get(f"{API}/alerts", params={"monitor": "churn", "state": "firing"}).json()
    assert {a["monitor"] for a in only} == {"churn"} and len(only) == len(
        store_alerts.firing_states(web_store.engine, "churn"))
    assert client.get(f"{API}/alerts", params={"state": "ok"}).json() == []
    assert client.get(f"{API}/alerts", params={"state": "burning"}).status_code == 422


# -- silences -----------------------------------------------------------------------------------


def test_silence_lifecycle(client: TestClient) -> None:
    made = client.post(f"{API}/silences", json={
        "matchers": {"monitor": "churn", "feature": "x"}, "duration": "2h", "created_by": "ana",
        "comment": "known shift"})
    assert made.status_code == 201, made.text
    silence = made.json()
    assert silence["state"] == "active" and silence["matchers"] == {
        "monitor": "churn", "detector": None, "feature": "x", "metric": None}
    assert at(silence["ends_at"]) - at(silence["starts_at"]) == timedelta(hours=2)
    assert [s["id"] for s in client.get(f"{API}/silences").json()] == [silence["id"]]
    assert client.get(f"{API}/silences", params={"state": "expired"}).json() == []
    silenced = {a["feature"] for a in client.get(f"{API}/alerts", params={"monitor": "churn"}).json()
                if a["silenced"]}
    assert silenced == {"x"}
    ended = client.delete(f"{API}/silences/{silence['id']}")
    assert ended.status_code == 200 and ended.json()["state"] == "expired"
    assert [s["id"] for s in client.get(f"{API}/silences", params={"state": "expired"}).json()] == [silence["id"]]
    assert client.delete(f"{API}/silences/{silence['id'] + 100}").status_code == 404


def test_silence_with_ends_at_and_naive_times_in_utc(client: TestClient) -> None:
    made = client.post(f"{API}/silences", json={
        "matchers": {"monitor": "fraud"}, "starts_at": "2030-01-01T00:00:00", "ends_at": "2030-01-02T00:00:00+01:00",
        "created_by": "ana", "comment": ""})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (at(body["starts_at"]), at(body["ends_at"]), body["state"]) == (
        datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, 23, tzinfo=UTC), "pending")


@pytest.mark.parametrize("body, where", [
    ({"matchers": {"monitor": "churn"}, "duration": "1h", "created_by": "a", "comment": "", "extra": 1}, "extra"),
    ({"matchers": {"monitor": "churn", "team": "x"}, "duration": "1h", "created_by": "a", "comment": ""}, "team"),
    ({"matchers": {"monitor": "churn"}, "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z",
      "created_by": "a", "comment": ""}, "ends_at"),
    ({"matchers": {"monitor": "churn"}, "ends_at": "2001-01-01T00:00:00Z", "created_by": "a", "comment": ""},
     "ends_at"),
    ({"matchers": {"monitor": "churn"}, "created_by": "a", "comment": ""}, "duration"),
    ({"matchers": {"monitor": "churn"}, "duration": "1h", "ends_at": "2030-01-01T00:00:00Z", "created_by": "a",
      "comment": ""}, "duration"),
    ({"matchers": {"monitor": "churn"}, "duration": "soon", "created_by": "a", "comment": ""}, "duration"),
    ({"matchers": {"monitor": "churn"}, "duration": "99999999999999w", "created_by": "a", "comment": ""},
     "duration"),
    ({"matchers": {"monitor": "nope"}, "duration": "1h", "created_by": "a", "comment": ""}, "monitor"),
    ({"matchers": {"monitor": "churn"}, "duration": "1h", "comment": ""}, "created_by"),
    ({"matchers": {"monitor": "churn"}, "duration": "1h", "created_by": "a\x00b", "comment": ""}, "created_by"),
])
def test_bad_silences_are_422_naming_the_field(client: TestClient, body: dict[str, Any], where: str) -> None:
    response = client.post(f"{API}/silences", json=body)
    assert response.status_code == 422, response.text
    assert where in response.text
    assert client.get(f"{API}/silences").json() == []


# -- outbox, schema, documentation --------------------------------------------------------------


def test_outbox_rows_without_bodies(client: TestClient, web_store: Store) -> None:
    body = client.get(f"{API}/outbox").json()
    stored = store_outbox.list_outbox(web_store.engine)
    assert [r["id"] for r in body] == [r.id for r in stored] and body
    assert set(body[0]) == {"id", "target", "kind", "monitor", "event_type", "state", "attempts", "created_at",
                            "next_attempt_at", "delivered_at", "last_status", "last_error"}
    assert {r["target"] for r in body} == {"log", "hook", "mail", "chat", "sink"}
    assert client.get(f"{API}/outbox", params={"state": "dead"}).json() == []
    assert len(client.get(f"{API}/outbox", params={"state": "pending", "limit": 3}).json()) == 3
    assert client.get(f"{API}/outbox", params={"state": "lost"}).status_code == 422


def test_webhook_event_schema_is_served_as_is(client: TestClient) -> None:
    assert client.get(f"{API}/schemas/webhook-event").json() == WEBHOOK_EVENT_SCHEMA


def test_openapi_documents_every_endpoint_with_models_and_docs_are_on(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {f"{API}/{p}" for p in (
        "monitors", "monitors/{name}/runs", "runs/{run_id}", "results", "alerts", "silences", "silences/{silence_id}",
        "outbox", "schemas/webhook-event")}
    assert {"MonitorOut", "RunOut", "RunDetail", "ResultOut", "ResultsPage", "RunsPage", "AlertOut", "SilenceIn",
            "SilenceOut", "Matchers", "OutboxOut", "Problem"} <= set(schema["components"]["schemas"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static-offline-docs/swagger-ui-bundle.js" in docs.text
    assert "cdn." not in docs.text and "https://" not in docs.text  # nothing fetched from the internet
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200


# -- secrets ------------------------------------------------------------------------------------


@pytest.fixture
def every_response(client: TestClient, web_store: Store) -> Iterator[list[str]]:
    run = web_store.runs("churn", limit=1)[0].id
    made = client.post(f"{API}/silences", json={"matchers": {"monitor": "churn"}, "duration": "1h",
                                                 "created_by": "ana", "comment": "c"}).json()
    urls = ["/openapi.json", "/docs", "/metrics", "/healthz", "/readyz", "/login",
            f"{API}/monitors", f"{API}/monitors/churn/runs", f"{API}/runs/{run}", f"{API}/results?monitor=churn",
            f"{API}/alerts", f"{API}/alerts?state=resolved", f"{API}/silences", f"{API}/outbox",
            f"{API}/schemas/webhook-event", f"{API}/runs/999999", f"{API}/results", f"{API}/monitors/nope/runs"]
    texts = [client.get(url).text for url in urls]
    texts.append(client.delete(f"{API}/silences/{made['id']}").text)
    texts.append(client.post("/login", data={"token": "wrong"}).text)
    texts.append(str(client.get(f"{API}/monitors", headers={"Authorization": "Bearer wrong"}).headers))
    yield texts


def test_no_secret_in_any_response_or_the_schema(every_response: list[str]) -> None:
    joined = "\n".join(every_response)
    for name, secret in SECRETS.items():
        assert secret not in joined, name
        assert secret[4:-4] not in joined, name  # nor a recognisable piece of it


@pytest.mark.parametrize("url", [f"{API}/alerts?monitr=churn", f"{API}/results?monitor=churn&metrik=ks",
                                 f"{API}/monitors?verbose=1"])
def test_unknown_query_parameters_are_422_not_ignored(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"

"""``/metrics`` (R30, R31): the exposition parsed with prometheus-client's own parser, every name
by the conventions, every value equal to what the store holds, labels bounded, per-feature
series off by default and capped when on, removed monitors gone, figures cached for 5 s.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from driftwatch.alerts.evaluate import AlertContext
from driftwatch.config import Settings
from driftwatch.config.daemon import MetricsSettings
from driftwatch.engine import run_monitor
from driftwatch.store import Store
from driftwatch.store import alerts as store_alerts
from driftwatch.store import outbox as store_outbox
from driftwatch.store.queries import DURATION_BUCKETS
from driftwatch.web.metrics import MAX_SEGMENTS, StoreCollector

from .conftest import WINDOWS, AppFactory, finish_segmented_run, window

#: Every label a driftwatch series may carry (R31: none of them takes unbounded values).
BOUNDED_LABELS = {"version", "monitor", "status", "severity", "channel", "state", "outcome", "le", "feature",
                  "metric", "segment"}


def scrape(make_client: AppFactory, **kwargs: Any) -> dict[str, Metric]:
    response = make_client(**kwargs).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def samples(family: Metric, suffix: str = "") -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples if s.name == family.name + suffix}


def test_names_follow_the_prometheus_conventions(make_client: AppFactory, settings: Settings) -> None:
    families = scrape(make_client, settings=settings, outcomes=lambda: {("hook", "delivered"): 3})
    assert {"driftwatch_build_info", "driftwatch_runs", "driftwatch_run_duration_seconds",
            "driftwatch_last_run_success_timestamp_seconds", "driftwatch_alerts_firing",
            "driftwatch_notifications", "driftwatch_outbox_messages", "driftwatch_rows_read",
            "driftwatch_results", "driftwatch_store_up"} <= set(families)
    for name, family in families.items():
        assert name.startswith("driftwatch_"), name
        assert re.fullmatch(r"[a-z_]+", name), name
        assert not re.search(r"_(milliseconds|ms|minutes|hours|bytes_total_total|count)$", name), name
        if family.type == "counter":
            assert {s.name for s in family.samples} == {name + "_total"}, name
        if family.type == "histogram":
            assert name.endswith("_seconds")
        if "timestamp" in name:
            assert name.endswith("_timestamp_seconds") and family.type == "gauge"
    assert families["driftwatch_build_info"].samples[0].labels["version"]


def test_values_match_the_store(make_client: AppFactory, settings: Settings, web_store: Store) -> None:
    families = scrape(make_client, settings=settings, outcomes=lambda: {("hook", "delivered"): 3, ("mail", "dead"): 1})
    runs = [r for m in ("churn", "fraud") for r in web_store.runs(m)]
    assert samples(families["driftwatch_runs"], "_total") == {
        (("monitor", m), ("status", s)): float(n) for (m, s), n in Counter((r.monitor, r.status) for r in runs).items()}
    assert samples(families["driftwatch_rows_read"], "_total") == {
        (("monitor", m),): float(sum(r.rows_current or 0 for r in runs if r.monitor == m)) for m in ("churn", "fraud")}
    results = [r for m in ("churn", "fraud") for r in web_store.results(monitor=m)]
    assert samples(families["driftwatch_results"], "_total") == {
        (("monitor", m), ("status", s)): float(n)
        for (m, s), n in Counter((r.monitor, r.status) for r in results).items()}
    last = samples(families["driftwatch_last_run_success_timestamp_seconds"])
    for monitor in ("churn", "fraud"):
        finished = max(r.finished_at for r in runs if r.monitor == monitor and r.finished_at is not None)
        assert last[(("monitor", monitor),)] == pytest.approx(finished.timestamp(), abs=1e-3)
    firing = Counter((s.key.monitor, s.severity) for s in store_alerts.firing_states(web_store.engine)
                     if s.key.monitor != "removed")
    assert samples(families["driftwatch_alerts_firing"]) == {
        (("monitor", m), ("severity", s)): float(n) for (m, s), n in firing.items()}
    assert samples(families["driftwatch_outbox_messages"]) == {
        (("channel", c), ("state", s)): float(n) for (c, s), n in store_outbox.counts(web_store.engine).items()}
    assert samples(families["driftwatch_notifications"], "_total") == {
        (("channel", "hook"), ("outcome", "delivered")): 3.0, (("channel", "mail"), ("outcome", "dead")): 1.0}
    histogram = families["driftwatch_run_duration_seconds"]
    for monitor in ("churn", "fraud"):
        took = [(r.finished_at - r.started_at).total_seconds() for r in runs
                if r.monitor == monitor and r.finished_at is not None]
        count = samples(histogram, "_count")[(("monitor", monitor),)]
        assert count == len(took) == WINDOWS
        assert samples(histogram, "_sum")[(("monitor", monitor),)] == pytest.approx(sum(took), abs=1e-3)
        buckets = {s.labels["le"]: s.value for s in histogram.samples
                   if s.name.endswith("_bucket") and s.labels["monitor"] == monitor}
        assert [float(le) for le in buckets if le != "+Inf"] == list(DURATION_BUCKETS)
        for le, value in buckets.items():
            assert value == sum(1 for t in took if le == "+Inf" or t <= float(le))


def test_running_runs_drift_share_and_schedule_period(
        make_client: AppFactory, settings: Settings, web_store: Store) -> None:
    """A run in progress is not in the counter (it would fall when the run finishes) but in its
    own gauge; the drift share is the whole window's of each monitor's latest succeeded run; each
    configured monitor's period is there for the staleness rule."""
    assert web_store.start_run("churn", window(WINDOWS), owner="test") is not None
    families = scrape(make_client, settings=settings)
    assert {labels[1][1] for labels in samples(families["driftwatch_runs"], "_total")} == {"succeeded"}
    assert samples(families["driftwatch_runs_running"]) == {(("monitor", "churn"),): 1.0}
    shares = {}
    for monitor in ("churn", "fraud"):
        latest = max((r for r in web_store.runs(monitor) if r.status == "succeeded"), key=lambda r: r.window_end)
        found = [r.value for r in web_store.results(run_id=latest.id) if r.metric == "drift_share" and not r.segment]
        assert len(found) == 1
        shares[(("monitor", monitor),)] = found[0]
    assert samples(families["driftwatch_drift_share"]) == shares
    assert shares[(("monitor", "churn"),)] > 0 == shares[(("monitor", "fraud"),)]  # churn drifts, fraud never
    assert samples(families["driftwatch_schedule_period_seconds"]) == {
        (("monitor", m.name),): m.schedule.period.total_seconds() for m in settings.monitors} == {
        (("monitor", "churn"),): 3600.0, (("monitor", "fraud"),): 3600.0}


def test_labels_are_bounded_and_removed_monitors_vanish(make_client: AppFactory, settings: Settings) -> None:
    families = scrape(make_client, settings=settings)
    monitors = {m.name for m in settings.monitors}
    for family in families.values():
        for sample in family.samples:
            assert set(sample.labels) <= BOUNDED_LABELS, sample
            assert sample.labels.get("monitor", "churn") in monitors, sample  # "removed" is gone
            for value in sample.labels.values():
                assert "://" not in value and not re.fullmatch(r"\d{4,}", value), sample
                assert not re.search(r"\d{4}-\d{2}-\d{2}", value), sample
    assert "driftwatch_drift_score" not in families  # off by default


def test_without_settings_every_stored_monitor_appears(make_client: AppFactory) -> None:
    families = scrape(make_client)
    assert {s.labels["monitor"] for s in families["driftwatch_runs"].samples} == {"churn", "fraud", "removed"}


def test_per_feature_scores_when_asked_for_worst_first_and_capped(make_client: AppFactory, settings: Settings,
                                                                 web_store: Store) -> None:
    on = dataclasses.replace(settings, metrics=MetricsSettings(per_feature=True))
    scores = samples(scrape(make_client, settings=on)["driftwatch_drift_score"])
    latest = web_store.runs("churn", limit=1)[0].id
    figures = {(("feature", r.feature), ("metric", r.metric), ("monitor", r.monitor), ("segment", "")): r.value
               for r in web_store.results(run_id=latest) if r.feature and r.detector == "drift"}
    latest_fraud = web_store.runs("fraud", limit=1)[0].id
    figures.update({(("feature", r.feature), ("metric", r.metric), ("monitor", r.monitor), ("segment", "")): r.value
                    for r in web_store.results(run_id=latest_fraud) if r.feature and r.detector == "drift"})
    assert scores == pytest.approx(figures)
    capped = dataclasses.replace(settings, metrics=MetricsSettings(per_feature=True, feature_series_limit=2))
    top = samples(scrape(make_client, settings=capped)["driftwatch_drift_score"])
    assert len(top) == 2
    worst = sorted(((r.status != "alert", -(r.value or 0)), r.feature) for r in web_store.results(run_id=latest)
                   if r.feature and r.detector == "drift")
    assert {dict(k)["feature"] for k in top} == {f for _, f in worst[:2]}
    assert {dict(k)["monitor"] for k in top} == {"churn"}  # fraud never drifted


def test_per_feature_scores_carry_the_segment_and_at_most_50_segments_a_monitor(make_client: AppFactory,
                                                                                 settings: Settings,
                                                                                 web_store: Store) -> None:
    # Stored in reverse order of their names, and the later ones look worse: the 50 kept are the
    # first stored, not the first by name nor the worst.
    names = [f"s={i:02d}" for i in reversed(range(MAX_SEGMENTS + 3))]
    run_id = finish_segmented_run(web_store, "churn", window(WINDOWS), names)
    on = dataclasses.replace(settings, metrics=MetricsSettings(per_feature=True, feature_series_limit=10_000))
    families = scrape(make_client, settings=on)
    churn = {dict(k)["segment"]: v for k, v in samples(families["driftwatch_drift_score"]).items()
             if dict(k)["monitor"] == "churn"}
    stored = {r.segment: r.value for r in web_store.results(run_id=run_id, feature="x")}
    assert churn == pytest.approx({segment: stored[segment] for segment in ["", *names[:MAX_SEGMENTS]]})
    assert samples(families["driftwatch_segments_dropped"]) == {(("monitor", "churn"),): 3.0,
                                                                 (("monitor", "fraud"),): 0.0}
    assert "at most 50" in families["driftwatch_segments_dropped"].documentation
    for family in families.values():
        for sample in family.samples:
            assert set(sample.labels) <= BOUNDED_LABELS, sample


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_store_figures_are_cached_for_five_seconds_and_results_count_up(web_project: Any, web_store: Store) -> None:
    ticks = Ticks()
    registry = CollectorRegistry()
    registry.register(StoreCollector(web_store, web_project.settings, monotonic=ticks))

    def runs_of_churn() -> float:
        families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
        return sum(s.value for s in families["driftwatch_runs"].samples if s.labels["monitor"] == "churn")

    assert runs_of_churn() == WINDOWS
    monitor = web_project.settings.monitor("churn")
    settings = web_project.settings
    run_monitor(monitor, window(WINDOWS), store=web_store, options=settings.profile, owner="test",
                alerts=AlertContext(settings.alerts, settings.webhooks), now=window(WINDOWS).end + timedelta(minutes=1))
    ticks.now += 4.9
    assert runs_of_churn() == WINDOWS  # still the cached scrape
    ticks.now += 0.2
    assert runs_of_churn() == WINDOWS + 1
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    counted = sum(s.value for s in families["driftwatch_results"].samples if s.labels["monitor"] == "churn")
    assert counted == len(web_store.results(monitor="churn"))


def test_each_app_has_its_own_registry(make_client: AppFactory, settings: Settings) -> None:
    one, two = make_client(settings=settings), make_client(settings=settings)  # no "Duplicated timeseries"
    assert one.get("/metrics").text.count("driftwatch_runs_total") == two.get("/metrics").text.count(
        "driftwatch_runs_total")
    registry = CollectorRegistry()
    make_client(settings=settings, registry=registry)
    assert "driftwatch_runs_total" in generate_latest(registry).decode()


def test_an_unreachable_store_still_scrapes_with_store_up_0(make_client: AppFactory, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from driftwatch.web import create_app

    with Store(f"sqlite:///{tmp_path / 'gone' / 'dw.db'}") as store, TestClient(create_app(store)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert families["driftwatch_store_up"].samples[0].value == 0
    assert "driftwatch_runs" not in families and "driftwatch_build_info" in families


def test_values_match_the_store_on_postgresql(postgres_database: str, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from driftwatch.web import create_app

    from .conftest import build_project

    project = build_project(tmp_path, store_url=postgres_database)
    with Store(postgres_database) as store, TestClient(create_app(store, settings=project.settings)) as client:
        families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
        runs = [r for m in ("churn", "fraud") for r in store.runs(m)]
    assert samples(families["driftwatch_runs"], "_total") == {
        (("monitor", m), ("status", "succeeded")): float(WINDOWS) for m in ("churn", "fraud")}
    histogram = families["driftwatch_run_duration_seconds"]
    for monitor in ("churn", "fraud"):
        took = sum((r.finished_at - r.started_at).total_seconds() for r in runs
                   if r.monitor == monitor and r.finished_at is not None)
        assert samples(histogram, "_sum")[(("monitor", monitor),)] == pytest.approx(took, abs=1e-6)
    assert families["driftwatch_store_up"].samples[0].value == 1


def test_run_durations_are_exact_across_second_boundaries(tmp_path: Any) -> None:
    """SQLite's strftime('%s') rounds fractions of a second; the duration must not."""
    from datetime import datetime, timezone

    from driftwatch.store.queries import run_stats

    base = datetime(2026, 11, 1, 9, 0, 45, tzinfo=timezone.utc)
    times = iter([base.replace(microsecond=999_600), base.replace(second=46, microsecond=100),
                  base.replace(second=50, microsecond=999_994), base.replace(second=51, microsecond=994)])
    with Store(f"sqlite:///{tmp_path / 'dw.db'}", clock=lambda: next(times)) as store:
        store.create_all()
        for i in range(2):
            run = store.start_run("m", window(i), owner="t")
            assert run is not None
            store.finish_run(run, [], rows_reference=1, rows_current=1)
        (stats,) = run_stats(store.engine)
    assert stats.duration_sum == pytest.approx(0.0005 + 0.001, abs=1e-9)
    assert stats.buckets[0] == 2

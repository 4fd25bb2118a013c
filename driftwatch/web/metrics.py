"""``/metrics``: what Prometheus scrapes, read from the store at scrape time (R30, R31).

The figures come from the database, not from counters in this process, so they are right in
``driftwatch serve`` (which runs nothing) and agree across replicas: any replica's scrape shows
every run. Reading the store costs a few grouped queries (see ``store.queries``), so one scrape's
figures are kept for ``ttl`` seconds (5 by default) and shared by the scrapes in that span.

The counters (``_total``) are counts of stored rows; ``driftwatch_runs_total`` counts finished
runs only, since a run in progress (``driftwatch_runs_running``) later finishes and a counter
must not fall. Results are counted incrementally by id, so
that counter only grows; runs are recounted, so retention deleting old runs shows up as a counter
reset, which ``rate()`` already handles. ``driftwatch_notifications_total`` is this process's
dispatcher's own tally (``outcomes``), since delivery attempts are not all stored.

Labels are bounded (R31): monitor, status, severity, channel, state and outcome names only, never
a run id, window or URL. ``driftwatch_drift_score{monitor,segment,feature,metric}`` exists only
with ``metrics.per_feature`` and holds at most ``metrics.feature_series_limit`` series, the worst
first. Its ``segment`` is ``""`` for the whole window and otherwise one of at most
``MAX_SEGMENTS`` (50) segments per monitor, the first its latest succeeded run stored; a monitor
with more (``segments`` with many columns or a high ``top``) loses the rest, and
``driftwatch_segments_dropped{monitor}`` says how many. Given settings, only their monitors
appear, so a monitor removed by a reload vanishes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from .. import __version__
from ..store import outbox as store_outbox
from ..store import queries

if TYPE_CHECKING:
    from ..config import Settings
    from ..store import RunRecord, Store

__all__ = ["DEFAULT_TTL", "MAX_SEGMENTS", "StoreCollector", "kept_segments"]

log = logging.getLogger(__name__)

#: Seconds one scrape's store figures are reused for.
DEFAULT_TTL = 5.0
#: Worst first: which statuses say most about drift.
_SEVERITY = {"error": 4, "alert": 3, "warn": 2, "insufficient_data": 1, "ok": 0}
#: Most segments (besides the whole window, ``""``) a monitor's series may be labelled with.
MAX_SEGMENTS = 50


def kept_segments(pairs: Iterable[tuple[str, str]], most: int = MAX_SEGMENTS
                  ) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Per monitor, the first ``most`` distinct non-empty segments of ``(monitor, segment)``
    pairs in the order given (stored order), and how many more there were.

    A segment label multiplies a monitor's series by its segments (a column's ``top`` may be
    100, and a monitor may segment by several columns), so it is capped; which ones stay follows
    the store, not the figures, so the same segments stay from scrape to scrape.

    >>> kept, dropped = kept_segments([("m", ""), ("m", "c=a"), ("m", "c=b"), ("m", "c=a"), ("m", "c=z")], 2)
    >>> sorted(kept["m"]), dropped
    (['c=a', 'c=b'], {'m': 1})
    """
    kept: dict[str, set[str]] = defaultdict(set)
    extra: dict[str, set[str]] = defaultdict(set)
    for monitor, segment in pairs:
        if not segment or segment in kept[monitor]:
            continue
        if len(kept[monitor]) < most:
            kept[monitor].add(segment)
        else:
            extra[monitor].add(segment)
    return dict(kept), {monitor: len(names) for monitor, names in extra.items()}


def _bucket_label(bound: float) -> str:
    return repr(float(bound))


class StoreCollector(Collector):
    """A prometheus-client collector over ``store`` (register it in a fresh ``CollectorRegistry``)."""

    def __init__(self, store: Store, settings: Settings | None = None, *,
                 outcomes: Callable[[], Mapping[tuple[str, str], int]] | None = None, ttl: float = DEFAULT_TTL,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._settings = settings
        self._outcomes = outcomes
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: list[Metric] = []
        self._cached_at: float | None = None
        self._results: Counter[tuple[str, str]] = Counter()
        self._results_top = 0

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: registering must not query the database."""
        return []

    def collect(self) -> Iterable[Metric]:
        info = GaugeMetricFamily("driftwatch_build_info", "driftwatch version; always 1", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield from self._store_families()
        notified = CounterMetricFamily("driftwatch_notifications", "Delivery attempts by this process's "
                                       "dispatcher, by channel and outcome (delivered, retry, dead, released)",
                                       labels=["channel", "outcome"])
        for (channel, outcome), count in sorted((self._outcomes() if self._outcomes else {}).items()):
            notified.add_metric([channel, outcome], count)
        yield notified

    def _store_families(self) -> list[Metric]:
        with self._lock:
            now = self._monotonic()
            if self._cached_at is None or now - self._cached_at >= self._ttl:
                self._cached = self._read()
                self._cached_at = now
            return self._cached

    def _wanted(self) -> Callable[[str], bool]:
        if self._settings is None:
            return lambda monitor: True
        names = {m.name for m in self._settings.monitors}
        return names.__contains__

    def _read(self) -> list[Metric]:
        up = GaugeMetricFamily("driftwatch_store_up", "1 if the store answered this scrape's queries, else 0")
        try:
            families = self._families()
        except SQLAlchemyError as exc:
            log.warning("metrics: the store did not answer: %s", type(exc).__name__)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _families(self) -> list[Metric]:
        engine = self._store.engine
        wanted = self._wanted()
        runs = CounterMetricFamily("driftwatch_runs", "Finished runs by monitor and status (succeeded, failed, "
                                   "skipped)", labels=["monitor", "status"])
        running = GaugeMetricFamily("driftwatch_runs_running", "Runs in progress by monitor", labels=["monitor"])
        rows = CounterMetricFamily("driftwatch_rows_read", "Rows of current data read by the stored runs",
                                   labels=["monitor"])
        durations = HistogramMetricFamily("driftwatch_run_duration_seconds",
                                          "Seconds from start to finish of succeeded and failed runs",
                                          labels=["monitor"])
        success = GaugeMetricFamily("driftwatch_last_run_success_timestamp_seconds",
                                    "Unix time the latest succeeded run finished", labels=["monitor"])
        rows_read: Counter[str] = Counter()
        histogram: dict[str, tuple[list[int], int, float]] = {}
        for stat in queries.run_stats(engine):
            if not wanted(stat.monitor):
                continue
            # A running run turns into a finished one: counted as running it would make a counter fall.
            (running.add_metric([stat.monitor], stat.count) if stat.status == "running"
             else runs.add_metric([stat.monitor, stat.status], stat.count))
            rows_read[stat.monitor] += stat.rows_current
            buckets, finished, total = histogram.get(stat.monitor, ([0] * len(queries.DURATION_BUCKETS), 0, 0.0))
            histogram[stat.monitor] = ([a + b for a, b in zip(buckets, stat.buckets)], finished + stat.finished,
                                       total + stat.duration_sum)
            if stat.status == "succeeded" and stat.last_finished_at is not None:
                success.add_metric([stat.monitor], stat.last_finished_at.timestamp())
        for monitor, count in sorted(rows_read.items()):
            rows.add_metric([monitor], count)
        for monitor, (buckets, finished, total) in sorted(histogram.items()):
            pairs = [(_bucket_label(b), float(c)) for b, c in zip(queries.DURATION_BUCKETS, buckets)]
            durations.add_metric([monitor], [*pairs, ("+Inf", float(finished))], sum_value=total)

        firing = GaugeMetricFamily("driftwatch_alerts_firing", "Alerts now firing by monitor and severity",
                                   labels=["monitor", "severity"])
        for (monitor, severity), count in sorted(queries.alert_counts(engine).items()):
            if wanted(monitor):
                firing.add_metric([monitor, severity], count)

        depth = GaugeMetricFamily("driftwatch_outbox_messages", "Outbox rows by channel (or webhook subscription) "
                                  "and state: pending, delivered, dead", labels=["channel", "state"])
        for (channel, state), count in sorted(store_outbox.counts(engine).items()):
            depth.add_metric([channel, state], count)

        results = CounterMetricFamily("driftwatch_results", "Stored results by monitor and status",
                                      labels=["monitor", "status"])
        new, self._results_top = queries.results_count_since(engine, self._results_top)
        self._results.update(new)
        for (monitor, status), count in sorted(self._results.items()):
            if wanted(monitor):
                results.add_metric([monitor, status], count)

        monitors = [m.name for m in self._settings.monitors] if self._settings is not None else None
        latest = {name: run for name, run in queries.last_runs(engine, monitors, status="succeeded").items()
                  if wanted(name)}
        share = GaugeMetricFamily("driftwatch_drift_share", "Share of the features that drifted in the latest "
                                  "succeeded run, whole window", labels=["monitor"])
        for monitor, value in sorted(queries.drift_shares(engine, [run.id for run in latest.values()]).items()):
            share.add_metric([monitor], value)

        period = GaugeMetricFamily("driftwatch_schedule_period_seconds", "Seconds between a configured monitor's "
                                   "windows (a crontab's first gap), for staleness rules", labels=["monitor"])
        for configured in self._settings.monitors if self._settings is not None else ():
            period.add_metric([configured.name], configured.schedule.period.total_seconds())

        families: list[Metric] = [runs, running, durations, success, rows, results, firing, depth, share, period]
        if self._settings is not None and self._settings.metrics.per_feature:
            families.extend(self._drift_scores(wanted, latest, self._settings.metrics.feature_series_limit))
        return families

    def _drift_scores(self, wanted: Callable[[str], bool], latest: Mapping[str, RunRecord],
                      limit: int) -> list[Metric]:
        """The latest succeeded run's per-feature drift figures, worst first, at most ``limit``,
        of the whole window and of at most ``MAX_SEGMENTS`` segments per monitor; and how many
        segments each monitor lost to that bound."""
        engine = self._store.engine
        scores = GaugeMetricFamily("driftwatch_drift_score", "Per-feature drift figure of the latest succeeded "
                                   'run (metrics.per_feature; worst first, capped); segment "" is the whole window, '
                                   f"else one of at most {MAX_SEGMENTS} segments per monitor",
                                   labels=["monitor", "segment", "feature", "metric"])
        dropped = GaugeMetricFamily("driftwatch_segments_dropped", "Segments of a monitor's latest succeeded run "
                                    "left out of driftwatch_drift_score, which labels at most "
                                    f"{MAX_SEGMENTS} segments per monitor (the first the run stored) so its "
                                    "series stay bounded; 0 when none were", labels=["monitor"])
        stored = queries.latest_figures(engine, [run.id for run in latest.values()], segment=None)
        kept, lost = kept_segments((r.monitor, r.segment) for r in stored)
        figures = [r for r in stored if r.value is not None and wanted(r.monitor)
                   and (not r.segment or r.segment in kept.get(r.monitor, ()))]
        figures.sort(key=lambda r: (-_SEVERITY.get(r.status, 0), -(r.value or 0.0), r.monitor, r.segment, r.feature,
                                    r.metric))
        seen: set[tuple[str, str, str, str]] = set()
        for row in figures:
            labels = (row.monitor, row.segment, row.feature, row.metric)
            if labels in seen:
                continue
            if len(seen) >= limit:
                break
            seen.add(labels)
            scores.add_metric(list(labels), float(row.value or 0.0))
        for monitor in sorted(latest):
            dropped.add_metric([monitor], lost.get(monitor, 0))
        return [scores, dropped]

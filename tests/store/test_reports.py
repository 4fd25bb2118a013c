"""The page queries of ``store.reports`` over a monitor with ``segments``: the monitor's own
figures (overview sparkline, monitor page series) are its whole window's, and a run page reads
one segment's results at a time beside a line per segment."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from driftwatch import segments
from driftwatch.store import Store, queries, reports

from .conftest import SEGMENTS, store_segmented_runs


def test_segment_rows_never_pass_for_the_monitors_own_figures(store: Store) -> None:
    runs = store_segmented_runs(store, reports.SPARK_WINDOWS + 1)
    with store.engine.connect() as conn:
        sparks = reports.drift_share_sparks(conn)["m"]
        series = reports.dataset_series(conn, "m")
    # A segment's share (0.9, alerting, stored after the window's own) would replace the window's
    # point, and counting segment rows would start the sparkline windows too late.
    assert [p.value for p in sparks] == pytest.approx([0.01 * i for i in range(1, reports.SPARK_WINDOWS + 1)])
    assert {p.status for p in sparks} == {"ok"}
    assert list(series) == [("drift", "drift_share")]  # no segment's ("segments", "rows") chart
    points = series[("drift", "drift_share")]
    assert [p.run_id for p in points] == runs
    assert [p.value for p in points] == pytest.approx([0.01 * i for i in range(len(runs))])


def test_a_run_page_reads_one_segment_and_lists_every_segment(store: Store) -> None:
    (run_id,) = store_segmented_runs(store, 1)
    with store.engine.connect() as conn:
        listed = reports.run_segments(conn, run_id)
        whole = queries.run_results(conn, run_id, segment="")
        brazil = queries.run_results(conn, run_id, segment="country=BR")
        every = queries.run_results(conn, run_id)
    # The whole window first, then the segments in stored order ("country=(other)" sorts first by name).
    assert [(s.segment, s.rows, s.results, s.alerts) for s in listed] == [
        ("", None, 2, 0), ("country=US", 100.0, 3, 2), ("country=BR", 200.0, 3, 2), ("country=(other)", 300.0, 3, 2)]
    assert [(r.segment, r.feature, r.metric, r.value) for r in whole] == [("", "", "drift_share", 0.0),
                                                                          ("", "age", "ks", 0.1)]
    assert [(r.segment, r.detector, r.feature, r.metric, r.value) for r in brazil] == [
        ("country=BR", "segments", "", "rows", 200.0), ("country=BR", "drift", "", "drift_share", 0.9),
        ("country=BR", "drift", "age", "ks", 0.8)]
    assert [r.segment for r in every] == ["", ""] + [s for s in SEGMENTS for _ in range(3)]


def test_a_run_without_results_has_no_segments(store: Store) -> None:
    (run_id,) = store_segmented_runs(store, 1, monitor="other")
    with store.engine.connect() as conn:
        assert reports.run_segments(conn, run_id + 1000) == []
        assert queries.run_results(conn, run_id, segment="country=XX") == []


def test_the_row_count_is_the_segments_modules(store: Store) -> None:
    assert reports.SEGMENT_ROWS[0] == segments.DETECTOR


def test_the_run_page_and_sparkline_statements_read_results_by_an_index() -> None:
    with Store("sqlite://") as store:
        store.create_all()
        with store.engine.connect() as conn:
            for label, statement in reports.statements("m", 1, datetime(2026, 11, 1, tzinfo=timezone.utc)):
                if not label.startswith(("run:", "overview: drift-share")):
                    continue
                sql = str(statement.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}))
                plan = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
                assert not re.search(r"SCAN (results|r|s)\b(?! USING)", plan), (label, plan)

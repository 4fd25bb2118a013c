"""The API and ``/metrics`` queries of ``store.queries`` over a monitor with ``segments``: the
segment filter of the results pages, and the latest figures of the whole window by default."""

from __future__ import annotations

from driftwatch.store import Store, queries

from .conftest import SEGMENTS, store_segmented_runs


def test_results_page_filters_by_segment_and_carries_it(store: Store) -> None:
    runs = store_segmented_runs(store, 2)

    def page(**filters: object) -> list[tuple[int, str, str]]:
        return [(r.run_id, r.segment, r.metric) for r in queries.results_page(store.engine, monitor="m", limit=100,
                                                                              **filters)]  # type: ignore[arg-type]

    assert len(page()) == 2 * (2 + 3 * len(SEGMENTS))  # no filter: every segment's rows too
    assert page(segment="") == [(run, "", metric) for run in runs for metric in ("drift_share", "ks")]
    assert page(metric="drift_share", segment="country=BR") == [(run, "country=BR", "drift_share") for run in runs]
    assert page(feature="", metric="drift_share", segment="") == [(run, "", "drift_share") for run in runs]
    assert page(segment="country=XX") == []


def test_latest_figures_are_the_whole_windows_unless_asked_for_segments(store: Store) -> None:
    runs = store_segmented_runs(store, 2)
    whole = queries.latest_figures(store.engine, [runs[-1]])
    assert [(r.segment, r.feature, r.value) for r in whole] == [("", "age", 0.1)]
    every = queries.latest_figures(store.engine, [runs[-1]], segment=None)
    assert [r.segment for r in every] == ["", *SEGMENTS]  # stored order
    assert [r.value for r in queries.latest_figures(store.engine, [runs[-1]], segment="country=BR")] == [0.8]

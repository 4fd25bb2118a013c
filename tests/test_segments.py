"""Segments (``driftwatch.segments``): every detector also runs per top value of a column.

Which segments a reference has (top-K by rows, ``min_rows``, the rest as ``(other)``), that a
window is split as boolean masks would split it, that the segments of a column are tested
together (alpha / S) so unchanged data stays quiet, and, end to end against a real store, that
a drop in one country is stored with its segment, alerts naming it, and is ranked first among
the whole window's causes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from driftwatch.alerts.evaluate import AlertContext
from driftwatch.alerts.message import Message
from driftwatch.config import load
from driftwatch.detectors import CurrentData, DriftDetector, PerformanceDetector, QualityDetector
from driftwatch.engine import run_monitor
from driftwatch.errors import ConfigError
from driftwatch.model import Finding, Window
from driftwatch.profiling import ProfileOptions, profile
from driftwatch.pushdown.run import rows_needed
from driftwatch.segment_causes import segment_causes, with_segment_causes
from driftwatch.segments import OTHER, SegmentProfiles, Segments, build, choose, detect_segments, split
from driftwatch.store import Store

OPTIONS = ProfileOptions()
SCHEMA = {"numeric": ["x"], "categorical": ["device"], "target": "y", "prediction": "pred"}
COUNTRIES = (["US", "BR", "DE", "FR", "NL"], [0.4, 0.3, 0.15, 0.1, 0.05])


def frame(rng: np.random.Generator, n: int, *, broken: str | None = None) -> pd.DataFrame:
    """A model that is right ~85 % of the time; in country ``broken`` it guesses."""
    country = rng.choice(COUNTRIES[0], n, p=COUNTRIES[1]).astype(object)
    x = rng.normal(size=n)
    y = (x + 0.5 * rng.normal(size=n) > 0).astype(int)
    pred = (x > 0).astype(int)
    if broken is not None:
        hit = country == broken
        pred[hit] = rng.integers(0, 2, int(hit.sum()))
    device = rng.choice(["ios", "android", "web"], n).astype(object)
    return pd.DataFrame({"x": x, "device": device, "country": country, "y": y, "pred": pred})


# -- which segments -----------------------------------------------------------------------------


def test_segments_are_the_top_values_with_min_rows_and_the_rest_as_other() -> None:
    # a: 500, b: 300, c: 150, d: 40, missing: 10 — top 3 with >= 100 rows: a, b, c; the rest 50
    values = ["a"] * 500 + ["b"] * 300 + ["c"] * 150 + ["d"] * 40 + [None] * 10
    reference = pd.DataFrame({"k": values})
    segments, notes = choose(reference, Segments(("k",), top=3, min_rows=100))
    assert [s.label for s in segments] == ["k=a", "k=b", "k=c"] and notes == {}  # other: 50 < 100
    segments, _ = choose(reference, Segments(("k",), top=2, min_rows=100))
    assert [s.label for s in segments] == ["k=a", "k=b", f"k={OTHER}"]  # other: c + d + missing = 200
    assert segments[-1].named == ("a", "b")
    long = pd.DataFrame({"k": ["x" * 300] * 500 + ["a"] * 200 + ["b"] * 150})  # a label no store keeps
    assert [s.label for s in choose(long, Segments(("k",), min_rows=100))[0]] == ["k=a", "k=b", f"k={OTHER}"]


def test_a_column_with_a_million_values_is_not_segmented_and_says_why() -> None:
    reference = pd.DataFrame({"user": np.arange(1_000_000), "x": np.zeros(1_000_000)})
    segments, notes = choose(reference, Segments(("user",)))
    assert segments == []
    assert "1,000,000 distinct values" in notes["user"] and "not segmented" in notes["user"]
    found = detect_segments(SegmentProfiles((), {}, notes), Segments(("user",)), reference.head(10), [], {})
    assert [(s, d, f.feature, f.status) for s, d, f in found] == [("", "segments", "user", "insufficient_data")]


def test_split_equals_boolean_masks_on_normalised_values() -> None:
    rng = np.random.default_rng(1)
    keys = rng.choice(np.array(["1", "2", "3", "4"], dtype=object), 2000)
    codes = pd.Series(keys).map({"1": 1.0, "2": 2.0, "3": 3.0, "4": np.nan})  # floats: 1.0 is the value "1"
    window = pd.DataFrame({"k": codes, "i": np.arange(2000)})
    segments, _ = choose(window, Segments(("k",), top=2, min_rows=1))
    parts = split(window, "k", segments)
    top = [s.value for s in segments if s.value != OTHER]
    for segment in segments:
        text = window["k"].map(lambda v: None if pd.isna(v) else str(int(v)))
        mask = text.isin(top) == False if segment.value == OTHER else text == segment.value  # noqa: E712
        assert parts[segment.label]["i"].tolist() == window.loc[mask, "i"].tolist()
    assert sum(len(p) for p in parts.values()) == len(window)


def test_segment_profiles_round_trip_through_bytes() -> None:
    rng = np.random.default_rng(2)
    reference = frame(rng, 3000)
    whole = profile(reference, SCHEMA, OPTIONS)
    built = build(reference, whole, Segments(("country",), top=3, min_rows=100), OPTIONS)
    again = SegmentProfiles.from_bytes(built.to_bytes())
    assert again.segments == built.segments
    for label, p in built.profiles.items():
        assert again.profiles[label].n_rows == p.n_rows == int((reference["country"] == label.split("=")[1]).sum()) \
            or label.endswith(OTHER)
        assert np.array_equal(again.profiles[label].columns["x"].sorted_values, p.columns["x"].sorted_values)
        assert np.array_equal(again.profiles[label].outcomes.y_true, p.outcomes.y_true)  # type: ignore[union-attr]


def test_the_segments_key_checks_its_values() -> None:
    with pytest.raises(ValueError, match="columns: must be a list"):
        Segments.from_value({"columns": "country"})
    with pytest.raises(ValueError, match="top: must be an integer from 1 to 100, got 101"):
        Segments.from_value({"columns": ["country"], "top": 101})
    with pytest.raises(ValueError, match="min_row: unknown key"):
        Segments.from_value({"columns": ["country"], "min_row": 5})
    with pytest.raises(ValueError, match="listed twice"):
        Segments.from_value(["country", "country"])


# -- tested together ------------------------------------------------------------------------------


def test_segments_of_a_column_are_tested_together_and_unchanged_data_stays_quiet() -> None:
    """Ten A/A windows of 2,000 rows, five segments each: no drift or quality alert, and each
    segment decides at alpha / 5 (performance: its interval widened to 1 - 0.01 / 5)."""
    rng = np.random.default_rng(3)
    reference = frame(rng, 20_000)
    whole = profile(reference, SCHEMA, OPTIONS)
    spec = Segments(("country",), top=5, min_rows=50)
    segmented = build(reference, whole, spec, OPTIONS)
    alerts = []
    for _ in range(10):
        found = detect_segments(segmented, spec, frame(rng, 2000), [DriftDetector(), QualityDetector()], {})
        alerts += [(s, f.feature, f.metric) for s, _, f in found if f.status == "alert"]
        drift = [f for s, d, f in found if d == "drift" and f.feature == "x"]
        assert len(drift) == 5 and {f.details["alpha"] for f in drift} == {0.01 / 5}
        assert {f.details["segments_tested"] for f in drift} == {5}
    assert alerts == []
    found = detect_segments(segmented, spec, frame(rng, 2000), [PerformanceDetector(metrics=["accuracy"])], {})
    accuracy = [f for s, d, f in found if f.metric == "accuracy"]
    assert len(accuracy) == 5 and all(f.details["confidence"] == pytest.approx(1 - 0.01 / 5) for f in accuracy)


def test_a_small_segment_of_the_window_is_insufficient_data_without_detector_results() -> None:
    rng = np.random.default_rng(4)
    reference = frame(rng, 20_000)
    whole = profile(reference, SCHEMA, OPTIONS)
    spec = Segments(("country",), top=5, min_rows=200)
    segmented = build(reference, whole, spec, OPTIONS)
    found = detect_segments(segmented, spec, frame(rng, 1000), [DriftDetector()], {})
    rows = {s: f for s, d, f in found if f.metric == "rows"}
    nl = rows["country=NL"]  # about 50 of 1,000 rows
    assert nl.status == "insufficient_data" and nl.value is not None and nl.value < 200
    assert not [f for s, d, f in found if s == "country=NL" and d == "drift"]
    us = rows["country=US"]
    assert us.status == "ok" and [f for s, d, f in found if s == "country=US" and d == "drift"]


def test_a_segment_column_missing_from_the_window_is_an_error_naming_it() -> None:
    rng = np.random.default_rng(5)
    reference = frame(rng, 5000)
    whole = profile(reference, SCHEMA, OPTIONS)
    spec = Segments(("country",), min_rows=100)
    found = detect_segments(build(reference, whole, spec, OPTIONS), spec,
                            frame(rng, 500).drop(columns="country"), [DriftDetector()], {})
    assert [(f.feature, f.status) for _, _, f in found] == [("country", "error")]
    assert "segment column 'country' is missing" in found[0][2].details["error"]


# -- which segments a drop came from -----------------------------------------------------------------


def test_segment_causes_by_hand() -> None:
    def perf(value: float, reference: float, n: int) -> Finding:
        return Finding("", "mae", value, "ok", details={"reference": reference, "n": n, "higher_is_better": False})

    found = [("", "performance", Finding("", "mae", 3.0, "alert", details={"reference": 2.0, "n": 100,
                                                                          "higher_is_better": False})),
             ("k=a", "performance", perf(5.0, 2.0, 25)),   # 0.25 × 3 = 0.75
             ("k=b", "performance", perf(2.5, 2.0, 50)),   # 0.50 × 0.5 = 0.25
             ("k=c", "performance", perf(1.0, 2.0, 25)),   # better: not a cause
             ("k=a", "drift", perf(9.0, 2.0, 25))]         # another detector: ignored
    causes = segment_causes("mae", found)
    assert [(c["segment"], c["contribution"], c["share_of_drop"]) for c in causes] == [
        ("k=a", 0.75, 0.75), ("k=b", 0.25, 0.25)]
    assert with_segment_causes(found)[0][2].details["segments"] == causes
    assert "segments" not in with_segment_causes(found)[1][2].details  # a segment's own finding


# -- end to end ----------------------------------------------------------------------------------------

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def test_a_drop_in_one_country_is_stored_alerted_and_ranked_by_segment(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    frame(rng, 20_000).to_csv(tmp_path / "ref.csv", index=False)
    frame(rng, 4000, broken="BR").to_csv(tmp_path / "cur.csv", index=False)
    (tmp_path / "config.toml").write_text(f"""
[store]
url = "sqlite:///{tmp_path / 'dw.db'}"
[alerts]
channels = ["log"]
[channels.log]
type = "log"
[[monitors]]
name = "m"
window = "1d"
segments = {{columns = ["country", "device"], top = 4, min_rows = 100}}
[monitors.schema]
numeric = ["x"]
target = "y"
prediction = "pred"
[monitors.current]
type = "file"
path = "cur.csv"
[monitors.reference]
type = "file"
path = "ref.csv"
[[monitors.detectors]]
type = "performance"
metrics = ["accuracy"]
""", encoding="utf-8")
    settings = load(tmp_path / "config.toml")
    store = Store(settings.store.url.reveal())
    store.create_all()
    try:
        window = Window(T0, T0 + timedelta(days=1))
        outcome = run_monitor(settings.monitor("m"), window, store=store, options=settings.profile, now=window.end,
                              alerts=AlertContext(settings.alerts, settings.webhooks))
        assert outcome.status == "succeeded"
        accuracy = {r.segment: r for r in outcome.results if r.metric == "accuracy"}
        assert set(accuracy) == {"", "country=US", "country=BR", "country=DE", "country=FR", f"country={OTHER}",
                                 "device=ios", "device=android", "device=web"}
        assert accuracy["country=BR"].status == "alert"
        # of the countries only Brazil; every device holds Brazilians, so each device's accuracy fell too
        assert {s for s, r in accuracy.items() if r.status == "alert" and s.startswith("country")} == {"country=BR"}
        assert accuracy[""].details["segments"][0]["segment"] == "country=BR"
        assert accuracy[""].details["segments"][0]["share_of_drop"] > 0.8
        with store.engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT segment, status FROM results WHERE metric = 'accuracy'")).all()
            states = conn.execute(sa.text("SELECT segment FROM alert_states WHERE state = 'firing'")).scalars().all()
            payloads = conn.execute(sa.text("SELECT payload FROM outbox")).scalars().all()
            cached = conn.execute(sa.text("SELECT count(*) FROM reference_profiles")).scalar_one()
        assert ("country=BR", "alert") in stored and len(stored) == len(accuracy)
        assert {s for s in states if not s.startswith("device")} == {"", "country=BR"}
        assert cached == 2  # the reference's profile and its segments', each once
        assert len(payloads) == 1
        text = Message.from_json(json.loads(payloads[0])).text()
        assert "performance accuracy in country=BR" in text
        assert "fell most in: country=BR" in text
    finally:
        store.dispose()


def test_a_monitor_with_segments_reads_rows_and_a_bad_key_names_its_path(tmp_path: Path) -> None:
    base = """
[[monitors]]
name = "m"
window = "1d"
segments = SEGMENTS
[monitors.current]
type = "file"
path = "cur.csv"
[monitors.reference]
type = "file"
path = "ref.csv"
"""
    (tmp_path / "config.toml").write_text(base.replace("SEGMENTS", '["country"]'), encoding="utf-8")
    assert rows_needed(load(tmp_path / "config.toml").monitor("m")) == "segments split the window's rows"
    (tmp_path / "config.toml").write_text(base.replace("SEGMENTS", '{columns = ["country"], top = 0}'),
                                          encoding="utf-8")
    with pytest.raises(ConfigError, match=r"monitors\[0\]\.segments\.top"):
        load(tmp_path / "config.toml")


def test_current_data_says_how_many_segments_are_tested_together() -> None:
    rng = np.random.default_rng(7)
    reference = profile(frame(rng, 500), SCHEMA, OPTIONS)
    assert CurrentData(frame(rng, 10), reference).segments_tested == 1
    assert CurrentData(frame(rng, 10), reference, context={"segments_tested": 6}).segments_tested == 6

"""The SVG builders: coordinates follow from the values, gaps and degenerate inputs draw
something sensible, and every label is escaped."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from driftwatch.web.charts import Point, domain, path, scale, sparkline, timeseries
from driftwatch.web.charts_dist import category_bars, distribution, histogram, top_categories

UTC = timezone.utc
T0 = datetime(2026, 3, 1, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"
XSS = "<script>alert(1)</script>"


def parse(svg: str) -> ET.Element:
    """The chart as XML: it must be well-formed (escaping done right) to parse at all."""
    return ET.fromstring(svg)


def find(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(SVG + tag) if cls in (e.get("class") or "").split()]


def coords(d: str) -> list[tuple[str, float, float]]:
    return [(cmd, float(x), float(y)) for cmd, x, y in re.findall(r"([ML])(-?[\d.]+) (-?[\d.]+)", d)]


def days(values: list[float | None], statuses: list[str] | None = None,
         thresholds: list[float | None] | None = None) -> list[Point]:
    statuses = statuses or ["ok"] * len(values)
    thresholds = thresholds or [None] * len(values)
    return [Point(T0 + timedelta(days=i), v, t, s) for i, (v, t, s) in enumerate(zip(values, thresholds, statuses))]


# -- helpers --------------------------------------------------------------------------------


def test_scale_and_domain() -> None:
    assert scale(0, 0, 10, 100, 0) == 100 and scale(10, 0, 10, 100, 0) == 0
    assert scale(7, 7, 7, 0, 20) == 10
    assert domain([1.0, 3.0]) == (1.0, 3.0)
    assert domain([0.0]) == (-1.0, 1.0)
    assert domain([], lo=0, hi=1) == (0, 1)
    assert domain([]) == (0.0, 1.0)
    assert domain([5.0], lo=0) == (0, 5.0)


def test_path_breaks_at_gaps() -> None:
    assert path([(0, 0), None, (1, 1), (2, 2)]) == "M0 0M1 1L2 2"
    assert path([]) == "" and path([None]) == ""


# -- sparkline ------------------------------------------------------------------------------


def test_sparkline_coordinates_from_values() -> None:
    root = parse(sparkline([0.0, 0.5, 1.0], lo=0, hi=1, width=104, height=24))
    (line,) = find(root, "path", "series")
    assert coords(line.get("d", "")) == [("M", 2, 22), ("L", 52, 12), ("L", 102, 2)]
    (last,) = find(root, "circle", "last")
    assert (float(last.get("cx", "")), float(last.get("cy", ""))) == (102, 2)


def test_sparkline_gaps_nan_and_alerts() -> None:
    root = parse(sparkline([0.2, math.nan, None, 0.4, math.inf, 0.6], lo=0, hi=1, alerts=[False] * 5 + [True]))
    (line,) = find(root, "path", "series")
    assert [c[0] for c in coords(line.get("d", ""))] == ["M", "M", "M"]  # every neighbour is missing
    assert len(find(root, "circle", "alert")) == 1


@pytest.mark.parametrize("values", [[], [None], [math.nan, math.nan]])
def test_sparkline_without_data(values: list[float | None]) -> None:
    root = parse(sparkline(values))
    assert "empty" in (root.get("class") or "")
    assert not find(root, "path", "series")
    assert "no data" in "".join(root.itertext())


def test_sparkline_one_point_is_centred() -> None:
    root = parse(sparkline([0.5], lo=0, hi=1, width=100, height=20))
    (last,) = find(root, "circle", "last")
    assert (float(last.get("cx", "")), float(last.get("cy", ""))) == (50, 10)


def test_sparkline_title_is_escaped() -> None:
    svg = str(sparkline([1.0, 2.0], title=XSS))
    assert XSS not in svg and "&lt;script&gt;" in svg
    assert parse(svg).find(SVG + "title").text == XSS  # type: ignore[union-attr]


# -- time series ----------------------------------------------------------------------------


def test_timeseries_series_threshold_and_alert_points() -> None:
    points = days([0.1, 0.2, 0.9, 0.3], ["ok", "ok", "alert", "warn"], [0.5] * 4)
    root = parse(timeseries(points, title="drift share", width=640, height=200))
    (series,) = find(root, "path", "series")
    (threshold,) = find(root, "path", "threshold")
    xs = [c[1] for c in coords(series.get("d", ""))]
    assert xs[0] == 52 and xs[-1] == 628 and xs == sorted(xs)  # by time, across the plot
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], abs=0.15)  # equal steps for equal days
    ys = [c[2] for c in coords(series.get("d", ""))]
    assert ys[2] == min(ys)  # the largest value is highest on screen
    # a constant threshold is one straight line across the plot, at the value 0.5
    level = float(re.match(r"M52 (-?[\d.]+)H628", threshold.get("d", "")).group(1))  # type: ignore[union-attr]
    assert ys[0] > level > ys[2]
    assert len(find(root, "circle", "alert")) == 1 and len(find(root, "circle", "warn")) == 1
    titles = ["".join(c.itertext()) for c in find(root, "circle", "point")]
    assert titles == ["2026-03-03: 0.9 (alert)", "2026-03-04: 0.3 (warn)"]


def test_timeseries_changing_threshold_follows_points() -> None:
    root = parse(timeseries(days([1.0, 2.0, 3.0], thresholds=[1.5, None, 2.5]), title="t"))
    (threshold,) = find(root, "path", "threshold")
    assert [c[0] for c in coords(threshold.get("d", ""))] == ["M", "M"]


def test_timeseries_gap_and_failed_window_on_baseline() -> None:
    points = days([1.0, None, 2.0, 3.0], ["ok", "error", "ok", "ok"])
    root = parse(timeseries(points, title="t", height=200))
    (series,) = find(root, "path", "series")
    assert [c[0] for c in coords(series.get("d", ""))] == ["M", "M", "L"]
    (error,) = find(root, "circle", "error")
    assert float(error.get("cy", "")) == 174  # the bottom edge of the plot


def test_timeseries_empty_one_point_and_constant() -> None:
    assert "no data" in "".join(parse(timeseries([], title="t")).itertext())
    one = parse(timeseries(days([0.4]), title="t", width=640))
    (dot,) = find(one, "circle", "point")
    assert float(dot.get("cx", "")) == (52 + 628) / 2
    flat = parse(timeseries(days([0.0, 0.0, 0.0]), title="t"))
    ys = {c[2] for c in coords(find(flat, "path", "series")[0].get("d", ""))}
    assert len(ys) == 1
    nan = parse(timeseries(days([math.nan, math.nan]), title="t"))
    assert find(nan, "path", "series")[0].get("d") == ""


def test_timeseries_labels_escaped() -> None:
    svg = str(timeseries(days([1.0, 2.0]), title=XSS))
    assert XSS not in svg
    assert parse(svg).get("aria-label") == XSS


# -- distributions --------------------------------------------------------------------------


def test_histogram_bars_overlay_on_the_same_bands() -> None:
    root = parse(histogram(["a", "b", "c", "d"], [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], title="x",
                           width=408, height=180))
    refs, curs = find(root, "rect", "ref"), find(root, "rect", "cur")
    assert len(refs) == len(curs) == 4
    assert [r.get("x") for r in refs] == [c.get("x") for c in curs]  # drawn over each other
    assert [float(r.get("x", "")) for r in refs] == [9, 107, 205, 303]
    heights = [float(r.get("height", "")) for r in refs]
    assert heights == sorted(heights) and heights[-1] == 142  # the tallest bar fills the plot
    assert float(curs[0].get("height", "")) == 142


def test_category_bars_and_top_n_with_other() -> None:
    labels = [f"c{i}" for i in range(15)]
    ref = [1 / 15] * 15
    cur = [0.0] * 14 + [1.0]
    names, r, c = top_categories(labels, ref, cur, top=5)
    assert names[0] == "c14" and names[-1] == "(other)" and len(names) == 6
    assert sum(r) == pytest.approx(1) and sum(c) == pytest.approx(1)
    # (other) already present merges; (missing) stays last
    names, r, c = top_categories(["a", "b", "c", "(other)", "(missing)"], [0.4, 0.3, 0.1, 0.1, 0.1],
                                 [0.4, 0.3, 0.1, 0.1, 0.1], top=2)
    assert names == ["a", "b", "(other)", "(missing)"] and r[2] == pytest.approx(0.2)
    root = parse(category_bars(["x", "y"], [0.5, 0.5], [0.25, 0.75], title="t", width=480))
    assert len(find(root, "rect", "ref")) == len(find(root, "rect", "cur")) == 2
    widths = [float(e.get("width", "")) for e in find(root, "rect", "cur")]
    assert widths[1] == 284 and widths[0] == pytest.approx(284 / 3, abs=0.1)


def test_distribution_from_stored_details() -> None:
    numeric = distribution({"labels": ["< 1", "[1, 2)"], "ref": [0.5, 0.5], "cur": [0.2, None]}, kind="numeric",
                           title="age")
    assert numeric is not None and 'class="chart dist numeric"' in numeric
    wide = distribution({"labels": [str(i) for i in range(30)], "ref": [1 / 30] * 30, "cur": [1 / 30] * 30},
                        kind="categorical", title="zip", top=10)
    assert wide is not None and wide.count('class="bar ref"') == 11 and "(other)" in wide
    for bad in (None, {}, {"labels": []}, {"labels": "x"}, [1, 2]):
        assert distribution(bad, kind="numeric", title="t") is None


def test_distribution_labels_escaped() -> None:
    svg = distribution({"labels": [XSS, "a&b"], "ref": [0.5, 0.5], "cur": [0.5, 0.5]}, kind="categorical",
                       title=XSS)
    assert svg is not None and XSS not in svg and "a&b" not in svg
    root = parse(svg)
    assert XSS in "".join(root.itertext()) and "a&b" in "".join(root.itertext())
    hist = histogram([XSS], [1.0], [1.0], title="t")
    assert XSS not in hist and parse(hist) is not None

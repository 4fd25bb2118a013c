"""``driftwatch.check`` returns ``Results``: still the list it was, and a table and a report too.

The table is checked field by field against the results it came from; the HTML against the
same results drawn by ``driftwatch.web.export`` (the run page's templates), and once in a real
browser in ``tests/web/test_browser.py``.
"""

from __future__ import annotations

import html
import math
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import driftwatch
from driftwatch import Results, Window
from driftwatch.web.export import results_html

SCRIPT = "<script>alert(1)</script>"
WINDOW = Window(datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2026, 12, 2, tzinfo=timezone.utc))
FIELDS = ("monitor", "run_id", "segment", "detector", "feature", "metric", "status")


@pytest.fixture(scope="module")
def results() -> Results:
    """A drifted ``x``, a new category in ``c`` and a steady column named like markup."""
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(size=1000), "c": rng.choice(list("abc"), 1000),
                              SCRIPT: rng.normal(size=1000)})
    current = pd.DataFrame({"x": rng.normal(0.5, size=1000), "c": rng.choice(list("abd"), 1000),
                            SCRIPT: rng.normal(size=1000)})
    return driftwatch.check(reference, current, window=WINDOW, monitor="notebook")


def test_check_returns_results_that_are_still_a_list(results: Results) -> None:
    assert isinstance(results, Results) and isinstance(results, list)
    assert results == list(results) and results[0] is list(results)[0]
    assert isinstance(results[1:3], Results) and list(results[1:3]) == list(results)[1:3]
    assert [r for r in results.alerts()] == [r for r in results if r.status == "alert"]
    assert {(r.feature, r.metric) for r in results.alerts()} >= {("x", "ks"), ("c", "new_category_share")}
    assert all(r.feature != SCRIPT for r in results.alerts())


def test_to_frame_is_one_row_per_result_with_small_details_as_columns(results: Results) -> None:
    frame = results.to_frame()
    assert len(frame) == len(results)
    for (_, row), result in zip(frame.iterrows(), results):
        assert tuple(row[name] for name in FIELDS) == tuple(getattr(result, name) for name in FIELDS)
        for name in ("value", "p_value", "threshold"):
            expected = getattr(result, name)
            assert (math.isnan(row[name]) if expected is None else row[name] == expected), name
        assert row["window_start"] == pd.Timestamp(WINDOW.start) and row["window_end"] == pd.Timestamp(WINDOW.end)
        assert row["details"] == dict(result.details)
        for key, value in result.details.items():
            column = f"details.{key}"
            if isinstance(value, (bool, int, float, str)) and not (isinstance(value, str) and len(value) > 200):
                assert row[column] == value or (isinstance(value, float) and math.isnan(value)), column
            else:  # bins, categories, groups stay in ``details`` only
                assert column not in frame.columns or pd.isna(row[column]), column
    assert "details.bins" not in frame.columns and "details.rule" in frame.columns
    assert str(frame["window_start"].dtype).endswith("UTC]")
    assert list(Results().to_frame().columns)[:12] == ["monitor", "run_id", "window_start", "window_end", "segment",
                                                       "detector", "feature", "metric", "value", "p_value",
                                                       "threshold", "status"]


def test_save_html_and_the_notebook_frame_draw_the_report(results: Results, tmp_path: Path) -> None:
    path = results.save_html(tmp_path / "report.html")
    saved = path.read_text(encoding="utf-8")
    drawn = sum(1 for r in results if r.detector == "drift" and r.feature and "bins" in r.details)
    assert drawn == 3 and saved.count('<svg class="chart dist') == drawn
    table = re.search(r'<table id="report".*?</table>', saved, re.S)
    assert table is not None and len(re.findall(r"<tr class=", table.group(0))) == len(results)
    assert SCRIPT not in saved and html.escape(SCRIPT, quote=False) in saved
    assert not re.search(r"<script|\bsrc=|\bhref=", saved)
    # The notebook's frame holds the same document, escaped into a sandboxed iframe.
    frame = results._repr_html_()
    found = re.fullmatch(r'<iframe title="driftwatch report" sandbox srcdoc="([^"]*)" style="[^"]*"></iframe>',
                         frame)
    assert found is not None
    footer = re.compile(r"written [^<]*</footer>")
    assert footer.sub("", html.unescape(found.group(1))) == footer.sub("", saved)


def test_a_report_shows_one_run(results: Results) -> None:
    other = [r for r in driftwatch.check(pd.DataFrame({"x": [1.0, 2.0] * 50}), pd.DataFrame({"x": [1.0] * 100}),
                                         monitor="other")]
    with pytest.raises(ValueError, match="these results are of 2 runs"):
        results_html(Results([*results, *other]))
    assert "<h1>no results</h1>" in results_html(Results())

"""A window of Parquet files profiled by DuckDB in place stores the same results as one read by
pandas (issue 13): ``engine = "duckdb"`` against ``"pandas"``, over several files that span more
than the window, with naive and UTC timestamps; ``auto`` keeps small files on pandas; a CSV
cannot be profiled by DuckDB and ``engine = "duckdb"`` says so in one line."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .test_pushdown_runs import _events, _run, assert_same_results, monitor_config, write_reference

pytest.importorskip("duckdb_engine")


def _files(folder: Path, *, aware: bool) -> None:
    frame = pd.DataFrame(_events())
    frame["ts"] = pd.to_datetime(frame["ts"])
    if aware:
        frame["ts"] = frame["ts"].dt.tz_localize("UTC")
    frame.loc[frame.index % 97 == 0, "x"] = np.nan
    (folder / "data").mkdir()
    shuffled = frame.sample(frac=1, random_state=4).reset_index(drop=True)
    for i in range(3):
        shuffled.iloc[i::3].to_parquet(folder / "data" / f"part-{i}.parquet", index=False)
    write_reference(folder)


def _config(folder: Path, engine: str, pattern: str = "data/*.parquet") -> Path:
    current = f'type = "file"\npath = "{pattern}"\ntimestamp_column = "ts"\nengine = "{engine}"'
    return monitor_config(folder, engine, current)


@pytest.mark.parametrize("aware", [False, True])
def test_duckdb_over_parquet_stores_what_pandas_stores(tmp_path: Path, aware: bool,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    _files(tmp_path, aware=aware)
    with caplog.at_level(logging.INFO, logger="driftwatch.pushdown"):
        pushed = _run(_config(tmp_path, "duckdb"))
    pulled = _run(_config(tmp_path, "pandas"))
    assert "profiled in the database (600 rows)" in caplog.text
    want = assert_same_results(pushed, pulled)
    assert want[("drift", "x", "ks")].status == "alert"  # a decision that fired is among those compared


def test_auto_keeps_small_files_on_pandas_and_duckdb_refuses_csv(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    _files(tmp_path, aware=True)
    with caplog.at_level(logging.DEBUG, logger="driftwatch.pushdown"):
        assert _run(_config(tmp_path, "auto")).status == "succeeded"
    assert "below the 268,435,456 DuckDB starts at" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]  # an expected choice: no INFO line
    pd.read_parquet(tmp_path / "data" / "part-0.parquet").to_csv(tmp_path / "data" / "part-0.csv", index=False)
    outcome = _run(_config(tmp_path, "duckdb", pattern="data/*.csv"))
    assert outcome.status == "failed"
    assert outcome.error == "monitor 'm': pushdown = \"require\", but DuckDB profiles Parquet files; these are csv"


def test_a_parquet_reference_profiled_by_duckdb_gives_the_pandas_results(tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    """The reference is the files' clean second day: DuckDB's profile of it and pandas' give the
    same stored results."""
    _files(tmp_path, aware=True)
    outcomes = {}
    for engine in ("duckdb", "pandas"):
        config = _config(tmp_path, engine)
        config.write_text(config.read_text().replace('[monitors.reference]\ntype = "file"\npath = "ref.csv"', f"""
[monitors.reference]
type = "file"
path = "data/*.parquet"
timestamp_column = "ts"
engine = "{engine}"
start = "2026-11-02T00:00:00Z"
end = "2026-11-03T00:00:00Z"
"""))
        with caplog.at_level(logging.INFO, logger="driftwatch.pushdown"):
            outcomes[engine] = _run(config)
    assert "monitor m reference: profiled in the database (600 rows)" in caplog.text
    want = assert_same_results(outcomes["duckdb"], outcomes["pandas"], ("value",))
    assert want[("drift", "x", "ks")].status == "alert"

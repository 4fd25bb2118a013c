"""A window of Parquet files profiled by DuckDB in place stores the same results as one read by
pandas (issue 13): ``engine = "duckdb"`` against ``"pandas"``, over several files that span more
than the window, with naive and UTC timestamps; ``auto`` keeps small files on pandas; a CSV
cannot be profiled by DuckDB and ``engine = "duckdb"`` says so in one line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from .test_pushdown_runs import _events, _key, _run

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
    rng = np.random.default_rng(3)
    pd.DataFrame({"x": rng.normal(0, 1, 800), "k": rng.integers(0, 9, 800), "c": rng.choice(["a", "b", "c"], 800),
                  "flag": rng.uniform(0, 1, 800)}).to_csv(folder / "ref.csv", index=False)


def _config(folder: Path, engine: str, pattern: str = "data/*.parquet") -> Path:
    path = folder / f"{engine}.toml"
    path.write_text(f"""
[store]
url = "sqlite:///{folder / (engine + '.db')}"
[[monitors]]
name = "m"
window = "1d"
[monitors.schema]
numeric = ["x", "k", "flag"]
categorical = ["c"]
[monitors.current]
type = "file"
path = "{pattern}"
timestamp_column = "ts"
engine = "{engine}"
[monitors.reference]
type = "file"
path = "ref.csv"
[[monitors.detectors]]
type = "drift"
[[monitors.detectors]]
type = "quality"
""", encoding="utf-8")
    return path


@pytest.mark.parametrize("aware", [False, True])
def test_duckdb_over_parquet_stores_what_pandas_stores(tmp_path: Path, aware: bool,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    _files(tmp_path, aware=aware)
    with caplog.at_level(logging.INFO, logger="driftwatch.pushdown"):
        pushed = _run(_config(tmp_path, "duckdb"))
    pulled = _run(_config(tmp_path, "pandas"))
    assert pushed.status == pulled.status == "succeeded", (pushed.error, pulled.error)
    assert "profiled in the database (600 rows)" in caplog.text
    want: dict[Any, Any] = {_key(r): r for r in pulled.results}
    got: dict[Any, Any] = {_key(r): r for r in pushed.results}
    assert got.keys() == want.keys()
    for key, result in want.items():
        assert got[key].status == result.status, key
        for field in ("value", "p_value"):
            a, b = getattr(got[key], field), getattr(result, field)
            assert (a is None and b is None) or a == pytest.approx(b, rel=1e-9, abs=1e-12), (key, field)
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
    pushed, pulled = outcomes["duckdb"], outcomes["pandas"]
    assert pushed.status == pulled.status == "succeeded", (pushed.error, pulled.error)
    want = {_key(r): r for r in pulled.results}
    got = {_key(r): r for r in pushed.results}
    assert got.keys() == want.keys()
    for key, result in want.items():
        assert (got[key].status, got[key].value) == (result.status, pytest.approx(result.value, rel=1e-9)), key
    assert want[("drift", "x", "ks")].status == "alert"

"""Bad input gets one clear error, never a traceback or a 500 (issue 12, defect 7): durations and
ranges too large to compute, data that is not a frame or repeats a column name, page URLs that
name no row on PostgreSQL."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import driftwatch
from driftwatch import DataError

from .test_cli import EXAMPLE, PROBLEM_LINE, run, write_config, write_data


@pytest.mark.parametrize("key, value", [("window", "100000000000000s"), ("window", "99999999999999d"),
                                        ("delay", "99999999999999w")])
def test_durations_too_long_to_compute_are_one_problem_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             key: str, value: str) -> None:
    lines = [f'{key} = "{value}"' if line.startswith(f"{key} = ") else line
             for line in EXAMPLE.read_text().splitlines()]
    config = tmp_path / "c.toml"
    config.write_text("\n".join(lines))
    code, _, err = run(capsys, "validate", str(config))
    [line] = err.strip().splitlines()
    match = PROBLEM_LINE.match(line)
    assert code == 2 and match is not None and "Traceback" not in err
    assert match["key"] == f"monitors[0].{key}" and "is longer than 36500 days" in match["msg"]


@pytest.mark.parametrize("start, end, needle", [("0001-01-01", "9999-01-01", "more than 100,000 windows"),
                                                ("9999-12-25", "9999-12-31", "too near the ends of the calendar")])
def test_backfill_ranges_beyond_reason_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    start: str, end: str, needle: str) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path)
    code, _, err = run(capsys, "backfill", "--config", str(config), "--monitor", "m1", "--from", start, "--to", end)
    assert code == 2 and "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith("--from/--to: ") and needle in line


REFERENCE = pd.DataFrame({"x": np.arange(50.0)})


@pytest.mark.parametrize("current", [[1.0, 2.0], {"x": [1.0]}, None, np.arange(3.0)])
def test_check_names_the_argument_that_is_not_a_frame(current: object) -> None:
    with pytest.raises(TypeError, match=rf"^current: must be a pandas DataFrame, got {type(current).__name__}$"):
        driftwatch.check(REFERENCE, current)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^reference: must be a pandas DataFrame or a driftwatch Profile"):
        driftwatch.check(current, REFERENCE)  # type: ignore[arg-type]


def test_repeated_column_names_are_a_data_error_naming_them() -> None:
    twice = pd.DataFrame(np.ones((40, 3)), columns=["x", "x", "y"])
    with pytest.raises(DataError, match=r"^current data has repeated column names: 'x'$"):
        driftwatch.check(REFERENCE, twice)
    with pytest.raises(DataError, match=r"^reference data has repeated column names: 'x'$"):
        driftwatch.check(twice, REFERENCE)


POSTGRES = os.environ.get("DRIFTWATCH_TEST_POSTGRES_URL")


@pytest.mark.skipif(not POSTGRES, reason="DRIFTWATCH_TEST_POSTGRES_URL is not set "
                                         "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
@pytest.mark.parametrize("url, status", [("/runs/2147483648", 404), ("/runs/999999999999999999", 404),
                                         ("/monitors/x?before_id=2147483648", 400), ("/monitors/%00", 404),
                                         ("/monitors/x%00y", 404), ("/monitors/%ED%A0%80", 404)])
def test_pages_answer_urls_that_name_no_row_without_a_500_on_postgresql(url: str, status: int) -> None:
    from driftwatch.store import Store
    from driftwatch.web import create_app

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
        from fastapi.testclient import TestClient
    assert POSTGRES is not None
    with Store(POSTGRES) as store:
        store.create_all()
        client = TestClient(create_app(store), raise_server_exceptions=False)
        assert client.get(url).status_code == status


# --- defect 8: things that are wrong are said, not accepted quietly ------------------------------

def test_a_column_override_for_a_column_the_schema_lacks_is_a_problem(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path, extra='[[monitors.detectors]]\ntype = "drift"\n'
                                          '[monitors.detectors.columns.xx]\nmethod = "psi"\n')
    code, _, err = run(capsys, "validate", str(config))
    [line] = err.strip().splitlines()
    assert code == 2
    assert line.endswith("monitors[0].detectors[0].columns.xx: no such column in the monitor's schema (columns: x, c)")


def test_an_empty_config_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    code, out, err = run(capsys, "validate", str(config))
    assert (code, out) == (2, "")
    assert err.strip() == f"{config}: the file is empty: a config needs at least one [[monitors]] table " \
                          "(driftwatch init writes an example)"


def test_repeated_csv_headers_are_a_data_error_naming_file_and_column(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path)
    day = tmp_path / "data" / "2026-11-01.csv"
    lines = day.read_text().splitlines()
    day.write_text("\n".join([lines[0] + ",x"] + [line + ",1.5" for line in lines[1:]]) + "\n")
    code, _, err = run(capsys, "check", "--config", str(config), "--at", "2026-11-02T06:00:00+00:00")
    assert code == 2 and "Traceback" not in err
    assert f"{day}: the header repeats column name(s) 'x'" in err


def test_a_zero_byte_window_file_is_no_rows_not_missing_columns(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path)
    (tmp_path / "data" / "2026-11-01.csv").write_bytes(b"")
    code, out, _ = run(capsys, "check", "--config", str(config), "--at", "2026-11-02T06:00:00+00:00",
                       "--format", "json")
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert not [r for r in results if r["metric"] == "column_missing" or r["status"] in ("alert", "error")]
    [rows] = [r for r in results if r["metric"] == "row_count"]
    assert rows["value"] == 0 and rows["status"] == "insufficient_data"
    assert rows["details"]["reason"] == "the current window has no rows and no columns (an empty file?)"


def test_demo_days_are_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "demo", "--dir", str(tmp_path / "d"), "--days", "100000")
    assert code == 2 and "--days: must be between 1 and 366" in err
    assert not (tmp_path / "d").exists()


def test_check_exits_1_when_a_result_could_not_be_computed(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path)
    day = tmp_path / "data" / "2026-11-01.csv"
    frame = pd.read_csv(day)
    frame["x"] = "twelve"  # text where the reference has numbers: the drift figure is an error
    frame.to_csv(day, index=False)
    code, out, _ = run(capsys, "check", "--config", str(config), "--at", "2026-11-02T06:00:00+00:00",
                       "--format", "json")
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["status"] for r in results if r["detector"] == "drift" and r["feature"] == "x"] == ["error"]
    assert code == 1


# --- defect 5: one limit on names for every store, said before a run ------------------------------

LONG = "c" * 300


def test_a_monitor_name_no_store_keeps_is_a_config_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path, [{"name": LONG}])
    code, _, err = run(capsys, "validate", str(config))
    [line] = err.strip().splitlines()
    assert code == 2 and line.endswith("monitors[0].name: is 300 characters, over the 255 a store keeps")


@pytest.mark.parametrize("bad, problem", [(LONG, "is 300 characters, over the 255 a store keeps"),
                                          ("a\x00b", "holds a NUL character, which no store keeps")])
def test_schema_column_names_no_store_keeps_are_refused_where_they_are_named(bad: str, problem: str) -> None:
    with pytest.raises(ValueError, match=r"^numeric: column '.*' " + problem):
        driftwatch.check(REFERENCE, REFERENCE, schema={"numeric": ["x", bad]})
    frame = pd.DataFrame({bad: np.arange(40.0)})
    with pytest.raises(DataError, match=r"^the data's column '.*' " + problem):
        driftwatch.check(frame, frame)  # inferred: the data's problem


def test_a_run_over_a_column_name_no_store_keeps_fails_in_one_line(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    text = write_config(tmp_path).read_text()
    config = tmp_path / "inferred.toml"
    config.write_text(text.replace('[monitors.schema]\nnumeric = ["x"]\ncategorical = ["c"]\n', ""))
    ref = pd.read_parquet(tmp_path / "ref.parquet").rename(columns={"x": LONG})
    ref.to_parquet(tmp_path / "ref.parquet", index=False)
    code, _, err = run(capsys, "check", "--config", str(config), "--at", "2026-11-02T06:00:00+00:00")
    assert code == 2 and "Traceback" not in err
    [line] = err.strip().splitlines()
    assert "is 300 characters, over the 255 a store keeps" in line

"""The ``driftwatch`` command: exit codes, messages, JSON lines and what ends up in the store.

Real files in ``tmp_path`` and a real SQLite store; ``main([...])`` runs in-process, and a few
cases go through a real subprocess to prove that no traceback ever reaches stderr.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from driftwatch.cli import main
from driftwatch.store import Store

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "config.example.toml"

#: The test data has daily windows 2026-11-01, -02 (like the reference) and -03 (drifted).
CALM_AT = "2026-11-02T06:00:00+00:00"  # latest complete window: 2026-11-01
DRIFT_AT = "2026-11-04T00:00:00+00:00"  # latest complete window: 2026-11-03
JSON_KEYS = {"monitor", "run_id", "window_start", "window_end", "detector", "feature", "metric", "value",
             "p_value", "threshold", "status", "details"}
PROBLEM_LINE = re.compile(r"^(?P<file>[^:]+(?::\d+(?::\d+)?)?): (?P<key>[A-Za-z_][\w.\[\]]*): (?P<msg>.+)$")

MONITOR = """
[[monitors]]
name = "NAME"
window = "1d"
[monitors.schema]
numeric = ["x"]
categorical = ["c"]
[monitors.current]
type = "file"
path = "CURRENT"
[monitors.reference]
type = "file"
path = "REFERENCE"
"""


def _frame(rng: np.random.Generator, n: int, *, shift: float = 0.0, edges: bool = False) -> pd.DataFrame:
    # Uniform on [0, 10] with both ends present in the reference: nothing falls out of range
    # unless shifted, so a calm window has no quality alert either.
    x = rng.uniform(0.0, 10.0, n)
    if edges:
        x[:2] = [0.0, 10.0]
    return pd.DataFrame({"x": (x + shift).round(4), "c": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])})


def write_data(folder: Path) -> None:
    """``ref.parquet`` and daily CSVs ``data/2026-11-0{1,2,3}.csv``; day 3 has drifted."""
    rng = np.random.default_rng(11)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    _frame(rng, 600, edges=True).to_parquet(folder / "ref.parquet", index=False)
    for day, shift in ((1, 0.0), (2, 0.0), (3, 4.0)):
        _frame(rng, 300, shift=shift).to_csv(folder / "data" / f"2026-11-0{day}.csv", index=False)


def write_config(folder: Path, monitors: list[dict[str, str]] | None = None, *, extra: str = "") -> Path:
    monitors = monitors or [{"name": "m1"}]
    text = '[store]\nurl = "sqlite:///dw.db"\n'
    for monitor in monitors:
        fields = {"current": "data/{start:%Y-%m-%d}.csv", "reference": "ref.parquet", **monitor}
        text += (MONITOR.replace("NAME", fields["name"]).replace("CURRENT", fields["current"])
                 .replace("REFERENCE", fields["reference"]))
    path = folder / "config.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with the data and a one-monitor config (``m1``)."""
    write_data(tmp_path)
    write_config(tmp_path)
    return tmp_path


def store_of(folder: Path) -> Store:
    return Store(f"sqlite:///{folder / 'dw.db'}")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def json_results(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def cli(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m driftwatch.cli ARGV`` in a real process."""
    return subprocess.run([sys.executable, "-m", "driftwatch.cli", *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# -- check --config -------------------------------------------------------------------------


def test_check_config_exit_1_on_alert_and_results_stored(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--config", str(project / "config.toml"), "--at", DRIFT_AT,
                         "--format", "json")
    assert code == 1, err
    rows = json_results(out)
    assert rows and all(set(row) >= JSON_KEYS for row in rows)
    assert {row["monitor"] for row in rows} == {"m1"}
    assert {(row["window_start"], row["window_end"]) for row in rows} == {
        ("2026-11-03T00:00:00+00:00", "2026-11-04T00:00:00+00:00")}
    x = next(r for r in rows if r["detector"] == "drift" and r["feature"] == "x")
    assert x["status"] == "alert" and x["metric"] == "ks"
    assert isinstance(x["details"], dict)
    # data-set level figures have feature ""
    dataset = {(r["detector"], r["metric"]) for r in rows if r["feature"] == ""}
    assert {("drift", "drift_share"), ("quality", "row_count")} <= dataset
    with store_of(project) as store:
        runs = store.runs("m1")
        stored = store.results(monitor="m1")
    assert [(r.status, r.rows_current) for r in runs] == [("succeeded", 300)]
    assert len(stored) == len(rows)
    assert {r["run_id"] for r in rows} == {runs[0].id}
    assert sorted((r.feature, r.metric, r.status) for r in stored) == \
        sorted((r["feature"], r["metric"], r["status"]) for r in rows)


def test_check_config_exit_0_without_alert(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--config", str(project / "config.toml"), "--at", CALM_AT,
                         "--format", "json")
    assert code == 0, err
    rows = json_results(out)
    assert rows and not [r for r in rows if r["status"] == "alert"]
    assert {r["window_start"] for r in rows} == {"2026-11-01T00:00:00+00:00"}
    with store_of(project) as store:
        assert len(store.results(monitor="m1")) == len(rows)
        assert [r.status for r in store.runs("m1")] == ["succeeded"]


def test_check_config_table_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--config", str(project / "config.toml"), "--at", DRIFT_AT)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split() == ["monitor", "window", "feature", "method", "value", "p_value", "threshold", "status",
                                "why"]
    assert any(line.split()[:4] == ["m1", "2026-11-03", "x", "ks"] and line.split()[7] == "alert"
               and line.endswith("significant, large enough") for line in lines)
    assert any("(data set)" in line and "drift_share" in line for line in lines)


def test_check_each_call_is_a_new_attempt(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(project / "config.toml")
    run(capsys, "check", "--config", config, "--at", CALM_AT, "--format", "json")
    _, out, _ = run(capsys, "check", "--config", config, "--at", CALM_AT, "--format", "json")
    with store_of(project) as store:
        runs = store.runs("m1")
    assert sorted(r.attempt for r in runs) == [1, 2]
    assert {r["run_id"] for r in json_results(out)} == {runs[0].id}


@pytest.fixture
def two_monitors(tmp_path: Path) -> Path:
    write_data(tmp_path)
    return write_config(tmp_path, [{"name": "m1"}, {"name": "m2"}])


def test_check_only_the_named_monitor(two_monitors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--config", str(two_monitors), "--monitor", "m2", "--at", DRIFT_AT,
                       "--format", "json")
    assert code == 1
    assert {r["monitor"] for r in json_results(out)} == {"m2"}
    with store_of(two_monitors.parent) as store:
        assert [r.monitor for r in store.runs()] == ["m2"]


def test_check_unknown_monitor_names_the_configured_ones(two_monitors: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--config", str(two_monitors), "--monitor", "nope")
    assert code == 2
    assert out == ""
    assert_one_line_error(err, "'nope'", "m1", "m2")
    assert not (two_monitors.parent / "dw.db").exists()


def test_failed_monitor_does_not_stop_the_others(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path, [{"name": "good"},
                                     {"name": "bad", "current": "missing/{start:%Y-%m-%d}.csv"}])
    code, out, err = run(capsys, "check", "--config", str(config), "--at", DRIFT_AT, "--format", "json")
    assert code == 2
    assert_one_line_error(err, "'bad'", "missing/2026-11-03.csv")
    rows = json_results(out)
    good = [r for r in rows if r["monitor"] == "good"]
    bad = [r for r in rows if r["monitor"] == "bad"]
    assert good and any(r["status"] == "alert" for r in good)
    assert len(bad) == 1
    assert (bad[0]["detector"], bad[0]["feature"], bad[0]["status"]) == ("engine", "", "error")
    assert "missing/2026-11-03.csv" in bad[0]["details"]["error"]
    with store_of(tmp_path) as store:
        runs = {r.monitor: r for r in store.runs()}
        assert runs["good"].status == "succeeded"
        assert runs["bad"].status == "failed"
        assert "missing/2026-11-03.csv" in (runs["bad"].error or "")
        assert len(store.results(monitor="good")) == len(good)
        assert [(r.status, r.run_id) for r in store.results(monitor="bad")] == [("error", runs["bad"].id)]
        with store.engine.connect() as conn:
            running = conn.execute(sa.text("SELECT count(*) FROM runs WHERE status = 'running'")).scalar()
    assert running == 0


def test_unreachable_database_is_an_error_result_without_the_password(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from driftwatch.connectors.sql_engines import dispose_engines

    secret = "pw-Kx81-secret"
    monkeypatch.setenv("DW_TEST_DB_PASSWORD", secret)
    write_data(tmp_path)
    config = write_config(tmp_path, extra=textwrap.dedent("""
        [[monitors]]
        name = "db"
        window = "1d"
        [monitors.schema]
        numeric = ["x"]
        [monitors.current]
        type = "sql"
        url = "postgresql+psycopg://reader:${DW_TEST_DB_PASSWORD}@127.0.0.1:1/features"
        table = "events"
        [monitors.reference]
        type = "file"
        path = "ref.parquet"
        """))
    try:
        code, out, err = run(capsys, "check", "--config", str(config), "--at", CALM_AT, "--format", "json")
    finally:
        dispose_engines()
    assert code == 2
    assert_one_line_error(err, "'db'", "127.0.0.1:1")
    assert secret not in out + err
    assert {r["monitor"] for r in json_results(out)} == {"m1", "db"}
    with store_of(tmp_path) as store:
        runs = {r.monitor: r for r in store.runs()}
        stored = store.results(monitor="db")
    assert (runs["m1"].status, runs["db"].status) == ("succeeded", "failed")
    assert secret not in (runs["db"].error or "") and "***" in (runs["db"].error or "")
    assert secret not in json.dumps([r.to_json() for r in stored])


# -- check --reference/--current (ad hoc) ---------------------------------------------------

@pytest.fixture
def adhoc(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    _frame(rng, 600, edges=True).to_parquet(tmp_path / "ref.parquet", index=False)
    _frame(rng, 300).to_csv(tmp_path / "calm.csv", index=False)
    _frame(rng, 300, shift=4.0).to_csv(tmp_path / "drifted.csv", index=False)
    return tmp_path


def test_adhoc_check_alert_json_nothing_stored(adhoc: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(adhoc)
    code, out, err = run(capsys, "check", "--reference", "ref.parquet", "--current", "drifted.csv",
                         "--format", "json")
    assert code == 1, err
    rows = json_results(out)
    assert {r["monitor"] for r in rows} == {"adhoc"}
    assert {(r["run_id"], r["window_start"], r["window_end"]) for r in rows} == {(None, None, None)}
    drift = {r["feature"]: r for r in rows if r["detector"] == "drift"}
    assert set(drift) == {"x", "c", ""}  # schema inferred: float x numeric, string c categorical
    assert drift["x"]["metric"] == "ks" and drift["x"]["status"] == "alert"
    assert sorted(p.name for p in adhoc.iterdir()) == ["calm.csv", "drifted.csv", "ref.parquet"]


def test_adhoc_check_without_alert_exit_0(adhoc: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--reference", str(adhoc / "ref.parquet"),
                         "--current", str(adhoc / "calm.csv"))
    assert code == 0, err
    assert "x" in out and "alert" not in out


def test_adhoc_check_same_results_as_python_api(adhoc: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import driftwatch

    code, out, _ = run(capsys, "check", "--reference", str(adhoc / "ref.parquet"),
                       "--current", str(adhoc / "drifted.csv"), "--format", "json", "--method", "psi")
    expected = driftwatch.check(pd.read_parquet(adhoc / "ref.parquet"), pd.read_csv(adhoc / "drifted.csv"),
                                method="psi")
    assert code == 1
    assert json_results(out) == [json.loads(json.dumps(r.to_json())) for r in expected]
    assert {r["metric"] for r in json_results(out) if r["detector"] == "drift" and r["feature"]} == {"psi"}


def test_adhoc_bad_method(adhoc: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--reference", str(adhoc / "ref.parquet"),
                         "--current", str(adhoc / "calm.csv"), "--method", "magic")
    assert (code, out) == (2, "")
    assert_one_line_error(err, "'magic'")


def test_adhoc_missing_reference(adhoc: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(adhoc)
    code, out, err = run(capsys, "check", "--reference", "nope.parquet", "--current", "calm.csv")
    assert (code, out) == (2, "")
    assert_one_line_error(err, "nope.parquet")


def test_adhoc_corrupt_parquet(adhoc: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    (adhoc / "bad.parquet").write_bytes(b"PAR1 not really")
    monkeypatch.chdir(adhoc)
    code, out, err = run(capsys, "check", "--reference", "bad.parquet", "--current", "calm.csv", "--format", "json")
    assert (code, out) == (2, "")
    assert_one_line_error(err, "bad.parquet")


# -- exit 2: one line naming the file / key / column, no traceback ---------------------------


def test_missing_reference_file(project: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "ref.parquet").unlink()
    monkeypatch.chdir(project)
    code, _, err = run(capsys, "check", "--config", "config.toml", "--at", DRIFT_AT)
    assert code == 2
    assert_one_line_error(err, "ref.parquet", "'m1'")


def test_corrupt_parquet_subprocess(project: Path) -> None:
    """In a real process: what reaches stderr is one line, no traceback (the in-process tests
    see main's output; this one sees everything the process writes)."""
    (project / "ref.parquet").write_bytes(b"PAR1 this is not parquet at all")
    done = cli("check", "--config", "config.toml", "--at", DRIFT_AT, "--format", "json", cwd=project)
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "ref.parquet", "parquet")
    [row] = json_results(done.stdout)
    assert row["status"] == "error" and "ref.parquet" in row["details"]["error"]


def test_schema_column_absent_from_reference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace('numeric = ["x"]', 'numeric = ["x", "salary"]'))
    code, _, err = run(capsys, "check", "--config", str(config), "--at", DRIFT_AT)
    assert code == 2
    assert_one_line_error(err, "'salary'", "reference")


def test_invalid_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[store]\nurl = "sqlite:///dw.db"\nbins = = 3\n')
    code, out, err = run(capsys, "check", "--config", str(config))
    assert (code, out) == (2, "")
    assert_one_line_error(err, f"{config}:3:", "invalid TOML")


def test_unknown_config_key(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = project / "config.toml"
    config.write_text(config.read_text().replace('window = "1d"', 'window = "1d"\ncolour = "red"'))
    code, _, err = run(capsys, "check", "--config", str(config), "--at", DRIFT_AT)
    assert code == 2
    assert_one_line_error(err, str(config), "monitors[0].colour", "unknown key")
    assert not (project / "dw.db").exists()


def test_missing_environment_variable(project: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DW_TEST_NO_SUCH_VAR", raising=False)
    config = project / "config.toml"
    config.write_text(config.read_text().replace('path = "ref.parquet"', 'path = "${DW_TEST_NO_SUCH_VAR}"'))
    code, _, err = run(capsys, "check", "--config", str(config))
    assert code == 2
    assert_one_line_error(err, str(config), "monitors[0].reference.path", "DW_TEST_NO_SUCH_VAR")


def test_check_without_config_or_files(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check")
    assert (code, out) == (2, "")
    assert_one_line_error(err, "--config", "--reference", "--current")


def test_check_with_only_reference(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", "--reference", str(tmp_path / "r.csv"))
    assert code == 2
    assert_one_line_error(err, "--current")


def test_bad_at_time(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--config", str(project / "config.toml"), "--at", "yesterday")
    assert code == 2
    assert_one_line_error(err, "--at", "'yesterday'")


def test_config_file_not_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--config", str(tmp_path / "nope.toml"))
    assert code == 2
    assert_one_line_error(err, "nope.toml")


# -- validate -------------------------------------------------------------------------------


def test_validate_example_config(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DRIFTWATCH_"):
            monkeypatch.delenv(name)
    code, out, err = run(capsys, "validate", str(EXAMPLE))
    assert (code, err) == (0, "")
    assert "ok (1 monitor)" in out


def test_validate_example_next_to_demo_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "config.toml"
    shutil.copyfile(EXAMPLE, target)
    code, out, _ = run(capsys, "validate", "--config", str(target))
    assert code == 0 and str(target) in out


def test_validate_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(textwrap.dedent("""\
        [profile]
        bins = 1

        [[monitors]]
        name = "m1"
        window = "1.5h"
        [monitors.current]
        type = "file"
        path = "cur.csv"
        [monitors.reference]
        type = "file"
        path = "ref.csv"
        [[monitors.detectors]]
        type = "drift"
        alpha = 2
        [[monitors.detectors]]
        type = "quality"
        colour = "red"
        """))
    code, out, err = run(capsys, "validate", str(config))
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert len(lines) == 4, err
    parsed = [PROBLEM_LINE.match(line) for line in lines]
    assert all(parsed), lines
    keys = {m["key"] for m in parsed if m}
    assert keys == {"profile.bins", "monitors[0].window", "monitors[0].detectors[0].alpha",
                    "monitors[0].detectors[1].colour"}
    for match in parsed:
        assert match and match["file"].split(":")[0] == str(config)
    by_key = {m["key"]: m["file"] for m in parsed if m}
    assert by_key["profile.bins"] == f"{config}:2"
    assert by_key["monitors[0].window"] == f"{config}:6"


def test_validate_never_shows_a_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "hunter2-Zq9x"
    monkeypatch.setenv("DW_TEST_PG_PASSWORD", secret)
    config = tmp_path / "config.toml"
    config.write_text(textwrap.dedent("""\
        [store]
        url = "postgresql+psycopg://dw:${DW_TEST_PG_PASSWORD}@db.invalid:5432/dw"

        [[monitors]]
        name = "m1"
        window = "1d"
        [monitors.current]
        type = "sql"
        url = "postgresql+psycopg://reader:${DW_TEST_PG_PASSWORD}@db.invalid/features"
        [monitors.reference]
        type = "sql"
        url = "postgresql+psycopg://reader:${DW_TEST_PG_PASSWORD}@db.invalid/features"
        table = "ref"
        query = "select 1"
        """))
    code, out, err = run(capsys, "validate", str(config))
    assert code == 2
    assert secret not in out + err
    lines = err.splitlines()
    assert any("monitors[0].current.table" in line for line in lines), err
    assert any("monitors[0].reference.table" in line for line in lines), err
    # and when valid, the ok line does not show it either
    config.write_text(config.read_text().replace('query = "select 1"\n', "").replace(
        '[monitors.reference]', 'table = "cur"\n[monitors.reference]'))
    code, out, err = run(capsys, "validate", str(config))
    assert code == 0, err
    assert secret not in out + err


def test_validate_without_a_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate")
    assert code == 2
    assert_one_line_error(err, "validate")


def test_validate_unknown_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text(EXAMPLE.read_text() + '\n[alertz]\nx = 1\n')
    code, _, err = run(capsys, "validate", str(config))
    assert code == 2
    assert_one_line_error(err, str(config), "alertz", "unknown section")


# -- init -----------------------------------------------------------------------------------


def test_init_writes_a_valid_config_and_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "init")
    assert code == 0 and "config.toml" in out
    target = tmp_path / "config.toml"
    assert target.read_text() == EXAMPLE.read_text()
    assert run(capsys, "validate", "config.toml")[0] == 0

    target.write_text("# mine\n")
    code, _, err = run(capsys, "init")
    assert code == 2
    assert_one_line_error(err, "config.toml", "--force")
    assert target.read_text() == "# mine\n"

    assert run(capsys, "init", "--force")[0] == 0
    assert target.read_text() == EXAMPLE.read_text()


def test_init_to_a_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "dw.toml"
    assert run(capsys, "init", str(target))[0] == 0
    code, out, err = run(capsys, "validate", str(target))
    assert code == 0, err


def test_init_into_a_missing_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "no" / "such" / "config.toml"
    code, _, err = run(capsys, "init", str(target))
    assert code == 2
    assert_one_line_error(err, str(target))


def test_init_force_onto_a_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "init", str(tmp_path), "--force")
    assert code == 2
    assert_one_line_error(err, str(tmp_path))


# -- usage ----------------------------------------------------------------------------------


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "frobnicate" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["check", "--format", "xml"])
    assert exc.value.code == 2


def test_console_script_is_installed(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("driftwatch")
    if not script.exists():
        pytest.skip(f"no driftwatch console script next to {sys.executable}")
    done = subprocess.run([str(script), "validate", str(tmp_path / "nope.toml")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "nope.toml")

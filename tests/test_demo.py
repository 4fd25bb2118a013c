"""``driftwatch demo``: seeded data, a config, seven stored runs, and the drift it promises.

README: "From day 3 on, ``income``, ``region`` and ``employment`` drift; the other columns do
not." The demo runs once per module (about 2 s); each test reads what it wrote.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from driftwatch.cli import main
from driftwatch.model import Result
from driftwatch.store import RunRecord, Store

REPO = Path(__file__).resolve().parents[1]
MONITOR = "credit-model"
STEADY = ("age", "credit_score", "loan_amount")


@dataclass(frozen=True)
class Demo:
    directory: Path
    code: int
    out: str
    err: str
    runs: list[RunRecord]  # oldest first
    results: list[Result]

    def of(self, run: RunRecord) -> list[Result]:
        return [r for r in self.results if r.run_id == run.id]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp("demo") / "out"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["demo", "--dir", str(directory)])
    with Store(f"sqlite:///{directory / 'driftwatch.db'}") as store:
        runs = sorted(store.runs(MONITOR), key=lambda r: r.window_start)
        results = store.results(monitor=MONITOR)
    yield Demo(directory, code, out.getvalue(), err.getvalue(), runs, results)


def test_demo_exits_0_and_writes_its_files(demo: Demo) -> None:
    assert demo.code == 0, demo.err
    assert "Traceback" not in demo.err and " ERROR " not in demo.err
    d = demo.directory
    assert (d / "config.toml").read_text() == (REPO / "config.example.toml").read_text()
    assert (d / "data" / "reference.parquet").is_file()
    assert (d / "driftwatch.db").is_file()
    days = sorted(p.name for p in (d / "data" / "current").glob("*.csv"))
    assert days == [f"{r.window_start:%Y-%m-%d}.csv" for r in demo.runs]
    assert len(days) == 7


def summary_rows(out: str) -> list[list[str]]:
    """The cells of the summary's window rows (columns are two or more spaces apart)."""
    return [re.split(r" {2,}", line) for line in out.splitlines() if re.match(r"\d{4}-\d\d-\d\d  ", line)]


def test_demo_prints_a_summary_a_newcomer_reads_at_a_glance(demo: Demo) -> None:
    lines = demo.out.splitlines()
    assert lines[0] == f"{MONITOR}: 7 windows"
    assert re.split(r" {2,}", lines[1]) == ["window", "drifted", "failing quality checks", "performance", "fairness",
                                            "alerts sent"]
    rows = summary_rows(demo.out)
    assert [row[0] for row in rows] == [f"{r.window_start:%Y-%m-%d}" for r in demo.runs]
    assert all(len(line) <= 130 for line in lines[:2 + len(rows)])  # the table fits a terminal
    for row in rows[:2]:  # days 1 and 2 look like the reference
        assert row[1:] == ["-", "-", "-", "-", "0"]
    for row in rows[2:]:
        assert row[1].startswith("income, region") and "employment missing" in row[2] and row[4] == "gender"
    assert not any(f in line for line in rows for f in STEADY)


def test_demo_counts_the_alert_messages_it_sent(demo: Demo) -> None:
    """The demo config routes alerts to the ``log`` channel: one message per run that changed
    something, delivered from the outbox. The summary counts them instead of printing them."""
    from driftwatch.store.outbox import list_outbox

    with Store(f"sqlite:///{demo.directory / 'driftwatch.db'}") as store:
        rows = list_outbox(store.engine)
    assert rows and {(r.target, r.kind, r.state) for r in rows} == {("log", "message", "delivered")}
    sent = {run.id: int(row[-1]) for run, row in zip(demo.runs, summary_rows(demo.out))}
    assert sent == {run.id: sum(r.run_id == run.id for r in rows) for run in demo.runs}
    assert sum(sent.values()) == len(rows) and max(sent.values()) == 1  # one message per run at most
    assert "FIRING" not in demo.err


def test_demo_says_where_to_look_next_and_it_works(demo: Demo, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = demo.directory / "config.toml"
    assert "7 windows checked" in demo.out
    assert f"driftwatch serve --config {config}, then open http://127.0.0.1:8080/" in demo.out
    printed = re.search(r"driftwatch (report --config \S+ --run \d+) -o report\.html", demo.out)
    assert printed is not None and printed.group(1) == f"report --config {config} --run {demo.runs[-1].id}"
    target = tmp_path / "report.html"
    assert main([*printed.group(1).split(), "-o", str(target)]) == 0
    assert "income" in target.read_text(encoding="utf-8")
    capsys.readouterr()


def test_demo_all_prints_every_figure_and_the_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       caplog: pytest.LogCaptureFixture) -> None:
    assert main(["demo", "--dir", str(tmp_path), "--days", "3", "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["monitor", "window", "feature", "method", "value", "p_value", "threshold", "status",
                                "why"]
    with Store(f"sqlite:///{tmp_path / 'driftwatch.db'}") as store:
        stored = store.results(monitor=MONITOR)
    assert sum(line.startswith(MONITOR) for line in lines) == len(stored)  # ok quality figures too
    drift_rows = [line for line in lines if line.startswith(MONITOR) and (" ks " in line or " psi " in line)]
    assert drift_rows and all(line.endswith(("significant, large enough", "not significant", "under threshold"))
                              for line in drift_rows)
    fired = [r.getMessage() for r in caplog.records if r.name == "driftwatch.alerts"]
    assert len(fired) == 1 and fired[0].startswith("[driftwatch] FIRING credit-model")  # day 3


def test_seven_succeeded_daily_runs(demo: Demo) -> None:
    assert [r.status for r in demo.runs] == ["succeeded"] * 7
    assert all(r.window_end - r.window_start == demo.runs[0].window_end - demo.runs[0].window_start
               for r in demo.runs)
    assert [r.window_start for r in demo.runs[1:]] == [r.window_end for r in demo.runs[:-1]]
    assert {r.rows_reference for r in demo.runs} == {5000}
    assert {r.rows_current for r in demo.runs} == {1000}


def test_no_drift_alert_on_days_1_and_2(demo: Demo) -> None:
    for run in demo.runs[:2]:
        results = demo.of(run)
        assert results
        assert [(r.feature, r.metric) for r in results if r.status == "alert"] == []


@pytest.mark.parametrize("index", range(2, 7))
def test_drift_from_day_3_on(demo: Demo, index: int) -> None:
    results = demo.of(demo.runs[index])
    drift = {r.feature: r.status for r in results if r.detector == "drift"}
    assert drift["income"] == "alert"
    assert drift["region"] == "alert"
    missing = {r.feature: r.status for r in results if r.metric == "missing_share"}
    assert missing["employment"] == "alert"


def test_steady_columns_never_alert(demo: Demo) -> None:
    noisy = [(r.window_start, r.feature, r.metric) for r in demo.results
             if r.feature in STEADY and r.status == "alert"]
    assert noisy == []
    assert {r.feature for r in demo.results if r.feature in STEADY and r.detector == "drift"} == set(STEADY)


def test_check_on_the_demo_config_finds_the_latest_window(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    latest = demo.runs[-1]
    code = main(["check", "--config", str(demo.directory / "config.toml"), "--format", "json",
                 "--at", latest.window_end.isoformat()])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1  # drift persists
    # The latest window, and the one whose labels just became due (label_delay = 2d) again.
    due = demo.runs[-3]
    assert {(r["window_start"], r["window_end"]) for r in rows} == {
        (latest.window_start.isoformat(), latest.window_end.isoformat()),
        (due.window_start.isoformat(), due.window_end.isoformat())}
    latest_rows = [r for r in rows if r["window_start"] == latest.window_start.isoformat()]
    assert {r["feature"] for r in latest_rows if r["status"] == "alert"} >= {"income", "region", "employment"}
    with Store(f"sqlite:///{demo.directory / 'driftwatch.db'}") as store:
        runs = store.runs(MONITOR)
    assert len(runs) == 9
    assert (runs[0].window_start, runs[0].attempt, runs[0].status) == (latest.window_start, 2, "succeeded")
    assert (runs[1].window_start, runs[1].attempt, runs[1].status) == (due.window_start, 2, "succeeded")
    assert {r["run_id"] for r in rows} == {runs[0].id, runs[1].id}


def test_check_without_at_takes_yesterday(demo: Demo) -> None:
    """``check`` on the demo's config takes its latest window: yesterday, UTC."""
    latest = demo.runs[-1]
    if datetime.now(timezone.utc) >= latest.window_end + timedelta(days=1):
        pytest.skip("the UTC day changed since the demo ran")
    done = subprocess.run([sys.executable, "-m", "driftwatch.cli", "check", "--config",
                           str(demo.directory / "config.toml")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{latest.window_start:%Y-%m-%d}" in done.stdout


def test_demo_days_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dir", str(tmp_path), "--days", "0"]) == 2
    assert "--days" in capsys.readouterr().err
    assert not (tmp_path / "config.toml").exists()


def test_demo_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    done = subprocess.run([sys.executable, "-m", "driftwatch.cli", "demo", "--dir", str(target)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and str(target) in done.stderr

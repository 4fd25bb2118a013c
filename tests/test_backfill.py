"""``driftwatch backfill`` and ``driftwatch db upgrade`` (R35): exit codes, messages and what the
store holds afterwards. Real files and a SQLite store in ``tmp_path``; ``main([...])`` in-process,
plus ``db upgrade`` through the installed console script, on SQLite and (when configured)
PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from driftwatch.cli import main
from driftwatch.store import Store
from driftwatch.store.migrate import head

UTC = timezone.utc
DRIFTWATCH = str(Path(sys.executable).with_name("driftwatch"))

MONITOR = """
[[monitors]]
name = "{name}"
window = "1h"
schedule = "1h"
[monitors.schema]
numeric = ["x"]
categorical = ["c"]
[monitors.current]
type = "file"
path = "data.csv"
timestamp_column = "ts"
[monitors.reference]
type = "file"
path = "ref.csv"
[[monitors.detectors]]
type = "drift"
"""


def write_project(folder: Path, url: str | None = None, names: tuple[str, ...] = ("hourly", "other")) -> Path:
    rng = np.random.default_rng(3)
    pd.DataFrame({"x": rng.uniform(0, 10, 300).round(3), "c": rng.choice(["a", "b"], 300)}).to_csv(
        folder / "ref.csv", index=False)
    stamps = [datetime(2026, 11, 1, tzinfo=UTC) + k * timedelta(minutes=10) for k in range(6 * 24)]
    pd.DataFrame({"ts": [s.isoformat() for s in stamps], "x": rng.uniform(0, 10, len(stamps)).round(3),
                  "c": rng.choice(["a", "b"], len(stamps))}).to_csv(folder / "data.csv", index=False)
    url = url or f"sqlite:///{folder / 'dw.db'}"
    text = f'[store]\nurl = "{url}"\n' + "".join(MONITOR.format(name=n) for n in names)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_project(tmp_path)


def runs_of(config: Path, monitor: str = "hourly") -> list[tuple[datetime, datetime, int, str]]:
    with Store(f"sqlite:///{config.parent / 'dw.db'}") as store:
        return sorted((r.window_start, r.window_end, r.attempt, r.status) for r in store.runs(monitor, limit=1000))


SIX = [(datetime(2026, 11, 1, h, tzinfo=UTC), datetime(2026, 11, 1, h + 1, tzinfo=UTC)) for h in range(6)]


def test_backfill_runs_every_window_once(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "backfill", "--config", str(config), "--monitor", "hourly",
                         "--from", "2026-11-01", "--to", "2026-11-01T06:00")
    assert code == 0, err
    assert "6 window(s) run, 0 already succeeded, 0 failed" in out
    assert runs_of(config) == [(s, e, 1, "succeeded") for s, e in SIX]
    assert runs_of(config, "other") == []
    with Store(f"sqlite:///{config.parent / 'dw.db'}") as store:
        assert all(store.results(run_id=r.id) for r in store.runs("hourly"))


def test_backfill_again_skips_succeeded_windows_and_force_reruns_them(config: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    args = ("backfill", "--config", str(config), "--monitor", "hourly", "--from", "2026-11-01T00:00:00Z",
            "--to", "2026-11-01T06:00:00Z")
    assert run(capsys, *args)[0] == 0
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert "0 window(s) run, 6 already succeeded" in out
    assert len(runs_of(config)) == 6
    # a wider range runs only the new windows
    code, out, _ = run(capsys, *args[:-1], "2026-11-01T08:00:00Z")
    assert code == 0 and "2 window(s) run, 6 already succeeded" in out
    assert len(runs_of(config)) == 8
    code, out, _ = run(capsys, *args, "--force")
    assert code == 0
    assert "6 window(s) run, 0 already succeeded, 0 failed" in out
    rows = runs_of(config)
    assert [r for r in rows if r[2] == 2] == [(s, e, 2, "succeeded") for s, e in SIX]
    assert len(rows) == 14


def test_backfill_unknown_monitor_exits_2_naming_the_configured_ones(config: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "backfill", "--config", str(config), "--monitor", "nope",
                         "--from", "2026-11-01", "--to", "2026-11-02")
    assert code == 2
    assert "nope" in err and "hourly" in err and "other" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("start", "end"), [("2026-11-02", "2026-11-01"), ("2026-11-01", "2026-11-01")])
def test_backfill_to_not_after_from_exits_2(config: Path, capsys: pytest.CaptureFixture[str],
                                            start: str, end: str) -> None:
    code, _, err = run(capsys, "backfill", "--config", str(config), "--monitor", "hourly", "--from", start, "--to", end)
    assert code == 2
    assert "--to" in err and "--from" in err
    assert not (config.parent / "dw.db").exists() or runs_of(config) == []


def test_backfill_bad_date_exits_2(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "backfill", "--config", str(config), "--monitor", "hourly",
                       "--from", "yesterday", "--to", "2026-11-02")
    assert code == 2
    assert "yesterday" in err


def test_backfill_failed_windows_exit_2_naming_the_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_project(tmp_path)
    (tmp_path / "data.csv").rename(tmp_path / "later.csv")
    code, out, err = run(capsys, "backfill", "--config", str(config), "--monitor", "hourly",
                         "--from", "2026-11-01", "--to", "2026-11-01T02:00")
    assert code == 2
    assert "2 window(s) run, 0 already succeeded, 2 failed" in out
    assert "no file matches" in err
    assert [r[3] for r in runs_of(config)] == ["failed", "failed"]


def test_backfill_reruns_failed_windows_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_project(tmp_path)
    (tmp_path / "data.csv").rename(tmp_path / "later.csv")
    args = ("backfill", "--config", str(config), "--monitor", "hourly", "--from", "2026-11-01",
            "--to", "2026-11-01T02:00")
    assert run(capsys, *args)[0] == 2
    (tmp_path / "later.csv").rename(tmp_path / "data.csv")
    code, out, _ = run(capsys, *args)
    assert code == 0 and "0 failed" in out
    # only "already succeeded" windows are skipped (issue 4), so the failed ones run again
    succeeded = sorted((r[0], r[1]) for r in runs_of(config) if r[3] == "succeeded")
    assert succeeded == SIX[:2]


# -- R35: db upgrade ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_r35_db_upgrade_twice_exits_0_and_prints_the_head_revision(tmp_path: Path, backend: str,
                                                                   request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres_database") if backend == "postgresql" else None
    config = write_project(tmp_path, url)
    for _ in range(2):
        proc = subprocess.run([DRIFTWATCH, "db", "upgrade", "--config", str(config)], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"database at revision {head()}"
        assert "Traceback" not in proc.stderr
    engine = sa.create_engine(url or f"sqlite:///{tmp_path / 'dw.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() == [head()]
            assert set(sa.inspect(conn).get_table_names()) >= {"runs", "results", "reference_profiles"}
    finally:
        engine.dispose()

"""The soak, short and seeded (``bench/soak.py --quick``, issue 12 "Keep it proven").

About 45 s of real ``driftwatch run`` replicas — 2 on a fresh PostgreSQL database when
``DRIFTWATCH_TEST_POSTGRES_URL`` is set, else 1 on SQLite — with 6-second windows that drift and
come back, runs held past their 4-second lease, a SIGKILL every 6-10 s aimed mid-run or mid-send
(and a restart), a receiver verifying every webhook signature, then a clean stop. The bench's own
table is asserted: no window lost, doubled or left running, no event missing, extra or different
from replaying the stored results through the alert state machine, no bad signature. Duplicate
deliveries with one webhook-id are allowed (at-least-once).

The bench is imported, not copied: what the suite checks is what ``python bench/soak.py`` runs.
"""

from __future__ import annotations

import importlib
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import pytest

from driftwatch.config import load
from driftwatch.webhooks import message_id

from .conftest import PG_ENV

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_bench(monkeypatch: pytest.MonkeyPatch, name: str = "soak") -> ModuleType:
    """A module of the soak bench, imported as ``python bench/soak.py`` imports its parts: with
    ``bench/`` first on ``sys.path`` (``soak`` is the script, ``soak_*`` the modules beside it)."""
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module(name)


@pytest.mark.acceptance
def test_soak_short_seeded_kills_lose_nothing(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    soak = load_bench(monkeypatch)
    url = os.environ.get(PG_ENV)
    store = ["--store", "postgres", "--replicas", "2", "--postgres-url", url] if url else ["--store", "sqlite"]
    settings = soak.parse_args(["--quick", "--seed", "3", *store])
    report = soak.run(settings)
    table = report.table()
    with capsys.disabled():
        print(f"\n{table}")
    assert report.missed() == [], table
    assert sum(report.kills.values()) >= 2, table
    assert report.windows_expected >= 8 and report.succeeded >= 6, table
    assert report.events_expected >= 3 and report.delivered == report.events_expected, table


def test_replay_names_the_events_evaluate_queues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bench's replay alone, on a monitor that fires after two breaching runs and retrains on
    the second: two breaches, a failed run (run.failed only; the alert stays firing), one clean
    run (still firing), a second (resolved)."""
    soak_replay = load_bench(monkeypatch, "soak_replay")
    (tmp_path / "ref.csv").write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "config.toml").write_text(
        '[[monitors]]\nname = "m"\nwindow = "1m"\n[monitors.current]\ntype = "file"\npath = "ref.csv"\n'
        '[monitors.reference]\ntype = "file"\npath = "ref.csv"\n[monitors.alerts]\nfor_runs = 2\n'
        'keep_firing_runs = 2\n[monitors.retrain]\non = ["drift.drift_share"]\nfor_runs = 2\n', encoding="utf-8")
    monitor = load(tmp_path / "config.toml").monitors[0]
    t0, minute = datetime(2026, 12, 1, tzinfo=timezone.utc), timedelta(minutes=1)

    def judged(k: int, status: str | None) -> object:
        figures = () if status is None else (soak_replay.Figure("drift", "", "drift_share", status, 0.9, 0.5),)
        return soak_replay.Judged(k, "m", t0 + k * minute, t0 + (k + 1) * minute, t0 + (k + 1) * minute,
                                  "boom" if status is None else None, figures)

    runs = [judged(k, s) for k, s in enumerate(["alert", "alert", None, "ok", "ok"])]
    events, states = soak_replay.replay(monitor, runs)
    assert [(e.run_id, e.type) for e in events] == [
        (1, "alert.firing"), (1, "retrain.requested"), (2, "run.failed"), (4, "alert.resolved")]
    assert [e.id for e in events][0] == message_id("m", t0 + minute, "alert.firing")
    # drift_share resolved by the last run; run_failed resolved by the first good one, ok since
    assert sorted(states.values()) == ["ok", "resolved"]

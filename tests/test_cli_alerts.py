"""The alerting commands through ``driftwatch.cli.main``: ``silence``, ``outbox list|retry`` and
``run --no-dispatcher``. Exit 0 on success, 2 with one line and no traceback otherwise (STYLE: CLI
tests check exit code and message)."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from driftwatch.alerts.dispatcher import Dispatcher
from driftwatch.cli import main
from driftwatch.config import load
from driftwatch.store import Store
from driftwatch.store import alerts as store_alerts
from driftwatch.store import outbox as store_outbox
from driftwatch.webhooks import verify

UTC = timezone.utc
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KEY = "msg_0123456789abcdef0123456789abcdef"


class Sink:
    """A webhook receiver on 127.0.0.1 that verifies each request and records its webhook-id."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.verified: list[bool] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                try:
                    verify(SECRET, dict(self.headers), body)
                    sink.verified.append(True)
                except Exception:
                    sink.verified.append(False)
                sink.ids.append(self.headers["webhook-id"])
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    made = Sink()
    yield made
    made.close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "driftwatch.toml"
    path.write_text(f"""\
[store]
url = "sqlite:///{tmp_path / 'dw.db'}"

[alerts]
delivery_deadline = "6h"

[channels.log]
type = "log"

[webhooks.sink]
url = "http://127.0.0.1:9/placeholder"
secret = "{SECRET}"

[[monitors]]
name = "churn"
window = "1d"
[monitors.current]
type = "file"
path = "cur.csv"
[monitors.reference]
type = "file"
path = "ref.csv"
""", encoding="utf-8")
    return path


def point_sink(config: Path, sink: Sink) -> None:
    config.write_text(config.read_text().replace("http://127.0.0.1:9/placeholder", sink.url), encoding="utf-8")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# -- silence ------------------------------------------------------------------------------------


def test_R7_silence_create_list_and_expire(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = datetime.now(UTC)
    code, out, err = run(capsys, "silence", "--config", str(config), "--monitor", "churn", "--feature", "age",
                         "--for", "4h", "--reason", "retraining in progress", "--by", "alice")
    after = datetime.now(UTC)
    assert (code, err) == (0, "")
    match = re.fullmatch(r"silence (\d+): churn until (\S+)\n", out)
    assert match, out
    silence_id = int(match[1])
    until = datetime.fromisoformat(match[2])
    assert before + timedelta(hours=4) <= until <= after + timedelta(hours=4)

    settings = load(config)
    with Store(settings.store.url.reveal()) as store:
        [stored] = store_alerts.list_silences(store.engine)
    assert (stored.id, stored.monitor, stored.feature, stored.detector, stored.metric) == (
        silence_id, "churn", "age", None, None)
    assert (stored.created_by, stored.comment, stored.ends_at) == ("alice", "retraining in progress", until)
    assert stored.state(datetime.now(UTC)) == "active"

    code, out, err = run(capsys, "silence", "--config", str(config), "--list")
    assert (code, err) == (0, "")
    [line] = out.splitlines()
    assert line.split("\t") == [str(silence_id), "active", "monitor=churn feature=age", f"until {until.isoformat()}",
                                "alice: retraining in progress"]

    code, out, err = run(capsys, "silence", "--config", str(config), "--expire", str(silence_id))
    assert (code, err) == (0, "") and out.startswith(f"silence {silence_id} ended at ")
    code, out, err = run(capsys, "silence", "--config", str(config), "--list")
    assert (code, out, err) == (0, "", "")
    with Store(settings.store.url.reveal()) as store:
        [ended] = store_alerts.list_silences(store.engine)
    assert ended.state(datetime.now(UTC)) == "expired"  # kept for the record


@pytest.mark.parametrize(("args", "expected"), [
    (["--monitor", "ghost", "--for", "4h", "--reason", "x"], "--monitor: unknown monitor 'ghost' (configured: churn)"),
    (["--monitor", "churn", "--for", "4 hours", "--reason", "x"], "--for: invalid duration '4 hours'"),
    (["--monitor", "churn", "--for", "0h", "--reason", "x"], "--for: invalid duration '0h'"),
    (["--monitor", "churn", "--for", "4h"], "silence: give --monitor, --for and --reason"),
    (["--monitor", "churn", "--reason", "x"], "silence: give --monitor, --for and --reason"),
    (["--expire", "4242"], "--expire: no silence with id 4242"),
], ids=["unknown-monitor", "bad-duration", "zero-duration", "missing-reason", "missing-for", "unknown-id"])
def test_R7_silence_errors_exit_2_with_one_line_and_create_nothing(
        args: list[str], expected: str, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "silence", "--config", str(config), *args)
    assert code == 2 and out == ""
    assert expected in one_line_error(err)
    with Store(load(config).store.url.reveal()) as store:
        assert store_alerts.list_silences(store.engine) == []


def test_R7_silence_with_an_invalid_config_exits_2_naming_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[alerts]\nfor_runs = 0\n", encoding="utf-8")
    code, out, err = run(capsys, "silence", "--config", str(bad), "--list")
    assert code == 2 and out == ""
    assert one_line_error(err) == f"{bad}:2: alerts.for_runs: must be an integer >= 1, got 0"


# -- outbox list / retry ----------------------------------------------------------------------------


def dead_row(config: Path) -> int:
    """Queue one signed event for ``sink`` and let it die (410), as a dispatcher would."""
    settings = load(config)
    now = datetime.now(UTC)
    with Store(settings.store.url.reveal()) as store:
        store.create_all()
        with store.engine.begin() as conn:
            assert store_outbox.enqueue(conn, kind="event", target="sink", monitor="churn", run_id=3,
                                        event_type="run.failed", key=KEY, payload='{"type": "run.failed"}', now=now,
                                        deadline=timedelta(hours=24))
            assert store_outbox.enqueue(conn, kind="message", target="log", monitor="churn", run_id=3, event_type=None,
                                        key="msg_log_1", payload="{}", now=now, deadline=timedelta(hours=24))
        [row] = store_outbox.claim(store.engine, owner="cli-test", now=now, lease=timedelta(minutes=5),
                                   skip_targets={"log"})
        gone = store_outbox.Attempt(attempt=1, at=now, outcome="dead", status="410", error="POST to 127.0.0.1: HTTP 410 Gone",
                                    latency_ms=3.0, request=row.payload)
        assert store_outbox.finish_attempt(store.engine, row, owner="cli-test", attempt=gone, next_attempt_at=None)
        return row.id


def test_R17_outbox_list_shows_rows_and_filters_dead(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    row_id = dead_row(config)
    code, out, err = run(capsys, "outbox", "list", "--config", str(config), "--state", "dead")
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split("\t")[:3] == ["id", "state", "target"]
    [line] = rows
    fields = line.split("\t")
    assert fields[:6] == [str(row_id), "dead", "sink", "churn", "run.failed", "1"]
    assert fields[6:] == ["-", "410", "POST to 127.0.0.1: HTTP 410 Gone"]

    code, out, err = run(capsys, "outbox", "list", "--config", str(config))
    assert code == 0
    assert sorted(line.split("\t")[1] for line in out.splitlines()[1:]) == ["dead", "pending"]
    code, out, err = run(capsys, "outbox", "list", "--config", str(config), "--state", "delivered")
    assert code == 0 and out.splitlines()[1:] == []


def test_R17_outbox_retry_requeues_a_dead_row_and_the_dispatcher_resends_it_with_the_same_webhook_id(
        config: Path, sink: Sink, capsys: pytest.CaptureFixture[str]) -> None:
    point_sink(config, sink)
    row_id = dead_row(config)
    before = datetime.now(UTC)
    code, out, err = run(capsys, "outbox", "retry", str(row_id), "--config", str(config))
    assert (code, err) == (0, "")
    assert out.strip() == f"outbox {row_id} queued again for sink (webhook-id {KEY})"

    code, out, _ = run(capsys, "outbox", "list", "--config", str(config), "--state", "dead")
    assert code == 0 and out.splitlines()[1:] == []
    code, out, _ = run(capsys, "outbox", "list", "--config", str(config), "--state", "pending")
    assert str(row_id) in [line.split("\t")[0] for line in out.splitlines()[1:]]

    settings = load(config)
    with Store(settings.store.url.reveal()) as store:
        again = store_outbox.get(store.engine, row_id)
        assert again is not None and again.state == "pending" and again.key == KEY
        assert before - timedelta(seconds=1) <= again.next_attempt_at <= datetime.now(UTC)
        assert again.deadline_at - again.next_attempt_at == timedelta(hours=6)  # [alerts] delivery_deadline
        dispatcher = Dispatcher(store, settings.channels, settings.webhooks, owner="cli-test-2",
                                rng=random.Random(1))
        try:
            outcomes = dispatcher.run_once(wait=True)
        finally:
            dispatcher.close()
        assert {(o.row_id, o.outcome) for o in outcomes if o.target == "sink"} == {(row_id, "delivered")}
        assert store_outbox.get(store.engine, row_id).state == "delivered"  # type: ignore[union-attr]
    assert sink.ids == [KEY] and sink.verified == [True]


@pytest.mark.parametrize(("args", "expected"), [
    (["retry", "999"], "outbox retry: no outbox row with id 999"),
    (["retry"], "outbox retry: give the outbox id"),
    (["list", "--limit", "0"], "--limit: must be >= 1"),
], ids=["unknown-id", "no-id", "bad-limit"])
def test_R17_outbox_errors_exit_2_with_one_line(args: list[str], expected: str, config: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "outbox", *args, "--config", str(config))
    assert code == 2
    assert expected in one_line_error(err)
    assert "id\tstate" not in out


# -- run --no-dispatcher --------------------------------------------------------------------------


@pytest.mark.parametrize("flag", [[], ["--no-dispatcher"]], ids=["default", "no-dispatcher"])
def test_R28_run_no_dispatcher_starts_a_daemon_that_sends_nothing(
        flag: list[str], config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import driftwatch.scheduler as scheduler

    seen: dict[str, Any] = {}

    def serve_forever(self: Any, **kwargs: Any) -> int:
        seen["dispatcher"] = self.dispatcher
        seen["web"] = self.web
        if self.dispatcher is not None:
            self.dispatcher.close()
        return 0

    monkeypatch.setattr(scheduler.Daemon, "serve_forever", serve_forever)
    assert main(["run", "--config", str(config), "--no-web", *flag]) == 0
    assert seen["web"] is False
    if flag:
        assert seen["dispatcher"] is None
    else:
        assert isinstance(seen["dispatcher"], Dispatcher)
        assert sorted(seen["dispatcher"].webhooks) == ["sink"] and sorted(seen["dispatcher"].channels) == ["log"]

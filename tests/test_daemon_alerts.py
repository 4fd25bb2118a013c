"""The outbox across a ``kill -9``: every queued webhook is delivered after a restart, and a
receiver that deduplicates by ``webhook-id`` acts on each exactly once.

A real ``driftwatch run`` process with 1-second windows whose current data is missing, so every
run fails and queues one signed ``run.failed`` event for the subscription. The receiver, on
127.0.0.1, verifies each signature and answers slowly, so the daemon is killed while a delivery
is in flight; the restarted daemon takes the leased rows over once ``daemon.lease`` expires.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftwatch.store import Store
from driftwatch.store.outbox import list_outbox
from driftwatch.webhooks import WebhookVerificationError, verify

from .conftest import wait_for

DRIFTWATCH = str(Path(sys.executable).with_name("driftwatch"))
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver:
    """A webhook receiver that verifies signatures, answers 200 after ``delay`` seconds and
    deduplicates by ``webhook-id``: ``processed`` holds the events it acted on."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received: list[tuple[str, bytes]] = []
        self.processed: dict[str, dict[str, Any]] = {}
        self.rejected: list[str] = []
        self.in_flight = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    event = verify(SECRET, dict(self.headers), body)
                except WebhookVerificationError as exc:
                    receiver.rejected.append(str(exc))
                    self.send_response(401)
                    self.end_headers()
                    return
                msg_id = self.headers["webhook-id"]
                receiver.received.append((msg_id, body))
                receiver.in_flight.set()
                time.sleep(receiver.delay)
                receiver.processed.setdefault(msg_id, event)  # dedupe: act on the first copy only
                self.send_response(200)
                self.end_headers()
                receiver.in_flight.clear()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(delay=0.8)
    yield made
    made.close()


def write_project(folder: Path, url: str) -> Path:
    rng = np.random.default_rng(3)
    pd.DataFrame({"x": rng.uniform(0, 10, 100), "c": rng.choice(["a", "b"], 100)}).to_csv(folder / "ref.csv",
                                                                                          index=False)
    config = folder / "config.toml"
    config.write_text(f"""
[store]
url = "sqlite:///{folder / 'dw.db'}"
[daemon]
lease = "3s"
[alerts]
dispatch_interval = "1s"
[webhooks.sink]
url = "{url}"
secret = "{SECRET}"
events = ["run.failed"]
[[monitors]]
name = "broken"
window = "1s"
schedule = "1s"
max_catchup = 1000
[monitors.schema]
numeric = ["x"]
categorical = ["c"]
[monitors.current]
type = "file"
path = "missing/*.csv"
[monitors.reference]
type = "file"
path = "ref.csv"
""", encoding="utf-8")
    with Store(f"sqlite:///{folder / 'dw.db'}") as store:
        store.create_all()
    return config


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:
        return subprocess.Popen([DRIFTWATCH, "run", "--config", str(config), "--no-web"],
                                stdout=subprocess.DEVNULL, stderr=handle)


def test_kill_9_with_deliveries_pending_then_restart_delivers_every_event_once_per_webhook_id(
        tmp_path: Path, receiver: Receiver) -> None:
    config = write_project(tmp_path, receiver.url)
    store = Store(f"sqlite:///{tmp_path / 'dw.db'}")
    first = start(config, tmp_path / "first.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        wait_for(lambda: len(receiver.processed) >= 2 and len(list_outbox(store.engine)) >= 4, 30,
                 "a few failed runs queued and delivered")
        receiver.in_flight.clear()
        wait_for(receiver.in_flight.is_set, 15, "a delivery in flight")
        first.kill()  # SIGKILL while the receiver holds a request: its row stays leased
        first.wait()
        queued_before_kill = {row.key for row in list_outbox(store.engine)}
        assert any(row.state == "pending" for row in list_outbox(store.engine)), "nothing was pending at the kill"

        second = start(config, tmp_path / "second.log")
        wait_for(lambda: queued_before_kill <= set(receiver.processed), 60,
                 "every event queued before the kill to be delivered after the restart")
        wait_for(lambda: all(row.state == "delivered" for row in list_outbox(store.engine)
                             if row.key in queued_before_kill), 20, "those rows to be marked delivered")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        store.dispose()

    assert receiver.rejected == []  # every request carried a valid signature
    copies = Counter(msg_id for msg_id, _ in receiver.received)
    # Resent rows (the one in flight at the kill) carry the same id and the same bytes, so the
    # receiver's deduplication by webhook-id is sound; nothing was lost.
    for msg_id in copies:
        bodies = {body for mid, body in receiver.received if mid == msg_id}
        assert len(bodies) == 1, f"{msg_id} was resent with different bytes"
    # The delivery in flight at the kill was never recorded, so it is sent again: exactly the
    # case the stable webhook-id exists for.
    assert 1 <= sum(count - 1 for count in copies.values()) <= 2, copies
    assert {event["type"] for event in receiver.processed.values()} == {"run.failed"}
    windows = [json.dumps(event["data"]["window"], sort_keys=True) for event in receiver.processed.values()]
    assert len(windows) == len(set(windows)), "one run.failed event per window"

"""The dispatcher against real peers on 127.0.0.1 with an injected clock (R15–R17, R20, R23, R28).

Rows are queued with ``driftwatch.store.outbox.enqueue`` into a SQLite file (PostgreSQL for the
SKIP LOCKED test) and sent by ``Dispatcher.run_once``. The clock is a value the test moves past
each row's ``next_attempt_at``, and the dispatcher's ``rng`` is seeded, so a mirror
``random.Random`` with the same seed predicts every backoff exactly: nothing sleeps for backoff.

Peers: a webhook receiver (``ThreadingHTTPServer``) that checks each Standard Webhooks signature
with ``driftwatch.webhooks.verify``, a stand-in for Slack's Web API driven by the real
``slack_sdk``, and an ``aiosmtpd`` server that refuses every recipient.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from driftwatch.alerts.channels import Delivery
from driftwatch.alerts.channels.email import EmailChannel
from driftwatch.alerts.channels.slack import SlackChannel
from driftwatch.alerts.channels.webhook import WebhookSubscription
from driftwatch.alerts.dispatcher import BACKOFF, Dispatcher, backoff
from driftwatch.alerts.message import Item, Message
from driftwatch.model import Window
from driftwatch.secrets import Secret
from driftwatch.store import Store
from driftwatch.store import outbox as store_outbox
from driftwatch.store.outbox import OutboxRow, enqueue
from driftwatch.webhooks import verify

from ..conftest import free_port

UTC = timezone.utc
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
URL_TOKEN = "URLT0K3N-do-not-log"
SLACK_TOKEN = "xoxb-1234-dispatcher-token-do-not-print"
WINDOW = Window(datetime(2026, 11, 1, 9, tzinfo=UTC), datetime(2026, 11, 1, 10, tzinfo=UTC))
MS = timedelta(milliseconds=1)


# -- a clock the test moves --------------------------------------------------------------------


class Clock:
    """The dispatcher's ``clock``: starts at the current second, moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.fromtimestamp(int(time.time()), UTC)

    def __call__(self) -> datetime:
        return self.now


# -- a webhook receiver ------------------------------------------------------------------------


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes
    verified: bool
    wall: float  # time.time() when it arrived


@dataclass
class Receiver:
    """Answers from ``answers`` (``(status, headers)``, or a float: hold the request that many
    seconds), then ``default``; records every request and whether its signature verified."""

    default: tuple[int, dict[str, str]] = (200, {})
    answers: list[tuple[int, dict[str, str]] | float] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    base: str = ""
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"{self.base}/hook/{URL_TOKEN}"

    def ids(self) -> Counter[str]:
        return Counter(r.headers["webhook-id"] for r in self.requests)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                verify(SECRET, headers, body)
                verified = True
            except Exception:
                verified = False
            with receiver.lock:
                receiver.requests.append(Request(headers, body, verified, time.time()))
                answer = receiver.answers.pop(0) if receiver.answers else receiver.default
            if isinstance(answer, float):
                receiver.stop.wait(answer)
                answer = receiver.default
            code, extra = answer
            try:
                self.send_response(code)
                for name, value in {"content-length": "2", **extra}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the client timed out and hung up

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """Start receivers on 127.0.0.1: ``receiver(default=(500, {}), answers=[...])``."""
    started: list[tuple[Receiver, QuietServer, threading.Thread]] = []

    def start(**kwargs: Any) -> Receiver:
        holder = Receiver(**kwargs)
        server = QuietServer(("127.0.0.1", 0), _handler(holder))
        holder.base = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        thread.start()
        started.append((holder, server, thread))
        return holder

    yield start
    for holder, server, thread in started:
        holder.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- store, dispatcher and queued rows ----------------------------------------------------------


@pytest.fixture
def store(tmp_path: Any) -> Iterator[Store]:
    made = Store(f"sqlite:///{tmp_path / 'dw.db'}")
    made.create_all()
    yield made
    made.dispose()


@pytest.fixture
def dispatchers() -> Iterator[Callable[..., Dispatcher]]:
    made: list[Dispatcher] = []

    def make(store: Store, channels: dict[str, Any] | None = None, webhooks: dict[str, Any] | None = None,
             **kwargs: Any) -> Dispatcher:
        kwargs.setdefault("owner", "test-dispatcher")
        dispatcher = Dispatcher(store, channels or {}, webhooks or {}, **kwargs)
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        dispatcher.close(wait=True)


def event_payload(key: str, pad: int = 0) -> str:
    return json.dumps({"type": "run.failed", "id": key, "timestamp": "2026-11-01T10:00:05Z",
                       "data": {"monitor": "churn", "run_id": 7, "reason": "boom", "pad": "x" * pad}})


def queue(store: Store, target: str, *, now: datetime, n: int = 1, kind: str = "event", payload: str | None = None,
          deadline: timedelta = timedelta(hours=24), prefix: str = "msg") -> list[OutboxRow]:
    """Queue ``n`` rows for ``target``; their keys are ``{prefix}_{target}_{i}``."""
    keys = [f"{prefix}_{target}_{i:04d}" for i in range(n)]
    with store.engine.begin() as conn:
        for key in keys:
            assert enqueue(conn, kind=kind, target=target, monitor="churn", run_id=7,
                           event_type="run.failed" if kind == "event" else None, key=key,
                           payload=payload if payload is not None else event_payload(key), now=now, deadline=deadline)
    rows = {row.key: row for row in store_outbox.list_outbox(store.engine, limit=100_000) if row.target == target}
    return [rows[key] for key in keys]


def row(store: Store, row_id: int) -> OutboxRow:
    found = store_outbox.get(store.engine, row_id)
    assert found is not None
    return found


def subscription(rx: Receiver, **kwargs: Any) -> WebhookSubscription:
    return WebhookSubscription(url=Secret(rx.url), secret=Secret(SECRET), **kwargs)


def message(key: str = "msg_slack_0001") -> Message:
    return Message(monitor="churn", run_id=7, window=WINDOW, status="firing", reason="first notification",
                   items=(Item("drift", "age", "psi", "alert", "new", value=0.4, threshold=0.2),),
                   report_url="http://dw.local/runs/7", key=key, created_at=datetime(2026, 11, 1, 10, 0, 5, tzinfo=UTC))


def message_payload(key: str) -> str:
    return json.dumps(message(key).to_json())


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


# -- R16/R17/R11: retries on the backoff schedule ----------------------------------------------


def test_R16_R17_R11_500_500_200_is_three_attempts_on_the_backoff_schedule_then_delivered(
        store: Store, receiver: Callable[..., Receiver], dispatchers: Callable[..., Dispatcher]) -> None:
    rx = receiver(answers=[(500, {}), (500, {})])
    clock = Clock()
    dispatcher = dispatchers(store, webhooks={"sink": subscription(rx)}, clock=clock, rng=random.Random(1234))
    mirror = random.Random(1234)  # the same draws as the dispatcher's rng: the exact backoff
    payload = event_payload("msg_sink_0000", pad=3000)
    [queued] = queue(store, "sink", now=clock(), payload=payload)
    attempt_times: list[datetime] = []
    walls: list[tuple[float, float]] = []

    for attempt, base in ((1, 10), (2, 60)):
        attempt_times.append(clock())
        before = time.time()
        [outcome] = dispatcher.run_once(wait=True)
        walls.append((before, time.time()))
        assert (outcome.row_id, outcome.outcome, outcome.status) == (queued.id, "retry", "500")
        now_row = row(store, queued.id)
        assert (now_row.state, now_row.attempts, now_row.last_status) == ("pending", attempt, "500")
        wait = backoff(attempt, rng=mirror)
        assert 0.8 * base <= wait.total_seconds() <= 1.2 * base
        assert abs(now_row.next_attempt_at - (clock() + wait)) <= MS
        # Not due yet: a pass a second early sends nothing.
        clock.now = now_row.next_attempt_at - timedelta(seconds=1)
        assert dispatcher.run_once(wait=True) == []
        assert len(rx.requests) == attempt
        clock.now = now_row.next_attempt_at + MS

    attempt_times.append(clock())
    before = time.time()
    [outcome] = dispatcher.run_once(wait=True)
    walls.append((before, time.time()))
    assert (outcome.outcome, outcome.status) == ("delivered", "200")
    done = row(store, queued.id)
    assert (done.state, done.attempts, done.delivered_at) == ("delivered", 3, clock())
    clock.now += timedelta(days=2)
    assert dispatcher.run_once(wait=True) == [] and len(rx.requests) == 3  # exactly 3 attempts

    # R17: every attempt logged with time, status/error, latency and the first kilobyte sent.
    log = store_outbox.attempts(store.engine, queued.id)
    assert [a.attempt for a in log] == [1, 2, 3]
    assert [a.outcome for a in log] == ["retry", "retry", "delivered"]
    assert [a.status for a in log] == ["500", "500", "200"]
    assert [abs(a.at - t) <= MS for a, t in zip(log, attempt_times)] == [True] * 3
    assert all("HTTP 500" in (a.error or "") for a in log[:2]) and log[2].error is None
    assert all(0 < a.latency_ms < 3000 for a in log)
    assert all(a.request == payload[:1024] and len(a.request) == 1024 for a in log)
    assert all(URL_TOKEN not in (a.error or "") for a in log)

    # R11: the same webhook-id and body on every attempt; each attempt signed with its own timestamp.
    assert [r.headers["webhook-id"] for r in rx.requests] == [queued.key] * 3
    assert all(r.body == payload.encode() and r.verified for r in rx.requests)
    # webhook-timestamp is each attempt's time on the dispatcher's (injected) clock
    assert [int(r.headers["webhook-timestamp"]) for r in rx.requests] == [int(a.at.timestamp()) for a in log]


def test_R11_webhook_timestamp_is_the_attempt_time_of_the_injected_clock(
        store: Store, receiver: Callable[..., Receiver], dispatchers: Callable[..., Dispatcher]) -> None:
    rx = receiver(answers=[(500, {}), (500, {})])
    clock = Clock()
    dispatcher = dispatchers(store, webhooks={"sink": subscription(rx)}, clock=clock, rng=random.Random(5))
    [queued] = queue(store, "sink", now=clock())
    for _ in range(3):
        dispatcher.run_once(wait=True)
        clock.now = row(store, queued.id).next_attempt_at + MS
    log = store_outbox.attempts(store.engine, queued.id)
    stamps = [int(r.headers["webhook-timestamp"]) for r in rx.requests]
    assert [a.outcome for a in log] == ["retry", "retry", "delivered"]
    assert len(set(stamps)) == 3  # a new timestamp per attempt (they are 10 s and 60 s apart)
    assert stamps == [int(a.at.timestamp()) for a in log]
    assert all(r.verified for r in rx.requests)


def test_R16_always_500_is_dead_once_the_delivery_deadline_passes_with_attempts_and_last_error_kept(
        store: Store, receiver: Callable[..., Receiver], dispatchers: Callable[..., Dispatcher]) -> None:
    rx = receiver(default=(500, {}))
    clock = Clock()
    dispatcher = dispatchers(store, webhooks={"sink": subscription(rx)}, clock=clock, rng=random.Random(99))
    [queued] = queue(store, "sink", now=clock(), deadline=timedelta(hours=24))
    deadline = queued.deadline_at
    assert abs(deadline - (clock() + timedelta(hours=24))) <= MS
    times: list[datetime] = []
    for _ in range(40):
        times.append(clock())
        [outcome] = dispatcher.run_once(wait=True)
        current = row(store, queued.id)
        if current.state == "dead":
            assert outcome.outcome == "dead"
            break
        assert outcome.outcome == "retry" and current.state == "pending"
        assert current.next_attempt_at <= deadline
        clock.now = current.next_attempt_at
    else:
        pytest.fail("the row never went dead")

    dead = row(store, queued.id)
    log = store_outbox.attempts(store.engine, queued.id)
    assert dead.attempts == len(log) == len(rx.requests) == len(times)
    assert 9 <= dead.attempts <= 11  # 10 s, 1 min, 5 min, 30 min, 2 h, then every 6 h, up to 24 h
    assert [a.outcome for a in log] == ["retry"] * (len(log) - 1) + ["dead"]
    assert dead.last_status == "500" and "HTTP 500" in (dead.last_error or "")
    assert "deadline" in (dead.last_error or "") and URL_TOKEN not in (dead.last_error or "")
    assert times[-1] >= deadline > times[-2]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    bases = [BACKOFF[min(i, len(BACKOFF) - 1)] for i in range(len(gaps))]
    assert all(0.8 * base <= gap <= 1.2 * base for gap, base in zip(gaps[:-1], bases))
    assert gaps[-1] <= 1.2 * bases[-1]  # the last wait is cut at the deadline
    clock.now += timedelta(days=3)
    assert dispatcher.run_once(wait=True) == [] and len(rx.requests) == dead.attempts


# -- R15: how answers are classified -----------------------------------------------------------


def test_R15_410_gone_is_dead_at_once_and_logged_for_the_operator_without_the_url(
        store: Store, receiver: Callable[..., Receiver], dispatchers: Callable[..., Dispatcher],
        caplog: pytest.LogCaptureFixture) -> None:
    rx = receiver(default=(410, {}))
    clock = Clock()
    dispatcher = dispatchers(store, webhooks={"sink": subscription(rx)}, clock=clock, rng=random.Random(1))
    [queued] = queue(store, "sink", now=clock())
    with caplog.at_level("INFO", logger="driftwatch.alerts.dispatcher"):
        [outcome] = dispatcher.run_once(wait=True)
    assert (outcome.outcome, outcome.status) == ("dead", "410")
    dead = row(store, queued.id)
    assert (dead.state, dead.attempts, dead.last_status) == ("dead", 1, "410")
    assert [a.outcome for a in store_outbox.attempts(store.engine, queued.id)] == ["dead"]
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "DEAD" in r.getMessage()]
    assert len(errors) == 1 and str(queued.id) in errors[0].getMessage()
    assert all(URL_TOKEN not in r.getMessage() for r in caplog.records)
    clock.now += timedelta(hours=30)
    assert dispatcher.run_once(wait=True) == [] and len(rx.requests) == 1
    assert dispatcher.outcomes[("sink", "dead")] == 1


@pytest.mark.parametrize("code", [429, 503])
def test_R15_retry_after_holds_the_target_and_releases_its_other_rows_untried_while_another_target_delivers(
        code: int, store: Store, receiver: Callable[..., Receiver], dispatchers: Callable[..., Dispatcher]) -> None:
    busy = receiver(answers=[(code, {"Retry-After": "30"})])
    fine = receiver()
    clock = Clock()
    dispatcher = dispatchers(store, webhooks={"busy": subscription(busy), "fine": subscription(fine)}, clock=clock,
                             rng=random.Random(2))
    first, second, third = queue(store, "busy", now=clock(), n=3)
    others = queue(store, "fine", now=clock(), n=2)
    t0 = clock()

    outcomes = {o.row_id: o for o in dispatcher.run_once(wait=True)}

    assert (outcomes[first.id].outcome, outcomes[first.id].status) == ("retry", str(code))
    assert outcomes[second.id].outcome == outcomes[third.id].outcome == "released"
    assert all(outcomes[o.id].outcome == "delivered" for o in others)
    assert len(busy.requests) == 1 and sorted(fine.ids()) == sorted(o.key for o in others)
    held = row(store, first.id)
    assert (held.state, held.attempts, held.next_attempt_at) == ("pending", 1, t0 + timedelta(seconds=30))
    for released in (second, third):
        untried = row(store, released.id)
        assert (untried.state, untried.attempts, untried.next_attempt_at) == ("pending", 0, t0 + timedelta(seconds=30))
        assert store_outbox.attempts(store.engine, released.id) == []
    assert all(row(store, o.id).state == "delivered" for o in others)

    clock.now = t0 + timedelta(seconds=29)
    assert dispatcher.run_once(wait=True) == [] and len(busy.requests) == 1
    clock.now = t0 + timedelta(seconds=30)
    assert sorted(o.outcome for o in dispatcher.run_once(wait=True)) == ["delivered"] * 3
    assert [row(store, r.id).attempts for r in (first, second, third)] == [2, 1, 1]


def test_R15_a_target_that_times_out_does_not_delay_another_targets_delivery_in_the_same_run_once(
        store: Store, receiver: Callable[..., Receiver], dispatchers: Callable[..., Dispatcher]) -> None:
    slow = receiver(default=(200, {}), answers=[2.0])  # holds the request past the 0.5 s timeout
    fast = receiver()
    clock = Clock()
    dispatcher = dispatchers(store, webhooks={"slow": subscription(slow, timeout=0.5), "fast": subscription(fast)},
                             clock=clock, rng=random.Random(3))
    [stuck] = queue(store, "slow", now=clock())
    [quick] = queue(store, "fast", now=clock())

    started = time.monotonic()
    assert dispatcher.run_once() == []  # the scheduler's call: returns at once, workers send
    wait_until(lambda: row(store, quick.id).state == "delivered", 2.0, "the fast target's delivery")
    assert time.monotonic() - started < 2.0
    # The fast target was served while the slow one's attempt was still going (in parallel, not
    # after the slow target's 0.5 s timeout): that attempt is logged as started, with no result yet.
    in_flight = row(store, stuck.id)
    assert (in_flight.attempts, in_flight.last_status) == (1, None)
    assert [a.outcome for a in store_outbox.attempts(store.engine, stuck.id)] == ["started"]
    wait_until(lambda: row(store, stuck.id).last_status == "timeout", 3.0, "the slow target's attempt to time out")
    assert [a.outcome for a in store_outbox.attempts(store.engine, stuck.id)] == ["retry"]
    timed_out = row(store, stuck.id)
    assert (timed_out.state, timed_out.last_status) == ("pending", "timeout")
    assert "timed out" in (timed_out.last_error or "") and URL_TOKEN not in (timed_out.last_error or "")
    assert timed_out.next_attempt_at > clock()


# -- R20: Slack through the real slack_sdk -------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    """Slack's Web API on 127.0.0.1: answers from ``replies``, then ``{"ok": true}``."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                fake.requests.append((self.path, json.loads(raw) if raw.startswith("{") else {"raw": raw}))
                reply = fake.replies.pop(0) if fake.replies else Reply()
                data = json.dumps(reply.body or {"ok": True, "channel": "C1", "ts": "1.2"}).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    fake.thread.join(5)


def slack_channel(fake: FakeSlack) -> SlackChannel:
    return SlackChannel(token=Secret(SLACK_TOKEN), channel="#ml-alerts", base_url=fake.api)


def test_R20_slack_channel_not_found_is_dead_after_one_attempt(
        store: Store, slack: FakeSlack, dispatchers: Callable[..., Dispatcher]) -> None:
    slack.replies.append(Reply(200, {"ok": False, "error": "channel_not_found"}))
    clock = Clock()
    dispatcher = dispatchers(store, channels={"team": slack_channel(slack)}, clock=clock, rng=random.Random(4))
    [queued] = queue(store, "team", now=clock(), kind="message", payload=message_payload("msg_team_0000"))
    [outcome] = dispatcher.run_once(wait=True)
    assert outcome.outcome == "dead"
    dead = row(store, queued.id)
    assert (dead.state, dead.attempts, dead.last_status) == ("dead", 1, "channel_not_found")
    assert "channel_not_found" in (dead.last_error or "") and SLACK_TOKEN not in (dead.last_error or "")
    assert [path for path, _ in slack.requests] == ["/api/chat.postMessage"]
    clock.now += timedelta(hours=30)
    assert dispatcher.run_once(wait=True) == [] and len(slack.requests) == 1


def test_R20_slack_429_sets_next_attempt_from_retry_after_without_sleeping(
        store: Store, slack: FakeSlack, dispatchers: Callable[..., Dispatcher]) -> None:
    slack.replies.append(Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}))
    clock = Clock()
    dispatcher = dispatchers(store, channels={"team": slack_channel(slack)}, clock=clock, rng=random.Random(4))
    [queued] = queue(store, "team", now=clock(), kind="message", payload=message_payload("msg_team_0000"))
    t0 = clock()
    started = time.monotonic()
    [outcome] = dispatcher.run_once(wait=True)
    assert time.monotonic() - started < 1.0  # neither the SDK nor the dispatcher slept 30 s
    assert (outcome.outcome, outcome.status) == ("retry", "429")
    held = row(store, queued.id)
    assert (held.state, held.attempts, held.next_attempt_at) == ("pending", 1, t0 + timedelta(seconds=30))
    assert len(slack.requests) == 1  # no SDK retry behind the dispatcher's back

    clock.now = t0 + timedelta(seconds=29)
    assert dispatcher.run_once(wait=True) == []
    clock.now = t0 + timedelta(seconds=30)
    [outcome] = dispatcher.run_once(wait=True)
    assert outcome.outcome == "delivered" and row(store, queued.id).state == "delivered"
    path, body = slack.requests[-1]
    assert path == "/api/chat.postMessage" and body["channel"] == "#ml-alerts"
    assert body["text"].startswith("[driftwatch] FIRING churn")


# -- R23: email refused by the server ----------------------------------------------------------


@dataclass
class Refuser:
    """An aiosmtpd handler whose RCPT answer is always ``550 no such user``."""

    rcpts: list[str] = field(default_factory=list)
    mails: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        self.rcpts.append(address)
        return "550 no such user"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.mails += 1
        return "250 OK"


def test_R23_smtp_550_on_rcpt_is_retried_then_dead_after_the_deadline(
        store: Store, dispatchers: Callable[..., Dispatcher]) -> None:
    handler = Refuser()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mail = EmailChannel(host="127.0.0.1", port=port, tls="none", to=("ops@example.com",),
                            sender="driftwatch@example.com", timeout=5.0)
        clock = Clock()
        dispatcher = dispatchers(store, channels={"mail": mail}, clock=clock, rng=random.Random(6))
        [queued] = queue(store, "mail", now=clock(), kind="message", payload=message_payload("msg_mail_0000"),
                         deadline=timedelta(hours=1))
        [outcome] = dispatcher.run_once(wait=True)
        assert (outcome.outcome, outcome.status) == ("retry", "550")
        first = row(store, queued.id)
        assert (first.state, first.attempts) == ("pending", 1)
        assert "no such user" in (first.last_error or "") and "ops@example.com" in (first.last_error or "")
        for _ in range(10):
            current = row(store, queued.id)
            if current.state != "pending":
                break
            clock.now = current.next_attempt_at
            dispatcher.run_once(wait=True)
        dead = row(store, queued.id)
        log = store_outbox.attempts(store.engine, queued.id)
        assert dead.state == "dead" and dead.last_status == "550"
        assert "deadline" in (dead.last_error or "")
        # 1 h deadline: attempts at 0, ~10 s, ~70 s, ~6 min, ~36 min, then at the deadline.
        assert dead.attempts == len(log) == len(handler.rcpts) == 6
        assert [a.outcome for a in log] == ["retry"] * 5 + ["dead"]
        assert handler.mails == 0
    finally:
        controller.stop()


# -- R28: concurrent dispatchers never send a row twice ------------------------------------------


@dataclass
class CountingSink:
    """A webhook target that counts what it is handed, by ``webhook-id``. In-process, not HTTP: 200
    httpx clients would cost seconds of TLS-context set-up, and the claim is what is under test."""

    seen: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, body: bytes, msg_id: str, *, now: int | None = None) -> Delivery:
        assert json.loads(body)["id"] == msg_id
        with self.lock:
            self.seen[msg_id] += 1
        time.sleep(0.001)  # a little time on the wire, so the two replicas overlap
        return Delivery(status="200", request=body.decode())


def _queue_many(store: Store, now: datetime) -> dict[int, str]:
    """200 event rows over 4 targets, interleaved; their ids and keys."""
    keys = [(f"t{i % 4}", f"msg_{i:04d}") for i in range(200)]
    with store.engine.begin() as conn:
        for target, key in keys:
            assert enqueue(conn, kind="event", target=target, monitor="churn", run_id=7, event_type="run.failed",
                           key=key, payload=event_payload(key), now=now, deadline=timedelta(hours=24))
    return {r.id: r.key for r in store_outbox.list_outbox(store.engine, limit=1000)}


def _concurrent_drain(store_url: str, counter: CountingSink, dispatchers: Callable[..., Dispatcher],
                      clock: Clock) -> tuple[list[int], list[int]]:
    """Two dispatchers (own engines, own owners) drain the outbox from two threads at once."""
    stores = [Store(store_url), Store(store_url)]
    try:
        sinks = {f"t{i}": counter for i in range(4)}
        pair = [dispatchers(s, webhooks=sinks, owner=f"replica-{i}", clock=clock, rng=random.Random(i), batch=10)
                for i, s in enumerate(stores)]
        barrier = threading.Barrier(2)
        sent: list[list[int]] = [[], []]
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                barrier.wait()
                for _ in range(200):
                    outcomes = pair[i].run_once(wait=True)
                    assert all(o.outcome == "delivered" for o in outcomes), outcomes
                    sent[i].extend(o.row_id for o in outcomes)
                    if not outcomes and not any(r.state == "pending"
                                                for r in store_outbox.list_outbox(stores[i].engine, limit=1000)):
                        return
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors, errors
        return sent[0], sent[1]
    finally:
        for s in stores:
            s.dispose()


def _check_disjoint(setup: Store, queued: dict[int, str], counter: CountingSink,
                    first: list[int], second: list[int]) -> None:
    assert len(queued) == 200
    assert not set(first) & set(second)  # no row claimed by both replicas
    assert sorted(first + second) == sorted(queued)  # and none left out
    assert len(first) == len(set(first)) and len(second) == len(set(second))
    assert counter.seen == Counter(queued.values())  # each key sent exactly once
    assert first and second  # both replicas took part
    rows = store_outbox.list_outbox(setup.engine, limit=500)
    assert all(r.state == "delivered" and r.attempts == 1 for r in rows)
    assert sum(len(store_outbox.attempts(setup.engine, r.id)) for r in rows) == 200


def test_R28_two_dispatchers_on_postgresql_claim_disjoint_rows_and_send_each_once(
        postgres_database: str, dispatchers: Callable[..., Dispatcher]) -> None:
    clock, counter = Clock(), CountingSink()
    with Store(postgres_database) as setup:
        setup.create_all()
        queued = _queue_many(setup, clock())
        first, second = _concurrent_drain(postgres_database, counter, dispatchers, clock)
        _check_disjoint(setup, queued, counter, first, second)


def test_R28_two_dispatchers_on_sqlite_claim_disjoint_rows_and_send_each_once(
        tmp_path: Any, dispatchers: Callable[..., Dispatcher]) -> None:
    clock, counter = Clock(), CountingSink()
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with Store(url) as setup:
        setup.create_all()
        queued = _queue_many(setup, clock())
        first, second = _concurrent_drain(url, counter, dispatchers, clock)
        _check_disjoint(setup, queued, counter, first, second)


def test_R28_an_expired_lease_of_a_killed_owner_is_claimed_by_another_and_resent_with_the_same_key(
        store: Store, receiver: Callable[..., Receiver], dispatchers: Callable[..., Dispatcher]) -> None:
    rx = receiver()
    clock = Clock()
    sub = subscription(rx)
    [queued] = queue(store, "sink", now=clock())
    # The owner that gets killed: claims, sends, and dies before recording the attempt.
    [claimed] = store_outbox.claim(store.engine, owner="killed", now=clock(), lease=timedelta(minutes=10))
    assert claimed.id == queued.id
    sub.deliver(claimed.payload.encode(), claimed.key)
    survivor = dispatchers(store, webhooks={"sink": sub}, owner="survivor", clock=clock, rng=random.Random(8),
                           lease=timedelta(minutes=10))

    clock.now += timedelta(minutes=9)
    assert survivor.run_once(wait=True) == []  # the lease still holds
    assert len(rx.requests) == 1
    clock.now += timedelta(minutes=1, seconds=1)
    [outcome] = survivor.run_once(wait=True)
    assert outcome.outcome == "delivered"

    assert len(rx.requests) == 2
    assert [r.headers["webhook-id"] for r in rx.requests] == [queued.key] * 2
    assert rx.requests[0].body == rx.requests[1].body == queued.payload.encode()
    # The resend is signed at the survivor's (injected, 10 min ahead) clock, which the receiver's
    # 5-minute tolerance against wall time rightly refuses; the first copy verified.
    assert rx.requests[0].verified
    assert int(rx.requests[1].headers["webhook-timestamp"]) == int(clock().timestamp())
    done = row(store, queued.id)
    assert (done.state, done.attempts) == ("delivered", 1)
    # The killed owner, should it come back, cannot overwrite what the survivor recorded.
    late = store_outbox.Attempt(attempt=1, at=clock(), outcome="retry", status="500", error="late", latency_ms=1.0,
                                request="")
    assert store_outbox.finish_attempt(store.engine, claimed, owner="killed", attempt=late,
                                       next_attempt_at=clock()) is False
    assert row(store, queued.id).state == "delivered"
    assert [a.outcome for a in store_outbox.attempts(store.engine, queued.id)] == ["delivered"]


def test_a_store_outage_is_said_once_backs_off_and_says_when_it_ends(
        store: Store, dispatchers: Callable[..., Dispatcher], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 12, defect 10: one traceback a second for the whole outage, before
    clock = [datetime(2026, 11, 3, 12, 0, tzinfo=timezone.utc)]
    down = Store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")  # nothing listens there
    dispatcher = dispatchers(down, clock=lambda: clock[0])
    claims = Counter[str]()
    real_claim = store_outbox.claim

    def counted(engine: Any, **kwargs: Any) -> list[OutboxRow]:
        claims["tried"] += 1
        return real_claim(engine, **kwargs)

    monkeypatch.setattr(store_outbox, "claim", counted)
    caplog.set_level("INFO", logger="driftwatch.alerts.dispatcher")
    for _ in range(300):  # five minutes of one pass a second
        assert dispatcher.run_once(wait=True) == []
        clock[0] += timedelta(seconds=1)
    lines = [r for r in caplog.records if r.name == "driftwatch.alerts.dispatcher"]
    assert len(lines) == 1 and lines[0].levelname == "ERROR" and "the store does not answer" in lines[0].message
    assert lines[0].exc_info is None  # a line, not a traceback
    assert claims["tried"] <= 12  # 1, 2, 4, ... 60 s apart, not 300 times
    dispatcher.store = store  # the store is back
    clock[0] += timedelta(seconds=61)
    dispatcher.run_once(wait=True)
    back = [r for r in caplog.records if r.name == "driftwatch.alerts.dispatcher"][1:]
    assert [r.levelname for r in back] == ["WARNING"] and "the store answers again" in back[0].message
    down.dispose()


class Crash(BaseException):
    """What ``kill -9`` looks like from inside: the send never returns and nothing after it runs."""


def test_an_attempt_is_logged_before_it_goes_out_so_a_crash_mid_send_still_counts(
        store: Store, receiver: Callable[..., Receiver], dispatchers: Callable[..., Dispatcher],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 12, defect 4: the receiver saw two POSTs, the attempt log one
    rx = receiver()
    clock = Clock()
    sub = subscription(rx)
    [queued] = queue(store, "hook", now=clock())
    dying = dispatchers(store, webhooks={"hook": sub}, clock=clock, owner="dying")
    real_deliver = WebhookSubscription.deliver

    def deliver_then_die(self: WebhookSubscription, *args: Any, **kwargs: Any) -> Any:
        real_deliver(self, *args, **kwargs)  # the request reached the receiver ...
        raise Crash  # ... and the process died before it could record the answer

    monkeypatch.setattr(WebhookSubscription, "deliver", deliver_then_die)
    claimed = store_outbox.claim(store.engine, owner="dying", now=clock(), lease=timedelta(minutes=1), limit=1)
    with pytest.raises(Crash):
        dying._attempt(claimed[0])
    assert len(rx.requests) == 1
    assert row(store, queued.id).attempts == 1
    assert [a.outcome for a in store_outbox.attempts(store.engine, queued.id)] == ["started"]
    monkeypatch.setattr(WebhookSubscription, "deliver", real_deliver)
    clock.now += timedelta(minutes=11)  # the dead process's lease (renewed for 10 min as the attempt began) runs out
    dispatchers(store, webhooks={"hook": sub}, clock=clock, owner="next").drain()
    assert len(rx.requests) == 2 and rx.requests[0].headers["webhook-id"] == rx.requests[1].headers["webhook-id"]
    log = store_outbox.attempts(store.engine, queued.id)
    assert [(a.attempt, a.outcome) for a in log] == [(1, "started"), (2, "delivered")]
    assert row(store, queued.id).attempts == 2

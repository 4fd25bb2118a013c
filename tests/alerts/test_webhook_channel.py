"""R9–R15 over real sockets: the webhook channel and subscriptions against a receiver on 127.0.0.1.

The receiver is ``http.server.ThreadingHTTPServer`` in a thread. It checks every request's
signature with both ``driftwatch.webhooks.verify`` and the reference ``standardwebhooks``
library, and answers what the test tells it to (a status with headers, or a sleep past the
client's timeout).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema
import pytest
import standardwebhooks

from driftwatch.alerts.channels import Channel, Delivery
from driftwatch.alerts.channels.http import post
from driftwatch.alerts.channels.webhook import WebhookChannel, WebhookSubscription
from driftwatch.alerts.events import WEBHOOK_EVENT_SCHEMA, event_body
from driftwatch.alerts.message import Item, Message
from driftwatch.config.plugins import build
from driftwatch.config.problems import Problems
from driftwatch.errors import DeliveryError
from driftwatch.model import Window
from driftwatch.secrets import Secret
from driftwatch.testing import check_channel, sample_message
from driftwatch.webhooks import verify

UTC = timezone.utc
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_b2xkIHNlY3JldCBvZiAyNCBieXRlcyE="
TOKEN = "T0K3N-in-the-path"
WINDOW = Window(datetime(2026, 11, 1, 9, tzinfo=UTC), datetime(2026, 11, 1, 10, tzinfo=UTC))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    ours: dict[str, bool] = field(default_factory=dict)    # secret -> driftwatch.webhooks.verify accepted
    theirs: dict[str, bool] = field(default_factory=dict)  # secret -> standardwebhooks accepted


@dataclass
class Receiver:
    base: str
    secrets: list[str]
    requests: list[Received] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]] | float] = field(default_factory=list)  # float: sleep seconds
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"{self.base}/hook/{TOKEN}?token={TOKEN}"

    def check(self, request: Received) -> None:
        for secret in self.secrets:
            try:
                verify(secret, request.headers, request.body)
                request.ours[secret] = True
            except Exception:
                request.ours[secret] = False
            try:
                standardwebhooks.Webhook(secret).verify(request.body, request.headers)
                request.theirs[secret] = True
            except Exception:
                request.theirs[secret] = False


def handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            request = Received(self.path, {k: v for k, v in self.headers.items()}, body)
            receiver.check(request)
            receiver.requests.append(request)
            answer = receiver.answers.pop(0) if receiver.answers else (200, {})
            if isinstance(answer, float):
                receiver.stop.wait(answer)
                answer = (200, {})
            code, extra = answer
            self.send_response(code)
            for name, value in {"content-length": "2", **extra}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is expected here


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder = Receiver(base="", secrets=[SECRET, OLD_SECRET])
    server = QuietServer(("127.0.0.1", 0), handler_for(holder))
    holder.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield holder
    finally:
        holder.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def message(status: str = "firing", key: str = "msg_0123456789abcdef") -> Message:
    items = (Item("drift", "age", "psi", "alert", "new", value=0.4, threshold=0.2, fingerprint="bdd69a4d6cc42b47",
                  starts_at=datetime(2026, 11, 1, 10, 0, 5, tzinfo=UTC)),
             Item("quality", "income", "missing_share", "warn", "resolved", value=0.01, threshold=0.05,
                  starts_at=datetime(2026, 10, 31, 10, tzinfo=UTC), ends_at=datetime(2026, 11, 1, 10, 0, 5, tzinfo=UTC)))
    if status == "resolved":
        items = tuple(Item(i.detector, i.feature, i.metric, i.severity, "resolved", value=i.value,
                           threshold=i.threshold, ends_at=i.ends_at) for i in items)
    return Message(monitor="churn", run_id=7, window=WINDOW, status=status,  # type: ignore[arg-type]
                   reason="first notification" if status == "firing" else "all alerts resolved", items=items,
                   report_url="http://dw.local:8000/runs/7", key=key,
                   created_at=datetime(2026, 11, 1, 10, 0, 5, tzinfo=UTC), labels={"team": "risk"})


def test_a_signed_json_delivery_verifies_with_both_libraries(receiver: Receiver) -> None:
    channel = WebhookChannel(url=Secret(receiver.url), secret=Secret(SECRET))
    assert isinstance(channel, Channel)
    delivery = channel.send(message())
    assert isinstance(delivery, Delivery) and delivery.status == "200"
    [request] = receiver.requests
    assert request.ours == {SECRET: True, OLD_SECRET: False}
    assert request.theirs == {SECRET: True, OLD_SECRET: False}
    assert request.path == f"/hook/{TOKEN}?token={TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "msg_0123456789abcdef"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 5
    event = json.loads(request.body)
    jsonschema.validate(event, WEBHOOK_EVENT_SCHEMA)
    assert event["type"] == "alert.firing" and event["id"] == "msg_0123456789abcdef"
    assert [r["feature"] for r in event["data"]["results"]] == ["age", "income"]
    assert delivery.request == request.body.decode()[:1024]


def test_an_unsigned_channel_sends_plain_json(receiver: Receiver) -> None:
    WebhookChannel(url=receiver.url).send(message("resolved"))
    [request] = receiver.requests
    assert request.headers["content-type"] == "application/json"
    assert "webhook-signature" not in {k.lower() for k in request.headers}
    assert json.loads(request.body)["type"] == "alert.resolved"


def test_a_message_key_with_a_dot_still_gives_a_dot_free_stable_id(receiver: Receiver) -> None:
    channel = WebhookChannel(url=receiver.url, secret=SECRET)
    channel.send(message(key="churn.slack.2026"))
    channel.send(message(key="churn.slack.2026"))
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids[0] == ids[1] and ids[0].startswith("msg_") and "." not in ids[0]
    assert all(r.ours[SECRET] and r.theirs[SECRET] for r in receiver.requests)


def test_retries_keep_the_webhook_id_and_body_but_move_the_timestamp(receiver: Receiver) -> None:
    receiver.answers = [(500, {})]
    channel = WebhookChannel(url=receiver.url, secret=SECRET)
    with pytest.raises(DeliveryError) as first:
        channel.send(message())
    assert first.value.status == "500" and not first.value.permanent
    time.sleep(1.05 - time.time() % 1)  # into the next second: the attempt's timestamp must change
    assert channel.send(message()).status == "200"
    one, two = receiver.requests
    assert one.headers["webhook-id"] == two.headers["webhook-id"] == "msg_0123456789abcdef"
    assert int(two.headers["webhook-timestamp"]) > int(one.headers["webhook-timestamp"])
    assert one.headers["webhook-signature"] != two.headers["webhook-signature"]
    assert one.body == two.body
    assert one.ours[SECRET] and two.ours[SECRET] and one.theirs[SECRET] and two.theirs[SECRET]


def http_date(seconds: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize(("answer", "status", "permanent", "retry_after"), [
    ((500, {}), "500", False, None),
    ((404, {}), "404", False, None),
    ((410, {}), "410", True, None),
    ((429, {"Retry-After": "7"}), "429", False, 7.0),
    ((503, {"Retry-After": "HTTP-DATE"}), "503", False, "about 120"),
    ((502, {}), "502", False, None),
    ((504, {"Retry-After": "whenever"}), "504", False, None),
    ((302, {"Location": "/elsewhere"}), "302", False, None),
])
def test_answers_are_classified(receiver: Receiver, answer: tuple[int, dict[str, str]], status: str,
                                permanent: bool, retry_after: float | str | None) -> None:
    code, extra = answer
    if extra.get("Retry-After") == "HTTP-DATE":
        extra = {"Retry-After": http_date(120)}
    receiver.answers = [(code, extra)]
    with pytest.raises(DeliveryError) as caught:
        WebhookChannel(url=receiver.url, secret=SECRET).send(message())
    error = caught.value
    assert (error.status, error.permanent) == (status, permanent)
    if retry_after == "about 120":
        assert error.retry_after is not None and 100 <= error.retry_after <= 120
    else:
        assert error.retry_after == retry_after
    assert len(receiver.requests) == 1  # a 302 is not followed
    assert TOKEN not in str(error) and "/hook" not in str(error)
    assert f"HTTP {code}" in str(error) and "127.0.0.1" in str(error)


def test_a_receiver_slower_than_the_timeout_is_a_timeout(receiver: Receiver) -> None:
    receiver.answers = [2.0]
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        WebhookChannel(url=receiver.url, timeout=0.3).send(message())
    assert time.monotonic() - started < 1.5
    assert caught.value.status == "timeout" and not caught.value.permanent and caught.value.retry_after is None
    assert TOKEN not in str(caught.value) and "127.0.0.1" in str(caught.value)


@pytest.fixture
def trickler() -> Iterator[str]:
    """A raw TCP receiver that answers one byte every 0.25 s, headers first, then 200 bytes of
    body: each read is quick, the answer takes a minute."""
    import socket

    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        try:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n" + b"x" * 200:
                conn.send(bytes([byte]))
                time.sleep(0.25)
        except OSError:  # the client hung up at its deadline
            pass
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook/{TOKEN}"
    server.close()


def test_the_timeout_bounds_the_whole_attempt_not_each_read(trickler: str) -> None:
    # issue 12, defect 2: one byte every 4 s held an attempt with timeout = 5 for 116 s
    url = trickler
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        post(url, b"{}", {"content-type": "application/json"}, timeout=1.0)
    assert time.monotonic() - started < 5  # the trickle alone would take over 60 s
    assert caught.value.status == "timeout" and "timed out after 1 s" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_nobody_listening_is_a_connection_error(receiver: Receiver) -> None:
    closed = receiver.url.replace(receiver.base, "http://127.0.0.1:1")
    with pytest.raises(DeliveryError) as caught:
        post(closed, b"{}", {"content-type": "application/json"}, timeout=2)
    assert caught.value.status == "connection error" and not caught.value.permanent
    assert TOKEN not in str(caught.value) and "127.0.0.1:1" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_alertmanager_format(receiver: Receiver) -> None:
    channel = WebhookChannel(url=receiver.url, secret=SECRET, format="alertmanager", receiver="ml-team")
    channel.send(message())
    [request] = receiver.requests
    assert request.ours[SECRET] and request.theirs[SECRET]
    body = json.loads(request.body)
    assert set(body) == {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
                         "commonLabels", "commonAnnotations", "externalURL", "alerts"}
    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "ml-team"
    assert body["groupKey"] == '{}:{monitor="churn"}'
    assert body["truncatedAlerts"] == 0
    assert body["groupLabels"] == {"monitor": "churn"}
    assert body["commonLabels"] == {"monitor": "churn", "team": "risk"}
    assert body["commonAnnotations"] == {}
    assert body["externalURL"] == "http://dw.local:8000/"
    firing, resolved = body["alerts"]
    assert firing == {
        "status": "firing",
        "labels": {"alertname": "psi", "monitor": "churn", "detector": "drift", "feature": "age",
                   "severity": "alert", "team": "risk"},
        "annotations": {"summary": "churn: drift age psi = 0.4 (threshold 0.2)", "value": "0.4", "threshold": "0.2"},
        "startsAt": "2026-11-01T10:00:05Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://dw.local:8000/runs/7", "fingerprint": "bdd69a4d6cc42b47",
    }
    assert resolved["status"] == "resolved" and resolved["labels"]["alertname"] == "missing_share"
    assert resolved["startsAt"] == "2026-10-31T10:00:00Z" and resolved["endsAt"] == "2026-11-01T10:00:05Z"
    assert len(resolved["fingerprint"]) == 16 and resolved["fingerprint"] != firing["fingerprint"]


def test_the_alertmanager_body_is_capped_and_counts_dropped_alerts() -> None:
    items = tuple(Item("drift", f"feature_{i}", "psi", "alert", "new", value=0.4, threshold=0.2) for i in range(500))
    many = Message(monitor="churn", run_id=7, window=WINDOW, status="firing", reason="first notification",
                   items=items, key="msg_1")
    raw = WebhookChannel(url="http://127.0.0.1:9/", format="alertmanager").body(many)
    body = json.loads(raw)
    assert len(raw) <= 20_000
    assert 0 < len(body["alerts"]) < 500 and body["truncatedAlerts"] == 500 - len(body["alerts"])
    assert body["status"] == "firing" and body["externalURL"] == ""


def test_a_subscription_signs_with_both_secrets_while_rotating(receiver: Receiver) -> None:
    sub = WebhookSubscription(url=Secret(receiver.url), secret=Secret(SECRET), previous_secret=Secret(OLD_SECRET),
                              events=["retrain.requested"], monitors=["churn"])
    body = event_body("retrain.requested", "msg_retrain1", timestamp=datetime.now(UTC), monitor="churn",
                      window=WINDOW, run_id=7, results=[], report_url=None, reason="drift on age")
    assert sub.deliver(body, "msg_retrain1").status == "200"
    [request] = receiver.requests
    assert request.ours == {SECRET: True, OLD_SECRET: True}
    assert request.theirs == {SECRET: True, OLD_SECRET: True}
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert request.body == body and request.headers["webhook-id"] == "msg_retrain1"


def test_a_subscription_stamps_the_attempt_time_it_is_given(receiver: Receiver) -> None:
    sub = WebhookSubscription(url=receiver.url, secret=SECRET)
    stamp = int(time.time()) - 30
    sub.deliver(b'{"a":1}', "msg_x", now=stamp)
    [request] = receiver.requests
    assert request.headers["webhook-timestamp"] == str(stamp)
    assert request.ours == {SECRET: True, OLD_SECRET: False} and request.theirs[SECRET]


def test_a_subscription_that_gets_410_is_dead(receiver: Receiver) -> None:
    receiver.answers = [(410, {})]
    with pytest.raises(DeliveryError) as caught:
        WebhookSubscription(url=receiver.url, secret=SECRET).deliver(b"{}", "msg_x")
    assert caught.value.permanent and caught.value.status == "410"


def test_wants_filters_by_event_type_and_monitor() -> None:
    everything = WebhookSubscription(url="https://x.example/h", secret=SECRET)
    assert all(everything.wants(t, "any") for t in ("retrain.requested", "alert.firing", "run.failed"))
    some = WebhookSubscription(url="https://x.example/h", secret=SECRET, events=["run.failed"], monitors=["a", "b"])
    assert some.events == ("run.failed",) and some.monitors == ("a", "b")
    assert some.wants("run.failed", "a") and not some.wants("run.failed", "c")
    assert not some.wants("alert.firing", "a")


def test_repr_hides_urls_and_secrets() -> None:
    url = f"https://hooks.example.com/{TOKEN}"
    for obj in (WebhookChannel(url=url, secret=SECRET),
                WebhookSubscription(url=url, secret=SECRET, previous_secret=OLD_SECRET)):
        text = repr(obj) + str(obj)
        assert "***" in text
        assert TOKEN not in text and SECRET not in text and OLD_SECRET not in text and "hooks.example" not in text
        assert isinstance(obj.url, Secret) and isinstance(obj.secret, Secret)


@pytest.mark.parametrize(("cls", "kwargs", "match"), [
    (WebhookChannel, {"url": f"ftp://example.com/{TOKEN}"}, "url: must be an http"),
    (WebhookChannel, {"url": f"https:///{TOKEN}"}, "url: must be an http"),
    (WebhookChannel, {"url": f"http://example.com:99999/{TOKEN}"}, "url: must be an http"),
    (WebhookChannel, {"url": ""}, "url: missing"),
    (WebhookChannel, {"url": "https://e.com/h", "format": "xml"}, "format: must be one of json, alertmanager"),
    (WebhookChannel, {"url": "https://e.com/h", "timeout": 0}, "timeout: must be"),
    (WebhookChannel, {"url": "https://e.com/h", "timeout": "fast"}, "timeout: must be"),
    (WebhookChannel, {"url": "https://e.com/h", "secret": f"whsec_{TOKEN}!"}, "secret: must be base64"),
    (WebhookChannel, {"url": "https://e.com/h", "receiver": ""}, "receiver: "),
    (WebhookSubscription, {"url": f"mailto:{TOKEN}", "secret": SECRET}, "url: must be an http"),
    (WebhookSubscription, {"url": "https://e.com/h", "secret": ""}, "secret: missing"),
    (WebhookSubscription, {"url": "https://e.com/h", "secret": SECRET, "previous_secret": f"{TOKEN}!"},
     "previous_secret: must be base64"),
    (WebhookSubscription, {"url": "https://e.com/h", "secret": SECRET, "events": ["retrain.requested", "boom"]},
     "events: unknown event type 'boom'"),
    (WebhookSubscription, {"url": "https://e.com/h", "secret": SECRET, "events": []}, "events: must name"),
    (WebhookSubscription, {"url": "https://e.com/h", "secret": SECRET, "events": "alert.firing"}, "events: must be a"),
    (WebhookSubscription, {"url": "https://e.com/h", "secret": SECRET, "monitors": [1]}, "monitors: must be a"),
    (WebhookSubscription, {"url": "https://e.com/h", "secret": SECRET, "timeout": -1}, "timeout: must be"),
])
def test_config_validation_names_the_key_and_never_echoes_secrets(cls: type[Any], kwargs: dict[str, Any],
                                                                   match: str) -> None:
    with pytest.raises(ValueError, match=match) as caught:
        cls(**kwargs)
    assert TOKEN not in str(caught.value)


def test_the_config_builder_makes_both_from_toml_tables() -> None:
    problems = Problems("driftwatch.toml")
    channel = build(WebhookChannel, {"url": "https://e.com/h", "secret": SECRET, "format": "alertmanager"},
                    "channels.am", problems)
    sub = build(WebhookSubscription, {"url": "https://e.com/h", "secret": SECRET, "events": ["run.failed"]},
                "webhooks.ml", problems)
    assert problems.format() == []
    assert isinstance(channel, WebhookChannel) and isinstance(channel.url, Secret) and channel.format == "alertmanager"
    assert isinstance(sub, WebhookSubscription) and sub.events == ("run.failed",)
    bad = build(WebhookChannel, {"url": f"https://e.com/{TOKEN}", "format": "xml", "colour": 1}, "channels.x", problems)
    assert bad is None
    lines = problems.format()
    assert any("channels.x.format: must be one of json, alertmanager" in line for line in lines)
    assert any("channels.x.colour: unknown key" in line for line in lines)
    assert not any(TOKEN in line for line in lines)


def test_an_unusable_url_is_permanent_and_not_quoted() -> None:
    with pytest.raises(DeliveryError) as caught:
        post(f"http://[::1/{TOKEN}", b"{}", {}, timeout=1)
    assert caught.value.permanent and caught.value.status == "connection error"
    assert TOKEN not in str(caught.value)


def test_an_alertmanager_summary_says_what_lies_behind_the_figure() -> None:
    from dataclasses import replace

    from driftwatch.alerts.channels.webhook import alertmanager_body

    base = message()
    behind = replace(base, items=(replace(base.items[0], summary="moved most: a, b"), base.items[1]))
    firing = json.loads(alertmanager_body(behind))["alerts"][0]
    assert firing["annotations"]["summary"] == "churn: drift age psi = 0.4 (threshold 0.2); moved most: a, b"


def test_passes_the_plugin_contract_checks(receiver: Receiver) -> None:
    """``driftwatch.testing.check_channel``, as a plugin's tests would call it, passes the built-in."""
    delivery = check_channel(WebhookChannel(url=Secret(receiver.url), secret=Secret(SECRET)))
    [request] = receiver.requests
    assert delivery.status == "200" and json.loads(request.body)["data"]["monitor"] == sample_message().monitor

"""SlackChannel against a local stand-in for Slack, driven by the real slack_sdk (R18–R20).

The fake is a ``ThreadingHTTPServer`` on 127.0.0.1 that records every request and answers from a
script the test sets, so what is asserted is what the SDK really put on the wire and how the
channel classified what really came back.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from driftwatch.alerts.channels import Channel, Delivery
from driftwatch.alerts.channels.slack import SlackChannel
from driftwatch.alerts.message import Item, Message
from driftwatch.errors import DeliveryError
from driftwatch.model import Window
from driftwatch.secrets import Secret
from driftwatch.testing import check_channel, sample_message

TOKEN = "xoxb-1234-test-token-do-not-print"
HOOK_PATH = "/services/T000/B000/hooksecretXYZ"
WINDOW = Window(datetime(2026, 11, 1, 9, tzinfo=timezone.utc), datetime(2026, 11, 1, 10, tzinfo=timezone.utc))


@dataclass
class Reply:
    status: int = 200
    body: Any = None            # dict -> JSON; str -> text/plain; None -> Slack's success answer for the path
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False          # close the connection without answering


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


class FakeSlack:
    """Slack's Web API (``/api/METHOD``) and incoming webhooks (``/services/...``) on 127.0.0.1."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[Seen] = []
        self.stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                kind = self.headers.get("Content-Type", "")
                body: Any = json.loads(raw) if "json" in kind else parse_qs(raw)
                fake.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                reply = fake.replies.pop(0) if fake.replies else Reply()
                if reply.delay:
                    fake.stopping.wait(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                payload = reply.body
                if payload is None:
                    payload = {"ok": True, "channel": "C1", "ts": "1.2"} if self.path.startswith("/api/") else "ok"
                data = (json.dumps(payload) if isinstance(payload, dict) else payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json" if isinstance(payload, dict) else "text/plain")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reply(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None,
              delay: float = 0.0, drop: bool = False) -> None:
        self.replies.append(Reply(status, body, headers or {}, delay, drop))


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):  # slack_sdk ignores NO_PROXY
        monkeypatch.delenv(var, raising=False)
    fake = FakeSlack()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.stopping.set()
        fake.server.shutdown()
        fake.server.server_close()
        fake.thread.join(5)


def bot(fake: FakeSlack, **kwargs: Any) -> SlackChannel:
    return SlackChannel(token=Secret(TOKEN), channel="#ml-alerts", base_url=f"{fake.url}/api/", **kwargs)


def hook(fake: FakeSlack, **kwargs: Any) -> SlackChannel:
    return SlackChannel(webhook_url=Secret(fake.url + HOOK_PATH), **kwargs)


def message(items: tuple[Item, ...] | None = None, *, monitor: str = "churn",
            report_url: str | None = "http://dw.local/runs/7?tab=drift&x=1") -> Message:
    if items is None:
        items = (Item("drift", "age", "psi", "alert", "new", value=0.4, threshold=0.2),
                 Item("quality", "income", "null_share", "warn", "still", value=0.15, threshold=0.05),
                 Item("drift", "zip", "chisquare", "alert", "resolved", p_value=0.2, threshold=0.05))
    return Message(monitor=monitor, run_id=7, window=WINDOW, status="firing", reason="new alerts added",
                   items=items, report_url=report_url)


def big_message() -> Message:
    """500 features, some with names far past every Block Kit limit."""
    items = tuple(Item("drift", ("f<&>" * 900 if i % 50 == 0 else f"feature_{i:03d}"), "psi", "alert",
                       "new" if i % 3 else "still", value=0.2 + i / 100, threshold=0.2, summary="s" * 2500)
                  for i in range(500))
    return message(items, monitor="m" * 300, report_url="https://dw.example/runs/7")


def check_limits(payload: dict[str, Any]) -> None:
    """Every Block Kit limit R19 names, on what was actually posted."""
    blocks = payload["blocks"]
    assert isinstance(payload["text"], str) and 0 < len(payload["text"]) <= 3000
    assert len(blocks) <= 50
    headers = [b for b in blocks if b["type"] == "header"]
    assert len(headers) == 1 and headers[0]["text"]["type"] == "plain_text"
    assert len(headers[0]["text"]["text"]) <= 150
    for block in blocks:
        if block["type"] == "section" and "fields" in block:
            assert 1 <= len(block["fields"]) <= 10
            assert all(f["type"] == "mrkdwn" and len(f["text"]) <= 2000 for f in block["fields"])
            assert not any(re.search(r"&[a-z]{0,3}…$", f["text"]) for f in block["fields"])  # no cut entity
        elif block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    for action in (b for b in blocks if b["type"] == "actions"):
        assert all(len(e["url"]) <= 3000 and len(e["text"]["text"]) <= 75 for e in action["elements"])


# -- what is posted ------------------------------------------------------------------------------


def test_bot_posts_text_and_blocks_with_the_token_in_the_auth_header(slack: FakeSlack) -> None:
    channel = bot(slack)
    delivery = channel.send(message())
    assert isinstance(delivery, Delivery) and delivery.status == "200"
    [seen] = slack.requests
    assert seen.path == "/api/chat.postMessage"
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.body["channel"] == "#ml-alerts" and seen.body["unfurl_links"] is False
    assert seen.body["text"] == channel.text(message())
    assert seen.body["blocks"] == channel.blocks(message())
    check_limits(seen.body)
    assert delivery.request.startswith('{"channel": "#ml-alerts", "text": "[driftwatch] FIRING churn')
    assert len(delivery.request) == 1024 and TOKEN not in delivery.request


def test_webhook_posts_text_and_blocks(slack: FakeSlack) -> None:
    delivery = hook(slack).send(message())
    assert delivery.status == "200"
    [seen] = slack.requests
    assert seen.path == HOOK_PATH and "authorization" not in seen.headers
    assert seen.body["blocks"][0]["type"] == "header" and seen.body["text"].startswith("[driftwatch] FIRING churn")
    assert HOOK_PATH not in delivery.request


def test_small_message_layout_exactly() -> None:
    """The whole layout by hand, so any change to it shows up here."""
    channel = SlackChannel(webhook_url=Secret("https://hooks.slack.com/services/T/B/x"))
    assert channel.blocks(message()) == [
        {"type": "header", "text": {"type": "plain_text", "text": "[driftwatch] FIRING churn: 2 alerts (new alerts added)"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*churn* is *FIRING*: 1 new · 1 still firing · 1 resolved"}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": "*STILL* · warn · quality\n*income* null_share = 0.15 (threshold 0.05)"},
            {"type": "mrkdwn", "text": "*NEW* · alert · drift\n*age* psi = 0.4 (threshold 0.2)"},
            {"type": "mrkdwn", "text": "*RESOLVED* · alert · drift\n*zip* chisquare p = 0.2 (alpha 0.05)"},
        ]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text":
            "window 2026-11-01T09:00:00+00:00 .. 2026-11-01T10:00:00+00:00, run 7 · reason: new alerts added"}]},
        {"type": "actions", "elements": [{
            "type": "button", "action_id": "driftwatch_report", "url": "http://dw.local/runs/7?tab=drift&x=1",
            "text": {"type": "plain_text", "text": "Open report"}}]},
    ]
    assert channel.text(message()) == (
        "[driftwatch] FIRING churn: 2 alerts (new alerts added)\n"
        "window 2026-11-01T09:00:00+00:00 .. 2026-11-01T10:00:00+00:00, run 7\n"
        "STILL warn quality income null_share = 0.15 (threshold 0.05)\n"
        "NEW alert drift age psi = 0.4 (threshold 0.2)\n"
        "RESOLVED alert drift zip chisquare p = 0.2 (alpha 0.05)\n"
        "report: http://dw.local/runs/7?tab=drift&amp;x=1")


@pytest.mark.parametrize("make", [bot, hook])
def test_500_feature_alert_stays_within_block_kit_limits(slack: FakeSlack, make: Any) -> None:
    make(slack).send(big_message())
    [seen] = slack.requests
    check_limits(seen.body)
    blocks = seen.body["blocks"]
    header = blocks[0]["text"]["text"]
    assert len(header) == 150 and header.endswith("…") and header.startswith("[driftwatch] FIRING mmm")
    fields = [f["text"] for b in blocks if "fields" in b for f in b["fields"]]
    assert len(fields) == 20
    assert fields[0].startswith("*NEW* · alert · drift\n*feature_499* psi = 5.19 (threshold 0.2)")  # worst first
    assert any(len(f) == 2000 and f.endswith("…") for f in fields)
    assert any(b.get("text", {}).get("text") == "…and 480 more" for b in blocks)
    [context] = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"]
    assert "2026-11-01T09:00:00+00:00 .. 2026-11-01T10:00:00+00:00" in context
    assert "run 7" in context and "reason: new alerts added" in context
    [action] = [b for b in blocks if b["type"] == "actions"]
    assert action["elements"][0]["url"] == "https://dw.example/runs/7"


def test_mrkdwn_is_escaped_so_names_cannot_ping_or_link() -> None:
    channel = SlackChannel(webhook_url=Secret("https://hooks.slack.com/services/T/B/x"))
    msg = message((Item("drift", "<!channel> & <http://evil|x>", "psi", "alert", "new", value=1.0, threshold=0.2),),
                  monitor="a<b")
    posted = json.dumps(channel.blocks(msg)) + channel.text(msg)
    assert "<!channel>" not in posted and "<http" not in posted
    field_text = channel.blocks(msg)[2]["fields"][0]["text"]
    assert "*&lt;!channel&gt; &amp; &lt;http://evil|x&gt;* psi" in field_text
    assert channel.blocks(msg)[0]["text"]["text"].startswith("[driftwatch] FIRING a<b")  # plain_text: literal


def test_report_button_only_for_a_usable_url() -> None:
    channel = SlackChannel(webhook_url=Secret("https://hooks.slack.com/services/T/B/x"))
    assert [b["type"] for b in channel.blocks(message(report_url=None))][-1] == "context"
    long_url = "https://dw.example/runs/7?" + "q" * 3000
    assert "actions" not in [b["type"] for b in channel.blocks(message(report_url=long_url))]


def test_is_a_channel() -> None:
    channel = SlackChannel(webhook_url=Secret("https://hooks.slack.com/services/T/B/x"))
    assert isinstance(channel, Channel) and SlackChannel.name == "slack"


# -- how failures are classified (R20) -----------------------------------------------------------

PERMANENT, RETRY = "permanent", "retry"


@pytest.mark.parametrize(("status", "body", "headers", "kind", "label"), [
    (200, {"ok": False, "error": "channel_not_found"}, {}, PERMANENT, "channel_not_found"),
    (200, {"ok": False, "error": "invalid_auth"}, {}, PERMANENT, "invalid_auth"),
    (200, {"ok": False, "error": "not_in_channel"}, {}, PERMANENT, "not_in_channel"),
    (200, {"ok": False, "error": "invalid_blocks"}, {}, PERMANENT, "invalid_blocks"),
    (200, {"ok": False, "error": "fatal_error"}, {}, RETRY, "fatal_error"),
    (403, {"ok": False, "error": "forbidden"}, {}, PERMANENT, "403"),
    (410, "gone", {}, PERMANENT, "410"),
    (500, "<html>oops</html>", {}, RETRY, "500"),
    (503, {"ok": False, "error": "service_unavailable"}, {}, RETRY, "503"),
    (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}, 30.0, "429"),
])
def test_bot_failures(slack: FakeSlack, status: int, body: Any, headers: dict[str, str], kind: Any,
                      label: str) -> None:
    slack.reply(status, body, headers)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        bot(slack).send(message())
    assert time.monotonic() - started < 5  # no sleeping on 429, no SDK retries
    assert len(slack.requests) == 1
    assert_kind(caught.value, kind, label)
    assert TOKEN not in str(caught.value) and "#ml-alerts" in str(caught.value)


@pytest.mark.parametrize(("status", "body", "headers", "kind", "label"), [
    (404, "no_service", {}, PERMANENT, "404"),
    (410, "channel_is_archived", {}, PERMANENT, "410"),
    (403, "action_prohibited", {}, PERMANENT, "403"),
    (500, "rollup_error", {}, RETRY, "500"),
    (429, "rate_limited", {"Retry-After": "30"}, 30.0, "429"),
])
def test_webhook_failures_although_the_client_does_not_raise(slack: FakeSlack, status: int, body: str,
                                                             headers: dict[str, str], kind: Any, label: str) -> None:
    slack.reply(status, body, headers)
    with pytest.raises(DeliveryError) as caught:
        hook(slack).send(message())
    assert len(slack.requests) == 1
    assert_kind(caught.value, kind, label)
    assert body in str(caught.value) and "hooksecretXYZ" not in str(caught.value)


def assert_kind(error: DeliveryError, kind: Any, label: str) -> None:
    assert error.status == label
    if kind == PERMANENT:
        assert error.permanent and error.retry_after is None
    elif kind == RETRY:
        assert not error.permanent and error.retry_after is None
    else:
        assert not error.permanent and error.retry_after == kind


@pytest.mark.parametrize("make", [bot, hook])
def test_timeout_is_a_plain_retry(slack: FakeSlack, make: Any) -> None:
    slack.reply(delay=3.0)
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=r"timed out after 0\.5 s") as caught:
        make(slack, timeout=0.5).send(message())
    assert time.monotonic() - started < 2.5
    assert not caught.value.permanent and caught.value.retry_after is None


@pytest.mark.parametrize("make", [bot, hook])
def test_dropped_connection_is_one_attempt_and_a_plain_retry(slack: FakeSlack, make: Any) -> None:
    """The SDK would retry a reset connection itself; the dispatcher must see every attempt (R17)."""
    slack.reply(drop=True)
    slack.reply(drop=True)
    with pytest.raises(DeliveryError, match="closed connection") as caught:
        make(slack).send(message())
    assert len(slack.requests) == 1
    assert not caught.value.permanent and caught.value.retry_after is None and caught.value.status is None


def test_connection_refused_is_a_plain_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    channel = SlackChannel(token=Secret(TOKEN), channel="C1", base_url=f"http://127.0.0.1:{port}/api/", timeout=2)
    with pytest.raises(DeliveryError, match="refused") as caught:
        channel.send(message())
    assert not caught.value.permanent and caught.value.retry_after is None and TOKEN not in str(caught.value)


# -- configuration -------------------------------------------------------------------------------


def test_repr_hides_token_and_webhook_url() -> None:
    channel = SlackChannel(token=TOKEN, channel="C1")  # type: ignore[arg-type]  # config may hand over a str
    assert isinstance(channel.token, Secret) and channel.token.reveal() == TOKEN
    assert "token=***" in repr(channel) and TOKEN not in repr(channel)
    url = "https://hooks.slack.com" + HOOK_PATH
    assert "webhook_url=***" in repr(SlackChannel(webhook_url=Secret(url)))
    assert "hooksecretXYZ" not in repr(SlackChannel(webhook_url=Secret(url)))


@pytest.mark.parametrize(("kwargs", "problem"), [
    ({}, "token: required"),
    ({"token": Secret(TOKEN)}, "channel: required with token"),
    ({"token": Secret(TOKEN), "channel": "  "}, "channel: required with token"),
    ({"token": Secret(""), "channel": "C1"}, "token: must not be empty"),
    ({"channel": "C1"}, "token: required"),
    ({"token": Secret(TOKEN), "channel": "C1", "webhook_url": Secret("https://hooks.slack.com/x")},
     "webhook_url: give either"),
    ({"webhook_url": Secret("http://hooks.slack.com" + HOOK_PATH)}, "webhook_url: must be an https URL"),
    ({"webhook_url": Secret("hooks.slack.com" + HOOK_PATH)}, "webhook_url: must be an https URL"),
    ({"webhook_url": Secret("https://[bad" + HOOK_PATH)}, "webhook_url: must be an https URL"),
    ({"token": Secret(TOKEN), "channel": "C1", "base_url": "ftp://slack.com/api/"}, "base_url: must be an http"),
    ({"token": Secret(TOKEN), "channel": "C1", "base_url": "https:///api/"}, "base_url: must be an http"),
    ({"token": Secret(TOKEN), "channel": "C1", "timeout": 0}, "timeout: must be a positive"),
    ({"token": Secret(TOKEN), "channel": "C1", "timeout": float("nan")}, "timeout: must be a positive"),
    ({"token": Secret(TOKEN), "channel": "C1", "timeout": "15"}, "timeout: must be a positive"),
])
def test_config_errors_name_the_key_and_never_the_secret(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        SlackChannel(**kwargs)
    assert str(caught.value).startswith(problem)
    assert TOKEN not in str(caught.value) and "hooksecretXYZ" not in str(caught.value)


def test_plain_http_webhook_only_on_this_machine() -> None:
    assert SlackChannel(webhook_url=Secret("http://localhost:8080/hook")).webhook_url is not None
    assert SlackChannel(webhook_url=Secret("http://127.0.0.1:8080/hook")).webhook_url is not None


def test_passes_the_plugin_contract_checks(slack: FakeSlack) -> None:
    """``driftwatch.testing.check_channel``, as a plugin's tests would call it, passes the built-in."""
    delivery = check_channel(bot(slack))
    [seen] = slack.requests
    assert delivery.status == "200" and sample_message().monitor in seen.body["text"]

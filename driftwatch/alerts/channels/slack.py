"""Slack: one Block Kit message per monitor run, through a bot token or an incoming webhook (R18–R20).

Two ways in, both through the official ``slack_sdk`` so Slack's own client does the HTTP:

* ``token`` + ``channel``: ``WebClient.chat_postMessage`` (a bot that can post to any channel it
  was invited to; errors come back as codes such as ``channel_not_found``);
* ``webhook_url``: ``WebhookClient.send`` (an incoming webhook bound to one channel; errors are
  plain HTTP statuses with a word in the body, and the client *returns* them instead of raising).

Each ``send`` is one attempt: the SDK's own retry handlers are switched off (``retry_handlers=[]``)
and nothing here sleeps, because retries, backoff and ``Retry-After`` belong to the dispatcher
(R16, R20). ``send`` tells it what kind of failure it saw: ``retry_after`` for 429, ``permanent``
for a bad token, a missing channel or 403/404/410 (no retry can help), plain otherwise.

The layout stays inside Slack's Block Kit limits whatever the message holds (R19): a header of at
most 150 characters, items as section fields (at most 10 per section, 2000 characters each), at
most ``MAX_ITEMS`` items and then "…and N more", a context line with window, run and reason, and a
button to the report. ``&``, ``<`` and ``>`` are escaped in every mrkdwn text, so a feature named
``<!channel>`` cannot ping a whole channel.

>>> from datetime import datetime, timezone
>>> from driftwatch.alerts.message import Item, Message
>>> from driftwatch.model import Window
>>> w = Window(datetime(2026, 11, 1, 9, tzinfo=timezone.utc), datetime(2026, 11, 1, 10, tzinfo=timezone.utc))
>>> m = Message(monitor="churn", run_id=7, window=w, status="firing", reason="first notification",
...             items=(Item("drift", "a<b", "psi", "alert", "new", value=0.4, threshold=0.2),))
>>> ch = SlackChannel(webhook_url=Secret("https://hooks.slack.com/services/T/B/x"))
>>> ch
SlackChannel(token=None, channel=None, webhook_url=***, base_url='https://slack.com/api/', timeout=15.0)
>>> [block["type"] for block in ch.blocks(m)]
['header', 'section', 'section', 'context']
>>> ch.blocks(m)[2]["fields"][0]["text"]
'*NEW* · alert · drift\\n*a&lt;b* psi = 0.4 (threshold 0.2)'
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.error import URLError
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from ...errors import DeliveryError
from ...secrets import MASK, Secret
from ..message import Item, Message
from . import Delivery

__all__ = ["SlackChannel"]

#: Block Kit limits (docs.slack.dev/reference/block-kit): header text, section text, one field,
#: fields per section, blocks per message, button label, button URL.
HEADER_CHARS, SECTION_CHARS, FIELD_CHARS, FIELDS_PER_SECTION = 150, 3000, 2000, 10
MAX_BLOCKS, BUTTON_CHARS, URL_CHARS = 50, 75, 3000
#: Items shown before "…and N more": two sections of ten fields is what a reader takes in.
MAX_ITEMS = 20
#: The top-level fallback text (notifications, screen readers); Slack cuts at 40k, nobody reads that far.
TEXT_CHARS = 3000
#: Slack error codes no retry can fix: bad or revoked credentials, a channel the bot cannot reach,
#: a payload Slack will reject again. HTTP statuses that mean the same for webhooks.
PERMANENT_CODES = frozenset({
    "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "no_permission",
    "missing_scope", "channel_not_found", "not_in_channel", "is_archived", "channel_is_archived",
    "invalid_blocks", "invalid_blocks_format", "invalid_payload", "no_service", "action_prohibited",
})
PERMANENT_STATUSES = frozenset({403, 404, 410})
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class SlackChannel:
    """``[channels.NAME]`` with ``type = "slack"``: either ``token`` and ``channel`` or ``webhook_url``.

    Secrets given as ``str`` are wrapped in ``Secret`` so ``repr`` and logs show ``***``.
    """

    name: ClassVar[str] = "slack"

    token: Secret | None = None
    channel: str | None = None
    webhook_url: Secret | None = None
    base_url: str = "https://slack.com/api/"
    timeout: float = 15.0

    def __post_init__(self) -> None:
        for key in ("token", "webhook_url"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, Secret):
                if not isinstance(value, str):
                    raise ValueError(f"{key}: must be a string, got {type(value).__name__}")
                object.__setattr__(self, key, Secret(value))
        if self.webhook_url is not None and (self.token is not None or self.channel is not None):
            raise ValueError("webhook_url: give either token and channel or webhook_url, not both")
        if self.webhook_url is not None:
            _check_url("webhook_url", self.webhook_url.reveal(), https_only=True)
        elif self.token is None:
            raise ValueError("token: required (with channel), or set webhook_url instead")
        elif not self.token.reveal().strip():
            raise ValueError("token: must not be empty")
        elif not isinstance(self.channel, str) or not self.channel.strip():
            raise ValueError("channel: required with token (a channel id like C0123456789 or a name like #alerts)")
        _check_url("base_url", self.base_url, https_only=False)
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float)) \
                or not math.isfinite(self.timeout) or self.timeout <= 0:
            raise ValueError(f"timeout: must be a positive number of seconds, got {self.timeout!r}")

    # -- rendering ---------------------------------------------------------------------------

    def text(self, message: Message) -> str:
        """The top-level ``text``: what notifications and screen readers show (mrkdwn-escaped)."""
        return _cut(_escape(message.text(limit=MAX_ITEMS)), TEXT_CHARS)

    def blocks(self, message: Message) -> list[dict[str, Any]]:
        """Block Kit blocks for ``message``, inside every limit Slack enforces (R19)."""
        items = message.ordered()
        shown = items[:MAX_ITEMS]
        counts = message.counts()
        summary = " · ".join(f"{n} {label}" for n, label in (
            (counts["new"], "new"), (counts["still"], "still firing"), (counts["resolved"], "resolved")) if n)
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": _cut(message.title(), HEADER_CHARS)}},
            _section(f"*{_escape(message.monitor)}* is *{message.status.upper()}*: {summary or 'no items'}"),
        ]
        for start in range(0, len(shown), FIELDS_PER_SECTION):
            chunk = shown[start:start + FIELDS_PER_SECTION]
            blocks.append({"type": "section", "fields": [
                {"type": "mrkdwn", "text": _cut(_field(item), FIELD_CHARS)} for item in chunk]})
        if len(items) > len(shown):
            blocks.append(_section(f"…and {len(items) - len(shown)} more"))
        context = _escape(f"{message.context()} · reason: {message.reason}")
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(context, SECTION_CHARS)}]})
        # A cut URL would be a broken link, so an over-long one loses the button (text() still has it).
        if message.report_url and len(message.report_url) <= URL_CHARS:
            blocks.append({"type": "actions", "elements": [{
                "type": "button", "action_id": "driftwatch_report", "url": message.report_url,
                "text": {"type": "plain_text", "text": _cut("Open report", BUTTON_CHARS)}}]})
        return blocks[:MAX_BLOCKS]

    # -- delivery ----------------------------------------------------------------------------

    def send(self, message: Message) -> Delivery:
        """Post ``message`` once; return how it went or raise a classified ``DeliveryError`` (R20)."""
        text, blocks = self.text(message), self.blocks(message)
        where = "incoming webhook" if self.webhook_url is not None else f"chat.postMessage to {self.channel}"
        # urllib takes float seconds; the SDK merely annotates ``timeout`` as int.
        timeout: Any = self.timeout
        try:
            if self.webhook_url is not None:
                hook = WebhookClient(self.webhook_url.reveal(), timeout=timeout, retry_handlers=[],
                                     logger=_sdk_logger())
                answer = hook.send(text=text, blocks=blocks, unfurl_links=False)
                if answer.status_code != 200:
                    raise _classify(where, answer.status_code, _word(answer.body), answer.headers, self._scrub)
                sent: dict[str, Any] = {"text": text, "blocks": blocks}
            else:
                assert self.token is not None and self.channel is not None  # __post_init__ made sure
                client = WebClient(token=self.token.reveal(), base_url=self.base_url, timeout=timeout,
                                   retry_handlers=[], logger=_sdk_logger())
                client.chat_postMessage(channel=self.channel, text=text, blocks=blocks, unfurl_links=False)
                sent = {"channel": self.channel, "text": text, "blocks": blocks}
        except SlackApiError as exc:
            response = exc.response
            data = response.data if isinstance(response.data, dict) else {}
            code = str(data.get("error") or "")
            raise _classify(where, int(response.status_code), code, dict(response.headers or {}), self._scrub) from None
        except (OSError, http.client.HTTPException, SlackClientError) as exc:  # URLError, timeouts, resets
            reason = exc.reason if isinstance(exc, URLError) else exc
            if isinstance(reason, TimeoutError) or "timed out" in str(reason):
                raise DeliveryError(f"slack: {where} timed out after {self.timeout:g} s") from None
            raise DeliveryError(f"slack: {where} failed: {self._scrub(str(reason) or type(reason).__name__)}") from None
        return Delivery(status="200", request=json.dumps(sent, ensure_ascii=False))

    def _scrub(self, text: str) -> str:
        """``text`` without the token or webhook URL, should a library ever echo them."""
        for secret in (self.token, self.webhook_url):
            if secret is not None and secret.reveal():
                text = text.replace(secret.reveal(), MASK)
        return text


def _classify(where: str, status: int, code: str, headers: Any, scrub: Callable[[str], str]) -> DeliveryError:
    """The ``DeliveryError`` for an answer Slack gave: wait, give up, or retry later."""
    detail = scrub(f"slack: {where} failed: HTTP {status}" + (f" {code}" if code else ""))
    label = code if status == 200 and code else str(status)
    if status == 429:
        return DeliveryError(detail, retry_after=_retry_after(headers), status=label)
    permanent = status in PERMANENT_STATUSES or code in PERMANENT_CODES
    return DeliveryError(detail, permanent=permanent, status=label)


def _retry_after(headers: Any) -> float | None:
    """``Retry-After`` in seconds: delta-seconds as Slack sends it, or an HTTP date (RFC 9110).

    >>> _retry_after({"Retry-After": "30"}), _retry_after({"retry-after": "x"}), _retry_after({})
    (30.0, None, None)
    """
    raw = next((str(v) for k, v in dict(headers or {}).items() if k.lower() == "retry-after"), None)
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(raw).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _field(item: Item) -> str:
    """One item as a mrkdwn field: change, severity, detector; then feature, metric and figure."""
    name = f"*{_escape(item.feature)}* {_escape(item.metric)}" if item.feature else f"*{_escape(item.metric)}*"
    lines = [f"*{item.change.upper()}* · {item.severity} · {_escape(item.detector)}",
             f"{name} {_escape(item.figure())}".rstrip()]
    if item.summary and item.value is not None:
        lines.append(_escape(item.summary))
    return "\n".join(lines)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SECTION_CHARS)}}


def _escape(text: str) -> str:
    """Slack's three control characters as entities (docs.slack.dev, "Escaping text").

    >>> _escape("a < b & c > <!channel>")
    'a &lt; b &amp; c &gt; &lt;!channel&gt;'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters ending in "…", never splitting an ``&lt;`` entity.

    >>> _cut("abcdef", 4), _cut("abc", 3), _cut("ab &amp; cd", 6)
    ('abc…', 'abc', 'ab …')
    """
    if len(text) <= limit:
        return text
    head = text[:limit - 1]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head + "…"


def _word(body: str) -> str:
    """The error word an incoming webhook answers with (``no_service``), kept short for the log."""
    return " ".join(body.split())[:200]


def _check_url(key: str, url: str, *, https_only: bool) -> None:
    """Reject what cannot be an endpoint; never quote the URL (a webhook URL is a credential)."""
    problem = f"{key}: must be an {'https' if https_only else 'http(s)'} URL with a host"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise ValueError(problem) from None
    local = parts.scheme == "http" and host in _LOCAL_HOSTS
    if not host or parts.scheme not in ("http", "https") or (https_only and parts.scheme != "https" and not local):
        raise ValueError(problem + (" (plain http only to localhost)" if https_only else ""))


def _sdk_logger() -> logging.Logger:
    """A quiet logger for the SDK: its debug lines print the webhook URL (a secret, R40) and its
    error lines repeat what the dispatcher already logs for every attempt (R17)."""
    logger = logging.getLogger(f"{__name__}.sdk")
    logger.setLevel(logging.CRITICAL)
    return logger

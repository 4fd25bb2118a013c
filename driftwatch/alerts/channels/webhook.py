"""The generic webhook channel and webhook subscriptions: signed JSON POSTs (R9–R15).

``WebhookChannel`` (``[channels.NAME]``, ``type = "webhook"``) delivers notifications like any
channel; its body is driftwatch's own event (``format = "json"``, see ``alerts.events``) or an
Alertmanager v4 webhook body (``format = "alertmanager"``), so anything that already receives
Alertmanager (PagerDuty, Opsgenie, a ticket bridge) can take driftwatch alerts unchanged.
``WebhookSubscription`` (``[webhooks.NAME]``) is for machines: it receives the events it asks
for (``retrain.requested``, ...) for the monitors it names, always signed.

Both treat the URL as a secret (it often embeds a token, R40): ``repr()`` shows ``***`` and no
error quotes it. With a ``whsec_`` secret every attempt is signed per Standard Webhooks; the
``webhook-id`` is the message key, identical on every retry, while the timestamp is the attempt's.

>>> WebhookChannel("ftp://example.com/hook")
Traceback (most recent call last):
...
ValueError: url: must be an http(s) URL with a host
>>> WebhookChannel("https://hooks.example.com/T0/s3cr3t", format="alertmanager")
WebhookChannel(url=***, secret=None, format='alertmanager', timeout=15.0, receiver='driftwatch')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ... import webhooks
from ...model import AlertKey
from ...secrets import Secret
from ..events import EVENT_TYPES, MAX_BYTES, encode, event_from_message, fit, rfc3339
from ..message import Item, Message
from . import Delivery
from .http import post

__all__ = ["FORMATS", "WebhookChannel", "WebhookSubscription", "alertmanager_body"]

#: Body formats of the webhook channel.
FORMATS: tuple[str, ...] = ("json", "alertmanager")
#: What Alertmanager puts in ``endsAt`` while an alert still fires.
ZERO_TIME = "0001-01-01T00:00:00Z"


def _wrap_secret(owner: object, name: str, *, required: bool) -> Secret | None:
    value = getattr(owner, name)
    if isinstance(value, str):
        value = Secret(value)
        object.__setattr__(owner, name, value)
    if value is None and not required:
        return None
    if not isinstance(value, Secret) or not value.reveal().strip():
        raise ValueError(f"{name}: missing (a {'whsec_ secret' if name != 'url' else 'URL'} is required)")
    return value


def _check_url(owner: object) -> None:
    url = _wrap_secret(owner, "url", required=True)
    assert url is not None
    try:
        parts = urlsplit(url.reveal().strip())
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0  # bad port: raises
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("url: must be an http(s) URL with a host")  # never echoed: it may hold a token


def _check_secret(owner: object, name: str, *, required: bool) -> None:
    secret = _wrap_secret(owner, name, required=required)
    if secret is not None:
        try:
            webhooks.secret_key(secret.reveal())
        except ValueError as exc:
            raise ValueError(str(exc).replace("secret:", f"{name}:", 1)) from None


def _check_timeout(timeout: object) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout: must be a number of seconds > 0, got {timeout!r}")


def _msg_id(message: Message) -> str:
    """The message key when it can be a ``webhook-id`` (no ``.``), else an id derived from it."""
    event_type = "alert.firing" if message.status == "firing" else "alert.resolved"
    if message.key and "." not in message.key:
        return message.key
    return webhooks.message_id(message.monitor, message.window.start, event_type, extra=message.key)


def _event_time(message: Message) -> datetime:
    # The creation time, so that every retry of a message sends the very same body.
    return message.created_at or datetime.now(timezone.utc)


def _summary(message: Message, item: Item) -> str:
    """``monitor: detector feature metric = value (threshold …)``, with what lies behind it after
    ``; ``; a failed run's error alone."""
    if item.summary and item.value is None:
        return item.summary
    line = f"{message.monitor}: {item.label()} {item.figure()}".strip()
    return f"{line}; {item.summary}" if item.summary else line


def _fingerprint(monitor: str, item: Item) -> str:
    """The alert's R1 fingerprint: carried by the item, or computed the same way."""
    return item.fingerprint or AlertKey(monitor, item.detector, item.feature, item.metric).fingerprint


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    return {key: value for key, value in maps[0].items() if all(other.get(key) == value for other in maps[1:])}


def alertmanager_body(message: Message, *, receiver: str = "driftwatch", max_bytes: int = MAX_BYTES) -> bytes:
    """An Alertmanager v4 webhook body (R14), one alert per item, worst first, capped in size.

    Labels are the alert identity (``alertname`` is the metric) on top of the monitor's labels;
    alerts that do not fit in ``max_bytes`` are dropped from the end and counted in
    ``truncatedAlerts``, as Alertmanager does with ``max_alerts``.
    """
    report = message.report_url or ""
    origin = urlsplit(report)
    external = f"{origin.scheme}://{origin.netloc}/" if origin.scheme and origin.netloc else ""
    alerts: list[dict[str, Any]] = []
    for item in message.ordered():
        resolved = item.change == "resolved"
        labels = {**dict(message.labels), "alertname": item.metric, "monitor": message.monitor,
                  "detector": item.detector, "feature": item.feature, "severity": item.severity}
        ends = rfc3339(item.ends_at or _event_time(message)) if resolved else ZERO_TIME
        alerts.append({
            "status": "resolved" if resolved else "firing",
            "labels": labels,
            "annotations": {"summary": _summary(message, item),
                            "value": _text(item.value), "threshold": _text(item.threshold)},
            "startsAt": rfc3339(item.starts_at or message.window.end),
            "endsAt": ends,
            "generatorURL": report,
            "fingerprint": _fingerprint(message.monitor, item),
        })
    head = {
        "version": "4",
        "groupKey": "{}:{monitor=" + json.dumps(message.monitor, ensure_ascii=False) + "}",
        "status": message.status,
        "receiver": receiver,
        "groupLabels": {"monitor": message.monitor},
        "commonLabels": _common([a["labels"] for a in alerts]) or {"monitor": message.monitor},
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": external,
    }

    def build(kept: int) -> bytes:
        return encode({**head, "alerts": alerts[:kept], "truncatedAlerts": len(alerts) - kept})

    return fit(build, len(alerts), max_bytes)


@dataclass(frozen=True)
class WebhookChannel:
    """POSTs each notification as JSON to ``url``, signed when ``secret`` is set.

    ``format``: ``json`` (the ``alert.firing``/``alert.resolved`` event of ``alerts.events``) or
    ``alertmanager`` (Alertmanager v4 webhook body, ``receiver`` names the receiver in it).
    ``timeout``: seconds for the whole attempt.
    """

    name: ClassVar[str] = "webhook"

    url: Secret
    secret: Secret | None = None
    format: str = "json"
    timeout: float = 15.0
    receiver: str = "driftwatch"

    def __post_init__(self) -> None:
        _check_url(self)
        _check_secret(self, "secret", required=False)
        if self.format not in FORMATS:
            raise ValueError(f"format: must be one of {', '.join(FORMATS)}, got {self.format!r}")
        _check_timeout(self.timeout)
        if not isinstance(self.receiver, str) or not self.receiver:
            raise ValueError("receiver: must be a non-empty string")

    def body(self, message: Message) -> bytes:
        """What ``send`` POSTs for ``message`` (the same bytes on every retry)."""
        if self.format == "alertmanager":
            return alertmanager_body(message, receiver=self.receiver)
        return event_from_message(message, _msg_id(message), now=_event_time(message))

    def headers(self, message: Message, body: bytes, *, now: int | None = None) -> dict[str, str]:
        """Signed Standard Webhooks headers when a secret is set, else just the content type."""
        if self.secret is None:
            return {"content-type": "application/json"}
        return webhooks.headers([self.secret.reveal()], _msg_id(message), body, now=now)

    def send(self, message: Message) -> Delivery:
        """One POST of ``message``; raises ``DeliveryError`` as ``http.post`` classifies the answer."""
        body = self.body(message)
        return post(self.url.reveal(), body, self.headers(message, body), timeout=float(self.timeout))


@dataclass(frozen=True)
class WebhookSubscription:
    """A machine receiver of events (``[webhooks.NAME]``): always signed, filtered by type and monitor.

    ``secret`` signs every request; while rotating, set the new one as ``secret`` and the old as
    ``previous_secret``: both sign until the receiver has switched. ``events`` lists the event
    types wanted (all by default); ``monitors`` the monitors (empty: all).

    >>> sub = WebhookSubscription("https://ml.example.com/retrain", "whsec_c2VjcmV0", events=["retrain.requested"])
    >>> sub.wants("retrain.requested", "churn"), sub.wants("alert.firing", "churn")
    (True, False)
    """

    url: Secret
    secret: Secret
    previous_secret: Secret | None = None
    events: tuple[str, ...] = EVENT_TYPES
    monitors: tuple[str, ...] = ()
    timeout: float = 15.0

    def __post_init__(self) -> None:
        _check_url(self)
        _check_secret(self, "secret", required=True)
        _check_secret(self, "previous_secret", required=False)
        for name in ("events", "monitors"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, (list, tuple)) \
                    or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{name}: must be a list of strings")
            object.__setattr__(self, name, tuple(value))
        if not self.events:
            raise ValueError(f"events: must name at least one of {', '.join(EVENT_TYPES)}")
        unknown = [event for event in self.events if event not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"events: unknown event type {unknown[0]!r} (valid: {', '.join(EVENT_TYPES)})")
        _check_timeout(self.timeout)

    def secrets(self) -> list[str]:
        """The active secrets, newest first (the revealed values: for signing only)."""
        return [s.reveal() for s in (self.secret, self.previous_secret) if s is not None]

    def wants(self, event_type: str, monitor: str) -> bool:
        """Whether this subscription receives ``event_type`` events of ``monitor``."""
        return event_type in self.events and (not self.monitors or monitor in self.monitors)

    def deliver(self, body: bytes, msg_id: str, *, now: int | None = None) -> Delivery:
        """One signed POST of an event body; ``now`` (Unix seconds) stamps the attempt."""
        signed = webhooks.headers(self.secrets(), msg_id, body, now=now)
        return post(self.url.reveal(), body, signed, timeout=float(self.timeout))

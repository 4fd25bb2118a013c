"""Webhook event bodies: what a subscriber receives, and the JSON Schema it can rely on (R13).

One shape for every event, so a receiver (a retraining pipeline, a ticket bot) parses one thing::

    {"type": "retrain.requested", "id": "msg_…", "timestamp": "2026-11-01T10:00:05Z",
     "data": {"monitor": "churn", "run_id": 7, "window": {"start": "…Z", "end": "…Z"},
              "reason": "…", "results": [{"detector", "feature", "metric", "value",
              "threshold", "p_value", "status", "segment"}, …], "truncated_results": 0, "report_url": "…"}}

Bodies stay at most ``max_bytes`` (20 kB) long, whatever the number of features: results are
kept worst first as given and dropped from the end, and ``truncated_results`` says how many were
dropped, so a receiver knows the list is partial and can follow ``report_url`` for the rest.
Non-finite numbers become ``null`` (JSON has no NaN). ``id`` is the ``webhook-id`` of the
delivery, so a receiver may deduplicate on either.

>>> from datetime import datetime
>>> from driftwatch.model import Window
>>> w = Window(datetime(2026, 11, 1, 9), datetime(2026, 11, 1, 10))
>>> body = event_body("retrain.requested", "msg_1", timestamp=datetime(2026, 11, 1, 10, 0, 5), monitor="churn",
...                   window=w, run_id=7, report_url=None,
...                   results=[{"detector": "drift", "feature": "age", "metric": "psi", "value": float("nan"),
...                             "threshold": 0.2, "p_value": None, "status": "alert"}])
>>> event = json.loads(body)
>>> event["type"], event["timestamp"], event["data"]["results"][0]["value"], event["data"]["truncated_results"]
('retrain.requested', '2026-11-01T10:00:05Z', None, 0)
>>> event["data"]["window"]
{'end': '2026-11-01T10:00:00Z', 'start': '2026-11-01T09:00:00Z'}
>>> import jsonschema; jsonschema.validate(event, WEBHOOK_EVENT_SCHEMA)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..jsonsafe import json_safe
from ..model import Window, utc
from .message import Item, Message

__all__ = ["EVENT_TYPES", "MAX_BYTES", "RESULT_FIELDS", "WEBHOOK_EVENT_SCHEMA", "encode", "event_body",
           "event_from_message", "fit", "rfc3339"]

#: Every event a subscription can ask for (``[webhooks.NAME] events``).
EVENT_TYPES: tuple[str, ...] = ("retrain.requested", "alert.firing", "alert.resolved", "run.failed")
#: The default cap on a body (R13: under 20 kB).
MAX_BYTES = 20_000
#: The keys of each entry of ``data.results``.
RESULT_FIELDS: tuple[str, ...] = ("detector", "feature", "metric", "value", "threshold", "p_value", "status",
                                  "segment")
#: Free text is cut here so that no reason, however long, can push a body over its cap.
_REASON_CHARS = 1000

_UTC_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$"
_TIME = {"type": "string", "format": "date-time", "pattern": _UTC_TIME}
_NUMBER = {"type": ["number", "null"]}

#: JSON Schema (draft 2020-12) of every event body; served at ``/api/v1/schemas/webhook-event``.
WEBHOOK_EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://driftwatch.dev/schemas/webhook-event.json",
    "title": "driftwatch webhook event",
    "type": "object",
    "required": ["type", "id", "timestamp", "data"],
    "additionalProperties": False,
    "properties": {
        "type": {"enum": list(EVENT_TYPES)},
        "id": {"type": "string", "minLength": 1, "pattern": r"^[^.]+$"},
        "timestamp": _TIME,
        "data": {
            "type": "object",
            "required": ["monitor", "run_id", "window", "reason", "results", "truncated_results", "report_url"],
            "additionalProperties": False,
            "properties": {
                "monitor": {"type": "string", "minLength": 1},
                "run_id": {"type": ["integer", "null"]},
                "window": {
                    "type": "object",
                    "required": ["start", "end"],
                    "additionalProperties": False,
                    "properties": {"start": _TIME, "end": _TIME},
                },
                "reason": {"type": "string"},
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": list(RESULT_FIELDS),
                        "additionalProperties": False,
                        "properties": {
                            "detector": {"type": "string"},
                            "feature": {"type": "string"},
                            "metric": {"type": "string"},
                            "value": _NUMBER,
                            "threshold": _NUMBER,
                            "p_value": _NUMBER,
                            "status": {"type": "string"},
                            "segment": {"type": "string"},
                        },
                    },
                },
                "truncated_results": {"type": "integer", "minimum": 0},
                "report_url": {"type": ["string", "null"]},
            },
        },
    },
}


def rfc3339(value: datetime) -> str:
    """``value`` in UTC as RFC 3339 with ``Z`` (naive times are taken as UTC).

    >>> rfc3339(datetime(2026, 11, 1, 9, 30))
    '2026-11-01T09:30:00Z'
    """
    return utc(value).isoformat().replace("+00:00", "Z")


def encode(value: Any) -> bytes:
    """Compact, sorted-keys UTF-8 JSON: the same data always gives the same bytes (and signature)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False).encode()


def fit(build: Callable[[int], bytes], count: int, max_bytes: int) -> bytes:
    """``build(k)`` for the largest ``k <= count`` whose bytes are at most ``max_bytes`` long.

    ``build(k)`` keeps the first ``k`` of ``count`` entries. Size grows with ``k``, so a binary
    search finds ``k`` in ~log2(count) encodings. If even ``build(0)`` is too long there is
    nothing left to drop: a ``ValueError`` naming ``max_bytes``.

    >>> len(fit(lambda k: b"x" * (10 + 3 * k), 100, 41))  # k = 10 of 100 fit
    40
    """
    whole = build(count)
    if len(whole) <= max_bytes:
        return whole
    low, high = 0, count - 1  # build(high + 1) is known to be too long
    best = build(0)
    if len(best) > max_bytes:
        raise ValueError(f"max_bytes: {max_bytes} is too small for a body without results ({len(best)} bytes)")
    while low < high:
        mid = (low + high + 1) // 2
        candidate = build(mid)
        if len(candidate) <= max_bytes:
            low, best = mid, candidate
        else:
            high = mid - 1
    return best


def _finite(value: Any) -> float | int | None:
    if value is None or isinstance(value, bool):
        return None
    number = json_safe(value, "value")
    if isinstance(number, (int, float)) and not isinstance(number, bool):
        return number if math.isfinite(number) else None
    return None


def _result(raw: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {key: str(raw.get(key) or "") for key in ("detector", "feature", "metric", "status")}
    entry.update({key: _finite(raw.get(key)) for key in ("value", "threshold", "p_value")})
    entry["segment"] = str(raw.get("segment") or "")
    return entry


def event_body(event_type: str, msg_id: str, *, timestamp: datetime, monitor: str, window: Window,
               run_id: int | None, results: Sequence[Mapping[str, Any]], report_url: str | None,
               reason: str = "", max_bytes: int = MAX_BYTES) -> bytes:
    """The encoded body of one event, at most ``max_bytes`` long.

    ``results`` should come worst first: the tail is what gets dropped. Each result is reduced to
    ``RESULT_FIELDS`` (missing text fields become ``""``, missing or non-finite numbers ``null``).
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"event_type: must be one of {', '.join(EVENT_TYPES)}, got {event_type!r}")
    if not msg_id or "." in msg_id:
        raise ValueError("msg_id: must be a non-empty id without '.'")
    entries = [_result(raw) for raw in results]
    data = {
        "monitor": monitor, "run_id": run_id, "reason": reason[:_REASON_CHARS], "report_url": report_url,
        "window": {"start": rfc3339(window.start), "end": rfc3339(window.end)},
    }
    head = {"type": event_type, "id": msg_id, "timestamp": rfc3339(timestamp)}

    def build(kept: int) -> bytes:
        return encode({**head, "data": {**data, "results": entries[:kept], "truncated_results": len(entries) - kept}})

    return fit(build, len(entries), max_bytes)


def _item_result(item: Item) -> dict[str, Any]:
    # A resolved item is back within its threshold: its status now is ``ok``.
    status = "ok" if item.change == "resolved" else item.severity
    return {"detector": item.detector, "feature": item.feature, "metric": item.metric, "value": item.value,
            "threshold": item.threshold, "p_value": item.p_value, "status": status, "segment": item.segment}


def event_from_message(message: Message, msg_id: str, *, now: datetime, max_bytes: int = MAX_BYTES) -> bytes:
    """The ``alert.firing`` / ``alert.resolved`` body of a notification, items worst first.

    ``now`` is the event's time; pass the message's creation time so that every retry sends the
    same bytes.
    """
    event_type = "alert.firing" if message.status == "firing" else "alert.resolved"
    return event_body(event_type, msg_id, timestamp=now, monitor=message.monitor, window=message.window,
                      run_id=message.run_id, results=[_item_result(i) for i in message.ordered()],
                      report_url=message.report_url, reason=message.reason, max_bytes=max_bytes)

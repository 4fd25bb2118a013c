"""The message a channel delivers: one per (monitor run, channel), never one per feature (R5).

A ``Message`` is what alert evaluation writes into the outbox (as JSON, ``to_json``) and what
the dispatcher hands a channel (``from_json``). It lists what started firing, what is still
firing and what resolved, worst first, and says why it was sent (``reason``, R6). Channels
render it in their own format (Block Kit, email, JSON); ``text()`` is the plain-text form they
all share as a fallback.

>>> from datetime import datetime, timezone
>>> from driftwatch.model import Window
>>> w = Window(datetime(2026, 11, 1, 9), datetime(2026, 11, 1, 10))
>>> m = Message(monitor="churn", run_id=7, window=w, status="firing", reason="first notification",
...             items=(Item("drift", "age", "psi", "alert", "new", value=0.4, threshold=0.2),),
...             report_url="http://dw.local/runs/7")
>>> print(m.text())  # doctest: +NORMALIZE_WHITESPACE
[driftwatch] FIRING churn: 1 alert (first notification)
window 2026-11-01T09:00:00+00:00 .. 2026-11-01T10:00:00+00:00, run 7
NEW alert drift age psi = 0.4 (threshold 0.2)
report: http://dw.local/runs/7
>>> Message.from_json(m.to_json()) == m
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from ..model import Window

__all__ = ["CHANGES", "REASONS", "Item", "Message"]

#: Why a message was sent (R6).
REASONS: tuple[str, ...] = ("first notification", "new alerts added", "some alerts resolved",
                            "all alerts resolved", "repeat interval elapsed")
#: How an item changed in this run: started firing, still firing, or resolved.
CHANGES: tuple[str, ...] = ("new", "still", "resolved")

Change = Literal["new", "still", "resolved"]
#: ``run_failed`` alerts carry ``error``; drift/quality/performance/fairness ones ``warn``/``alert``.
Severity = Literal["warn", "alert", "error"]


@dataclass(frozen=True)
class Item:
    """One alert in a message: which figure, how bad, and how it changed in this run.

    ``detector``/``feature``/``metric`` identify the alert (with the message's monitor, R1);
    ``feature`` is ``""`` for data-set level figures, ``segment`` ``""`` for the whole window
    (else ``country=BR``). ``fingerprint`` is the alert's stable id.
    ``summary`` is free text for the reader (the error of a failed run, say).
    """

    detector: str
    feature: str
    metric: str
    severity: Severity
    change: Change
    value: float | None = None
    threshold: float | None = None
    p_value: float | None = None
    fingerprint: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    summary: str = ""
    segment: str = ""

    def __post_init__(self) -> None:
        if self.severity not in ("warn", "alert", "error"):
            raise ValueError(f"severity: must be warn, alert or error, got {self.severity!r}")
        if self.change not in CHANGES:
            raise ValueError(f"change: must be one of {', '.join(CHANGES)}, got {self.change!r}")

    @property
    def badness(self) -> float:
        """How far past its threshold the figure is: ``value / threshold`` (R5 sorts by it).

        Drift and quality figures are effect sizes and shares whose threshold is their practical
        minimum, so this reads the same for every detector. Errors come first (infinite); a
        figure with no value or no usable threshold counts 1. An item with only a p-value (queued
        by a release whose tests compared p with alpha) counts ``alpha / p``.
        """
        if self.severity == "error":
            return math.inf
        if self.value is not None and self.threshold:
            return abs(self.value / self.threshold)
        if self.p_value is not None and self.threshold:
            return self.threshold / self.p_value if self.p_value > 0 else math.inf
        return 1.0

    def label(self) -> str:
        """``detector feature metric`` without the empty parts: ``drift age psi``; a segment's
        alert says where: ``performance recall in country=BR``."""
        label = " ".join(part for part in (self.detector, self.feature, self.metric) if part)
        return f"{label} in {self.segment}" if self.segment else label

    def figure(self) -> str:
        """``psi = 0.4 (threshold 0.2, p = 0.001)``, ``p = 0.001 (alpha 0.05)``, or the summary."""
        if self.summary and self.value is None:
            return self.summary
        if self.value is None:
            if self.p_value is None:
                return f"(threshold {_num(self.threshold)})" if self.threshold is not None else ""
            alpha = f" (alpha {_num(self.threshold)})" if self.threshold is not None else ""
            return f"p = {_num(self.p_value)}{alpha}"
        context = [f"threshold {_num(self.threshold)}"] if self.threshold is not None else []
        if self.p_value is not None:
            context.append(f"p = {_num(self.p_value)}")
        return f"= {_num(self.value)}" + (f" ({', '.join(context)})" if context else "")


@dataclass(frozen=True)
class Message:
    """One notification: a monitor run's alert changes, for one channel.

    ``status`` is ``firing`` while any item still fires, else ``resolved``. ``items`` are kept
    worst first (``ordered()`` sorts them); channels cut the list to what fits and say
    "…and N more". ``key`` is stable for the same (monitor run, channel) — every retry of the
    message carries it (the webhook-id, the email Message-ID), so receivers can deduplicate.
    """

    monitor: str
    run_id: int | None
    window: Window
    status: Literal["firing", "resolved"]
    reason: str
    items: tuple[Item, ...]
    report_url: str | None = None
    key: str = ""
    created_at: datetime | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in ("firing", "resolved"):
            raise ValueError(f"status: must be firing or resolved, got {self.status!r}")
        if self.reason not in REASONS:
            raise ValueError(f"reason: must be one of {', '.join(REASONS)}, got {self.reason!r}")

    def ordered(self) -> list[Item]:
        """The items worst first: new and still firing by badness, then resolved ones."""
        return sorted(self.items, key=lambda i: (i.change == "resolved", -i.badness, i.label()))

    def counts(self) -> dict[str, int]:
        """How many items are new, still firing and resolved."""
        return {change: sum(1 for i in self.items if i.change == change) for change in CHANGES}

    def title(self) -> str:
        """``[driftwatch] FIRING churn: 3 alerts (new alerts added)`` — subject and header."""
        firing = sum(1 for i in self.items if i.change != "resolved")
        count = firing if self.status == "firing" else len(self.items)
        noun = "alert" if count == 1 else "alerts"
        return f"[driftwatch] {self.status.upper()} {self.monitor}: {count} {noun} ({self.reason})"

    def context(self) -> str:
        """``window START .. END, run 7`` — where the figures come from."""
        run = f", run {self.run_id}" if self.run_id is not None else ""
        return f"window {self.window.start.isoformat()} .. {self.window.end.isoformat()}{run}"

    def text(self, limit: int = 20) -> str:
        """Plain text: title, context, one line per item (at most ``limit``), report link."""
        lines = [self.title(), self.context()]
        ordered = self.ordered()
        for item in ordered[:limit]:
            lines.append(f"{item.change.upper()} {item.severity} {item.label()} {item.figure()}".rstrip())
            if item.summary and item.value is not None:  # what lies behind the figure
                lines.append(f"  {item.summary}")
        if len(ordered) > limit:
            lines.append(f"…and {len(ordered) - limit} more")
        if self.report_url:
            lines.append(f"report: {self.report_url}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (ISO 8601 times) that ``from_json`` turns back into this message."""
        return {
            "monitor": self.monitor, "run_id": self.run_id,
            "window": {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()},
            "status": self.status, "reason": self.reason, "report_url": self.report_url, "key": self.key,
            "created_at": _iso(self.created_at), "labels": dict(self.labels),
            "items": [{f.name: _iso(getattr(i, f.name)) if f.name in ("starts_at", "ends_at")
                       else getattr(i, f.name) for f in fields(Item)} for i in self.items],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        """The message ``to_json`` wrote."""
        items = tuple(Item(**{**raw, "starts_at": _parse(raw.get("starts_at")), "ends_at": _parse(raw.get("ends_at"))})
                      for raw in data["items"])
        window = Window(datetime.fromisoformat(data["window"]["start"]), datetime.fromisoformat(data["window"]["end"]))
        return cls(monitor=data["monitor"], run_id=data["run_id"], window=window, status=data["status"],
                   reason=data["reason"], items=items, report_url=data.get("report_url"), key=data.get("key", ""),
                   created_at=_parse(data.get("created_at")), labels=dict(data.get("labels") or {}))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _num(value: float | None) -> str:
    """A figure short enough to read: 4 significant digits.

    >>> _num(0.123456), _num(12345.678), _num(None), _num(1e-7)
    ('0.1235', '1.235e+04', '-', '1e-07')
    """
    if value is None:
        return "-"
    return f"{value:.4g}"

"""The dispatcher: takes due rows from the outbox, hands each to its channel or webhook
subscription, and records how it went (R15–R17).

Retry policy lives here, not in the channels: a failed attempt is tried again after 10 s, 1 min,
5 min, 30 min, 2 h, 6 h and then every 6 h, each ±20 % jitter (so replicas and rows spread out),
until the row's ``delivery_deadline``; then it is ``dead``. A ``Retry-After`` from the peer
replaces the backoff (and holds back that target's other rows), and a permanent failure (bad
token, 410 Gone) is ``dead`` at once.

Each target is served by its own worker: a channel that times out or keeps failing never delays
the others, and a target still busy from the last pass is skipped until it is free.

When the store itself does not answer, the passes back off (1 s doubling to ``STORE_BACKOFF_MAX``)
and say so once when it goes and once when it comes back, instead of a traceback every pass.

>>> rng = random.Random(7)
>>> waits = [backoff(n, rng=rng).total_seconds() for n in range(1, 9)]
>>> all(0.8 * base <= wait <= 1.2 * base for base, wait in zip([10, 60, 300, 1800, 7200, 21600, 21600, 21600], waits))
True
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ..errors import DeliveryError
from ..store import Store
from ..store import outbox as store_outbox
from ..store.outbox import Attempt, OutboxRow
from .message import Message

__all__ = ["BACKOFF", "Dispatcher", "backoff"]

log = logging.getLogger("driftwatch.alerts.dispatcher")

#: The longest pause between passes while the store does not answer.
STORE_BACKOFF_MAX = timedelta(seconds=60)

#: Seconds to wait after the 1st, 2nd, … failed attempt; the last repeats (R16).
BACKOFF: tuple[int, ...] = (10, 60, 300, 1800, 7200, 21600)
JITTER = 0.2


def backoff(failures: int, *, rng: random.Random) -> timedelta:
    """How long to wait after the ``failures``-th failed attempt: ``BACKOFF`` with ±20 % jitter."""
    base = BACKOFF[min(max(failures, 1), len(BACKOFF)) - 1]
    return timedelta(seconds=base * rng.uniform(1 - JITTER, 1 + JITTER))


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Outcome:
    """What happened to one row in a pass."""

    row_id: int
    target: str
    outcome: str  # delivered | retry | dead | released
    status: str | None = None
    error: str | None = None


class Dispatcher:
    """Sends due outbox rows. ``run_once`` is the scheduler job; ``wait`` makes it synchronous
    (the one-shot ``check`` and the tests). ``clock`` and ``rng`` are injectable for tests."""

    def __init__(self, store: Store, channels: Mapping[str, Any], webhooks: Mapping[str, Any], *, owner: str,
                 clock: Callable[[], datetime] = _utcnow, rng: random.Random | None = None,
                 lease: timedelta = timedelta(minutes=10), batch: int = 20, workers: int = 8) -> None:
        self.store = store
        self.channels = dict(channels)
        self.webhooks = dict(webhooks)
        self.owner = owner
        self.clock = clock
        self.rng = rng or random.Random()
        self.lease = lease
        self.batch = batch
        #: (target, outcome) -> count, for /metrics.
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dispatch")
        self._busy: dict[str, Future[list[Outcome]]] = {}
        self._lock = threading.Lock()
        #: While the store does not answer: since when, the current pause, and the next pass.
        self._store_down: datetime | None = None
        self._pause = timedelta(0)
        self._next_pass: datetime | None = None

    def configure(self, channels: Mapping[str, Any], webhooks: Mapping[str, Any]) -> None:
        """Swap the targets after a config reload; rows for a removed target end ``dead``."""
        self.channels, self.webhooks = dict(channels), dict(webhooks)

    def run_once(self, *, wait: bool = False) -> list[Outcome]:
        """Claim the due rows of every target not busy, and send them, one worker per target."""
        now = self.clock()
        if self._next_pass is not None and now < self._next_pass:
            return []
        with self._lock:
            self._busy = {t: f for t, f in self._busy.items() if not f.done()}
            busy = set(self._busy)
        try:
            rows = store_outbox.claim(self.store.engine, owner=self.owner, now=now, lease=self.lease,
                                      limit=self.batch, skip_targets=busy)
        except SQLAlchemyError as exc:
            self._store_failed(now, exc)
            return []
        if self._store_down is not None:
            log.warning("outbox: the store answers again (it did not for %s); sending resumes",
                        now - self._store_down)
            self._store_down, self._pause, self._next_pass = None, timedelta(0), None
        by_target: dict[str, list[OutboxRow]] = {}
        for row in rows:
            by_target.setdefault(row.target, []).append(row)
        futures = []
        with self._lock:
            for target, mine in by_target.items():
                future = self._pool.submit(self._serve, target, mine)
                self._busy[target] = future
                futures.append(future)
        if not wait:
            return []
        return [outcome for future in futures for outcome in future.result()]

    def _store_failed(self, now: datetime, exc: SQLAlchemyError) -> None:
        """One log line when the store stops answering; then back off, doubling to the maximum."""
        if self._store_down is None:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            log.error("outbox: the store does not answer (%s); retrying every %s at most, quietly",
                      reason, STORE_BACKOFF_MAX)
            self._store_down = now
        self._pause = min(max(self._pause * 2, timedelta(seconds=1)), STORE_BACKOFF_MAX)
        self._next_pass = now + self._pause

    def drain(self, *, max_passes: int = 100) -> list[Outcome]:
        """Pass after pass until nothing is due (for ``check`` and tests)."""
        done: list[Outcome] = []
        for _ in range(max_passes):
            outcomes = self.run_once(wait=True)
            if not outcomes:
                break
            done += outcomes
        return done

    def close(self, *, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)

    # -- one target's rows, in one worker -----------------------------------------------------
    def _serve(self, target: str, rows: list[OutboxRow]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        hold_until: datetime | None = None
        for row in rows:
            if hold_until is not None:  # the target asked us to wait: give the rest back untried
                store_outbox.release(self.store.engine, row, owner=self.owner, next_attempt_at=hold_until)
                outcomes.append(Outcome(row.id, target, "released"))
                continue
            try:
                outcome, retry_after = self._attempt(row)
            except Exception:  # a store error: the lease expires and the row is tried again
                log.exception("outbox %s: could not record the attempt", row.id)
                continue
            outcomes.append(outcome)
            if retry_after is not None:
                hold_until = retry_after
        return outcomes

    def _attempt(self, row: OutboxRow) -> tuple[Outcome, datetime | None]:
        if not store_outbox.start_attempt(self.store.engine, row, owner=self.owner, at=self.clock(),
                                          lease=self.lease):
            log.warning("outbox %s: lease lost before the attempt started; not sent", row.id)
            return Outcome(row.id, row.target, "released"), None
        started = time.perf_counter()
        status: str | None = None
        error: str | None = None
        request = row.payload
        permanent = False
        retry_after: float | None = None
        try:
            delivery = self._send(row)
            status, request, outcome = delivery.status, delivery.request or row.payload, "delivered"
        except DeliveryError as exc:
            status, error, permanent, retry_after = exc.status, str(exc), exc.permanent, exc.retry_after
            outcome = "dead" if permanent else "retry"
        except Exception as exc:  # a channel's own bug is a failed attempt, not a dead dispatcher
            error, outcome = f"{type(exc).__name__}: {exc}", "retry"
            log.exception("outbox %s: %s raised", row.id, row.target)
        latency = (time.perf_counter() - started) * 1000
        now = self.clock()
        next_at: datetime | None = None
        if outcome == "retry":
            wait = timedelta(seconds=retry_after) if retry_after is not None \
                else backoff(row.attempts + 1, rng=self.rng)
            if now >= row.deadline_at:
                outcome = "dead"
                error = f"{error} (delivery deadline {row.deadline_at.isoformat()} passed)"
            else:
                next_at = min(now + wait, row.deadline_at)
        attempt = Attempt(attempt=row.attempts + 1, at=now, outcome=outcome, status=status, error=error,
                          latency_ms=latency, request=request[:1024])
        if not store_outbox.finish_attempt(self.store.engine, row, owner=self.owner, attempt=attempt,
                                           next_attempt_at=next_at):
            log.warning("outbox %s: lease lost before the attempt was recorded", row.id)
        self.outcomes[(row.target, outcome)] += 1
        extra = {"monitor": row.monitor, "run_id": row.run_id}
        if outcome == "delivered":
            log.info("outbox %s: delivered to %s (attempt %d, %s, %.0f ms)", row.id, row.target, attempt.attempt,
                     status, latency, extra=extra)
        elif outcome == "dead":
            log.error("outbox %s: DEAD for %s after %d attempt(s): %s", row.id, row.target, attempt.attempt, error,
                      extra=extra)
        else:
            log.warning("outbox %s: %s failed (attempt %d): %s; next at %s", row.id, row.target, attempt.attempt,
                        error, next_at.isoformat() if next_at else "-", extra=extra)
        hold = now + timedelta(seconds=retry_after) if retry_after is not None and outcome == "retry" else None
        return Outcome(row.id, row.target, outcome, status, error), hold

    def _send(self, row: OutboxRow) -> Any:
        if row.kind == "message":
            channel = self.channels.get(row.target)
            if channel is None:
                raise DeliveryError(f"channel {row.target!r} is no longer configured", permanent=True)
            return channel.send(Message.from_json(json.loads(row.payload)))
        subscription = self.webhooks.get(row.target)
        if subscription is None:
            raise DeliveryError(f"webhook subscription {row.target!r} is no longer configured", permanent=True)
        # webhook-timestamp is this attempt's time, from the same clock as the attempt log.
        return subscription.deliver(row.payload.encode("utf-8"), row.key, now=int(self.clock().timestamp()))

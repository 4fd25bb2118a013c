"""The operators' alert commands of ``driftwatch``: ``silence`` and ``outbox``.

Kept apart from ``cli.py`` (which parses arguments and runs the monitors) because they only read
and change the alerting tables; both print one line per row and exit 0, or raise ``ConfigError``
for bad input, which ``cli.main`` turns into one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from ..errors import ConfigError

EXIT_OK = 0
#: ``outbox.id`` is 64-bit and ``silences.id`` 32-bit on PostgreSQL: a bigger number names no row,
#: and the database would refuse it (SQLite: OverflowError) rather than find nothing.
MAX_OUTBOX_ID = 2**63 - 1
MAX_SILENCE_ID = 2**31 - 1


def cmd_silence(args: argparse.Namespace) -> int:
    import getpass

    from ..config import load
    from ..store import Store
    from ..store import alerts as store_alerts
    from ..timeutil import parse_duration

    settings = load(args.config)
    store = Store(settings.store.url.reveal())
    now = datetime.now(timezone.utc)
    try:
        store.create_all()
        if args.expire is not None:
            ended = store_alerts.expire_silence(store.engine, args.expire, now) \
                if 1 <= args.expire <= MAX_SILENCE_ID else None
            if ended is None:
                raise ConfigError(f"--expire: no silence with id {args.expire}")
            print(f"silence {ended.id} ended at {ended.ends_at.isoformat()}")
            return EXIT_OK
        if args.list:
            for s in store_alerts.list_silences(store.engine, now=now, include_expired=False):
                matchers = " ".join(f"{k}={v}" for k, v in (("monitor", s.monitor), ("detector", s.detector),
                                                             ("feature", s.feature), ("metric", s.metric))
                                    if v is not None)
                print(f"{s.id}\t{s.state(now)}\t{matchers}\tuntil {s.ends_at.isoformat()}\t{s.created_by}: {s.comment}")
            return EXIT_OK
        if not args.monitor or not args.duration or args.reason is None:
            raise ConfigError("silence: give --monitor, --for and --reason (or --list, or --expire ID)")
        try:
            settings.monitor(args.monitor)
        except KeyError as exc:
            raise ConfigError(f"--monitor: {exc.args[0]}") from None
        try:
            length = parse_duration(args.duration)
        except ValueError as exc:
            raise ConfigError(f"--for: {exc}") from None
        made = store_alerts.add_silence(store.engine, monitor=args.monitor, detector=args.detector,
                                        feature=args.feature, metric=args.metric, starts_at=now, ends_at=now + length,
                                        created_by=args.by or getpass.getuser(), comment=args.reason, now=now)
        print(f"silence {made.id}: {args.monitor} until {made.ends_at.isoformat()}")
        return EXIT_OK
    finally:
        store.dispose()


def cmd_outbox(args: argparse.Namespace) -> int:
    from ..config import load
    from ..store import Store
    from ..store import outbox as store_outbox

    settings = load(args.config)
    store = Store(settings.store.url.reveal())
    try:
        store.create_all()
        if args.action == "retry":
            if args.id is None:
                raise ConfigError("outbox retry: give the outbox id (driftwatch outbox retry ID)")
            deadline = settings.alerts.delivery_deadline
            assert not isinstance(deadline, str)
            row = store_outbox.retry(store.engine, args.id, now=datetime.now(timezone.utc), deadline=deadline) \
                if 1 <= args.id <= MAX_OUTBOX_ID else None
            if row is None:
                raise ConfigError(f"outbox retry: no outbox row with id {args.id}")
            print(f"outbox {row.id} queued again for {row.target} (webhook-id {row.key})")
            return EXIT_OK
        if args.limit < 1:
            raise ConfigError("--limit: must be >= 1")
        print("id\tstate\ttarget\tmonitor\tkind\tattempts\tnext attempt\tlast status\tlast error")
        for row in store_outbox.list_outbox(store.engine, state=args.state, limit=min(args.limit, MAX_OUTBOX_ID)):
            kind = row.event_type or row.kind
            nxt = row.next_attempt_at.isoformat() if row.state == "pending" else "-"
            print(f"{row.id}\t{row.state}\t{row.target}\t{row.monitor}\t{kind}\t{row.attempts}\t{nxt}\t"
                  f"{row.last_status or '-'}\t{(row.last_error or '-')[:200]}")
        return EXIT_OK
    finally:
        store.dispose()

"""The operators' alert commands of ``driftwatch``: ``silence`` and ``outbox``.

They only read and change the alerting tables; both print one line per row and exit 0, or
raise ``ConfigError`` for bad input, which ``cli.main`` turns into one line on stderr and exit
status 2.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from ..errors import ConfigError
from .common import EXIT_OK

#: ``outbox.id`` is 64-bit and ``silences.id`` 32-bit on PostgreSQL: a bigger number names no row,
#: and the database would refuse it (SQLite: OverflowError) rather than find nothing.
MAX_OUTBOX_ID = 2**63 - 1
MAX_SILENCE_ID = 2**31 - 1


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("silence", help="silence alerts for a while, list silences, or end one")
    p.add_argument("--config", required=True, help="config file")
    p.add_argument("--monitor", help="the monitor to silence (required to create one)")
    p.add_argument("--detector", help="only this detector's alerts")
    p.add_argument("--feature", help="only this feature's alerts ('' for data-set level)")
    p.add_argument("--metric", help="only this metric's alerts")
    p.add_argument("--for", dest="duration", help="how long, e.g. 4h or 2d")
    p.add_argument("--reason", help="why (shown on the page and in the list)")
    p.add_argument("--by", default=None, help="who (default: $USER)")
    p.add_argument("--list", action="store_true", help="list silences that are pending or active")
    p.add_argument("--expire", type=int, metavar="ID", help="end the silence with this id now")

    p = sub.add_parser("outbox", help="queued notifications: list them, or send one again")
    p.add_argument("action", choices=("list", "retry"), help="list: newest first; retry: queue ID again now")
    p.add_argument("id", nargs="?", type=int, help="retry: the outbox id")
    p.add_argument("--config", required=True, help="config file")
    p.add_argument("--state", choices=("pending", "delivered", "dead"), help="list: only rows in this state")
    p.add_argument("--limit", type=int, default=50, help="list: at most this many rows (default: 50)")


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


COMMANDS = {"silence": cmd_silence, "outbox": cmd_outbox}

"""Wrong tokens are limited per client address: ``429`` with ``Retry-After`` past the limit.

Why: before this, nothing slowed a guesser down (326 wrong logins a second went through). The
token's length (at least 16 characters) is what makes guessing hopeless; this makes trying
expensive and visible too.

Each client address has a leaky bucket: every wrong token adds one, the bucket drains at
``limit / window`` per second, and a client whose bucket cannot take one more is refused
(``Throttled``) before its token is even looked at, so a blocked guesser learns nothing. That
allows a burst of ``limit`` failures and then ``limit`` per ``window`` on average. Only failures
fill a bucket: a client that sends the right token is never slowed, and no client's failures
touch another's bucket. The check, the comparison and the count happen under one lock, so
concurrent requests cannot slip past the limit together.

The address is the ASGI ``client`` (what uvicorn says the peer is; uvicorn takes it from
``X-Forwarded-For`` only for proxies listed in ``FORWARDED_ALLOW_IPS``, ``127.0.0.1,::1`` by
default); the app itself trusts no header.
An IPv6 client is counted by its /64, since one host usually holds a whole /64. At most
``max_clients`` addresses are tracked; past that the one idle longest is forgotten, so memory
stays bounded. The count lives in this process: behind N replicas a client gets N buckets.

>>> now = [0.0]
>>> throttle = FailureThrottle(limit=2, window=60, clock=lambda: now[0])
>>> [throttle.attempt("198.51.100.7", lambda: False) for _ in range(2)]
[False, False]
>>> throttle.attempt("198.51.100.7", lambda: True)
Traceback (most recent call last):
...
driftwatch.web.throttle.Throttled: too many wrong tokens from this address; retry after 30 s
>>> throttle.attempt("203.0.113.9", lambda: True)   # another client is not slowed
True
>>> now[0] = 30.0
>>> throttle.attempt("198.51.100.7", lambda: True)
True
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["MAX_CLIENTS", "FailureThrottle", "Throttled", "client_key"]

#: How many client addresses a throttle remembers at most (a few MB at worst).
MAX_CLIENTS = 10_000


class Throttled(Exception):
    """A client is over its failure limit; ``retry_after`` is the whole seconds until it is not."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong tokens from this address; retry after {retry_after} s")
        self.retry_after = retry_after


def client_key(host: str | None) -> str:
    """The address a client's failures are counted under: IPv4 as is, IPv6 by its /64.

    Anything else (a test client's name, a Unix socket's path, none) is counted as given.

    >>> client_key("192.0.2.1"), client_key("2001:db8:1:2:aaaa::1"), client_key("::ffff:192.0.2.1")
    ('192.0.2.1', '2001:db8:1:2::/64', '192.0.2.1')
    >>> client_key(None)
    ''
    """
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return host or ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class FailureThrottle:
    """At most ``limit`` failures per ``window`` seconds per client; ``clock`` is monotonic seconds."""

    def __init__(self, limit: int, window: float, *, max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"limit: must be >= 1, got {limit}")
        if window <= 0:
            raise ValueError(f"window: must be > 0 seconds, got {window}")
        if max_clients < 1:
            raise ValueError(f"max_clients: must be >= 1, got {max_clients}")
        self.limit = limit
        self._drain = window / limit  # seconds for the bucket to lose one failure
        self._max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        # client -> (bucket level, when it was last updated), least recently failed first
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def attempt(self, client: str, verify: Callable[[], bool]) -> bool:
        """``verify()``, counted as a failure of ``client`` when false.

        Raises ``Throttled`` without calling ``verify`` when ``client`` is over its limit.
        """
        with self._lock:
            now = self._clock()
            level = self._level(client, now)
            if level + 1 > self.limit:
                raise Throttled(max(1, math.ceil((level + 1 - self.limit) * self._drain)))
            if verify():
                return True
            self._buckets[client] = (level + 1, now)
            self._buckets.move_to_end(client)
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
            return False

    def _level(self, client: str, now: float) -> float:
        """``client``'s bucket at ``now``, drained since its last failure (0: untracked)."""
        entry = self._buckets.get(client)
        if entry is None:
            return 0.0
        level, at = entry
        return max(0.0, level - max(0.0, now - at) / self._drain)

    def __len__(self) -> int:
        """How many clients are tracked."""
        return len(self._buckets)

"""One HTTP POST, and what its outcome means for the outbox (R15).

Shared by the webhook channel and webhook subscriptions so that both classify answers alike:

====================  =====================================================================
2xx                   delivered: ``Delivery(status="200", request=<body excerpt>)``
3xx                   failure, retried later: redirects are never followed (a redirect could
                      send a signed body, or its token, somewhere the operator did not name)
410 Gone              ``permanent``: the receiver says the endpoint is gone for good
429/502/503/504       retried, honouring ``Retry-After`` (seconds or an HTTP date)
other codes           retried
timeout, no connect   retried (``status`` ``"timeout"`` / ``"connection error"``)
====================  =====================================================================

Webhook URLs often carry a token in their path or query, so no message here ever holds the
URL: errors name the host (and port) only, and the body of the answer is never read or quoted.

``timeout`` bounds the whole attempt, not each read: httpx's own timeout restarts with every
byte, so a receiver trickling one byte every few seconds held one attempt for minutes (and the
rows queued behind it on that target). A timer closes the client at the deadline, which ends a
read in progress at once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from ...errors import DeliveryError
from . import Delivery

__all__ = ["RETRY_AFTER_CODES", "host_of", "post", "retry_after"]

#: Answers whose ``Retry-After`` header is honoured.
RETRY_AFTER_CODES = frozenset({429, 502, 503, 504})


def host_of(url: str) -> str:
    """``host[:port]`` of ``url``, without user, password, path or query: safe to log.

    >>> host_of("https://user:pw@hooks.example.com/T0/B0/XXXX?token=abc")
    'hooks.example.com'
    >>> host_of("http://127.0.0.1:8080/hook"), host_of("not a url")
    ('127.0.0.1:8080', 'unknown host')
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "unknown host"
    if not host:
        return "unknown host"
    return f"{host}:{port}" if port else host


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date (RFC 9110).

    ``None`` when the header is absent or unreadable; a date in the past means "now" (0).

    >>> retry_after("7"), retry_after(None), retry_after("soon"), retry_after("-3")
    (7.0, None, None, None)
    >>> retry_after("Wed, 21 Oct 2026 07:28:30 GMT", now=datetime(2026, 10, 21, 7, 28, tzinfo=timezone.utc))
    30.0
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.now(timezone.utc) if now is None else now
    return max(0.0, (when - current).total_seconds())


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> Delivery:
    """POST ``body`` to ``url`` once, all within ``timeout`` seconds; return a ``Delivery`` on
    2xx, else raise ``DeliveryError``. Only the answer's status line and headers are read."""
    host = host_of(url)
    client = httpx.Client(follow_redirects=False, timeout=timeout)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        client.close()

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    try:
        with client.stream("POST", url, content=body, headers=dict(headers)) as response:
            pass  # the status and headers are the answer; the body is never read
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"POST to {host}: timed out after {timeout:g} s ({type(exc).__name__})",
                            status="timeout") from None
    except (httpx.TransportError, RuntimeError) as exc:
        if expired.is_set():  # the deadline closed the client under a read (or before the request)
            raise DeliveryError(f"POST to {host}: timed out after {timeout:g} s (no complete answer in time)",
                                status="timeout") from None
        if isinstance(exc, RuntimeError):
            raise
        raise DeliveryError(f"POST to {host}: connection error ({type(exc).__name__})",
                            status="connection error") from None
    except httpx.InvalidURL:
        raise DeliveryError(f"POST to {host}: invalid URL", status="connection error", permanent=True) from None
    except httpx.HTTPError as exc:  # an unreadable answer (bad content encoding ...): try again later
        raise DeliveryError(f"POST to {host}: {type(exc).__name__}", status="connection error") from None
    finally:
        timer.cancel()
        client.close()
    code = response.status_code
    status = str(code)
    answer = f"POST to {host}: HTTP {code} {response.reason_phrase}".rstrip()
    if 200 <= code < 300:
        return Delivery(status=status, request=body.decode("utf-8", errors="replace"))
    if 300 <= code < 400:
        raise DeliveryError(f"{answer} (redirects are not followed; point the URL at the final address)",
                            status=status)
    if code == 410:
        raise DeliveryError(f"{answer} (the receiver says the endpoint is gone for good)", permanent=True,
                            status=status)
    if code in RETRY_AFTER_CODES:
        wait = retry_after(response.headers.get("retry-after"))
        suffix = f" (retry after {wait:g} s)" if wait is not None else ""
        raise DeliveryError(answer + suffix, retry_after=wait, status=status)
    raise DeliveryError(answer, status=status)

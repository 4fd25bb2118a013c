"""Standard Webhooks signing: ``sign``/``headers`` for senders, ``verify`` for receivers (R9–R12).

Every webhook POST driftwatch makes carries ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` as the Standard Webhooks spec (https://www.standardwebhooks.com) defines
them, so a receiver can check with any of its libraries, or with ``verify`` here, that the body
came from us, unchanged, recently. The signature is::

    "v1," + base64(HMAC-SHA256(base64decode(secret minus "whsec_"), f"{id}.{timestamp}.{body}"))

Two secrets may be active while one is rotated out: the header then holds two signatures,
space-separated, and a receiver accepts the message if any ``v1`` one matches.

``webhook-id`` is the receiver's deduplication key: ``message_id`` derives it from what the event
is about, so every retry of one delivery (and a redelivery from another process) carries the
same id, while ``webhook-timestamp`` is the time of each attempt.

>>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
>>> body = b'{"test": 2432232314}'
>>> h = headers([secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", body, now=1614265330)
>>> h["webhook-signature"]
'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
>>> verify(secret, h, body, now=1614265330 + 60)
{'test': 2432232314}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from .errors import DriftwatchError

__all__ = ["SECRET_PREFIX", "WebhookVerificationError", "headers", "message_id", "sign",
           "signature_header", "verify"]

#: Standard Webhooks secrets are written ``whsec_`` + base64 of the key bytes.
SECRET_PREFIX = "whsec_"

_INTEGER = re.compile(r"-?[0-9]+")


class WebhookVerificationError(DriftwatchError):
    """A received webhook is not provably ours: a header is missing, it is too old or too new,
    or no ``v1`` signature matches. The message never quotes a secret or a signature."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret: base64-decoded after the prefix (padding optional).

    A secret that is not base64 (or decodes to nothing) is a ``ValueError`` naming ``secret``;
    the value itself is never echoed.

    >>> secret_key("whsec_c2VjcmV0")
    b'secret'
    >>> secret_key("whsec_not base64!")
    Traceback (most recent call last):
    ...
    ValueError: secret: must be base64 after the whsec_ prefix (e.g. whsec_ + 24+ random bytes in base64)
    """
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise ValueError("secret: must be base64 after the whsec_ prefix (e.g. whsec_ + 24+ random bytes in base64)")
    return key


def _raw(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes | str) -> bytes:
    return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + _raw(body), hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """One ``v1`` signature of ``body`` as sent with ``msg_id`` at ``timestamp`` (Unix seconds).

    The Standard Webhooks test vector (R10):

    >>> sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
    ...      b'{"test": 2432232314}')
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
    """
    return "v1," + base64.b64encode(_digest(secret_key(secret), msg_id, timestamp, body)).decode("ascii")


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The ``webhook-signature`` value: one signature per active secret, space-separated.

    During a rotation both the new and the old secret sign, so receivers still holding either
    one accept the message.
    """
    if isinstance(secrets, str) or not secrets:
        raise ValueError("secrets: must be a non-empty sequence of whsec_ secrets")
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)


def headers(secrets: Sequence[str], msg_id: str, body: bytes | str, *, now: int | None = None) -> dict[str, str]:
    """All headers of one signed attempt; ``now`` (Unix seconds) defaults to the clock.

    Call it once per attempt: the id stays, the timestamp (and so the signature) moves on.
    """
    timestamp = int(time.time()) if now is None else int(now)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes | str, tolerance: int = 300, *,
           now: int | None = None) -> Any:
    """The decoded JSON body if ``headers`` prove that the holder of ``secret`` sent ``body``.

    Raises ``WebhookVerificationError`` on a missing ``webhook-id``/``-timestamp``/``-signature``
    (header names in any case), a timestamp that is not an integer or is more than ``tolerance``
    seconds from ``now`` either way (replays), or no matching ``v1`` signature. Signatures of
    other versions (``v1a``, asymmetric) are skipped; the comparison takes constant time.

    >>> verify("whsec_c2VjcmV0", {"webhook-id": "msg_1"}, b"{}")
    Traceback (most recent call last):
    ...
    driftwatch.webhooks.WebhookVerificationError: missing header: webhook-timestamp
    """
    key = secret_key(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    found = {}
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        value = lowered.get(name)
        if not value:
            raise WebhookVerificationError(f"missing header: {name}")
        found[name] = value.strip()
    if not _INTEGER.fullmatch(found["webhook-timestamp"]):
        raise WebhookVerificationError("webhook-timestamp: must be integer Unix seconds")
    timestamp = int(found["webhook-timestamp"])
    current = int(time.time()) if now is None else int(now)
    if timestamp < current - tolerance:
        raise WebhookVerificationError(f"webhook-timestamp: {current - timestamp} s old, more than {tolerance} s")
    if timestamp > current + tolerance:
        raise WebhookVerificationError(f"webhook-timestamp: {timestamp - current} s in the future, "
                                       f"more than {tolerance} s")
    expected = _digest(key, found["webhook-id"], timestamp, body)
    matched = False
    for entry in found["webhook-signature"].split():
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookVerificationError("webhook-signature: no matching v1 signature")
    try:
        return json.loads(_raw(body))
    except ValueError:
        raise WebhookVerificationError("body: signed but not JSON") from None


def message_id(monitor: str, window_start: datetime, event_type: str, *, extra: str = "") -> str:
    """A ``webhook-id`` that is the same for the same event in any process, on every retry (R11).

    ``msg_`` + the first 32 hex digits of SHA-256 over the canonical JSON of the inputs (the
    window start in UTC, naive times taken as UTC); hex never contains ``.``, which the signed
    content uses as its separator. ``extra`` tells apart events that share the rest (a channel
    name, a subscription).

    >>> a = message_id("churn", datetime(2026, 11, 1, 9), "alert.firing")
    >>> a == message_id("churn", datetime(2026, 11, 1, 9, tzinfo=timezone.utc), "alert.firing"), len(a)
    (True, 36)
    >>> a == message_id("churn", datetime(2026, 11, 1, 9), "alert.resolved")
    False
    """
    start = window_start.replace(tzinfo=timezone.utc) if window_start.tzinfo is None else window_start
    canonical = json.dumps([monitor, start.astimezone(timezone.utc).isoformat(), event_type, extra],
                           separators=(",", ":"), ensure_ascii=True)
    return "msg_" + hashlib.sha256(canonical.encode("ascii")).hexdigest()[:32]

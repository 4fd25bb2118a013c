"""The login session cookie: a random session id and its expiry, signed with a key from the token.

Why this shape: the cookie used to be one fixed HMAC of the token, the same for every login,
valid forever and still valid after ``/logout``. Now each login gets its own random id (256
bits), the cookie says until when it holds, and an HMAC-SHA256 over both, keyed by
``signing_key(token)``, makes it unforgeable without the token. Changing the token changes the
key, so every earlier cookie stops verifying. The signature alone cannot be taken back, so a
session is also a row in the store (``driftwatch.store.sessions``) that ``/logout`` deletes, on
every replica at once.

A cookie reads ``<id>.<expires, Unix seconds>.<hex HMAC of "<id>.<expires>">``; it never holds
the token. Signatures are compared with ``hmac.compare_digest``.

>>> from datetime import datetime, timedelta, timezone
>>> key = signing_key("a-token-of-16-chars")
>>> session = new_session(datetime(2026, 11, 1, tzinfo=timezone.utc), timedelta(hours=12))
>>> read_cookie(key, cookie_value(key, session)) == session
True
>>> read_cookie(signing_key("another-token-16ch"), cookie_value(key, session)) is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

__all__ = ["SESSION_LABEL", "Session", "cookie_value", "logout_matches", "logout_token", "new_session",
           "read_cookie", "signing_key"]

#: What the signing key is an HMAC of (versioned: a new cookie format ends the old sessions).
SESSION_LABEL = b"driftwatch web session v2"
_COOKIE = re.compile(r"(?P<id>[A-Za-z0-9_-]{43})\.(?P<expires>[0-9]{1,12})\.(?P<mac>[0-9a-f]{64})")


@dataclass(frozen=True)
class Session:
    """One login: its random id and when it ends (whole seconds, UTC)."""

    id: str = field(repr=False)
    expires_at: datetime

    @property
    def key(self) -> str:
        """What the store keeps of it: the hex SHA-256 of the id, which opens nothing by itself."""
        return hashlib.sha256(self.id.encode("ascii")).hexdigest()


def signing_key(token: str) -> bytes:
    """The key cookies are signed with: an HMAC of ``SESSION_LABEL`` keyed by the token."""
    return hmac.new(token.encode("utf-8"), SESSION_LABEL, hashlib.sha256).digest()


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).hexdigest()


def new_session(now: datetime, ttl: timedelta) -> Session:
    """A fresh session from ``now`` for ``ttl`` (its end cut to the second, as the cookie says it)."""
    return Session(secrets.token_urlsafe(32), (now + ttl).astimezone(timezone.utc).replace(microsecond=0))


def cookie_value(key: bytes, session: Session) -> str:
    """The signed cookie value of ``session``."""
    payload = f"{session.id}.{int(session.expires_at.timestamp())}"
    return f"{payload}.{_mac(key, payload)}"


def read_cookie(key: bytes, value: str | None) -> Session | None:
    """The session a cookie value names if its signature is right (expired or not), else None."""
    match = _COOKIE.fullmatch(value or "")
    if match is None:
        return None
    payload = f"{match['id']}.{match['expires']}"
    if not hmac.compare_digest(match["mac"].encode("ascii"), _mac(key, payload).encode("ascii")):
        return None
    return Session(match["id"], datetime.fromtimestamp(int(match["expires"]), timezone.utc))


def logout_token(key: bytes, session: Session) -> str:
    """The form field ``/logout`` wants: another site cannot know it, so cannot log anyone out."""
    return _mac(key, f"logout.{session.id}")


def logout_matches(key: bytes, session: Session, offered: str) -> bool:
    """Whether ``offered`` is ``session``'s logout token, compared in constant time."""
    return hmac.compare_digest(offered.encode("utf-8", "replace"), logout_token(key, session).encode("ascii"))

"""Secrets that cannot leak by accident, and URLs with their password blanked out.

A config value such as a database password or a webhook token is wrapped in ``Secret`` as soon
as it is read, so that ``repr()`` of any dataclass holding it, a log line or a traceback shows
``***`` instead of the value. Code that really needs the value calls ``reveal()``, which is easy
to grep for.

``redact_url`` is for the places that must name a database (error messages, the web page) without
naming its password.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["MASK", "Secret", "redact_url"]

#: What every secret prints as.
MASK = "***"

# Query-string keys whose values are credentials in some dialects (``?password=``,
# ``?access_token=``, ``?private_key=`` ...).
_SENSITIVE_KEY = re.compile(r"pass|pwd|secret|token|key|credential", re.IGNORECASE)

# ``scheme://user:password@`` where the password runs up to the last ``@`` before the path, as in
# RFC 3986 parsers; used when SQLAlchemy cannot parse the URL (or misreads an unescaped ``@``).
_USERINFO = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@]*):(?P<password>[^/?#]*)@")


class Secret:
    """A string that prints as ``***``.

    Equal to another ``Secret`` with the same value (compared in constant time) and hashable, so
    dataclasses holding one keep working as dict keys.

    >>> token = Secret("s3cr3t")
    >>> token, str(token), f"{token}"
    (***, '***', '***')
    >>> token.reveal()
    's3cr3t'
    >>> token == Secret("s3cr3t"), token == "s3cr3t"
    (True, False)
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"Secret wraps a str, got {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The wrapped value. Call it only where the value leaves the process (a driver, an API)."""
        value: str = object.__getattribute__(self, "_value")
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return MASK

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self.reveal().encode(), other.reveal().encode())

    def __hash__(self) -> int:
        return hash((Secret, self.reveal()))

    def __bool__(self) -> bool:
        return bool(self.reveal())

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self.reveal(),))


def redact_url(url: str | Secret) -> str:
    """``url`` with its password (and credential-like query values) replaced by ``***``.

    SQLAlchemy's URL parser is used where it understands the URL; anything else falls back to a
    regular expression on ``scheme://user:password@``. A URL without a password comes back as is.

    >>> redact_url("postgresql+psycopg://user:pw@host/db")
    'postgresql+psycopg://user:***@host/db'
    >>> redact_url("sqlite:///data/app.db")
    'sqlite:///data/app.db'
    >>> redact_url("snowflake://me@acct/db?token=abc&warehouse=wh")
    'snowflake://me@acct/db?token=***&warehouse=wh'
    >>> redact_url("postgresql://u:p@ss@host/db")   # unescaped @ in the password
    'postgresql://u:***@host/db'
    >>> redact_url("not a url")
    'not a url'
    """
    raw = url.reveal() if isinstance(url, Secret) else url
    try:
        parsed = make_url(raw)
    except (ArgumentError, ValueError, TypeError):
        return _redact_by_regex(raw)
    if parsed.host is not None and "@" in parsed.host:
        # An unescaped "@" in the password: SQLAlchemy splits at the first one, which would leave
        # the rest of the password in the host. The regex splits at the last one instead.
        return _redact_by_regex(raw)
    sensitive = {key for key in parsed.query if _SENSITIVE_KEY.search(key)}
    if parsed.password is None and not sensitive:
        return raw
    if sensitive:
        query = {k: (MASK if k in sensitive else v) for k, v in parsed.query.items()}
        parsed = parsed.set(query=query)
    # The renderer percent-encodes query values; put the mask back as readers expect it.
    return parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", MASK)


def _redact_by_regex(raw: str) -> str:
    return _USERINFO.sub(lambda m: f"{m.group('head')}:{MASK}@", raw, count=1)

"""Turn ``store.url`` into a SQLAlchemy engine tuned for its database (R34).

SQLite: every new connection gets ``journal_mode=WAL`` (readers don't block the writer),
``busy_timeout=5000`` (wait for the write lock instead of failing at once),
``synchronous=NORMAL`` (safe with WAL, much faster than FULL) and ``foreign_keys=ON`` (off by
default in SQLite). PostgreSQL: ``pool_pre_ping=True`` so a connection dropped by a restart or a
proxy costs one ping, not one failed run. A URL that cannot be used is a ``ConfigError`` whose
message shows the URL with its password as ``***``.

>>> create_engine("sqlite:///driftwatch.db").url.database
'driftwatch.db'
>>> create_engine("nosuch://user:hunter2@host/db")
Traceback (most recent call last):
...
driftwatch.errors.ConfigError: store.url: unknown database type 'nosuch' (nosuch://user:***@host/db)
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import time
from typing import Any
from urllib.parse import unquote

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.sql import Executable

from ..errors import ConfigError
from ..secrets import redact_url

#: Run on every new SQLite connection, in this order. ``busy_timeout`` first, so what follows
#: waits for locks; ``foreign_keys`` must be set outside a transaction, which a fresh connection is.
SQLITE_PRAGMAS: tuple[str, ...] = (
    "PRAGMA busy_timeout=5000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)
# How long a connection keeps retrying the switch of a new database file to WAL (seconds).
_WAL_SWITCH_PATIENCE = 5.0

# Strict JSON: NaN/Infinity are not JSON and PostgreSQL rejects them, so never write them anywhere.
_json_dumps = functools.partial(json.dumps, allow_nan=False, separators=(",", ":"))

# The password runs to the last "@" of the authority, so an unescaped "@" in it is hidden too.
_PASSWORD_IN_URL = re.compile(r"^(?P<head>[^:/?#]*://[^:/?#@]*:)(?P<password>[^/?#]*)@")
_PASSWORD_IN_QUERY = re.compile(r"(?P<head>[?&]password=)(?P<password>[^&]*)", re.IGNORECASE)


def _config_error(reason: str, raw: str, *, show_url: bool = True) -> ConfigError:
    """A ``store.url`` error showing the URL with its password hidden.

    Text that does not parse as a URL is not echoed at all: nobody knows where its password is.
    Any piece of a password that a library quoted into ``reason`` is hidden as well.
    """
    message = f"store.url: {reason}"
    if show_url:
        message += f" ({redact_url(raw)})"
    secrets: set[str] = set()
    for pattern in (_PASSWORD_IN_URL, _PASSWORD_IN_QUERY):
        for match in pattern.finditer(raw):
            secrets.update({match.group("password"), unquote(match.group("password"))})
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        message = message.replace(secret, "***")
    return ConfigError(message)


def _execute_when_unlocked(cursor: Any, statement: str) -> None:
    """Run ``statement``, retrying for a while as long as SQLite says the database is locked.

    Switching a new database file to WAL needs an exclusive lock, and SQLite does not call the
    busy handler for it: several connections opening a fresh file at once (replicas starting,
    a thread pool) would otherwise fail with "database is locked". Once the file is in WAL mode
    (it stays so), the pragma takes no lock and this never retries.
    """
    delay, waited = 0.005, 0.0
    while True:
        try:
            cursor.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or waited >= _WAL_SWITCH_PATIENCE:
                raise
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.1)


def _set_sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            _execute_when_unlocked(cursor, pragma)
    finally:
        cursor.close()


def create_engine(url: str) -> Engine:
    """An engine for ``url`` with the per-database settings of R34: the SQLite pragmas above on
    every new connection, ``pool_pre_ping`` on PostgreSQL.

    ``postgresql://`` means psycopg 3 (the driver driftwatch depends on), not SQLAlchemy's
    default psycopg2. Relative SQLite paths are used as given: the config layer resolves them.
    Nothing connects here; an unreachable server fails on first use.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"store.url: must be a database URL such as sqlite:///driftwatch.db, got {url!r}")
    raw = url.strip()
    try:
        parsed = make_url(raw)
    except (ArgumentError, ValueError):
        raise _config_error(
            "not a database URL (expected e.g. sqlite:///driftwatch.db or "
            "postgresql://USER:PASSWORD@HOST:5432/DB)", raw, show_url=False) from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"json_serializer": _json_dumps}
    if backend == "postgresql":
        kwargs["pool_pre_ping"] = True
    try:
        engine = sqlalchemy.create_engine(parsed, **kwargs)
    except NoSuchModuleError:
        raise _config_error(f"unknown database type {parsed.drivername!r}", raw) from None
    except ImportError as exc:
        raise _config_error(
            f"the driver for {parsed.drivername!r} is not installed ({getattr(exc, 'name', None) or exc})",
            raw) from None
    except (ArgumentError, TypeError, ValueError) as exc:
        raise _config_error(f"cannot be used: {exc}", raw) from None
    if backend == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def rows_of(connectable: Engine | Connection, query: Executable) -> list[Any]:
    """``query``'s rows, on the caller's connection (a page reads in one) or a new one."""
    if isinstance(connectable, Connection):
        return list(connectable.execute(query))
    with connectable.connect() as conn:
        return list(conn.execute(query))

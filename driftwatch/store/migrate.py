"""Schema migrations (R35): Alembic, run from Python with no ``alembic.ini``.

The Alembic environment ships inside the package (``driftwatch/store/migrations``: ``env.py``,
``script.py.mako``, ``versions/``), so an installed driftwatch can migrate its own database:
``driftwatch db upgrade`` and ``Store.create_all()`` both end in ``upgrade()``.

- ``upgrade(url)`` brings the database to the latest revision. It is idempotent and safe to run
  from several processes at once: the migration runs in one transaction that first takes a lock
  (``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so a second process
  waits, then finds the database at head and does nothing. A database already at head costs one
  query and no lock.
- ``current(url)`` is the revision the database is at (``None``: never migrated).
- ``check(url)`` is Alembic's autogenerate diff between the database and ``tables.metadata``;
  empty when the migrations create exactly the tables the code declares (a test says so).

A database made by ``metadata.create_all`` before migrations existed (tables, no
``alembic_version``) is *upgraded*, not stamped blindly: revision 0001 adopts the tables and
indexes it finds and creates only what is missing, then the database is at 0001 and later
revisions run as usual. Connections come from our own ``create_engine``, so the SQLite pragmas
of R34 apply. Each function takes a URL or an ``Engine``; an in-memory SQLite URL is refused
(it would migrate a throw-away database of its own): pass the engine of the store that uses it,
as ``Store.create_all`` does.

>>> from driftwatch.store import Store
>>> with Store("sqlite://") as store:
...     store.create_all()
...     current(store.engine) == head(), check(store.engine)
(True, [])
>>> upgrade("sqlite://")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
driftwatch.errors.ConfigError: store.url: an in-memory SQLite database (sqlite://) exists only inside one ...
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine

from ..errors import ConfigError, StoreError
from ..secrets import redact_url
from . import alert_tables, sessions  # noqa: F401  (they register their tables on metadata)
from .engine import create_engine
from .tables import metadata

__all__ = ["MIGRATIONS", "alembic_config", "check", "context_options", "current", "head", "lock", "upgrade"]

#: The Alembic script directory inside the installed package.
MIGRATIONS: Path = Path(__file__).resolve().with_name("migrations")

# Any constant will do: it only has to be the same in every driftwatch process.
_PG_LOCK_KEY = 0x64726966747761  # "driftwa"


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Compare only driftwatch's own tables: others may share the database (and its schema)."""
    if type_ == "table":
        return name in metadata.tables
    return True


def context_options() -> dict[str, Any]:
    """The options every migration context gets, in ``env.py`` and in ``check()`` alike."""
    return {
        "target_metadata": metadata,
        "render_as_batch": True,  # SQLite can only ALTER by copying the table: batch mode does that
        "compare_type": True,
        "include_name": _include_name,
    }


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` for the package's migrations, built in code (no ``alembic.ini``).

    ``connection`` (in ``attributes``) is the connection ``env.py`` migrates; without it
    ``env.py`` opens ``sqlalchemy.url``, which the caller must then set.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head() -> str:
    """The newest revision this driftwatch knows.

    >>> head()
    '0006'
    """
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:  # pragma: no cover - the package always ships its migrations
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return revision


def _is_memory(engine: Engine) -> bool:
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return False
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _shown(engine: Engine) -> str:
    return redact_url(engine.url.render_as_string(hide_password=True))


@contextmanager
def _engine(url: str | Engine) -> Iterator[Engine]:
    """The engine for ``url`` (disposed afterwards), or ``url`` itself when it is one."""
    if isinstance(url, Engine):
        yield url
        return
    engine = create_engine(url)
    try:
        if _is_memory(engine):
            raise ConfigError(
                f"store.url: an in-memory SQLite database ({_shown(engine)}) exists only inside one "
                "connection: migrate it through its Store (Store.create_all()) or pass that store's engine")
        yield engine
    finally:
        engine.dispose()


def _read_only_hint(engine: Engine) -> str:
    """Why SQLite could not open or write a file that is there: it, or the folder SQLite keeps its
    ``-wal``/``-shm`` files in, cannot be written (a read-only disk says only "unable to open")."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return ""
    path = Path(str(engine.url.database))
    for target in (path.parent, path):
        if target.exists() and not os.access(target, os.W_OK):  # EROFS even for root
            return f" ({target} is read-only)"
    return ""


@contextmanager
def _errors(engine: Engine) -> Iterator[None]:
    """Database and Alembic failures as one ``StoreError`` line naming the password-free URL."""
    try:
        yield
    except sqlalchemy.exc.DBAPIError as exc:
        reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
        raise StoreError(f"store.url {_shown(engine)}: cannot use the database: {reason}"
                         f"{_read_only_hint(engine)}") from exc
    except CommandError as exc:
        raise StoreError(f"store.url {_shown(engine)}: cannot migrate the database: {exc} "
                         f"(this driftwatch knows revisions up to {head()!r}; was the database "
                         "migrated by a newer version?)") from exc


def lock(connection: Connection) -> None:
    """Start the migration transaction on ``connection`` holding the migration lock.

    PostgreSQL: a transaction-scoped advisory lock, released by the commit. SQLite: ``BEGIN
    IMMEDIATE`` takes the write lock now (the driver would only begin at the first INSERT, and
    run CREATE TABLE outside any transaction); others wait up to ``busy_timeout``.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif dialect == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def current(url: str | Engine) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    with _engine(url) as engine, _errors(engine), engine.connect() as connection:
        return _current(connection)


def upgrade(url: str | Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest). Idempotent.

    All of it happens in one transaction under the migration lock (see ``lock``); on any
    error nothing is changed. Raises ``StoreError`` when the database cannot be used or is at a
    revision this driftwatch does not know, ``ConfigError`` for a URL that cannot be used.
    """
    with _engine(url) as engine, _errors(engine):
        if revision == "head":
            with engine.connect() as connection:
                if _current(connection) == head():
                    return
        with engine.connect() as connection:
            lock(connection)
            command.upgrade(alembic_config(connection), revision)
            connection.commit()


def check(url: str | Engine) -> list[Any]:
    """Alembic's autogenerate diff from the database to ``tables.metadata``; ``[]`` when equal.

    Each item is an Alembic diff tuple such as ``("add_index", Index(...))``. Tables that are
    not driftwatch's are ignored. Check constraints and server defaults are not compared
    (Alembic cannot reflect them reliably on every database).
    """
    with _engine(url) as engine, _errors(engine), engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=context_options())
        return list(compare_metadata(context, metadata))

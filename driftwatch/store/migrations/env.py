"""The Alembic environment: how a migration gets its connection and options.

``driftwatch.store.migrate`` hands over a connection that already holds the migration lock
(``config.attributes["connection"]``); the migration runs inside that caller's transaction and
the caller commits. Run by the ``alembic`` command itself, with ``sqlalchemy.url`` set, this
file opens the database with driftwatch's own ``create_engine`` (SQLite pragmas, psycopg 3) and
takes the same lock. Offline (``--sql``) mode prints the SQL instead.

Importing this file outside Alembic (``pytest --doctest-modules`` does) runs nothing.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from driftwatch.store.engine import create_engine
from driftwatch.store.migrate import context_options, lock


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("driftwatch migrations: pass a connection in config.attributes['connection'] "
                           "or set sqlalchemy.url")
    return url


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, **context_options())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit the migration SQL for ``sqlalchemy.url``'s dialect without connecting."""
    context.configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"}, **context_options())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate the connection we were given, or one of our own to ``sqlalchemy.url``."""
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _migrate(given)
        return
    engine = create_engine(_url())
    try:
        with engine.connect() as connection:
            lock(connection)
            _migrate(connection)
            connection.commit()
    finally:
        engine.dispose()


# Alembic installs its context proxy while it runs this file; a plain import has none.
if getattr(context, "_proxy", None) is not None:
    if context.is_offline_mode():
        run_migrations_offline()
    else:
        run_migrations_online()

"""The Alembic environment of driftwatch's store: ``env.py``, ``script.py.mako``, ``versions/``.

Run through ``driftwatch.store.migrate`` (``driftwatch db upgrade``); nothing here is imported
by driftwatch itself. A new revision, from the repository root::

    alembic -x url=sqlite:///dev.db -c /dev/null revision --autogenerate -m "what changed"

is awkward without an ini file, so ``python -c`` with ``alembic.command.revision(
driftwatch.store.migrate.alembic_config(), message=..., rev_id="0002")`` is the usual way;
name the file ``versions/NNNN_<what>.py`` and review it by hand (batch operations for SQLite).
"""

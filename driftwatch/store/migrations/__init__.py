"""The Alembic environment of driftwatch's store: ``env.py``, ``script.py.mako``, ``versions/``.

Run through ``driftwatch.store.migrate`` (``driftwatch db upgrade``, ``Store.create_all()``);
nothing here is imported by driftwatch itself, and no ``alembic.ini`` is needed.

A schema change is a change to ``tables.py`` plus a new revision. From a checkout, against a
scratch database at head, let autogenerate draft it::

    from alembic import command
    from driftwatch.store import migrate
    from driftwatch.store.engine import create_engine

    engine = create_engine("sqlite:///scratch.db")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        command.revision(migrate.alembic_config(conn), message="add outbox", autogenerate=True,
                         rev_id="0002")

That writes ``versions/0002_add_outbox.py`` (numbered ids, one after the other). Review it by
hand: copy constants instead of importing them, keep ``op.f()`` names, use batch operations
(``with op.batch_alter_table(...)``) for anything SQLite cannot ALTER, then check that
``migrate.check()`` is empty on SQLite and PostgreSQL (``tests/store/test_migrate.py`` does).
"""

"""Revision scripts, oldest first by number (Alembic ignores this ``__init__``)."""

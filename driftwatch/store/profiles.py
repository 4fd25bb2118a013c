"""The reference-profile cache: serialised profiles by content key.

The key is a hex digest of what the profile was built from (``driftwatch.profile.cache_key``),
so a stored profile never goes stale and two processes that build the same one store the same
bytes: the second ``put`` is a no-op, not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from .tables import reference_profiles

_MAX_KEY = 128


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY:
        raise ValueError(f"key: must be a non-empty string of at most {_MAX_KEY} characters, got {key!r}")
    return key


def get_profile(engine: Engine, key: str) -> bytes | None:
    """The stored bytes under ``key``, or ``None``."""
    t = reference_profiles
    with engine.connect() as conn:
        data = conn.execute(select(t.c.data).where(t.c.key == _check_key(key))).scalar()
    return bytes(data) if data is not None else None


def put_profile(engine: Engine, key: str, monitor: str, data: bytes, *, now: Callable[[], datetime]) -> None:
    """Store ``data`` under ``key`` unless something is already stored there."""
    _check_key(key)
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(f"monitor: must be a non-empty string, got {monitor!r}")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data: must be bytes, got {type(data).__name__}")
    payload = bytes(data)
    t = reference_profiles
    try:
        with engine.begin() as conn:
            conn.execute(insert(t).values(key=key, monitor=monitor, created_at=now(),
                                          size_bytes=len(payload), data=payload))
    except IntegrityError:
        # Same key, same content (the key is a digest of it): a concurrent put already did the job.
        with engine.connect() as conn:
            if conn.execute(select(t.c.key).where(t.c.key == key)).first() is None:
                raise

"""Reference-profile cache: put, get, and idempotent concurrent puts."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from driftwatch.store import Store
from driftwatch.store.tables import reference_profiles


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_put_then_get(store: Store) -> None:
    data = bytes(range(256)) * 1000  # binary, with NUL bytes
    store.put_profile(_key("a"), "churn", data)
    assert store.get_profile(_key("a")) == data
    assert store.get_profile(_key("missing")) is None
    with store.engine.connect() as conn:
        row = conn.execute(select(reference_profiles)).one()
    assert (row.key, row.monitor, row.size_bytes) == (_key("a"), "churn", len(data))
    assert row.created_at.tzinfo is timezone.utc
    assert abs((datetime.now(timezone.utc) - row.created_at).total_seconds()) < 600


def test_put_same_key_again_keeps_the_first(store: Store) -> None:
    store.put_profile(_key("a"), "churn", b"first")
    store.put_profile(_key("a"), "churn", b"second")  # no error
    assert store.get_profile(_key("a")) == b"first"
    store.put_profile(_key("b"), "fraud", b"other")
    assert store.get_profile(_key("b")) == b"other"


def test_concurrent_puts_of_one_key_do_not_raise(store: Store) -> None:
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def put() -> None:
        barrier.wait()
        try:
            store.put_profile(_key("race"), "churn", b"payload")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert store.get_profile(_key("race")) == b"payload"


@pytest.mark.parametrize(("key", "monitor", "data", "error"), [
    ("", "churn", b"x", ValueError),
    ("k" * 129, "churn", b"x", ValueError),
    ("abc", "", b"x", ValueError),
    ("abc", "churn", "text", TypeError),
])
def test_put_checks_arguments(store: Store, key: str, monitor: str, data: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        store.put_profile(key, monitor, data)  # type: ignore[arg-type]
    assert store.get_profile("abc") is None

from __future__ import annotations

import pickle
from dataclasses import dataclass

import pytest

from driftwatch.secrets import Secret, redact_url


def test_secret_prints_as_mask_everywhere() -> None:
    secret = Secret("hunter2")
    assert repr(secret) == "***"
    assert str(secret) == "***"
    assert f"{secret}|{secret!r}|{secret:>5}" == "***|***|  ***"
    assert "hunter2" not in repr([secret, {"k": secret}])
    assert secret.reveal() == "hunter2"


def test_secret_inside_a_dataclass_repr() -> None:
    @dataclass(frozen=True)
    class Channel:
        token: Secret

    assert repr(Channel(Secret("xoxb-123"))).endswith("Channel(token=***)")


def test_secret_equality_and_hash_by_value() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"  # a secret is not its plain string
    assert len({Secret("a"), Secret("a"), Secret("b")}) == 2
    assert hash(Secret("a")) == hash(Secret("a"))


def test_secret_is_immutable_and_checks_its_type() -> None:
    secret = Secret("a")
    with pytest.raises(AttributeError):
        secret._value = "b"  # type: ignore[misc]
    assert secret.reveal() == "a"
    with pytest.raises(TypeError, match="wraps a str"):
        Secret(123)  # type: ignore[arg-type]
    assert Secret(Secret("x")).reveal() == "x"


def test_secret_pickles_by_value() -> None:
    assert pickle.loads(pickle.dumps(Secret("p"))).reveal() == "p"


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql+psycopg://user:pw@host/db", "postgresql+psycopg://user:***@host/db"),
    ("postgresql://user:pw@host:5432/db?sslmode=require", "postgresql://user:***@host:5432/db?sslmode=require"),
    ("postgresql://user:p%40ss@host/db", "postgresql://user:***@host/db"),
    ("postgresql://u:p@ss@host/db", "postgresql://u:***@host/db"),
    ("postgresql://u:p/w@host/db", "postgresql://u:***@host/db"),
    ("postgresql://user@host/db", "postgresql://user@host/db"),
    ("sqlite:///relative/app.db", "sqlite:///relative/app.db"),
    ("https://hooks.example.com/services/T1/B2", "https://hooks.example.com/services/T1/B2"),
    ("git-ssh://me:pw@host/repo", "git-ssh://me:***@host/repo"),  # SQLAlchemy cannot parse it
    ("not a url at all", "not a url at all"),
    ("trino://me@host/cat?access_token=abc&source=x", "trino://me@host/cat?access_token=***&source=x"),
])
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://user:S3cr3t!@host/db",
    "postgresql://u:S3cr3t!@ss@host/db",
    "mysql+pymysql://u:S3cr3t!@h/db?charset=utf8",
    "weird-scheme://u:S3cr3t!@h/x",
])
def test_redacted_url_never_contains_the_password(url: str) -> None:
    assert "S3cr3t" not in redact_url(url)
    assert "S3cr3t" not in redact_url(Secret(url))

"""Fixtures for config tests: a config file in ``tmp_path`` and small plugin dataclasses."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

from driftwatch.registry import Registry
from driftwatch.secrets import Secret

#: A minimal valid monitor, to append problems to.
MONITOR = """
[[monitors]]
name = "m1"
window = "1d"
[monitors.current]
type = "file"
path = "cur.csv"
[monitors.reference]
type = "file"
path = "ref.csv"
"""


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    """Write a dedented config text to ``tmp_path/driftwatch.toml`` and return its path."""

    def _write(text: str) -> Path:
        path = tmp_path / "driftwatch.toml"
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@dataclass(frozen=True)
class FakeConnector:
    """A connector-like dataclass: a required field, a secret field, nested options."""

    name: ClassVar[str] = "fake"
    location: str
    token: Secret | None = None
    options: dict[str, Any] = field(default_factory=dict)
    dsn: str | None = field(default=None, repr=False)
    base: str | None = None

    def __post_init__(self) -> None:
        if not self.location:
            raise ValueError("location: must not be empty")
        if self.token is not None and self.token.reveal() == "bad-token-value":
            raise ValueError(f"token: rejected {self.token.reveal()!r}")
        for key, value in self.options.items():
            if not isinstance(value, int):
                raise ValueError(f"options.{key}: must be an integer, got {value!r}")
        if self.location == "explode":
            raise RuntimeError("boom")
        if self.location == "vague":
            raise ValueError("something is off")
        if self.location == "login":
            # A careless plugin that echoes a password it took out of a URL.
            raise ValueError(f"location: login refused for password {urlsplit(self.dsn or '').password}")

    def with_base_dir(self, base: str | Path) -> FakeConnector:
        return replace(self, base=str(base))


@dataclass(frozen=True)
class FakeDetector:
    name: ClassVar[str] = "drift"
    threshold: float = 0.1

    def __post_init__(self) -> None:
        if not self.threshold > 0:
            raise ValueError(f"threshold: must be > 0, got {self.threshold!r}")


@dataclass(frozen=True)
class FakeQuality:
    name: ClassVar[str] = "quality"


@pytest.fixture
def fakes() -> dict[str, Registry[object]]:
    """Keyword arguments for ``load``/``validate`` that swap in the fake plugins."""
    return {
        "connectors": Registry("driftwatch.tests.none", {"fake": FakeConnector}),
        "detectors": Registry("driftwatch.tests.none", {"drift": FakeDetector, "quality": FakeQuality}),
    }

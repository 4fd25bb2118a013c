"""Contract tests over every built-in channel (STYLE): each is configured from a TOML table by
``type``, rejects unknown keys and bad values naming the key, and never shows a secret in its
repr or in a config error."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from driftwatch.alerts.channels import BUILTIN, REGISTRY, Channel
from driftwatch.config.plugins import build_plugin
from driftwatch.config.problems import Problems

SECRET = "s3cr3t-value-never-shown"
#: A minimal valid table per built-in channel; the secret values must never be printed.
VALID: dict[str, dict[str, Any]] = {
    "log": {"type": "log"},
    "slack": {"type": "slack", "token": SECRET, "channel": "#ml"},
    "email": {"type": "email", "host": "smtp.example.com", "to": ["ops@example.com"],
              "sender": "dw@example.com", "username": "dw", "password": SECRET},
    "webhook": {"type": "webhook", "url": f"https://hooks.example.com/{SECRET}"},
}


def test_every_builtin_channel_has_a_contract_case() -> None:
    assert set(VALID) == set(BUILTIN) == set(REGISTRY.names())


@pytest.mark.parametrize("kind", sorted(BUILTIN))
def test_builds_from_its_table_and_hides_secrets(kind: str) -> None:
    problems = Problems("c.toml")
    channel = build_plugin(REGISTRY, VALID[kind], "channels.x", problems)
    assert problems.format() == [] and channel is not None
    assert isinstance(channel, Channel)
    assert type(channel).name == kind  # type: ignore[attr-defined]
    assert dataclasses.is_dataclass(channel)
    assert SECRET not in repr(channel) and SECRET not in str(channel)


@pytest.mark.parametrize("kind", sorted(BUILTIN))
def test_an_unknown_key_is_reported_with_its_path_and_the_valid_keys(kind: str) -> None:
    problems = Problems("c.toml")
    assert build_plugin(REGISTRY, {**VALID[kind], "colour": "red"}, "channels.x", problems) is None
    (line,) = problems.format()
    assert line.startswith("c.toml: channels.x.colour: unknown key (valid: ")
    assert SECRET not in line


@pytest.mark.parametrize(("kind", "key", "value"), [
    ("log", "level", "loud"),
    ("slack", "timeout", -1),
    ("email", "tls", "sometimes"),
    ("webhook", "format", "xml"),
    ("webhook", "timeout", 0),
])
def test_a_bad_value_is_reported_at_its_key_without_secrets(kind: str, key: str, value: object) -> None:
    problems = Problems("c.toml")
    assert build_plugin(REGISTRY, {**VALID[kind], key: value}, "channels.x", problems) is None
    (line,) = problems.format()
    assert line.startswith(f"c.toml: channels.x.{key}: "), line
    assert SECRET not in line

"""The one generic builder, exercised through small plugin dataclasses of the tests' own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from driftwatch.config import load, validate
from driftwatch.config.plugins import build
from driftwatch.config.problems import Problems
from driftwatch.registry import Registry
from driftwatch.secrets import Secret

from .conftest import FakeConnector, FakeDetector, FakeQuality

MONITOR = """
[[monitors]]
name = "m"
window = "1h"
reference = { rolling = 2 }
[monitors.current]
type = "fake"
"""
FAKE_KEYS = "base, dsn, location, options, token, type"


def test_fields_become_keys_secrets_are_wrapped_and_base_dir_is_applied(write, fakes, tmp_path: Path) -> None:
    path = write(MONITOR + 'location = "here"\ntoken = "t0ken-value"\noptions = { retries = 3 }\n')
    monitor = load(path, environ={}, **fakes).monitors[0]
    assert monitor.current == FakeConnector(location="here", token=Secret("t0ken-value"), options={"retries": 3},
                                            base=str(tmp_path))
    assert monitor.detectors == (FakeDetector(), FakeQuality())
    assert "t0ken-value" not in repr(monitor)


def test_unknown_keys_one_problem_each_and_missing_required(write, fakes) -> None:
    path = write(MONITOR + 'colour = "red"\nsize = 3\n')
    assert validate(path, environ={}, **fakes) == [
        f"{path}:7: monitors[0].current.colour: unknown key (valid: {FAKE_KEYS})",
        f"{path}:8: monitors[0].current.size: unknown key (valid: {FAKE_KEYS})",
        f"{path}:5: monitors[0].current.location: missing required key",
    ]


@pytest.mark.parametrize(("body", "expected"), [
    ('location = ""', "7: monitors[0].current.location: must not be empty"),
    ('location = "x"\noptions = { retries = "many" }',
     "8: monitors[0].current.options.retries: must be an integer, got 'many'"),
    ('location = "vague"', "5: monitors[0].current: something is off"),
    ('location = "explode"', "5: monitors[0].current: RuntimeError: boom"),
])
def test_post_init_messages_map_to_key_paths(write, fakes, body: str, expected: str) -> None:
    path = write(MONITOR + body + "\n")
    assert validate(path, environ={}, **fakes) == [f"{path}:{expected}"]


def test_detector_error_keeps_full_path(write, fakes) -> None:
    path = write(MONITOR + 'location = "x"\n[[monitors.detectors]]\ntype = "quality"\n'
                 '[[monitors.detectors]]\ntype = "drift"\nthreshold = 0\n')
    assert validate(path, environ={}, **fakes) == [
        f"{path}:12: monitors[0].detectors[1].threshold: must be > 0, got 0",
    ]


def test_default_detectors_come_from_the_registry(write, tmp_path: Path) -> None:
    path = write(MONITOR + 'location = "x"\n')
    connectors = Registry("driftwatch.tests.none", {"fake": FakeConnector})
    detectors = Registry("driftwatch.tests.none", {"quality": FakeQuality})
    assert validate(path, environ={}, connectors=connectors, detectors=detectors) == [
        f"{path}:1: monitors[0].detectors[0].type: unknown type 'drift' (valid: quality)",
    ]


def test_a_plugin_that_is_not_a_dataclass(write) -> None:
    class Plain:
        name = "plain"

    path = write(MONITOR.replace('"fake"', '"plain"'))
    connectors = Registry("driftwatch.tests.none", {"plain": Plain})
    assert validate(path, environ={}, connectors=connectors, detectors=Registry("x", {"drift": FakeDetector,
                                                                                  "quality": FakeQuality})) == [
        f"{path}:5: monitors[0].current: Plain is not a dataclass and cannot be configured",
    ]


def test_build_directly_with_reserved_keys_and_with_base_dir() -> None:
    @dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0

        def __post_init__(self) -> None:
            if self.x < 0:
                raise TypeError(f"x: must be >= 0, got {self.x}")

    problems = Problems("c.toml")
    assert build(Point, {"x": 1, "type": "point"}, "p", problems, reserved=("type",)) == Point(1)
    assert build(Point, {"x": -1, "z": 2}, "p", problems, reserved=("type",)) is None
    assert build(Point, [1], "p", problems) is None
    assert problems.format() == [
        "c.toml: p.z: unknown key (valid: type, x, y)",
        "c.toml: p.x: must be >= 0, got -1",
        "c.toml: p: must be a table, got array",
    ]

"""R38: ``DRIFTWATCH_<SECTION>__<KEY>`` overrides; defaults < file < environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftwatch.config import load, validate
from driftwatch.config.overrides import parse_scalar

from .conftest import MONITOR


def test_environment_beats_file_beats_default(write, tmp_path: Path) -> None:
    path = write("[profile]\nbins = 12\nmax_sample = 500\n")
    assert load(path, environ={}).profile.bins == 12
    settings = load(path, environ={"DRIFTWATCH_PROFILE__BINS": "20"})
    assert (settings.profile.bins, settings.profile.max_sample) == (20, 500)
    assert settings.profile.max_categories == 10_000  # untouched default
    settings = load(path, environ={"DRIFTWATCH_PROFILE__MAX_CATEGORIES": "5"})
    assert (settings.profile.bins, settings.profile.max_categories) == (12, 5)


def test_store_url_from_environment_creates_the_section(write, tmp_path: Path) -> None:
    path = write(MONITOR)
    settings = load(path, environ={"DRIFTWATCH_STORE__URL": "sqlite:///env.db"})
    assert settings.store.url.reveal() == f"sqlite:///{tmp_path}/env.db"


@pytest.mark.parametrize(("text", "value"), [
    ("20", 20), ("-3", -3), ("1_000", 1000), ("0.5", 0.5), ("1e3", 1000.0), ("true", True), ("false", False),
    ("1d", "1d"), ("hello", "hello"), ('"quoted"', '"quoted"'), ("[1, 2]", "[1, 2]"), ("2026-01-01", "2026-01-01"),
    ("1\nx = 2", "1\nx = 2"),
])
def test_values_parse_as_toml_scalars_else_strings(text: str, value: object) -> None:
    parsed = parse_scalar(text)
    assert parsed == value and type(parsed) is type(value)


def test_overridden_value_is_validated_and_names_the_variable(write) -> None:
    path = write("[profile]\nbins = 12\n")
    assert validate(path, environ={"DRIFTWATCH_PROFILE__BINS": "1"}) == [
        f"{path}: profile.bins: must be >= 2, got 1 (set by DRIFTWATCH_PROFILE__BINS)",
    ]
    assert validate(path, environ={"DRIFTWATCH_PROFILE__BINS": "many"}) == [
        f"{path}: profile.bins: must be >= 2, got 'many' (set by DRIFTWATCH_PROFILE__BINS)",
    ]


def test_unknown_sections_and_keys_from_environment(write) -> None:
    path = write(MONITOR)
    assert validate(path, environ={
        "DRIFTWATCH_PROFILE__BINZ": "3",
        "DRIFTWATCH_ALERTZ__URL": "x",
        "DRIFTWATCH_MONITORS__NAME": "x",
        "DRIFTWATCH_STORE__": "x",
        "DRIFTWATCH_TEST_POSTGRES_URL": "postgresql://elsewhere",   # not an override: no "__"
        "DRIFTWATCH_CONFIG": "other.toml",
    }) == [
        f"{path}: DRIFTWATCH_ALERTZ__URL: unknown section 'alertz' (valid: alerts, channels, daemon, metrics, monitors, profile, store, web, webhooks)",
        f"{path}: DRIFTWATCH_MONITORS__NAME: [[monitors]] is an array of tables and cannot be set from the environment",
        f"{path}: DRIFTWATCH_STORE__: expected DRIFTWATCH_<SECTION>__<KEY>",
        f"{path}: profile.binz: unknown key (valid: bins, max_categories, max_sample) "
        "(set by DRIFTWATCH_PROFILE__BINZ)",
    ]


def test_secret_keys_stay_strings(write) -> None:
    path = write("")
    # "12345" would parse as an integer; a url/password/token keeps the text it was given.
    assert validate(path, environ={"DRIFTWATCH_STORE__URL": "12345"}) == [
        f"{path}: store.url: not a valid database URL (expected e.g. sqlite:///driftwatch.db or "
        "postgresql+psycopg://user@host/db) (set by DRIFTWATCH_STORE__URL)",
    ]


def test_override_of_a_non_table_is_a_problem(write) -> None:
    path = write('profile = "fast"\n')
    assert validate(path, environ={"DRIFTWATCH_PROFILE__BINS": "3"}) == [
        f"{path}: DRIFTWATCH_PROFILE__BINS: cannot set profile.bins: profile is not a table",
        f"{path}:1: profile: must be a table, got string",
    ]


def test_environ_defaults_to_os_environ(write, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write("[profile]\nbins = 12\n")
    monkeypatch.setenv("DRIFTWATCH_PROFILE__BINS", "30")
    assert load(path).profile.bins == 30

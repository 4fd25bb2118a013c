"""R40: secret values never appear in a problem line or a repr; the key is still named."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftwatch.config import load, validate
from driftwatch.config.problems import Problems
from driftwatch.errors import ConfigError

FAKE = """
[[monitors]]
name = "m"
window = "1h"
reference = { rolling = 2 }
[monitors.current]
type = "fake"
"""

PASSWORD = "Hunter2-s3cret"


def assert_hidden(lines: list[str], *values: str) -> None:
    assert lines, "expected at least one problem"
    for line in lines:
        for value in values:
            assert value not in line, line


def test_repr_of_settings_hides_store_and_connector_urls(write) -> None:
    path = write(f"""
        [store]
        url = "postgresql+psycopg://dw:{PASSWORD}@db:5432/dw"
        [[monitors]]
        name = "m"
        window = "1d"
        reference = {{ rolling = 3 }}
        [monitors.current]
        type = "sql"
        url = "postgresql+psycopg://reader:${{PGPASSWORD}}@db/features"
        table = "scores"
        timestamp_column = "ts"
    """)
    settings = load(path, environ={"PGPASSWORD": "pg-" + PASSWORD})
    assert settings.store.url.reveal() == f"postgresql+psycopg://dw:{PASSWORD}@db:5432/dw"
    assert "StoreSettings(url=***)" in repr(settings)
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings)


def test_problem_about_a_secret_value_names_the_key_not_the_value(write) -> None:
    path = write(f'[store]\nurl = "{PASSWORD} is not a url"\napi_key = "{PASSWORD}"\n')
    lines = validate(path, environ={})
    assert lines == [
        f"{path}:3: store.api_key: unknown key (valid: url)",
        f"{path}:2: store.url: not a valid database URL (expected e.g. sqlite:///driftwatch.db or "
        "postgresql+psycopg://user@host/db)",
    ]
    assert_hidden(lines, PASSWORD)


def test_secret_from_environment_override_is_hidden(write) -> None:
    path = write("")
    with pytest.raises(ConfigError) as caught:
        load(path, environ={"DRIFTWATCH_STORE__URL": f"{PASSWORD}://"})
    assert_hidden(caught.value.problems, PASSWORD)
    assert caught.value.problems[0].startswith(f"{path}: store.url: ")
    assert PASSWORD not in str(caught.value)


def test_plugin_that_echoes_a_secret_is_scrubbed(write, fakes) -> None:
    path = write(FAKE + 'location = "x"\ntoken = "bad-token-value"\n')
    assert validate(path, environ={}, **fakes) == [f"{path}:8: monitors[0].current.token: rejected '***'"]


def test_password_interpolated_into_a_url_is_scrubbed_even_alone(write, fakes) -> None:
    path = write(FAKE + 'location = "login"\ndsn = "postgresql://u:${PW}@db/x"\n')
    lines = validate(path, environ={"PW": PASSWORD}, **fakes)
    assert lines == [f"{path}:7: monitors[0].current.location: login refused for password ***"]


def test_unset_variable_in_a_secret_names_only_the_variable(write) -> None:
    path = write(f'[store]\nurl = "postgresql://dw:{PASSWORD}@db/${{DB_NAME}}"\n')
    assert validate(path, environ={}) == [
        f"{path}:2: store.url: environment variable DB_NAME is not set (give a default with ${{DB_NAME:-default}})",
    ]


def test_scrub_replaces_longest_secrets_first_and_escaped_forms() -> None:
    problems = Problems("c.toml", secrets={"abc", "abcdef", "a\\b"})
    problems.add_secrets(["xy", "q\tq"])  # two characters are too short to scrub; a tab is escaped in reprs
    problems.add("k", "got 'abcdef', then abc, then 'a\\\\b', then xy and 'q\\tq'")
    assert problems.format() == ["c.toml: k: got '***', then ***, then '***', then xy and '***'"]


def test_sql_connector_url_problem_shows_no_password(write, tmp_path: Path) -> None:
    path = write(f"""
        [[monitors]]
        name = "m"
        window = "1d"
        reference = {{ rolling = 3 }}
        [monitors.current]
        type = "sql"
        url = "postgresql+psycopg://reader:{PASSWORD}@db/features"
    """)
    lines = validate(path, environ={})
    assert lines == [f"{path}:5: monitors[0].current.table: set either table or query"]
    assert_hidden(lines, PASSWORD)


def test_a_short_auth_token_is_refused_by_length_without_showing_it(write) -> None:
    short = "Hunter2-15chars"  # 15 characters: one below the minimum
    path = write('[web]\nport = 8080\nauth_token = "${DRIFTWATCH_TOKEN}"\n')
    lines = validate(path, environ={"DRIFTWATCH_TOKEN": short})
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:3: web.auth_token: must be at least 16 characters, got 15 (make one with: ")
    assert_hidden(lines, short)
    sixteen = short + "!"
    assert validate(path, environ={"DRIFTWATCH_TOKEN": sixteen}) == []
    assert load(path, environ={"DRIFTWATCH_TOKEN": sixteen}).web.auth_token.reveal() == sixteen

"""R37: ``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}`` and ``$$`` in every string value."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftwatch.config import load, validate
from driftwatch.config.interpolate import interpolate_string

from .conftest import MONITOR


def test_variables_are_substituted_in_nested_strings_and_arrays(write, tmp_path: Path) -> None:
    path = write(MONITOR.replace('"cur.csv"', '"${DATA}/cur-${DAY:-today}.csv"') + """
        [monitors.schema]
        numeric = ["${COL}", "b"]
        [[monitors.detectors]]
        type = "drift"
        [monitors.detectors.columns.income]
        method = "${METHOD}"
    """)
    settings = load(path, environ={"DATA": "/data", "COL": "income", "METHOD": "psi"})
    monitor = settings.monitors[0]
    assert monitor.current.path == "/data/cur-today.csv"  # type: ignore[attr-defined]
    assert monitor.schema is not None and monitor.schema.numeric == ("income", "b")
    rules = monitor.detectors[0].columns  # type: ignore[attr-defined]
    assert list(rules) == ["income"] and rules["income"].method == "psi"
    # keys are not interpolated: a "${COL}" key names no column, and says so
    keyed = write(path.read_text().replace("columns.income", 'columns."${COL}"'))
    [problem] = validate(keyed, environ={"DATA": "/data", "COL": "income", "METHOD": "psi"})
    assert "monitors[0].detectors[0].columns.${COL}: no such column in the monitor's schema (columns: income, b)" \
        in problem


def test_unset_variable_names_file_key_path_and_variable(write) -> None:
    path = write(MONITOR.replace('"cur.csv"', '"${DATA_DIR}/cur.csv"'))
    assert validate(path, environ={}) == [
        f"{path}:6: monitors[0].current.path: environment variable DATA_DIR is not set "
        "(give a default with ${DATA_DIR:-default})",
    ]


def test_set_but_empty_variable_is_used_as_is(write, tmp_path: Path) -> None:
    path = write(MONITOR.replace('"cur.csv"', '"cur${SUFFIX}.csv"'))
    assert load(path, environ={"SUFFIX": ""}).monitors[0].current.path == f"{tmp_path}/cur.csv"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, "7d"),
    ({"WINDOW": ""}, "7d"),
    ({"WINDOW": "1h"}, "1h"),
])
def test_default_applies_when_unset_or_empty(environ: dict[str, str], expected: str) -> None:
    assert interpolate_string("${WINDOW:-7d}", environ) == (expected, [], [expected] if environ.get("WINDOW") else [])


def test_required_variable_message(write) -> None:
    path = write('[store]\nurl = "${DB_URL:?set DB_URL to the results database}"\n')
    assert validate(path, environ={}) == [
        f"{path}:2: store.url: environment variable DB_URL is not set: set DB_URL to the results database",
    ]
    assert validate(path, environ={"DB_URL": ""}) == validate(path, environ={})
    assert load(path, environ={"DB_URL": "sqlite:///:memory:"}).store.url.reveal() == "sqlite:///:memory:"


def test_double_dollar_is_a_literal_dollar_and_a_lone_dollar_stays(write, tmp_path: Path) -> None:
    path = write(MONITOR.replace('"cur.csv"', '"$$HOME/a$b/$$$$.csv"'))
    assert load(path, environ={"HOME": "/root"}).monitors[0].current.path == \
        f"{tmp_path}/$HOME/a$b/$$.csv"  # type: ignore[attr-defined]


def test_malformed_reference_is_a_problem(write) -> None:
    path = write(MONITOR.replace('"cur.csv"', '"${1abc}.csv"'))
    assert validate(path, environ={}) == [
        f"{path}:6: monitors[0].current.path: invalid reference at character 1 "
        "(use ${VAR}, ${VAR:-default} or ${VAR:?message}; write $$ for a literal $)",
    ]


def test_interpolated_values_are_validated_like_literals(write) -> None:
    path = write(MONITOR.replace('window = "1d"', 'window = "${WINDOW}"') + """
        [profile]
        bins = 10
        [[monitors.detectors]]
        type = "drift"
        method = "${METHOD:-magic}"
    """)
    assert validate(path, environ={"WINDOW": "1.5h"}) == [
        f"{path}:3: monitors[0].window: invalid duration '1.5h' (expected e.g. 30s, 15m, 1h, 7d, 2w)",
        f"{path}:15: monitors[0].detectors[0].method: unknown method 'magic' (valid: auto, anderson, chisquare, "
        "cramervonmises, hellinger, jensenshannon, ks, psi, wasserstein, ztest)",
    ]


def test_every_unset_variable_is_reported(write) -> None:
    path = write(MONITOR.replace('"cur.csv"', '"${A}/${B}.csv"').replace('"ref.csv"', '"${C}"'))
    assert validate(path, environ={"B": "b"}) == [
        f"{path}:6: monitors[0].current.path: environment variable A is not set (give a default with ${{A:-default}})",
        f"{path}:9: monitors[0].reference.path: environment variable C is not set (give a default with ${{C:-default}})",
    ]
    assert validate(path, environ={}) == [
        f"{path}:6: monitors[0].current.path: environment variable A is not set (give a default with ${{A:-default}})",
        f"{path}:6: monitors[0].current.path: environment variable B is not set (give a default with ${{B:-default}})",
        f"{path}:9: monitors[0].reference.path: environment variable C is not set (give a default with ${{C:-default}})",
    ]

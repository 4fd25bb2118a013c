"""Every kind of problem, as the exact line the user sees: ``FILE[:LINE[:COL]]: key.path: message``."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftwatch.config import load, validate
from driftwatch.errors import ConfigError

from .conftest import MONITOR

FILE_KEYS = "engine, format, path, timestamp_column, type"
DRIFT_KEYS = ("alpha, columns, correction, direction, drift_share, large_sample, method, min_rows, "
              "missing_as_category, threshold, top_categories, type")


def problems(path: Path, **kwargs: object) -> list[str]:
    return validate(path, environ=kwargs.pop("environ", {}), **kwargs)  # type: ignore[arg-type]


def test_load_raises_config_error_listing_every_problem(write) -> None:
    path = write("""
        [profile]
        bins = 1
        colour = "red"
    """)
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert caught.value.problems == [
        f"{path}:3: profile.colour: unknown key (valid: bins, max_categories, max_sample)",
        f"{path}:2: profile.bins: must be >= 2, got 1",
    ]
    assert str(caught.value) == "\n".join(caught.value.problems)


def test_toml_syntax_error_gives_line_and_column(write) -> None:
    path = write("""
        [store]
        url = "sqlite:///x.db" extra
    """)
    assert problems(path) == [f"{path}:2:24: invalid TOML: Expected newline or end of document after a statement"]


def test_toml_error_at_end_of_document(write) -> None:
    path = write('[profile]\nbins =')
    assert problems(path) == [f"{path}:2:7: invalid TOML: Invalid value"]


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert problems(missing) == [f"{missing}: cannot read the config file: No such file or directory"]


def test_unknown_keys_at_every_level(write) -> None:
    path = write("""
        colour = "red"
        [alertz]
        x = 1
        [store]
        url = "sqlite:///:memory:"
        pool = 5
        [[monitors]]
        name = "m"
        window = "1d"
        owner = "me"
        [monitors.schema]
        numeric = ["a"]
        numerics = ["b"]
        [monitors.current]
        type = "file"
        path = "c.csv"
        pth = "c.csv"
        [monitors.reference]
        type = "file"
        path = "r.csv"
        begin = 2026-01-01
        [[monitors.detectors]]
        type = "drift"
        treshold = 0.1
        [monitors.detectors.columns.income]
        method = "psi"
        colour = "red"
    """)
    assert problems(path) == [
        f"{path}:1: colour: unknown key (valid: alerts, channels, daemon, metrics, monitors, profile, store, web, webhooks)",
        f"{path}:2: alertz: unknown section (valid: alerts, channels, daemon, metrics, monitors, profile, store, web, webhooks)",
        f"{path}:6: store.pool: unknown key (valid: url)",
        f"{path}:10: monitors[0].owner: unknown key (valid: alerts, current, delay, detectors, label_delay, labels, max_catchup, name, reference, retrain, schedule, schema, "
        "segments, timezone, window)",
        f"{path}:13: monitors[0].schema.numerics: unknown key (valid: categorical, class_scores, id, numeric, prediction, "
        "score, sensitive, target, task, timestamp)",
        f"{path}:17: monitors[0].current.pth: unknown key (valid: {FILE_KEYS})",
        f"{path}:21: monitors[0].reference.begin: unknown key (valid: end, {FILE_KEYS.replace('path, ', 'path, start, ')})",
        f"{path}:24: monitors[0].detectors[0].treshold: unknown key (valid: {DRIFT_KEYS})",
        f"{path}:27: monitors[0].detectors[0].columns.income.colour: unknown key "
        "(valid: alpha, direction, method, missing_as_category, threshold)",
    ]


def test_nested_table_validated_by_the_detector_keeps_its_full_path(write) -> None:
    path = write(MONITOR + """
        [[monitors.detectors]]
        type = "drift"
        [monitors.detectors.columns.income]
        method = "psi"
        colour = "red"
    """)
    assert problems(path) == [
        f"{path}:15: monitors[0].detectors[0].columns.income.colour: unknown key "
        "(valid: alpha, direction, method, missing_as_category, threshold)",
    ]


def test_detector_field_error_from_post_init_names_its_key_path_and_line(write) -> None:
    path = write(MONITOR + MONITOR.replace('"m1"', '"m2"') + """
        [[monitors.detectors]]
        type = "quality"
        [[monitors.detectors]]
        type = "drift"
        threshold = -1
        [monitors.detectors.columns.income]
        method = "nope"
    """)
    assert problems(path) == [
        f"{path}:25: monitors[1].detectors[1].threshold: must be > 0, got -1",
    ]
    fixed = write(path.read_text().replace("threshold = -1", "threshold = 0.2"))
    assert problems(fixed) == [
        f"{path}:27: monitors[1].detectors[1].columns.income.method: unknown method 'nope' (valid: auto, "
        "anderson, chisquare, cramervonmises, hellinger, jensenshannon, ks, psi, wasserstein, ztest)",
    ]


def test_unknown_and_missing_plugin_types_list_the_valid_ones(write) -> None:
    path = write(MONITOR.replace('type = "file"\npath = "cur.csv"', 'type = "ftp"\npath = "cur.csv"') + """
        [[monitors.detectors]]
        type = "magic"
        [[monitors.detectors]]
        threshold = 0.1
    """)
    assert problems(path) == [
        f"{path}:5: monitors[0].current.type: unknown type 'ftp' (valid: file, sql)",
        f"{path}:12: monitors[0].detectors[0].type: unknown type 'magic' (valid: drift, fairness, multivariate, performance, quality)",
        f"{path}:13: monitors[0].detectors[1].type: missing required key (valid: drift, fairness, multivariate, performance, quality)",
    ]


@pytest.mark.parametrize(("window", "message"), [
    ('"1.5h"', "invalid duration '1.5h' (expected e.g. 30s, 15m, 1h, 7d, 2w)"),
    ('"0d"', "invalid duration '0d' (expected e.g. 30s, 15m, 1h, 7d, 2w)"),
    ("3600", "must be a duration string such as 1h or 1d, got integer"),
])
def test_bad_window_durations(write, window: str, message: str) -> None:
    path = write(MONITOR.replace('window = "1d"', f"window = {window}"))
    assert problems(path) == [f"{path}:3: monitors[0].window: {message}"]


def test_missing_required_keys_point_at_their_table(write) -> None:
    path = write("""
        [[monitors]]
        schema = { numeric = ["a"] }
        [[monitors]]
        name = "m2"
        window = "1d"
        [monitors.current]
        type = "file"
        [monitors.reference]
        type = "sql"
        url = "sqlite:///w.db"
    """)
    assert problems(path) == [
        f"{path}:1: monitors[0].name: missing required key",
        f"{path}:1: monitors[0].window: missing required key (a duration, e.g. 1h or 1d; or set schedule)",
        f"{path}:1: monitors[0].current: missing required table (a connector; type: file, sql)",
        f"{path}:1: monitors[0].reference: missing required table (a connector, optionally with start/end, "
        "or rolling = N)",
        f"{path}:6: monitors[1].current.path: missing required key",
        f"{path}:8: monitors[1].reference.table: set either table or query",
    ]


def test_duplicate_and_malformed_monitor_names(write) -> None:
    path = write(MONITOR + MONITOR + MONITOR.replace('"m1"', '"credit model"') + MONITOR)
    assert problems(path) == [
        f"{path}:12: monitors[1].name: duplicate monitor name 'm1' (also monitors[0])",
        f"{path}:22: monitors[2].name: must be letters, digits, '_', '-' or '.' ([A-Za-z0-9_.-]+), "
        "got 'credit model'",
        f"{path}:32: monitors[3].name: duplicate monitor name 'm1' (also monitors[0])",
    ]


@pytest.mark.parametrize(("reference", "expected"), [
    ("rolling = 0", ["6: monitors[0].reference.rolling: must be an integer >= 1, got 0"]),
    ("rolling = true", ["6: monitors[0].reference.rolling: must be an integer >= 1, got boolean"]),
    ("rolling = 1.5", ["6: monitors[0].reference.rolling: must be an integer >= 1, got 1.5"]),
    ('rolling = 7\ntype = "file"\npath = "r.csv"', [
        "7: monitors[0].reference.type: not allowed with rolling (a rolling reference reads the current "
        "connector; drop rolling to name a connector)",
        "8: monitors[0].reference.path: not allowed with rolling (a rolling reference reads the current "
        "connector; drop rolling to name a connector)",
    ]),
    ('type = "file"\npath = "r.csv"\nstart = 2026-02-01\nend = 2026-01-01', [
        "9: monitors[0].reference.end: must be after start (2026-02-01T00:00:00+00:00)",
    ]),
    ('type = "file"\npath = "r.csv"\nstart = "yesterday"\nend = 10:00:00', [
        "8: monitors[0].reference.start: invalid date/time 'yesterday' (expected ISO 8601, "
        "e.g. 2026-01-01 or 2026-01-01T00:00:00Z)",
        "9: monitors[0].reference.end: must be an ISO 8601 date or date-time (e.g. 2026-01-01 or "
        "2026-01-01T00:00:00Z), got a time of day",
    ]),
    ('type = "sql"\nurl = "sqlite:///w.db"\nquery = "SELECT 1"\ndb_schema = "s"', [
        "9: monitors[0].reference.db_schema: only applies to table; qualify the names inside query instead",
    ]),
])
def test_reference_problems(write, reference: str, expected: list[str]) -> None:
    header = '[[monitors]]\nname = "m"\nwindow = "1d"\ncurrent = { type = "file", path = "c.csv" }\n'
    path = write(header + "[monitors.reference]\n" + reference + "\n")
    assert problems(path) == [f"{path}:{line}" for line in expected]


def test_schema_value_error_names_the_schema_key(write) -> None:
    path = write(MONITOR + """
        [monitors.schema]
        numeric = ["age"]
        categorical = ["age"]
    """)
    assert problems(path) == [f"{path}:12: monitors[0].schema.numeric: ['age'] also listed in categorical"]


def test_wrong_shapes(write) -> None:
    path = write("""
        store = "sqlite:///x.db"
        profile = [1, 2]
        monitors = { name = "m" }
    """)
    assert problems(path) == [
        f"{path}:1: store: must be a table, got string",
        f"{path}:2: profile: must be a table, got array",
        f"{path}:3: monitors: must be an array of tables ([[monitors]]), got table",
    ]


def test_empty_detector_list_is_a_problem(write) -> None:
    path = write(MONITOR.replace('window = "1d"', 'window = "1d"\ndetectors = []'))
    assert problems(path) == [
        f"{path}:4: monitors[0].detectors: must list at least one detector "
        "(leave it out for the defaults: drift, quality, and performance / fairness when the schema names a target / sensitive)",
    ]


def test_many_problems_reported_in_one_call(write) -> None:
    path = write("""
        [store]
        url = "not a url"

        [profile]
        bins = 0

        [[monitors]]
        name = "a"
        window = "soon"
        current = { type = "ftp" }
        reference = { rolling = -2 }

        [[monitors]]
        name = "a"
        window = "1d"
        current = { type = "file", path = "c.csv", format = "xls" }
        reference = { type = "file", path = "r.csv" }
        [[monitors.detectors]]
        type = "drift"
        alpha = 2
    """)
    assert problems(path) == [
        f"{path}:2: store.url: not a valid database URL "
        "(expected e.g. sqlite:///driftwatch.db or postgresql+psycopg://user@host/db)",
        f"{path}:5: profile.bins: must be >= 2, got 0",
        f"{path}:9: monitors[0].window: invalid duration 'soon' (expected e.g. 30s, 15m, 1h, 7d, 2w)",
        f"{path}:10: monitors[0].current.type: unknown type 'ftp' (valid: file, sql)",
        f"{path}:11: monitors[0].reference.rolling: must be an integer >= 1, got -2",
        f"{path}:14: monitors[1].name: duplicate monitor name 'a' (also monitors[0])",
        f"{path}:16: monitors[1].current.format: must be one of auto, csv, parquet, jsonl, got 'xls'",
        f"{path}:20: monitors[1].detectors[0].alpha: must be in (0, 1), got 2",
    ]

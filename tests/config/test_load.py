"""Valid configs become the typed settings."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from driftwatch.config import (
    MonitorSettings,
    ReferenceSettings,
    Settings,
    StoreSettings,
    load,
    settings_from_dict,
    validate,
)
from driftwatch.connectors import FileConnector, SqlConnector
from driftwatch.detectors import DriftDetector, QualityDetector
from driftwatch.detectors.drift import ColumnRule
from driftwatch.errors import ConfigError
from driftwatch.model import Schema
from driftwatch.profiling import ProfileOptions
from driftwatch.secrets import Secret

FULL = """
[store]
url = "sqlite:///state/dw.db"

[profile]
bins = 12
max_sample = 1000

[[monitors]]
name = "credit-model"
window = "1d"

[monitors.schema]
numeric = ["age", "income"]
categorical = ["region"]
timestamp = "ts"

[monitors.current]
type = "file"
path = "data/current/{start:%Y-%m-%d}.csv"

[monitors.reference]
type = "file"
path = "data/reference.parquet"

[[monitors.detectors]]
type = "drift"
method = "auto"
alpha = 0.01
[monitors.detectors.columns.income]
method = "psi"
threshold = 0.2

[[monitors.detectors]]
type = "quality"
min_rows = 50

[[monitors]]
name = "fraud.v2"
window = "6h"
[monitors.current]
type = "sql"
url = "sqlite:///warehouse.db"
table = "scores"
timestamp_column = "ts"
[monitors.reference]
rolling = 7
"""


def test_full_config_loads_into_typed_settings(write, tmp_path: Path) -> None:
    settings = load(write(FULL), environ={})
    assert isinstance(settings, Settings)
    assert settings.path == tmp_path / "driftwatch.toml"
    assert settings.store == StoreSettings(url=Secret(f"sqlite:///{tmp_path}/state/dw.db"))
    assert settings.profile == ProfileOptions(bins=12, max_sample=1000)
    credit, fraud = settings.monitors
    assert credit == MonitorSettings(
        name="credit-model",
        window=timedelta(days=1),
        schema=Schema(numeric=("age", "income"), categorical=("region",), timestamp="ts"),
        current=FileConnector(path=f"{tmp_path}/data/current/{{start:%Y-%m-%d}}.csv"),
        reference=ReferenceSettings(connector=FileConnector(path=f"{tmp_path}/data/reference.parquet")),
        detectors=(DriftDetector(alpha=0.01, columns={"income": ColumnRule(method="psi", threshold=0.2)}),
                   QualityDetector(min_rows=50)),
    )
    assert fraud.name == "fraud.v2" and fraud.window == timedelta(hours=6)
    assert fraud.schema is None
    assert isinstance(fraud.current, SqlConnector)
    assert fraud.current.redacted_url == f"sqlite:///{tmp_path}/warehouse.db"  # resolved like store.url
    assert fraud.reference == ReferenceSettings(connector=None, start=None, end=None, rolling=7)
    assert [type(d) for d in fraud.detectors] == [DriftDetector, QualityDetector]
    assert settings.monitor("fraud.v2") is fraud
    with pytest.raises(KeyError, match="unknown monitor 'nope' \\(configured: credit-model, fraud.v2\\)"):
        settings.monitor("nope")
    assert validate(tmp_path / "driftwatch.toml", environ={}) == []


def test_defaults_when_sections_are_absent(write, tmp_path: Path) -> None:
    settings = load(write("[profile]\n"), environ={})
    assert settings.store.url.reveal() == f"sqlite:///{tmp_path}/driftwatch.db"
    assert settings.profile == ProfileOptions()
    assert settings.monitors == ()
    assert settings.warnings == (f"{tmp_path}/driftwatch.toml: monitors: warning: no monitor configured: "
                                 "nothing will be watched",)


def test_an_empty_file_is_a_problem_not_a_config_of_nothing(write) -> None:
    path = write("")
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert caught.value.problems == [f"{path}: the file is empty: a config needs at least one [[monitors]] table "
                                     "(driftwatch init writes an example)"]


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite:////var/lib/dw.db",
                                 "postgresql+psycopg://dw:pw@db:5432/dw", "sqlite://"])
def test_store_urls_that_stay_as_written(write, url: str) -> None:
    settings = load(write(f'[store]\nurl = "{url}"\n'), environ={})
    assert settings.store.url.reveal() == url


def test_reference_time_range(write) -> None:
    path = write("""
        [[monitors]]
        name = "m"
        window = "1h"
        current = { type = "file", path = "c.csv", timestamp_column = "ts" }
        [monitors.reference]
        type = "file"
        path = "r.csv"
        timestamp_column = "ts"
        start = 2026-10-01
        end = "2026-11-01T06:00:00+02:00"
    """)
    reference = load(path, environ={}).monitors[0].reference
    assert reference.start == datetime(2026, 10, 1, tzinfo=timezone.utc)
    assert reference.end == datetime(2026, 11, 1, 4, tzinfo=timezone.utc)
    assert reference.rolling is None
    assert isinstance(reference.connector, FileConnector)
    assert reference.connector.timestamp_column == "ts"


def test_settings_from_dict_without_a_file(tmp_path: Path) -> None:
    data = {"profile": {"bins": 5}, "monitors": [
        {"name": "m", "window": "15m", "current": {"type": "file", "path": "c.csv", "timestamp_column": "ts"},
         "reference": {"rolling": 3}}]}
    settings = settings_from_dict(data, path=tmp_path / "x.toml", environ={})
    assert settings.profile.bins == 5
    assert settings.monitors[0].current == FileConnector(path=f"{tmp_path}/c.csv", timestamp_column="ts")
    with pytest.raises(ConfigError) as caught:
        settings_from_dict({"profile": {"bins": 1}}, path="x.toml", environ={})
    assert caught.value.problems == ["x.toml: profile.bins: must be >= 2, got 1"]


def test_example_config_in_the_repository_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    if not example.exists():
        pytest.skip("config.example.toml not written yet")
    assert validate(example, environ={}) == []

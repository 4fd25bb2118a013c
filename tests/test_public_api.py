"""The public Python API is exactly what ``driftwatch.__all__`` names, and its shapes hold."""

from __future__ import annotations

import dataclasses
import importlib
from datetime import datetime, timezone

import pytest

import driftwatch

EXPECTED_ALL = {
    "ConfigError",
    "ConnectorError",
    "DataError",
    "DeliveryError",
    "DriftwatchError",
    "Finding",
    "Profile",
    "Result",
    "Results",
    "Schema",
    "Window",
    "__version__",
    "check",
    "profile",
}

RESULT_FIELDS = ("monitor", "run_id", "window_start", "window_end", "detector", "feature", "metric",
                 "value", "p_value", "threshold", "status")


def test_all_is_exactly_the_expected_set() -> None:
    assert set(driftwatch.__all__) == EXPECTED_ALL
    assert len(driftwatch.__all__) == len(EXPECTED_ALL), "a name is listed twice in __all__"


@pytest.mark.parametrize("name", sorted(EXPECTED_ALL))
def test_every_public_name_is_importable(name: str) -> None:
    module = importlib.import_module("driftwatch")
    assert hasattr(module, name)
    namespace: dict[str, object] = {}
    exec(f"from driftwatch import {name}", namespace)  # noqa: S102 - the import statement itself
    assert namespace[name] is getattr(driftwatch, name)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from driftwatch import *", namespace)  # noqa: S102
    assert set(namespace) - {"__builtins__"} == EXPECTED_ALL


def test_version_is_a_dotted_string() -> None:
    assert isinstance(driftwatch.__version__, str)
    assert all(part.isdigit() for part in driftwatch.__version__.split(".")[:2])


def test_check_and_profile_are_callables() -> None:
    assert callable(driftwatch.check)
    assert callable(driftwatch.profile)


@pytest.mark.parametrize("name", ["ConfigError", "ConnectorError", "DataError", "DeliveryError"])
def test_errors_share_the_driftwatch_base(name: str) -> None:
    error = getattr(driftwatch, name)
    assert issubclass(error, driftwatch.DriftwatchError)
    assert issubclass(driftwatch.DriftwatchError, Exception)


def test_result_is_a_frozen_dataclass_with_the_contract_fields() -> None:
    assert dataclasses.is_dataclass(driftwatch.Result)
    names = [f.name for f in dataclasses.fields(driftwatch.Result)]
    for name in RESULT_FIELDS:
        assert name in names
    result = driftwatch.Result(monitor="m", run_id=1, window_start=None, window_end=None, detector="drift",
                               feature="x", metric="ks", value=0.1, p_value=0.5, threshold=0.05, status="ok")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = "alert"  # type: ignore[misc]


def test_result_to_json_carries_every_contract_field() -> None:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    end = datetime(2026, 1, 2, tzinfo=timezone.utc)
    result = driftwatch.Result(monitor="m", run_id=7, window_start=start, window_end=end, detector="quality",
                               feature="x", metric="missing_share", value=0.2, p_value=None, threshold=0.1,
                               status="alert", details={"ref": 0.0})
    payload = result.to_json()
    assert set(RESULT_FIELDS) <= set(payload)
    assert payload["window_start"] == start.isoformat()
    assert payload["window_end"] == end.isoformat()
    assert payload["details"] == {"ref": 0.0}


@pytest.mark.parametrize("name", ["Finding", "Schema", "Window"])
def test_other_nouns_are_frozen_dataclasses(name: str) -> None:
    cls = getattr(driftwatch, name)
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_finding_rejects_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="status"):
        driftwatch.Finding("x", "ks", 0.1, "bad")  # type: ignore[arg-type]

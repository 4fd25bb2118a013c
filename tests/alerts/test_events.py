"""R13: webhook event bodies validate against the published schema and stay under 20 kB."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any

import jsonschema
import numpy as np
import pytest

from driftwatch.alerts.events import EVENT_TYPES, RESULT_FIELDS, WEBHOOK_EVENT_SCHEMA, event_body, event_from_message
from driftwatch.alerts.message import Item, Message
from driftwatch.model import Window

UTC = timezone.utc
WINDOW = Window(datetime(2026, 11, 1, 9, tzinfo=UTC), datetime(2026, 11, 1, 10, tzinfo=UTC))
NOW = datetime(2026, 11, 1, 10, 0, 5, tzinfo=UTC)


def result(i: int, value: Any = 0.4) -> dict[str, Any]:
    return {"detector": "drift", "feature": f"feature_{i:05d}", "metric": "psi", "value": value,
            "threshold": 0.2, "p_value": None, "status": "alert", "segment": ""}


def body(event_type: str = "retrain.requested", results: list[dict[str, Any]] | None = None, **kw: Any) -> bytes:
    args: dict[str, Any] = {"timestamp": NOW, "monitor": "churn", "window": WINDOW, "run_id": 7,
                            "results": [result(0)] if results is None else results,
                            "report_url": "http://dw.local/runs/7", "reason": "psi above threshold"}
    return event_body(event_type, "msg_0123abcd", **{**args, **kw})


def validate(event: Any) -> None:
    jsonschema.validate(event, WEBHOOK_EVENT_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(WEBHOOK_EVENT_SCHEMA)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_validates(event_type: str) -> None:
    event = json.loads(body(event_type))
    validate(event)
    assert event["type"] == event_type
    assert event["id"] == "msg_0123abcd"
    assert event["timestamp"] == "2026-11-01T10:00:05Z"
    assert event["data"] == {
        "monitor": "churn", "run_id": 7, "reason": "psi above threshold", "report_url": "http://dw.local/runs/7",
        "window": {"start": "2026-11-01T09:00:00Z", "end": "2026-11-01T10:00:00Z"},
        "results": [result(0)], "truncated_results": 0,
    }


def test_optional_values_are_null_and_still_validate() -> None:
    event = json.loads(body(run_id=None, report_url=None, results=[], reason=""))
    validate(event)
    assert event["data"]["run_id"] is None and event["data"]["report_url"] is None
    assert event["data"]["results"] == []


def test_the_body_is_compact_sorted_json() -> None:
    raw = body()
    assert raw == json.dumps(json.loads(raw), separators=(",", ":"), sort_keys=True).encode()
    assert raw == body()  # same inputs, same bytes: retries carry an identical, identically signed body


def test_a_5000_result_event_is_cut_under_20_kb_and_counts_what_was_dropped() -> None:
    results = [result(i) for i in range(5000)]
    raw = body(results=results)
    assert len(raw) <= 20_000
    event = json.loads(raw)
    validate(event)
    kept = event["data"]["results"]
    assert 0 < len(kept) < 5000
    assert event["data"]["truncated_results"] == 5000 - len(kept)
    assert kept == results[:len(kept)]  # the worst (first) ones are kept, the tail dropped
    next_entry = json.dumps(results[len(kept)], separators=(",", ":"), sort_keys=True)
    assert len(raw) + 1 + len(next_entry) > 20_000  # as many as fit, not fewer (the count keeps 4 digits)


def test_max_bytes_is_a_parameter() -> None:
    raw = body(results=[result(i) for i in range(50)], max_bytes=2_000)
    assert len(raw) <= 2_000
    assert json.loads(raw)["data"]["truncated_results"] > 0
    with pytest.raises(ValueError, match="max_bytes"):
        body(max_bytes=100)


def test_a_huge_reason_cannot_push_the_body_over_its_cap() -> None:
    raw = body(reason="x" * 100_000)
    assert len(raw) <= 20_000
    validate(json.loads(raw))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_non_finite_numbers_become_null(bad: float) -> None:
    raw = body(results=[{**result(0), "value": bad, "threshold": bad, "p_value": bad}])
    assert b"NaN" not in raw and b"Infinity" not in raw
    entry = json.loads(raw)["data"]["results"][0]
    assert entry["value"] is None and entry["threshold"] is None and entry["p_value"] is None
    validate(json.loads(raw))


def test_results_are_reduced_to_their_fields() -> None:
    raw = body(results=[{"feature": "age", "value": np.float32(0.5), "details": {"bins": [1, 2]}}])
    entry = json.loads(raw)["data"]["results"][0]
    assert set(entry) == set(RESULT_FIELDS)
    assert entry["value"] == 0.5 and entry["detector"] == "" and entry["p_value"] is None


@pytest.mark.parametrize("missing", ["id", "type", "timestamp", "data"])
def test_a_body_missing_a_top_level_field_fails_validation(missing: str) -> None:
    event = json.loads(body())
    del event[missing]
    with pytest.raises(jsonschema.ValidationError):
        validate(event)


@pytest.mark.parametrize("missing", ["monitor", "run_id", "window", "reason", "results", "truncated_results",
                                     "report_url"])
def test_a_body_missing_a_data_field_fails_validation(missing: str) -> None:
    event = json.loads(body())
    del event["data"][missing]
    with pytest.raises(jsonschema.ValidationError):
        validate(event)


@pytest.mark.parametrize("breakage", ["extra top", "extra data", "bad type", "result field", "local time", "dot id"])
def test_other_broken_bodies_fail_validation(breakage: str) -> None:
    event = json.loads(body())
    if breakage == "extra top":
        event["extra"] = 1
    elif breakage == "extra data":
        event["data"]["extra"] = 1
    elif breakage == "bad type":
        event["type"] = "alert.exploded"
    elif breakage == "result field":
        del event["data"]["results"][0]["status"]
    elif breakage == "local time":
        event["timestamp"] = "2026-11-01T12:00:05+02:00"
    else:
        event["id"] = "msg.1"
    with pytest.raises(jsonschema.ValidationError):
        validate(event)


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="event_type"):
        body("alert.exploded")
    with pytest.raises(ValueError, match="msg_id"):
        event_body("alert.firing", "a.b", timestamp=NOW, monitor="m", window=WINDOW, run_id=None, results=[],
                   report_url=None)


def message(status: str, items: tuple[Item, ...]) -> Message:
    return Message(monitor="churn", run_id=7, window=WINDOW, status=status,  # type: ignore[arg-type]
                   reason="first notification" if status == "firing" else "all alerts resolved", items=items,
                   report_url="http://dw.local/runs/7", key="msg_key")


def test_event_from_a_firing_message_lists_items_worst_first() -> None:
    items = (Item("drift", "age", "psi", "warn", "new", value=0.25, threshold=0.2),
             Item("drift", "income", "psi", "alert", "still", value=0.9, threshold=0.2),
             Item("drift", "zip", "ks", "alert", "new", value=0.3, threshold=0.05, p_value=0.001))
    event = json.loads(event_from_message(message("firing", items), "msg_key", now=NOW))
    validate(event)
    assert event["type"] == "alert.firing"
    assert event["id"] == "msg_key"
    assert event["data"]["reason"] == "first notification"
    assert [r["feature"] for r in event["data"]["results"]] == ["zip", "income", "age"]  # 50x, 4.5x, 1.25x
    assert event["data"]["results"][0] == {"detector": "drift", "feature": "zip", "metric": "ks", "value": 0.3,
                                           "threshold": 0.05, "p_value": 0.001, "status": "alert", "segment": ""}


def test_event_from_a_resolved_message() -> None:
    items = (Item("drift", "age", "psi", "alert", "resolved", value=0.1, threshold=0.2),)
    raw = event_from_message(message("resolved", items), "msg_key", now=NOW + timedelta(hours=1))
    event = json.loads(raw)
    validate(event)
    assert event["type"] == "alert.resolved"
    assert event["timestamp"] == "2026-11-01T11:00:05Z"
    assert event["data"]["results"][0]["status"] == "ok"

"""The plugin contracts as checks a plugin's own tests can run: ``check_detector``,
``check_connector`` and ``check_channel``.

Each takes a configured plugin and sample input, exercises the contract of its kind
(``driftwatch.plugins``) the way driftwatch will, and raises ``ContractError`` (an
``AssertionError``, so any test runner reports it) naming the first rule broken. Each returns
what the plugin produced, for the author's own assertions. driftwatch's suite runs them over
every built-in, so the checks and the built-ins keep each other honest.

A plugin passes when it is a frozen dataclass (its fields are its config keys) with a
non-empty ``name``, and:

- a detector names only schema columns in ``required_columns``, returns ``Finding``s with a
  known status, numbers that are floats or None (a p-value in [0, 1]) and JSON-able details,
  gives the same findings twice for the same inputs, and changes neither frame;
- a connector returns a DataFrame, only the asked-for columns that exist (a missing one is not
  an error), rows of the window it was given when it cuts by time (``timestamp_column``), and
  the same ``version`` twice for unchanged data;
- a channel's ``send`` returns a ``Delivery`` (a text status, at most a kilobyte of what was
  sent) or raises ``DeliveryError``, and its repr shows no secret.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

import pandas as pd

from .alerts.channels import EXCERPT_CHARS, Channel, Delivery
from .alerts.message import Item, Message
from .connectors import Connector
from .detectors import CurrentData, Detector, joint_rows_wanted
from .jsonsafe import json_safe
from .model import STATUSES, Finding, Schema, Window
from .profiling import profile
from .secrets import Secret

__all__ = ["ContractError", "check_channel", "check_connector", "check_detector", "sample_message"]


class ContractError(AssertionError):
    """A plugin broke its kind's contract; the message says which rule and where."""


def _require(condition: bool, plugin: object, rule: str) -> None:
    if not condition:
        raise ContractError(f"{type(plugin).__name__}: {rule}")


def _configurable(plugin: object) -> None:
    """A frozen dataclass with a ``name``: what the config loader builds from a TOML table."""
    _require(dataclasses.is_dataclass(plugin) and not isinstance(plugin, type), plugin,
             "must be a dataclass instance (its fields are its config keys)")
    params = getattr(type(plugin), "__dataclass_params__", None)
    _require(params is not None and params.frozen, plugin, "must be a frozen dataclass (@dataclass(frozen=True))")
    name = getattr(type(plugin), "name", None)
    _require(isinstance(name, str) and bool(name), plugin, "needs a class attribute `name` (its config `type`)")


def _number(value: object) -> bool:
    return value is None or (isinstance(value, float) and not isinstance(value, bool))


def check_detector(detector: Detector, reference: pd.DataFrame, current: pd.DataFrame,
                   schema: Schema | Mapping[str, object] | None = None) -> list[Finding]:
    """Run ``detector`` on ``current`` against ``reference`` twice, as the engine does, and check
    its contract; returns its findings."""
    _configurable(detector)
    built = profile(reference, schema, joint_rows=joint_rows_wanted([detector]))
    wanted = detector.required_columns(built.schema)
    _require(isinstance(wanted, set) and all(isinstance(c, str) for c in wanted), detector,
             f"required_columns must return a set of column names, got {wanted!r}")
    unknown = sorted(wanted - set(built.schema.columns))
    _require(not unknown, detector, f"required_columns names columns the schema lacks: {unknown}")
    before = (reference.copy(deep=True), current.copy(deep=True))
    runs = [detector.run(built, CurrentData(current, built), built.schema)
            for _ in range(2)]
    _require(reference.equals(before[0]) and current.equals(before[1]), detector,
             "run must not change the frames it is given")
    findings = runs[0]
    _require(isinstance(findings, list) and all(isinstance(f, Finding) for f in findings), detector,
             "run must return a list of driftwatch.Finding")
    for finding in findings:
        where = f"finding {finding.feature or '(data set)'}/{finding.metric}"
        _require(finding.status in STATUSES, detector, f"{where}: status {finding.status!r} is not one of {STATUSES}")
        for field in ("value", "threshold", "p_value"):
            _require(_number(getattr(finding, field)), detector,
                     f"{where}: {field} must be a float or None, got {getattr(finding, field)!r}")
        _require(finding.p_value is None or 0.0 <= finding.p_value <= 1.0, detector,
                 f"{where}: p_value {finding.p_value} is not in [0, 1]")
        try:
            json_safe(finding.details)
        except (TypeError, ValueError) as exc:
            raise ContractError(f"{type(detector).__name__}: {where}: details must be JSON-able: {exc}") from None
    _require(_same(runs[0], runs[1]), detector, "run must give the same findings for the same inputs")
    return findings


def _same(first: Sequence[Finding], second: Sequence[Finding]) -> bool:
    """Equal findings, NaN equal to NaN (a figure may be NaN in its details)."""
    def plain(findings: Sequence[Finding]) -> object:
        return json_safe([[f.feature, f.metric, f.value, f.status, f.threshold, f.p_value, f.details]
                          for f in findings])

    return plain(first) == plain(second)


def check_connector(connector: Connector, window: Window | None = None, *,
                    timestamp_column: str | None = None) -> pd.DataFrame:
    """Fetch through ``connector`` (the window's rows, or all rows) and check its contract;
    ``timestamp_column`` names the column it cuts windows by, if it does. Returns what the
    unprojected fetch gave."""
    _configurable(connector)
    frame = connector.fetch(window, None)
    _require(isinstance(frame, pd.DataFrame), connector, f"fetch must return a pandas DataFrame, got {type(frame)}")
    columns = [str(c) for c in frame.columns]
    asked = columns[:1] + ["no such column in this data"]
    projected = connector.fetch(window, asked)
    _require(isinstance(projected, pd.DataFrame) and [str(c) for c in projected.columns] == columns[:1], connector,
             f"fetch(columns={asked}) must return the columns asked for that exist ({columns[:1]}), "
             f"got {list(getattr(projected, 'columns', []))}")
    _require(len(projected) == len(frame), connector, "fetch must return the same rows whatever the columns")
    if window is not None and timestamp_column is not None and len(frame):
        _require(timestamp_column in columns, connector, f"fetch lacks the timestamp column {timestamp_column!r}")
        stamps = pd.to_datetime(frame[timestamp_column], utc=True, format="mixed")
        inside = (stamps >= pd.Timestamp(window.start)) & (stamps < pd.Timestamp(window.end))
        _require(bool(inside.all()), connector, f"fetch({window}) returned rows outside the window")
    versions = [connector.version(window) for _ in range(2)]
    _require(all(isinstance(v, str) and v for v in versions), connector, "version must return a non-empty string")
    _require(versions[0] == versions[1], connector, "version must not change while the data does not")
    return frame


def sample_message() -> Message:
    """A firing message of two alerts, as the dispatcher hands a channel one."""
    now = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
    items = (Item("drift", "income", "psi", "alert", "new", 0.42, 0.2, 1e-6, "a1b2c3d4e5f60718", now),
             Item("quality", "region", "new_category_share", "warn", "new", 0.03, 0.01, 0.002, "0817f6e5d4c3b2a1", now))
    return Message("credit-model", 7, Window(datetime(2026, 11, 1, tzinfo=timezone.utc), now.replace(hour=0)),
                   "firing", "first notification", items, report_url="http://127.0.0.1:8080/runs/7",
                   key="credit-model/7/contract", created_at=now)


def check_channel(channel: Channel, message: Message | None = None) -> Delivery:
    """Send ``message`` (default ``sample_message()``) once through ``channel`` and check its
    contract; returns its ``Delivery``. A ``DeliveryError`` it raises is passed on: a failed
    attempt is part of the contract, and the caller's test says whether one was expected."""
    _configurable(channel)
    secrets = [value.reveal() for value in vars(channel).values() if isinstance(value, Secret) and value.reveal()]
    _require(not any(secret in repr(channel) for secret in secrets), channel, "repr must not show a secret")
    delivery = channel.send(message or sample_message())
    _require(isinstance(delivery, Delivery), channel, f"send must return a Delivery, got {type(delivery).__name__}")
    _require(isinstance(delivery.status, str) and bool(delivery.status), channel,
             "a Delivery's status must say how the peer answered")
    _require(len(delivery.request) <= EXCERPT_CHARS, channel, f"a Delivery keeps at most {EXCERPT_CHARS} characters")
    return delivery

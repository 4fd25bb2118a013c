"""The log channel: a notification as one log record, with the run's context as extras."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from driftwatch.alerts.channels.log import LogChannel
from driftwatch.alerts.message import Item, Message
from driftwatch.config.plugins import build
from driftwatch.config.problems import Problems
from driftwatch.model import Window
from driftwatch.testing import check_channel, sample_message


def make_message() -> Message:
    window = Window(datetime(2026, 11, 1, 9, tzinfo=timezone.utc), datetime(2026, 11, 1, 10, tzinfo=timezone.utc))
    return Message(monitor="churn", run_id=7, window=window, status="firing", reason="first notification",
                   items=(Item("drift", "age", "psi", "alert", "new", value=0.4, threshold=0.2),
                          Item("quality", "income", "null_share", "warn", "new", value=0.1, threshold=0.05)),
                   report_url="http://dw.local/runs/7")


def test_default_logs_the_text_at_warning_with_the_run_context(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="driftwatch.alerts")
    message = make_message()
    delivery = LogChannel().send(message)

    [record] = caplog.records
    assert record.name == "driftwatch.alerts" and record.levelno == logging.WARNING
    assert record.getMessage().splitlines() == [
        "[driftwatch] FIRING churn: 2 alerts (first notification)",
        "window 2026-11-01T09:00:00+00:00 .. 2026-11-01T10:00:00+00:00, run 7",
        "NEW alert drift age psi = 0.4 (threshold 0.2)",
        "NEW warn quality income null_share = 0.1 (threshold 0.05)",
        "report: http://dw.local/runs/7",
    ]
    assert (record.__dict__["monitor"], record.__dict__["run_id"]) == ("churn", 7)
    assert delivery.status == "logged" and delivery.request == message.text()


@pytest.mark.parametrize(("level", "expected"), [("debug", logging.DEBUG), ("info", logging.INFO),
                                                  ("error", logging.ERROR), ("ERROR", logging.ERROR)])
def test_level_and_logger_are_configurable(caplog: pytest.LogCaptureFixture, level: str, expected: int) -> None:
    caplog.set_level(logging.DEBUG, logger="ops.alerts")
    LogChannel(level=level, logger="ops.alerts").send(make_message())
    assert [(r.name, r.levelno) for r in caplog.records] == [("ops.alerts", expected)]


def test_a_level_below_the_logger_threshold_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="driftwatch.alerts")
    assert LogChannel(level="info").send(make_message()).status == "logged"
    assert caplog.records == []


@pytest.mark.parametrize(("table", "problem"), [
    ({"level": "critical"}, "channels.demo.level: must be one of debug, info, warning, error, got 'critical'"),
    ({"level": 30}, "channels.demo.level: must be one of debug, info, warning, error, got 30"),
    ({"logger": ""}, "channels.demo.logger: must be a non-empty logger name, got ''"),
])
def test_bad_settings_are_rejected_naming_the_key(table: dict[str, object], problem: str) -> None:
    problems = Problems("dw.toml")
    assert build(LogChannel, table, "channels.demo", problems) is None
    assert problems.format() == [f"dw.toml: {problem}"]


def test_passes_the_plugin_contract_checks(caplog: pytest.LogCaptureFixture) -> None:
    """``driftwatch.testing.check_channel``, as a plugin's tests would call it, passes the built-in."""
    with caplog.at_level(logging.WARNING, logger="driftwatch.alerts"):
        check_channel(LogChannel())
    assert [r.getMessage().splitlines()[0] for r in caplog.records] == [
        f"[driftwatch] FIRING {sample_message().monitor}: 2 alerts (first notification)"]

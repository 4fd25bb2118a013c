"""The JSON shapes of ``/api/v1``: what ``/openapi.json`` documents and every response obeys.

Request models forbid unknown fields (a typo such as ``"ends"`` must not silently mean "no end")
and every text is bounded to what its column holds, with NUL characters (which PostgreSQL
refuses) rejected up front, so a bad request is a 422 naming the field, never a 500.

>>> clean_text("churn")
'churn'
>>> to_utc(datetime(2026, 11, 1))
datetime.datetime(2026, 11, 1, 0, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from ..store.alerts import Silence

__all__ = ["AlertOut", "Matchers", "MonitorOut", "OutboxOut", "Problem", "ResultOut", "ResultsPage", "RunDetail",
           "RunOut", "RunsPage", "SilenceIn", "SilenceOut", "clean_text", "iso_only", "to_utc"]


def clean_text(text: str | None) -> str | None:
    """``text`` unless it holds a NUL or a lone surrogate, which no database column can store."""
    if text is None:
        return None
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode") from None
    return text


def iso_only(value: object) -> object:
    """Refuse what pydantic would otherwise read as a time: numbers (Unix seconds). The API speaks
    ISO 8601 only, as documented, so ``until=1497`` is a 422, not the year 1970."""
    if isinstance(value, datetime) or value is None:
        return value
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be an ISO 8601 date-time such as 2026-11-01T09:00:00Z")
    return value


def to_utc(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC; a naive one is taken to be UTC already."""
    if moment is None:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


Name = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(clean_text)]
Moment = Annotated[datetime, BeforeValidator(iso_only), AfterValidator(to_utc)]


class Problem(BaseModel):
    """An error: what went wrong, in one line."""

    detail: str


class RunOut(BaseModel):
    """One run: a monitor over one window (``attempt`` counts reruns of the window)."""

    id: int
    monitor: str
    window_start: datetime
    window_end: datetime
    attempt: int
    status: str = Field(description="running | succeeded | failed | skipped")
    owner: str = Field(description="the process that ran it (host:pid)")
    started_at: datetime
    finished_at: datetime | None
    rows_reference: int | None
    rows_current: int | None
    error: str | None


class ResultOut(BaseModel):
    """One stored figure (the Result contract of docs/api.md plus its row id)."""

    id: int
    run_id: int
    monitor: str
    window_start: datetime
    window_end: datetime
    detector: str
    feature: str = Field(description='"" for data-set level figures')
    metric: str
    value: float | None
    p_value: float | None
    threshold: float | None
    status: str = Field(description="ok | warn | alert | insufficient_data | error")
    details: dict[str, Any]
    segment: str = Field(description='"" for the whole window; column=value for one segment of it (monitor '
                                     'segments), column=(other) for the rows outside its top values')


class LateOut(BaseModel):
    """Set on a run that committed after a newer window of its monitor had been judged: its
    results are stored, but it moved no alert and sent nothing."""

    judged_window_end: datetime = Field(description="the end of the newer window judged first")
    judged_run_id: int = Field(description="the run that judged it")


class RunDetail(RunOut):
    """A run with every result it stored."""

    late: LateOut | None = Field(default=None, description="null unless the run was judged late")
    results: list[ResultOut]


class RunsPage(BaseModel):
    runs: list[RunOut]
    next_before_id: int | None = Field(description="pass as before_id for the next page; null on the last")


class ResultsPage(BaseModel):
    results: list[ResultOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last")


class MonitorOut(BaseModel):
    """A monitor: whether the current config has it, its latest run, its firing alerts."""

    name: str
    configured: bool
    last_run: RunOut | None
    firing_alerts: int


class AlertOut(BaseModel):
    """One alert: a figure of a monitor that is or was breaching, identified by (monitor, detector,
    feature, metric) and moved ``ok → pending → firing → resolved`` by its runs (R1–R3)."""

    fingerprint: str
    monitor: str
    detector: str
    feature: str
    metric: str
    segment: str = Field(description='"" for the whole window; column=value for one segment of it')
    state: str = Field(description="ok | pending | firing | resolved")
    severity: str | None
    value: float | None
    threshold: float | None
    p_value: float | None
    active_since: datetime | None
    resolved_at: datetime | None
    last_run_id: int | None
    last_window_end: datetime | None
    updated_at: datetime
    silenced: bool = Field(description="an active silence matches it")


class Matchers(BaseModel):
    """Which alerts a silence covers: ``monitor``, and optionally one detector, feature, metric."""

    model_config = ConfigDict(extra="forbid")

    monitor: Name
    detector: Name | None = None
    feature: Annotated[str, StringConstraints(max_length=255), AfterValidator(clean_text)] | None = None
    metric: Name | None = None


class SilenceIn(BaseModel):
    """A new silence: ``ends_at`` or ``duration`` (``30m``, ``2h``, ``7d``), not both."""

    model_config = ConfigDict(extra="forbid")

    matchers: Matchers
    starts_at: Moment | None = Field(default=None, description="default: now")
    ends_at: Moment | None = None
    duration: Annotated[str, StringConstraints(max_length=32)] | None = None
    created_by: Name
    comment: Annotated[str, StringConstraints(max_length=10_000), AfterValidator(clean_text)] = ""

    @model_validator(mode="after")
    def _one_end(self) -> SilenceIn:
        if (self.ends_at is None) == (self.duration is None):
            raise ValueError("give ends_at or duration (one of them)")
        if self.ends_at is not None and self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at: must be after starts_at")
        return self


class SilenceOut(BaseModel):
    """A stored silence and its state now."""

    id: int
    matchers: Matchers
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime
    state: str = Field(description="pending | active | expired")

    @classmethod
    def of(cls, silence: Silence, now: datetime) -> SilenceOut:
        return cls(id=silence.id, matchers=Matchers(monitor=silence.monitor, detector=silence.detector,
                                                    feature=silence.feature, metric=silence.metric),
                   starts_at=silence.starts_at, ends_at=silence.ends_at, created_by=silence.created_by,
                   comment=silence.comment, created_at=silence.created_at, state=silence.state(now))


class OutboxOut(BaseModel):
    """One queued notification, without its body."""

    id: int
    target: str = Field(description="the channel or webhook subscription name")
    kind: str = Field(description="message | event")
    monitor: str
    event_type: str | None
    state: str = Field(description="pending | delivered | dead")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status: str | None
    last_error: str | None

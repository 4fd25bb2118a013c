"""The ``[[monitors]]`` tables: each monitor's window and schedule, its connectors (current,
reference, labels), its detectors and their column overrides, its alert and retrain policies and
its segments, checked key by key with every problem recorded. Split from ``build``, which reads
the top-level sections and hands this module the array of monitors, because a monitor table is
the larger job of its own: it needs the plugin registries, the others do not."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..model import Schema, utc
from ..schedule import Schedule
from ..segments import Segments
from ..timeutil import parse_duration
from .alerts import POLICY_KEYS, AlertPolicy, AlertsSettings, RetrainPolicy
from .plugins import PluginRegistry, build, build_plugin, check_keys, check_name, toml_type
from .problems import Problems, join
from .settings import LabelsSettings, MonitorSettings, ReferenceSettings

if TYPE_CHECKING:
    from ..connectors import Connector
    from ..detectors import Detector

__all__ = ["DEFAULT_DETECTORS", "MONITOR_KEYS", "MonitorBuilder", "cuts_windows", "default_detector_types"]

MONITOR_KEYS = ("name", "window", "schedule", "timezone", "delay", "max_catchup", "schema", "current", "reference",
                "detectors", "labels", "label_delay", "alerts", "retrain", "segments")
#: The detectors of a monitor that lists none.
DEFAULT_DETECTORS: tuple[Mapping[str, Any], ...] = ({"type": "drift"}, {"type": "quality"})


def default_detector_types(schema: Schema | None) -> list[str]:
    """What runs when a monitor lists no detectors: drift and quality always, performance when
    the schema names a target, fairness when it names sensitive columns.

    >>> default_detector_types(Schema(target="y", sensitive=("g",)))
    ['drift', 'quality', 'performance', 'fairness']
    """
    types = [str(t["type"]) for t in DEFAULT_DETECTORS]
    if schema is not None and schema.target is not None:
        types.append("performance")
    if schema is not None and schema.sensitive:
        types.append("fairness")
    return types


def _registries(connectors: PluginRegistry | None,
                detectors: PluginRegistry | None) -> tuple[PluginRegistry, PluginRegistry]:
    # Imported here, not at the top: reading a config must not need every plugin family loaded.
    from ..connectors import REGISTRY as CONNECTORS
    from ..detectors import REGISTRY as DETECTORS

    return (CONNECTORS if connectors is None else connectors,
            DETECTORS if detectors is None else detectors)


class MonitorBuilder:
    """Builds ``[[monitors]]`` tables into ``MonitorSettings``, recording problems in ``problems``.

    ``alerts`` (the ``[alerts]`` section, once built) holds the defaults a monitor's own
    ``alerts`` table overrides; ``base`` is the folder relative paths are read against.
    """

    def __init__(self, problems: Problems, base: Path, connectors: PluginRegistry | None,
                 detectors: PluginRegistry | None) -> None:
        self.problems = problems
        self.alerts = AlertsSettings()
        self.base = base
        self._connectors = connectors
        self._detectors = detectors

    def registries(self) -> tuple[PluginRegistry, PluginRegistry]:
        connectors, detectors = _registries(self._connectors, self._detectors)
        self._connectors, self._detectors = connectors, detectors
        return connectors, detectors

    # -- [[monitors]] ------------------------------------------------------------------------
    def monitors(self, value: object) -> tuple[MonitorSettings, ...]:
        if not isinstance(value, list):
            self.problems.add("monitors", f"must be an array of tables ([[monitors]]), got {toml_type(value)}")
            return ()
        seen: dict[str, int] = {}
        out: list[MonitorSettings] = []
        for i, table in enumerate(value):
            path = join("monitors", i)
            name = table.get("name") if isinstance(table, Mapping) else None
            if isinstance(name, str):
                if name in seen:
                    self.problems.add(join(path, "name"),
                                      f"duplicate monitor name {name!r} (also monitors[{seen[name]}])")
                seen.setdefault(name, i)
            monitor = self.monitor(table, path)
            if monitor is not None:
                out.append(monitor)
        return tuple(out)

    def monitor(self, table: object, path: str) -> MonitorSettings | None:
        if not isinstance(table, Mapping):
            self.problems.add(path, f"must be a table, got {toml_type(table)}")
            return None
        before = len(self.problems.items)
        connectors, detectors = self.registries()
        check_keys(table, MONITOR_KEYS, path, self.problems)
        name = check_name(table.get("name"), join(path, "name"), self.problems)
        window = None
        if "window" in table:
            window = self.duration(table["window"], join(path, "window"))
        elif "schedule" not in table:
            self.problems.add(join(path, "window"), "missing required key (a duration, e.g. 1h or 1d; or set schedule)")
        schedule = self.schedule(table, path, window)
        max_catchup = table.get("max_catchup", 24)
        if isinstance(max_catchup, bool) or not isinstance(max_catchup, int) or max_catchup < 1:
            self.problems.add(join(path, "max_catchup"),
                              f"must be an integer >= 1 (the latest window counts), got {max_catchup!r}")
        label_delay = timedelta(0)
        if "label_delay" in table:
            label_delay = self.duration(table["label_delay"], join(path, "label_delay"), allow_zero=True) \
                or timedelta(0)
        labels = None
        if "labels" in table:
            labels = self.labels(table["labels"], join(path, "labels"), connectors)
        schema = None
        if "schema" in table:
            schema = build(Schema, table["schema"], join(path, "schema"), self.problems)
        current = None
        if "current" not in table:
            self.problems.add(join(path, "current"),
                              f"missing required table (a connector; type: {', '.join(connectors.names())})")
        else:
            current = build_plugin(connectors, table["current"], join(path, "current"), self.problems,
                                   base_dir=self.base)
        reference = None
        if "reference" not in table:
            self.problems.add(join(path, "reference"),
                              "missing required table (a connector, optionally with start/end, or rolling = N)")
        else:
            reference = self.reference(table["reference"], join(path, "reference"), connectors)
            if reference is not None and reference.rolling and current is not None \
                    and not cuts_windows(current, templates=True):
                self.problems.add(join(join(path, "reference"), "rolling"),
                                  "the current connector returns whole files or tables, not windows: set its "
                                  "timestamp_column (or a path with {start:...}, or a query with :window_start)")
        built = self.detectors(table.get("detectors"), join(path, "detectors"), detectors,
                               schema if isinstance(schema, Schema) else None)
        policy = self.alert_policy(table.get("alerts", {}), join(path, "alerts"))
        retrain = build(RetrainPolicy, table["retrain"], join(path, "retrain"), self.problems) \
            if "retrain" in table else None
        if retrain is not None:  # a misspelt detector would never ask for a retrain, and say nothing
            for i, item in enumerate(retrain.on):
                if item.partition(".")[0] not in detectors.names():
                    self.problems.add(join(join(join(path, "retrain"), "on"), i),
                                      f"unknown detector {item.partition('.')[0]!r} "
                                      f"(valid: {', '.join(detectors.names())}; or detector.metric)")
        segments = None
        if "segments" in table:
            try:
                segments = Segments.from_value(table["segments"])
            except (ValueError, TypeError) as exc:
                key, sep, message = str(exc).partition(": ")
                keyed = bool(sep) and key.isidentifier()
                self.problems.add(join(join(path, "segments"), key) if keyed else join(path, "segments"),
                                  message if keyed else str(exc))
        if len(self.problems.items) > before or name is None or schedule is None or current is None \
                or reference is None or policy is None:
            return None
        if labels is not None and labels.id_column is None and (schema is None or schema.id is None):
            self.problems.add(join(join(path, "labels"), "id_column"),
                              "labels are joined on a row id: set id_column here or schema.id")
            return None
        return MonitorSettings(name=name, window=schedule.window or schedule.period, schema=schema,
                               current=cast("Connector", current), reference=reference,
                               detectors=cast("tuple[Detector, ...]", built), labels=labels,
                               label_delay=label_delay, schedule=schedule, max_catchup=max_catchup,
                               alerts=policy, retrain=retrain, segments=segments)

    # -- the parts of one monitor: [monitors.alerts], schedule, labels, reference, detectors --
    def alert_policy(self, table: object, path: str) -> AlertPolicy | None:
        if not isinstance(table, Mapping):
            self.problems.add(path, f"must be a table, got {toml_type(table)}")
            return None
        if not check_keys(table, POLICY_KEYS, path, self.problems):
            return None
        try:
            return self.alerts.monitor_policy(table)
        except (ValueError, TypeError) as exc:
            key, sep, message = str(exc).partition(": ")
            self.problems.add(join(path, key) if sep else path, message if sep else str(exc))
            return None

    def schedule(self, table: Mapping[str, Any], path: str, window: timedelta | None) -> Schedule | None:
        """``schedule`` (default: every ``window``), ``timezone`` and ``delay`` as one ``Schedule``."""
        if "schedule" not in table:
            if window is None:  # the window's own problem is already reported
                return None
            expression: object = f"{int(window.total_seconds())}s"  # every window, as MonitorSettings does
        else:
            expression = table["schedule"]
        if not isinstance(expression, str):
            self.problems.add(join(path, "schedule"), f"must be a crontab line or an interval such as 15m, "
                              f"got {toml_type(expression)}")
            return None
        delay = self.duration(table["delay"], join(path, "delay"), allow_zero=True) if "delay" in table \
            else timedelta(0)
        timezone_name = table.get("timezone", "UTC")
        if delay is None:
            return None
        try:
            return Schedule(expression=expression, window=window, timezone=timezone_name, delay=delay)
        except ValueError as exc:
            key, _, message = str(exc).partition(": ")
            key = key if key in ("schedule", "timezone", "window", "delay") and message else "schedule"
            self.problems.add(join(path, key), message or str(exc))
            return None

    def duration(self, value: object, path: str, *, allow_zero: bool = False) -> timedelta | None:
        if not isinstance(value, str):
            self.problems.add(path, f"must be a duration string such as 1h or 1d, got {toml_type(value)}")
            return None
        try:
            return parse_duration(value, allow_zero=allow_zero)
        except ValueError as exc:
            self.problems.add(path, str(exc))
            return None

    def labels(self, table: object, path: str, connectors: PluginRegistry) -> LabelsSettings | None:
        if not isinstance(table, Mapping):
            self.problems.add(path, f"must be a table, got {toml_type(table)}")
            return None
        id_column = table.get("id_column")
        if id_column is not None and (not isinstance(id_column, str) or not id_column):
            self.problems.add(join(path, "id_column"), f"must be a column name, got {toml_type(id_column)}")
            return None
        connector = build_plugin(connectors, table, path, self.problems, base_dir=self.base,
                                 reserved=("id_column",))
        if connector is None:
            return None
        return LabelsSettings(connector=cast("Connector", connector), id_column=id_column)

    def reference(self, table: object, path: str, connectors: PluginRegistry) -> ReferenceSettings | None:
        if not isinstance(table, Mapping):
            self.problems.add(path, f"must be a table, got {toml_type(table)}")
            return None
        if "rolling" in table:
            rolling = table["rolling"]
            ok = True
            if isinstance(rolling, bool) or not isinstance(rolling, int) or rolling < 1:
                numeric = isinstance(rolling, (int, float)) and not isinstance(rolling, bool)
                got = repr(rolling) if numeric else toml_type(rolling)
                self.problems.add(join(path, "rolling"), f"must be an integer >= 1, got {got}")
                ok = False
            for key in table:
                if key != "rolling":
                    self.problems.add(join(path, str(key)), "not allowed with rolling (a rolling reference "
                                      "reads the current connector; drop rolling to name a connector)")
                    ok = False
            return ReferenceSettings(rolling=rolling) if ok else None
        before = len(self.problems.items)
        start = self.instant(table.get("start"), join(path, "start"))
        end = self.instant(table.get("end"), join(path, "end"))
        if start is not None and end is not None and start >= end:
            self.problems.add(join(path, "end"), f"must be after start ({start.isoformat()})")
        connector = build_plugin(connectors, table, path, self.problems, base_dir=self.base,
                                 reserved=("start", "end"))
        if connector is None or len(self.problems.items) > before:
            return None
        if (start is not None or end is not None) and not cuts_windows(connector, templates=False):
            self.problems.add(join(path, "start" if start is not None else "end"),
                              "a time range needs the reference connector to cut rows by time: set its "
                              "timestamp_column (or use a query with :window_start / :window_end)")
            return None
        return ReferenceSettings(connector=cast("Connector", connector), start=start, end=end)

    def instant(self, value: object, path: str) -> datetime | None:
        example = "e.g. 2026-01-01 or 2026-01-01T00:00:00Z"
        if value is None:
            return None
        if isinstance(value, datetime):
            return utc(value)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        if isinstance(value, str):
            try:
                return utc(datetime.fromisoformat(value.strip()))
            except ValueError:
                self.problems.add(path, f"invalid date/time {value!r} (expected ISO 8601, {example})")
                return None
        kind = "a time of day" if isinstance(value, time) else toml_type(value)
        self.problems.add(path, f"must be an ISO 8601 date or date-time ({example}), got {kind}")
        return None

    def detectors(self, value: object, path: str, registry: PluginRegistry,
                  schema: Schema | None = None) -> tuple[object, ...]:
        if value is None:
            value = [{"type": t} for t in default_detector_types(schema)]
        elif not isinstance(value, list):
            self.problems.add(path, f"must be an array of tables ([[monitors.detectors]]), got {toml_type(value)}")
            return ()
        elif not value:
            self.problems.add(path, "must list at least one detector (leave it out for the defaults: drift, "
                              "quality, and performance / fairness when the schema names a target / sensitive)")
            return ()
        out = []
        for i, table in enumerate(value):
            built = build_plugin(registry, table, join(path, i), self.problems, base_dir=self.base)
            if built is not None:
                out.append(built)
                self.column_rules(built, join(path, i), schema)
        return tuple(out)

    def column_rules(self, detector: object, path: str, schema: Schema | None) -> None:
        """A ``columns.<name>`` override must name a column of the monitor's schema, when it has one
        (an override for a misspelt column would otherwise be ignored without a word)."""
        rules = getattr(detector, "columns", None)
        if schema is None or not isinstance(rules, Mapping):
            return
        known = set(schema.features)
        for name in rules:
            if name not in known:
                self.problems.add(join(join(path, "columns"), str(name)),
                                  f"no such column in the monitor's schema (columns: {', '.join(schema.features)})")


def cuts_windows(connector: object, *, templates: bool) -> bool:
    """Whether ``connector.fetch(window)`` returns only the window's rows.

    True with a ``timestamp_column``, a query binding ``:window_start``/``:window_end``, or
    (one window at a time, ``templates``) a path holding ``{start...}``/``{end...}``. Plugins
    without these fields are trusted to cut windows themselves.
    """
    if not hasattr(connector, "timestamp_column"):
        return True
    if getattr(connector, "timestamp_column", None):
        return True
    query = getattr(connector, "query", None)
    if isinstance(query, str) and (":window_start" in query or ":window_end" in query):
        return True
    path = getattr(connector, "path", None)
    return templates and isinstance(path, str) and ("{start" in path or "{end" in path)

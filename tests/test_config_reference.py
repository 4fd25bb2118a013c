"""The configuration reference is complete both ways.

Every key the loader accepts is a row of docs/configuration.md and appears in
``config.example.toml`` (set, or on a commented-out example line); every row of the reference is
a key the loader accepts; and each documented default is the code's. "Every key the loader
accepts" is walked from the code, not listed by hand: the settings dataclasses and their type
hints (``Settings``, ``MonitorSettings``, ``ReferenceSettings``, ``LabelsSettings``, the alert
policies), the key lists ``build.py`` and ``build_monitors.py`` check against (``SECTIONS``, ``STORE_KEYS``,
``MONITOR_KEYS``), and the fields of every built-in connector, detector and channel in their
packages' ``BUILTIN`` registries. The only hand-written part is what ``build_alert_sections``
does with ``[channels]`` and ``[webhooks]`` (their settings are typed ``object``), and a test
below fails when a section or monitor key is added that the walk does not reach.

Paths are written as docs/configuration.md explains at its top: ``a.b`` a key of a table,
``a[]`` each table of an array, ``NAME`` a name the user chooses, ``<type>`` keys that exist only
when the table's ``type`` is that, ``CONNECTOR`` any connector table.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from driftwatch.alerts.channels import BUILTIN as CHANNELS
from driftwatch.alerts.channels.webhook import WebhookSubscription
from driftwatch.config.alerts import AlertPolicy, AlertsSettings
from driftwatch.config.build import SECTIONS, STORE_KEYS
from driftwatch.config.build_monitors import MONITOR_KEYS
from driftwatch.config.settings import LabelsSettings, MonitorSettings, ReferenceSettings, Settings, StoreSettings
from driftwatch.connectors import BUILTIN as CONNECTORS
from driftwatch.connectors import Connector
from driftwatch.detectors import BUILTIN as DETECTORS
from driftwatch.detectors import Detector
from driftwatch.model import Schema
from driftwatch.profiling import ProfileOptions
from driftwatch.secrets import Secret
from driftwatch.segments import Segments

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "docs" / "configuration.md"
EXAMPLE = REPO / "config.example.toml"

#: Names the settings modules import only for type checking, to resolve their annotations.
_HINT_NAMES = {"Connector": Connector, "Detector": Detector, "Schema": Schema, "ProfileOptions": ProfileOptions,
               "Secret": Secret, "Segments": Segments}
#: What ``build_alert_sections`` builds each named table of these sections with.
_NAMED_SECTIONS: dict[str, Mapping[str, type] | type] = {"channels": CHANNELS, "webhooks": WebhookSubscription}
#: Keys the builder reads as one value although ``MonitorSettings`` keeps them as a dataclass:
#: ``schedule`` is a string that ``MonitorBuilder.schedule`` turns, with ``timezone`` and ``delay``, into a ``Schedule``.
_READ_AS_VALUES = {(MonitorSettings, "schedule")}
#: The placeholder under which a connector table's own keys are written, wherever it appears.
CONNECTOR = "CONNECTOR"


# -- the keys the loader accepts, walked from the code --------------------------------------------


@dataclass
class Node:
    """A table the loader reads: its keys, what each holds, and how it is chosen."""

    keys: dict[str, Node | None] = field(default_factory=dict)  # None: a value, not a table
    defaults: dict[str, Any] = field(default_factory=dict)  # dataclass defaults, by key
    array: bool = False  # an array of these tables ([[x]], or [{...}, ...])
    named: bool = False  # a table of NAME = <this table>
    plugins: dict[str, Node] | None = None  # by ``type``: the keys each type adds
    connector: bool = False  # its ``type`` picks a connector, whose keys are written under CONNECTOR


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, localns=_HINT_NAMES)


def _unwrap(hint: Any) -> Any:
    """``X | None`` -> X."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else hint
    return hint


def _init_fields(cls: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.init]


def _default(spec: dataclasses.Field[Any]) -> Any:
    if spec.default is not dataclasses.MISSING:
        return spec.default
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return dataclasses.MISSING


def _plugins(registry: Mapping[str, type]) -> dict[str, Node]:
    return {name: _table(cls) for name, cls in registry.items()}


def _value(hint: Any) -> Node | None:
    """The node a field of type ``hint`` is read into, or None for a plain value."""
    hint = _unwrap(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Connector:
        return Node(plugins=_plugins(CONNECTORS), connector=True)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _value(args[0])
        if item is not None:
            item.array = True
        return item
    if origin is Mapping and len(args) == 2 and dataclasses.is_dataclass(args[1]):
        node = _table(args[1])
        node.named = True
        return node
    if hint is Detector:
        return Node(plugins=_plugins(DETECTORS))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _table(hint)
    return None


def _table(cls: type, keys: tuple[str, ...] | None = None) -> Node:
    """The node of a dataclass read from a table: its init fields are its keys (or ``keys``, the
    list ``build.py`` checks, for the settings whose keys are not their fields)."""
    hints = _hints(cls)
    specs = {f.name: f for f in _init_fields(cls)}
    node = Node()
    for key in keys if keys is not None else tuple(specs):
        hint = hints.get(key)
        if cls is AlertsSettings and key in {f.name for f in _init_fields(AlertPolicy)}:
            hint = _hints(AlertPolicy)[key]  # [alerts] holds the default AlertPolicy: its keys, typed there
        child = _value(hint) if hint is not None and (cls, key) not in _READ_AS_VALUES else None
        if child is not None and child.connector and cls in (ReferenceSettings, LabelsSettings):
            # The connector of a reference or labels table is the table itself: its keys sit beside these.
            node.plugins, node.connector = child.plugins, True
            continue
        node.keys[key] = child
        if key in specs and (default := _default(specs[key])) is not dataclasses.MISSING:
            node.defaults[key] = default
    return node


def loader_tree() -> Node:
    """The whole file: ``SECTIONS``, each read as ``Settings`` types it (and ``build.py`` reads it)."""
    hints = _hints(Settings)
    root = Node()
    for section in SECTIONS:
        if section in _NAMED_SECTIONS:
            target = _NAMED_SECTIONS[section]
            node = Node(plugins=_plugins(target)) if isinstance(target, Mapping) else _table(target)
            node.named = True
        elif section == "store":
            node = _table(StoreSettings, STORE_KEYS)
        elif section == "monitors":
            node = _table(MonitorSettings, MONITOR_KEYS)
            node.array = True
        else:
            found = _value(hints[section])
            assert found is not None, section
            node = found
        root.keys[section] = node
    return root


def _items(prefix: str, node: Node) -> str:
    """Where a node's own keys are written: ``a[]`` for an array, ``a.NAME`` for named tables."""
    if node.array:
        return prefix + "[]"
    if node.named:
        return prefix + ".NAME"
    return prefix


def walk(node: Node, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, default)`` for every key under ``node`` (default ``dataclasses.MISSING`` when the
    code has none to compare), top-level sections left out (they are the reference's headings)."""
    for key, child in node.keys.items():
        path = f"{prefix}.{key}" if prefix else key
        if prefix:
            yield path, node.defaults.get(key, dataclasses.MISSING)
        if child is not None:
            yield from walk(child, _items(path, child))
    if node.plugins is not None:
        where = CONNECTOR if node.connector else prefix
        yield f"{where}.type", dataclasses.MISSING
        for name, plugin in node.plugins.items():
            yield from walk(plugin, f"{where}<{name}>")


def loader_paths() -> dict[str, Any]:
    return dict(walk(loader_tree()))


# -- the reference ---------------------------------------------------------------------------------

_ROW = re.compile(r"^\| `([^`]+)` \| ([^|]*) \|", re.MULTILINE)


def reference_rows() -> dict[str, str]:
    """Path -> default cell of every table row of docs/configuration.md whose first cell is one
    path in code."""
    rows: dict[str, str] = {}
    for path, default in _ROW.findall(REFERENCE.read_text(encoding="utf-8")):
        assert path not in rows, f"docs/configuration.md documents {path} twice"
        rows[path] = default.strip()
    return rows


# -- the example ------------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*(?:#\s*)?(\[\[?)\s*([A-Za-z0-9_.-]+)\s*(\]\]?)\s*(?:#.*)?$")
_ASSIGN = re.compile(r"^\s*(?:#\s*)?([a-z_][a-z0-9_]*)\s*=\s*(.+)$")


def _parse_value(text: str) -> Any:
    """A TOML value (a trailing comment allowed), or ``ValueError`` when the text is none."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        raise ValueError(text) from None


@dataclass
class Block:
    """The lines under one table header of the example (the header itself may be commented out)."""

    header: tuple[str, ...]
    lines: list[tuple[int, str, Any]] = field(default_factory=list)  # (line number, key, value)

    @property
    def type(self) -> str | None:
        return next((value for _, key, value in self.lines if key == "type" and isinstance(value, str)), None)


def example_blocks() -> list[Block]:
    """Every ``key = value`` line of the example, set or commented out, under its table header (a
    comment that does not read as TOML is prose, and skipped)."""
    blocks = [Block(())]
    for number, line in enumerate(EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        if match := _HEADER.match(line):
            if (match.group(1) == "[[") == (match.group(3) == "]]"):
                blocks.append(Block(tuple(match.group(2).split("."))))
            continue
        if match := _ASSIGN.match(line):
            try:
                value = _parse_value(match.group(2))
            except ValueError:
                continue
            blocks[-1].lines.append((number, match.group(1), value))
    return blocks


def example_paths() -> tuple[set[str], list[str]]:
    """The reference paths the example shows, and its lines whose key the loader does not know."""
    found: set[str] = set()
    unknown: list[str] = []
    types_at: dict[tuple[str, ...], str] = {}  # the type of the latest table at each header
    for block in example_blocks():
        types_at[block.header] = block.type or ""
        for end in range(2, len(block.header) + 1):  # a header shows its tables: [monitors.schema]
            if (path := _resolve(list(block.header[:end]), types_at)) is not None:
                found.add(path)
        for number, key, value in block.lines:
            for segments in _key_paths([*block.header, key], value):
                path = _resolve(segments, types_at)
                if path is None:
                    unknown.append(f"config.example.toml:{number}: {'.'.join(segments)}")
                else:
                    found.add(path)
    return found, unknown


def _key_paths(segments: list[str], value: Any) -> Iterator[list[str]]:
    """The key itself, and the keys inside an inline table or an array of inline tables."""
    yield segments
    items = [value] if isinstance(value, dict) else value if isinstance(value, list) else []
    for item in items:
        if isinstance(item, dict):
            for key, inner in item.items():
                yield from _key_paths([*segments, key], inner)


def _resolve(segments: list[str], types_at: Mapping[tuple[str, ...], str]) -> str | None:
    """The reference path of a key path of the example (``["channels", "log", "level"]``), or
    None when the loader does not know it; ``types_at`` gives the ``type`` of the plugin table at
    each table path."""
    node: Node | None = loader_tree()
    out, concrete, i = "", [], 0
    while i < len(segments):
        assert node is not None
        segment = segments[i]
        concrete.append(segment)
        if node.plugins is not None and segment != "type" and segment not in node.keys:
            kind = types_at.get(tuple(concrete[:-1]))
            if kind not in node.plugins:
                return None
            out = f"{CONNECTOR if node.connector else out}<{kind}>"
            node = node.plugins[kind]
        if segment == "type" and node.plugins is not None:
            return f"{CONNECTOR if node.connector else out}.type" if i == len(segments) - 1 else None
        if segment not in node.keys:
            return None
        out = f"{out}.{segment}" if out else segment
        node = node.keys[segment]
        i += 1
        if node is None or i == len(segments):
            return out  # a value: whatever follows is inside it (a table of class labels, say)
        if node.array:
            out += "[]"
        elif node.named:
            concrete.append(segments[i])
            out += ".NAME"
            i += 1
            if i == len(segments):
                return None  # a bare NAME is no key
    return out


# -- the tests --------------------------------------------------------------------------------------


def test_the_walk_reaches_every_section_and_monitor_key() -> None:
    tree = loader_tree()
    assert set(tree.keys) == set(SECTIONS)
    monitors = tree.keys["monitors"]
    assert monitors is not None and set(monitors.keys) == set(MONITOR_KEYS)
    paths = loader_paths()
    assert len(paths) > 150
    for sample in ("store.url", "web.port", "monitors[].window", "monitors[].detectors[]<drift>.threshold",
                   "channels.NAME<slack>.token", "CONNECTOR<sql>.pushdown", "monitors[].reference.rolling",
                   "monitors[].detectors[]<drift>.columns.NAME.method", "alerts.routes[].severity",
                   "monitors[].alerts.routes[].channels", "webhooks.NAME.previous_secret",
                   "monitors[].segments.min_rows", "monitors[].labels.id_column"):
        assert sample in paths, sample


def _differences(name: str, missing: set[str], extra: set[str]) -> str:
    lines = [f"{name}:"]
    lines += [f"  accepted by the loader, missing here: {p}" for p in sorted(missing)]
    lines += [f"  here, unknown to the loader: {p}" for p in sorted(extra)]
    return "\n".join(lines)


def test_reference_documents_exactly_the_keys_the_loader_accepts() -> None:
    accepted, documented = set(loader_paths()), set(reference_rows())
    missing, extra = accepted - documented, documented - accepted
    assert not missing and not extra, _differences("docs/configuration.md", missing, extra)


def test_example_shows_every_key_the_loader_accepts() -> None:
    shown, unknown = example_paths()
    missing = set(loader_paths()) - shown
    assert not missing and not unknown, _differences("config.example.toml", missing, set(unknown))


def _spellings(value: Any) -> set[str]:
    """How a default may be written in the reference's default cell."""
    if isinstance(value, bool):
        return {"true" if value else "false"}
    if isinstance(value, float) and value.is_integer():
        return {repr(value), str(int(value))}
    if isinstance(value, (int, float)):
        return {repr(value), f"{value:,}"}
    return {str(value), f'"{value}"'}


def test_reference_defaults_are_the_codes() -> None:
    """A key whose dataclass default is a number, a string or a flag shows that default."""
    rows, wrong = reference_rows(), []
    for path, default in loader_paths().items():
        if isinstance(default, (bool, int, float, str)) and path in rows:
            cell = rows[path]
            if not any(f"`{spelling}`" in cell for spelling in _spellings(default)):
                wrong.append(f"  {path}: code {default!r}, reference {cell!r}")
    assert not wrong, "defaults that differ:\n" + "\n".join(wrong)


def test_reference_explains_its_notation_and_every_section() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    top = text.split("\n## ", 1)[0]
    for term in ("`[]`", "`NAME`", "`<type>`", f"`{CONNECTOR}`"):
        assert term in top, f"the notation {term} is not explained before the first section"
    for section in SECTIONS:
        assert re.search(rf"^## .*`\[\[?{section}", text, re.MULTILINE), f"no section heading for [{section}]"


@pytest.mark.parametrize("side", ["reference", "example"])
def test_a_missing_key_is_reported(side: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison fails, naming the key, when a key is taken out of either side."""
    if side == "reference":
        text = REFERENCE.read_text(encoding="utf-8")
        changed = re.sub(r"^\| `web\.session_ttl` \|.*\n", "", text, flags=re.MULTILINE)
        target, test = "REFERENCE", test_reference_documents_exactly_the_keys_the_loader_accepts
    else:
        text = EXAMPLE.read_text(encoding="utf-8")
        changed = re.sub(r"^session_ttl = .*\n", "", text, flags=re.MULTILINE)
        target, test = "EXAMPLE", test_example_shows_every_key_the_loader_accepts
    assert changed != text
    copy = tmp_path / "copy"
    copy.write_text(changed, encoding="utf-8")
    monkeypatch.setitem(globals(), target, copy)
    with pytest.raises(AssertionError, match=r"missing here: web\.session_ttl"):
        test()

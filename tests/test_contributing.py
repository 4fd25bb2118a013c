"""The plugin contracts: CONTRIBUTING.md's three examples run and pass ``driftwatch.testing``'s
checks, load through real entry points (a dist-info folder on ``sys.path``) into a config, and
a broken entry point is one line naming it; the checks pass every built-in detector and
connector (the channels' are in tests/alerts) and fail a plugin that breaks a rule."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from driftwatch.cli import main
from driftwatch.config import load
from driftwatch.connectors import BUILTIN as CONNECTORS
from driftwatch.connectors import REGISTRY as CONNECTOR_REGISTRY
from driftwatch.connectors import FileConnector, SqlConnector
from driftwatch.detectors import BUILTIN as DETECTORS
from driftwatch.detectors import REGISTRY as DETECTOR_REGISTRY
from driftwatch.model import Finding, Schema, Window
from driftwatch.plugins import CurrentData, Delivery, Message, Profile
from driftwatch.testing import ContractError, check_channel, check_connector, check_detector

GUIDE = Path(__file__).resolve().parents[1] / "CONTRIBUTING.md"
UTC = timezone.utc
DAY = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))


def example_code() -> str:
    """The guide's Python blocks that define a plugin, in order, as one module."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    return "\n".join(block for block in blocks if "@dataclass" in block)


@pytest.fixture(scope="module")
def examples() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "contributing_examples"}
    # dont_inherit: the guide's code runs as its own module would, without this file's __future__ imports
    exec(compile(example_code(), str(GUIDE), "exec", dont_inherit=True), namespace)  # noqa: S102
    return namespace


def frames(n: int = 600, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """A scored model's rows; ``shift`` moves ``x``, blanks some of ``z``, flips the labels and
    rejects every ``g = f``: something for each built-in detector to see."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    score = 1 / (1 + np.exp(-x))
    frame = pd.DataFrame({"x": x, "z": rng.normal(0, 1, n), "c": rng.choice(list("abc"), n),
                          "g": rng.choice(["f", "m"], n), "score": score, "pred": (score >= 0.5).astype(int),
                          "y": (rng.random(n) < score).astype(int)})
    if shift:
        frame.loc[rng.random(n) < 0.3, "z"] = np.nan
        frame["y"] = 1 - frame["y"]
        frame.loc[frame["g"] == "f", ["pred", "score"]] = [0, 0.01]
    return frame


SCHEMA = Schema(numeric=("x", "z"), categorical=("c",), target="y", prediction="pred", score="score",
                sensitive=("g",))


def test_the_guides_detector_passes_and_flags_the_shifted_column(examples: dict[str, Any]) -> None:
    reference, current = frames(), frames(shift=1.0, seed=1)
    findings = check_detector(examples["MeanShiftDetector"](), reference, current, {"numeric": ["x", "z"]})
    by_column = {f.feature: f for f in findings}
    assert {c: f.status for c, f in by_column.items()} == {"x": "alert", "z": "ok"}
    expected = abs(current["x"].mean() - reference["x"].mean()) / reference["x"].std(ddof=1)
    assert by_column["x"].value == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="^threshold: must be > 0"):
        examples["MeanShiftDetector"](threshold=0)


def test_the_guides_connector_passes_and_cuts_the_window(examples: dict[str, Any], tmp_path: Path) -> None:
    stamps = pd.date_range(DAY.start - timedelta(hours=12), DAY.end + timedelta(hours=12), periods=48)
    frame = pd.DataFrame({"ts": [s.isoformat() for s in stamps], "x": np.arange(48.0)})
    frame.iloc[:24].to_csv(tmp_path / "a.csv", index=False)
    frame.iloc[24:].to_csv(tmp_path / "b.csv", index=False)
    connector = examples["CsvFolderConnector"](folder=str(tmp_path))
    rows = check_connector(connector, DAY, timestamp_column="ts")
    inside = [(s >= DAY.start) and (s < DAY.end) for s in stamps]
    assert rows["x"].tolist() == frame["x"][inside].tolist()
    before = connector.version(None)
    frame.iloc[:1].to_csv(tmp_path / "c.csv", index=False)
    assert connector.version(None) != before


def test_the_guides_channel_passes_and_writes_a_line(examples: dict[str, Any], tmp_path: Path) -> None:
    delivery = check_channel(examples["JsonLinesChannel"](path=str(tmp_path / "out.jsonl")))
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and delivery == Delivery("written", lines[0])
    assert '"alerts": ["drift income psi", "quality region new_category_share"]' in lines[0]


ENTRY_POINTS = """\
[driftwatch.detectors]
mean_shift = dwexample_plugins:MeanShiftDetector
broken = dwexample_plugins:not_a_class
lacking = dwexample_plugins:Lacking

[driftwatch.connectors]
csv_folder = dwexample_plugins:CsvFolderConnector

[driftwatch.channels]
jsonl = dwexample_plugins:JsonLinesChannel
"""

CONFIG = """
[store]
url = "sqlite:///dw.db"
[alerts]
channels = ["lines"]
[channels.lines]
type = "jsonl"
path = "{alerts}"
[[monitors]]
name = "m"
window = "1d"
[monitors.schema]
numeric = ["x"]
[monitors.reference]
type = "csv_folder"
folder = "ref"
[monitors.current]
type = "csv_folder"
folder = "cur"
[[monitors.detectors]]
type = "mean_shift"
threshold = 0.25
"""


def test_plugins_load_through_real_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """An installed package's entry points, as importlib.metadata finds them: the config names
    the guide's plugins by type, validates, and a run uses them end to end."""
    site = tmp_path / "site"
    (site / "dwexample_plugins-0.1.dist-info").mkdir(parents=True)
    (site / "dwexample_plugins-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: dwexample-plugins\nVersion: 0.1\n", encoding="utf-8")
    (site / "dwexample_plugins-0.1.dist-info" / "entry_points.txt").write_text(ENTRY_POINTS, encoding="utf-8")
    (site / "dwexample_plugins.py").write_text(
        example_code() + "\n\ndef not_a_class():\n    pass\n\n\nclass Lacking:\n    name = 'lacking'\n",
        encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    project = tmp_path / "project"
    for folder, shift in (("ref", 0.0), ("cur", 1.0)):
        (project / folder).mkdir(parents=True)
        rows = frames(200, shift=shift, seed=int(shift))[["x"]]
        rows.insert(0, "ts", [(DAY.start + timedelta(minutes=5 * i)).isoformat() for i in range(200)])
        rows.to_csv(project / folder / "part.csv", index=False)
    config = CONFIG.replace("{alerts}", str(project / "alerts.jsonl"))
    (project / "config.toml").write_text(config, encoding="utf-8")

    assert {"mean_shift", "broken", "lacking"} <= set(DETECTOR_REGISTRY.names())
    assert main(["validate", str(project / "config.toml")]) == 0
    settings = load(project / "config.toml")
    assert type(settings.monitors[0].detectors[0]).__name__ == "MeanShiftDetector"
    assert main(["check", "--config", str(project / "config.toml"), "--at", DAY.end.isoformat(),
                 "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert '"metric": "mean_shift"' in out and '"status": "alert"' in out
    assert '"monitor": "m"' in (project / "alerts.jsonl").read_text(encoding="utf-8")

    with pytest.raises(KeyError, match=r"entry point broken = dwexample_plugins:not_a_class \(group "
                                       r"driftwatch.detectors\) is function .*, not a Detector class"):
        DETECTOR_REGISTRY.get("broken")
    with pytest.raises(KeyError, match=r"entry point lacking = dwexample_plugins:Lacking .*: Lacking lacks "
                                       r"required_columns, run \(a Detector has name, required_columns, run\)"):
        DETECTOR_REGISTRY.get("lacking")
    (project / "config.toml").write_text(config.replace('type = "mean_shift"', 'type = "lacking"'),
                                         encoding="utf-8")
    assert main(["validate", str(project / "config.toml")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "monitors[0].detectors[0]" in line and "Lacking lacks required_columns, run" in line
    assert CONNECTOR_REGISTRY.get("csv_folder").__name__ == "CsvFolderConnector"


@pytest.mark.parametrize("kind", sorted(DETECTORS))
def test_every_builtin_detector_passes_the_checks(kind: str) -> None:
    findings = check_detector(DETECTORS[kind](), frames(), frames(shift=1.0, seed=1), SCHEMA)
    assert findings and any(f.status == "alert" for f in findings)  # the window moved: each one sees it


def test_every_builtin_connector_passes_the_checks(tmp_path: Path) -> None:
    assert set(CONNECTORS) == {"file", "sql"}
    stamps = [(DAY.start + timedelta(hours=h - 6)).isoformat() for h in range(36)]
    frame = pd.DataFrame({"ts": stamps, "x": np.arange(36.0), "c": list("ab") * 18})
    frame.to_csv(tmp_path / "data.csv", index=False)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data.db'}")
    frame.assign(ts=pd.to_datetime(frame["ts"])).to_sql("data", engine, index=False)
    engine.dispose()
    for connector in (FileConnector(str(tmp_path / "data.csv"), timestamp_column="ts"),
                      SqlConnector(f"sqlite:///{tmp_path / 'data.db'}", table="data", timestamp_column="ts")):
        assert check_connector(connector, DAY, timestamp_column="ts")["x"].tolist() == list(np.arange(6.0, 30.0))
        assert len(check_connector(connector)) == 36


@dataclasses.dataclass(frozen=True)
class Mutating:
    name: ClassVar[str] = "mutating"

    def required_columns(self, schema: Schema) -> set[str]:
        return set(schema.numeric)

    def run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        current.frame["x"] = 0.0
        return []


@dataclasses.dataclass(frozen=True)
class Restless(Mutating):
    """A different p-value each time it runs."""

    calls: list[int] = dataclasses.field(default_factory=list)

    def run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        self.calls.append(1)
        return [Finding("x", "restless", 0.5, "ok", p_value=1 / (1 + len(self.calls)))]


@dataclasses.dataclass(frozen=True)
class Greedy:
    """Returns every column whatever it is asked for."""

    name: ClassVar[str] = "greedy"

    def fetch(self, window: Window | None, columns: Any) -> pd.DataFrame:
        return pd.DataFrame({"a": [1, 2], "b": [3, 4]})

    def version(self, window: Window | None) -> str:
        return "1"


@dataclasses.dataclass
class Unfrozen:
    name: ClassVar[str] = "unfrozen"

    def send(self, message: Message) -> Delivery:
        return Delivery("ok")


@dataclasses.dataclass(frozen=True)
class Silent:
    name: ClassVar[str] = "silent"

    def send(self, message: Message) -> Delivery:
        return None  # type: ignore[return-value]


def test_the_checks_fail_a_plugin_that_breaks_a_rule() -> None:
    reference = frames(50)
    with pytest.raises(ContractError, match="^Mutating: run must not change the frames it is given$"):
        check_detector(Mutating(), reference, frames(50, seed=1), {"numeric": ["x"]})
    with pytest.raises(ContractError, match="^Restless: run must give the same findings for the same inputs$"):
        check_detector(Restless(), reference, frames(50, seed=1), {"numeric": ["x"]})
    with pytest.raises(ContractError, match=r"^Greedy: fetch\(columns=\['a', 'no such column in this data'\]\) "
                                            r"must return the columns asked for that exist \(\['a'\]\)"):
        check_connector(Greedy())
    with pytest.raises(ContractError, match=r"^Unfrozen: must be a frozen dataclass"):
        check_channel(Unfrozen())  # type: ignore[arg-type]
    with pytest.raises(ContractError, match="^Silent: send must return a Delivery, got NoneType$"):
        check_channel(Silent())  # type: ignore[arg-type]

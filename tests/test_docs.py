"""Documentation tests: what the code accepts and promises is what README, docs/ and the example say.

Every config key the code accepts appears in ``config.example.toml`` and in docs/configuration.md;
every ``Result`` field is in the JSON contract table of docs/api.md; every command and option is in
docs/commands.md; README's first two ``sh`` blocks are the demo and the test command, and
``.ci/run`` runs exactly the second; the example holds no secret.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from driftwatch.alerts.channels import EmailChannel, LogChannel, SlackChannel, WebhookChannel
from driftwatch.alerts.channels.webhook import WebhookSubscription
from driftwatch.alerts.routing import Route
from driftwatch.cli import _parser
from driftwatch.config import validate
from driftwatch.config.alerts import AlertsSettings, RetrainPolicy
from driftwatch.config.build import MONITOR_KEYS, SECTIONS, STORE_KEYS
from driftwatch.config.daemon import DaemonSettings, MetricsSettings, WebSettings
from driftwatch.connectors import FileConnector, SqlConnector
from driftwatch.demo import EXAMPLE_CONFIG
from driftwatch.detectors import (
    DriftDetector,
    FairnessDetector,
    MultivariateDetector,
    PerformanceDetector,
    QualityDetector,
)
from driftwatch.detectors.drift import ColumnRule
from driftwatch.detectors.performance import MetricRule
from driftwatch.model import Result, Schema
from driftwatch.profiling import ProfileOptions

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = REPO / "docs"
CONFIGURATION = (DOCS / "configuration.md").read_text(encoding="utf-8")
API = (DOCS / "api.md").read_text(encoding="utf-8")
COMMANDS = (DOCS / "commands.md").read_text(encoding="utf-8")
EXAMPLE = REPO / "config.example.toml"
EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")

#: Keys of a monitor's ``[monitors.reference]`` table besides the connector's own.
REFERENCE_KEYS = ("type", "rolling", "start", "end")


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init]


CONFIG_KEYS: dict[str, list[str]] = {
    "sections": list(SECTIONS),
    "store": list(STORE_KEYS),
    "profile": _fields(ProfileOptions),
    "monitors": list(MONITOR_KEYS),
    "monitors.schema": _fields(Schema),
    "monitors.reference": list(REFERENCE_KEYS),
    "file connector": _fields(FileConnector),
    "sql connector": _fields(SqlConnector),
    "drift detector": _fields(DriftDetector),
    "drift column rule": _fields(ColumnRule),
    "quality detector": _fields(QualityDetector),
    "performance detector": _fields(PerformanceDetector),
    "performance metric rule": _fields(MetricRule),
    "fairness detector": _fields(FairnessDetector),
    "multivariate detector": _fields(MultivariateDetector),
    "monitors.labels": ["id_column"],
    "daemon": _fields(DaemonSettings),
    "web": _fields(WebSettings),
    "metrics": _fields(MetricsSettings),
    "alerts": _fields(AlertsSettings),
    "alerts.routes": _fields(Route),
    "monitors.retrain": _fields(RetrainPolicy),
    "slack channel": _fields(SlackChannel),
    "email channel": _fields(EmailChannel),
    "log channel": _fields(LogChannel),
    "webhook channel": _fields(WebhookChannel),
    "webhooks": _fields(WebhookSubscription),
}
ALL_KEYS = sorted({(where, key) for where, keys in CONFIG_KEYS.items() for key in keys})


def _without_fences(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.DOTALL)


def _configuration_code_words() -> set[str]:
    """Every identifier inside the inline code spans (`...`) of docs/configuration.md,
    docs/alerts.md (channels and webhooks) and docs/statistics.md."""
    words: set[str] = set()
    others = "".join((DOCS / name).read_text(encoding="utf-8") for name in ("alerts.md", "statistics.md"))
    for span in re.findall(r"`([^`\n]+)`", _without_fences(CONFIGURATION + others)):
        words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span))
    return words


def _in_example(key: str) -> bool:
    """``key = ...`` or a ``[table.key...]`` header in the example, either possibly commented out
    (the optional channels and webhooks are shown commented, since they need accounts)."""
    assignment = re.search(rf"(?<![\w.]){re.escape(key)}\s*=", EXAMPLE_TEXT)
    header = re.search(rf"^\s*(?:#\s*)?\[\[?(?:[\w.-]+\.)?{re.escape(key)}(?:\.[\w.-]+)?\]\]?", EXAMPLE_TEXT,
                       re.MULTILINE)
    return bool(assignment or header)


def test_the_key_lists_are_not_empty() -> None:
    assert len(ALL_KEYS) > 40
    assert ("drift detector", "missing_as_category") in ALL_KEYS
    assert ("sql connector", "db_schema") in ALL_KEYS


@pytest.mark.parametrize(("where", "key"), ALL_KEYS, ids=[f"{w}:{k}" for w, k in ALL_KEYS])
def test_config_key_in_example(where: str, key: str) -> None:
    assert _in_example(key), f"{where} key {key!r} is not in config.example.toml"


@pytest.mark.parametrize(("where", "key"), ALL_KEYS, ids=[f"{w}:{k}" for w, k in ALL_KEYS])
def test_config_key_in_configuration_reference(where: str, key: str) -> None:
    assert key in _configuration_code_words(), f"{where} key {key!r} is not in docs/ (as `code`)"


def test_configuration_documents_connector_and_detector_keys_in_their_paragraph() -> None:
    """Each plugin's keys are listed in docs/configuration.md's paragraph that starts with its name."""
    paragraphs = {
        "File connector": FileConnector, "SQL connector": SqlConnector,
        "Drift detector": DriftDetector, "Quality detector": QualityDetector,
        "Performance detector": PerformanceDetector, "Fairness detector": FairnessDetector,
    }
    for title, cls in paragraphs.items():
        match = re.search(rf"^{title} \(`type = \"(\w+)\"`\):(.*?)(?:\n\n)", CONFIGURATION,
                          re.MULTILINE | re.DOTALL)
        assert match, title
        assert match.group(1) == cls.name  # type: ignore[attr-defined]
        words = set(re.findall(r"`([A-Za-z_]+)", match.group(2)))
        missing = [f for f in _fields(cls) if f not in words]
        assert not missing, f"{title}: {missing} not listed"


def test_profile_keys_in_configuration_table() -> None:
    for key in _fields(ProfileOptions):
        default = getattr(ProfileOptions(), key)
        assert re.search(rf"^\| `profile\.{key}` \| `{default}` \|", CONFIGURATION, re.MULTILINE), key


# -- the JSON contract -----------------------------------------------------------------------


def _json_contract_fields() -> list[str]:
    section = API.split("## JSON output", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE)


def test_every_result_field_in_the_json_contract() -> None:
    documented = _json_contract_fields()
    fields = [f.name for f in dataclasses.fields(Result)]
    assert documented == fields
    sample = Result("m", 1, None, None, "drift", "", "drift_share", 0.5, None, 0.5, "alert", {})
    assert list(sample.to_json()) == documented


def test_json_contract_example_has_every_field() -> None:
    section = API.split("## JSON output", 1)[1].split("\n## ", 1)[0]
    example = re.search(r"```json\n(.*?)\n```", section, re.DOTALL)
    assert example
    assert list(json.loads(example.group(1))) == _json_contract_fields()


# -- commands ------------------------------------------------------------------------------


def _sh_blocks() -> list[str]:
    return [block.strip() for block in re.findall(r"^```sh\n(.*?)^```", README, re.MULTILINE | re.DOTALL)]


def test_first_sh_block_runs_the_demo_second_the_tests() -> None:
    blocks = _sh_blocks()
    assert len(blocks) >= 2
    assert "driftwatch demo" in blocks[0]
    assert "pytest" in blocks[1]
    assert "[test]" in blocks[1]


def test_ci_runs_exactly_the_second_sh_block() -> None:
    if shutil.which("awk") is None or shutil.which("bash") is None:
        pytest.skip("awk and bash are needed to run .ci/run's extraction")
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r"^cmd=\$\((.*)\)\s*$", script, re.MULTILINE)
    assert match, ".ci/run no longer sets cmd=$(...)"
    assert re.search(r'^eval "\$cmd"\s*$', script, re.MULTILINE)
    done = subprocess.run(["bash", "-c", match.group(1)], cwd=REPO, capture_output=True, text=True, timeout=30,
                          check=True)
    assert done.stdout.strip() == _sh_blocks()[1]


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    for action in _parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_command_and_option_in_the_commands_reference(command: str) -> None:
    section = COMMANDS.split("## Commands", 1)[1].split("\n## ", 1)[0]
    assert f"`driftwatch {command}" in section
    options = [o for a in _subcommands()[command]._actions for o in a.option_strings
               if o.startswith("--") and o != "--help"]
    missing = [o for o in options if not re.search(rf"{re.escape(o)}\b", section)]
    assert not missing, f"driftwatch {command}: {missing} not in docs/commands.md's command table"


# -- the example config ------------------------------------------------------------------------


def test_example_is_valid_as_is() -> None:
    assert validate(EXAMPLE, environ={}) == []


def test_packaged_example_is_the_same_file() -> None:
    """``driftwatch init`` and ``demo`` copy the packaged file; the docs point at the root one."""
    assert EXAMPLE_CONFIG.read_text(encoding="utf-8") == EXAMPLE_TEXT


def test_example_holds_no_literal_secret() -> None:
    urls = re.findall(r"[a-z][a-z0-9+.-]*://[^\s\"']+", EXAMPLE_TEXT)
    assert any("${" in url for url in urls)  # it shows how to pass a password
    for url in urls:
        userinfo = re.match(r"[^:]+://([^/@]*)@", url)
        if userinfo and ":" in userinfo.group(1):
            password = userinfo.group(1).split(":", 1)[1]
            assert re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::[-?][^}]*)?\}", password), url
    for key in ("password", "token", "secret"):
        for match in re.finditer(rf"^\s*#?\s*\w*{key}\w*\s*=\s*\"([^\"]*)\"", EXAMPLE_TEXT, re.MULTILINE | re.I):
            assert match.group(1).startswith("${"), match.group(0)

"""Documentation tests: what the code accepts and promises is what README, docs/ and the example say.

Every ``Result`` field is in the JSON contract table of docs/api.md; every command and option is
in docs/commands.md, and every command in README's list; README's first two ``sh`` blocks are
the demo and the test command, and ``.ci/run`` runs exactly the second; every relative link in
README and docs/ resolves (file and heading); the example config is valid, is the packaged one,
and holds no secret. That every config key is in docs/configuration.md and in the example, both
ways, is ``tests/test_config_reference.py``.
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

from driftwatch.cli import _parser
from driftwatch.config import validate
from driftwatch.demo import EXAMPLE_CONFIG
from driftwatch.model import Result

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = REPO / "docs"
API = (DOCS / "api.md").read_text(encoding="utf-8")
COMMANDS = (DOCS / "commands.md").read_text(encoding="utf-8")
EXAMPLE = REPO / "config.example.toml"
EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")
#: The Markdown files whose links must resolve.
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


def _without_fences(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def _section(text: str, heading: str) -> str:
    """The text of the ``## heading...`` section of ``text``, up to the next ``## ``."""
    return text.split(f"\n## {heading}", 1)[1].split("\n## ", 1)[0]


# -- the JSON contract -----------------------------------------------------------------------


def _json_contract_fields() -> list[str]:
    return re.findall(r"^\| `(\w+)` \|", _section(API, "JSON output"), re.MULTILINE)


def test_every_result_field_in_the_json_contract() -> None:
    documented = _json_contract_fields()
    fields = [f.name for f in dataclasses.fields(Result)]
    assert documented == fields
    sample = Result("m", 1, None, None, "drift", "", "drift_share", 0.5, None, 0.5, "alert", {})
    assert list(sample.to_json()) == documented


def test_json_contract_example_has_every_field() -> None:
    example = re.search(r"```json\n(.*?)\n```", _section(API, "JSON output"), re.DOTALL)
    assert example
    assert list(json.loads(example.group(1))) == _json_contract_fields()


def test_json_contract_names_every_built_in_detector() -> None:
    """A result's ``detector`` is a detector's type, ``segments`` or ``engine``: all named."""
    from driftwatch.detectors import BUILTIN
    from driftwatch.engine import ENGINE
    from driftwatch.segments import DETECTOR as SEGMENTS

    row = re.search(r"^\| `detector` \|.*$", _section(API, "JSON output"), re.MULTILINE)
    assert row
    missing = [name for name in [*BUILTIN, SEGMENTS, ENGINE] if f"`{name}`" not in row.group(0)]
    assert not missing, f"the JSON contract's detector row does not name {missing}"


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


def _long_options(parser: argparse.ArgumentParser) -> list[str]:
    return [o for a in parser._actions if not isinstance(a, argparse._SubParsersAction)
            for o in a.option_strings if o.startswith("--") and o != "--help"]


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_command_and_option_in_the_commands_reference(command: str) -> None:
    table = _section(COMMANDS, "Every command")
    assert f"`driftwatch {command}" in table
    missing = [o for o in _long_options(_subcommands()[command]) if not re.search(rf"{re.escape(o)}\b", table)]
    assert not missing, f"driftwatch {command}: {missing} not in docs/commands.md's command table"


def test_global_options_in_the_commands_reference() -> None:
    section = _section(COMMANDS, "Global options")
    missing = [o for o in _long_options(_parser()) if f"`{o}" not in section and f"/`{o}" not in section]
    assert not missing, f"global options {missing} not in docs/commands.md"


def test_readme_lists_every_command() -> None:
    listed = _section(README, "Commands")
    missing = [c for c in sorted(_subcommands()) if f"`{c}" not in listed and f"`driftwatch {c}" not in listed]
    assert not missing, f"README's command list lacks {missing}"
    assert "docs/commands.md" in listed


# -- links ---------------------------------------------------------------------------------------


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = _without_fences(page.read_text(encoding="utf-8"))
    return {_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def _relative_links(page: Path) -> list[str]:
    text = re.sub(r"`[^`\n]*`", "", _without_fences(page.read_text(encoding="utf-8")))
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t)]  # http:, https:, mailto:


def test_the_anchor_rule() -> None:
    assert _anchor("`[web]`: the pages, the API and `/metrics`") == "web-the-pages-the-api-and-metrics"
    assert _anchor("JSON output (public contract)") == "json-output-public-contract"


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(REPO).as_posix() for p in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    links = _relative_links(page)
    broken = []
    for link in links:
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif fragment and target.suffix == ".md" and fragment not in _anchors(target):
            broken.append(f"{link}: no heading #{fragment} in {target.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_readme_links_every_page_of_docs() -> None:
    linked = {(REPO / link.partition("#")[0]).resolve() for link in _relative_links(REPO / "README.md")}
    missing = [p.relative_to(REPO).as_posix() for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"README links none of {missing}"


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

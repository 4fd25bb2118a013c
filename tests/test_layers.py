"""Imports run one way: the layers of docs/architecture.md, read from the source with ``ast``.

Only imports that run when a module is imported count: those inside functions and under
``if TYPE_CHECKING:`` do not. A unit is a top-level module of ``driftwatch/`` (``errors``), a
sub-package with everything in it (``store/``) or the package's own ``__init__``.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "driftwatch"
DOC = REPO / "docs" / "architecture.md"

#: docs/architecture.md's layer table, lowest first.
LAYERS: dict[int, tuple[str, ...]] = {
    1: ("__init__", "errors", "jsonsafe", "timeutil", "secrets", "registry", "logs", "crontab", "webhooks", "signals"),
    2: ("model", "values", "membership", "joint", "schedule", "output", "results"),
    3: ("outcomes", "column_profile", "profiling"),
    4: ("detectors/",),
    5: ("pushdown/", "segments", "segment_causes", "labels"),
    6: ("connectors/",),
    7: ("store/",),
    8: ("alerts/",),
    9: ("config/",),
    10: ("engine", "calibrate", "api", "plugins", "testing"),
    11: ("web/",),
    12: ("runner", "scheduler"),
    13: ("cli/", "demo/"),
}
#: docs/architecture.md's arrows that are never drawn, whatever the layers allow.
NEVER: dict[str, tuple[str, ...]] = {
    "web/": ("detectors/", "profiling", "pushdown/", "segments", "connectors/", "engine"),
    "connectors/": ("detectors/",),
    "scheduler": ("web/",),
}
LAYER = {unit: layer for layer, units in LAYERS.items() for unit in units}
#: What ``import driftwatch`` and ``driftwatch --help`` must not load: each costs a share of the
#: 1.5 s both took before the public names and the commands' imports were made lazy.
HEAVY = ("sqlalchemy", "apscheduler", "fastapi", "starlette", "uvicorn", "pandas", "numpy", "scipy", "sklearn")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str) -> str:
    """``driftwatch.store.alerts`` -> ``store/``, ``driftwatch.errors`` -> ``errors``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1] + "/" if (PACKAGE / parts[1]).is_dir() else parts[1]


def _is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _run_at_import(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of ``body`` that run when the module is imported."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _type_checking(node.test):
                yield from _run_at_import(node.body)
            yield from _run_at_import(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _run_at_import(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            yield from _run_at_import(node.body)


def imports(path: Path, source: str | None = None) -> Iterator[tuple[str, int]]:
    """The driftwatch modules ``path`` (holding ``source``) imports when it is imported, with the line."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    text = path.read_text(encoding="utf-8") if source is None else source
    for node in _run_at_import(ast.parse(text).body):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # ``from . import logs`` imports a module; ``from . import __version__`` a name.
            targets = [f"{source}.{a.name}" if _is_module(f"{source}.{a.name}") else source for a in node.names]
        for target in dict.fromkeys(targets):
            if target.split(".")[0] == "driftwatch":
                yield target, node.lineno


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def doc_tables() -> tuple[dict[int, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """The layer table and the never-drawn table of docs/architecture.md's section on imports."""
    section = DOC.read_text(encoding="utf-8").split("## Packages and the direction of their imports", 1)[1]
    section = section.split("\n## ", 1)[0]
    layers: dict[int, tuple[str, ...]] = {}
    never: dict[str, tuple[str, ...]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) < 2:
            continue
        if cells[0].isdigit():
            layers[int(cells[0])] = tuple(re.findall(r"`([^`]+)`", cells[1]))
        elif re.fullmatch(r"`[^`]+`", cells[0]):
            never[cells[0].strip("`")] = tuple(re.findall(r"`([^`]+)`", cells[1]))
    return layers, never


def test_the_documented_tables_are_the_tested_ones() -> None:
    layers, never = doc_tables()
    assert layers == LAYERS, "docs/architecture.md's layer table and tests/test_layers.py's LAYERS differ"
    assert never == NEVER, "docs/architecture.md's never-drawn arrows and tests/test_layers.py's NEVER differ"


def test_every_module_has_a_layer() -> None:
    units = {unit_of(module_name(path)) for path in modules()}
    missing = sorted(units - set(LAYER))
    assert not missing, f"no layer in docs/architecture.md (and LAYERS here) for: {', '.join(missing)}"
    gone = sorted(set(LAYER) - units)
    assert not gone, f"layers name what driftwatch/ no longer holds: {', '.join(gone)}"


def test_no_module_imports_a_higher_layer_or_a_never_drawn_arrow() -> None:
    wrong = []
    for path in modules():
        module = module_name(path)
        unit = unit_of(module)
        for target, line in imports(path):
            other = unit_of(target)
            if other == unit or unit not in LAYER or other not in LAYER:
                continue  # inside one unit; a unit without a layer fails the test above
            where = f"{path.relative_to(REPO)}:{line}: {module} -> {target}"
            if LAYER[other] > LAYER[unit]:
                wrong.append(f"{where} (layer {LAYER[unit]} `{unit}` imports layer {LAYER[other]} `{other}` "
                             "above it)")
            elif other in NEVER.get(unit, ()):
                wrong.append(f"{where} (`{unit}` imports none of {', '.join(NEVER[unit])})")
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(wrong)


def test_the_scan_counts_the_imports_that_run_and_only_those() -> None:
    source = ("from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
              "from .errors import DataError\nimport driftwatch.model\n"
              "try:\n    from . import logs, __version__\nexcept ImportError:\n    pass\n"
              "if TYPE_CHECKING:\n    from .config import Settings\n"
              "def f():\n    from .web import create_app\n")
    found = [target for target, _ in imports(PACKAGE / "probe.py", source)]
    assert found == ["driftwatch.errors", "driftwatch.model", "driftwatch.logs", "driftwatch"]
    assert [unit_of(t) for t in found] == ["errors", "model", "logs", "__init__"]


def test_import_driftwatch_and_help_load_none_of_the_heavy_packages() -> None:
    code = (
        "import contextlib, io, sys\n"
        "def heavy():\n"
        f"    return sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "import driftwatch\n"
        "print('import driftwatch:', heavy())\n"
        "from driftwatch.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "assert 'usage: driftwatch' in out.getvalue(), out.getvalue()\n"
        "print('driftwatch --help:', heavy())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["import driftwatch: []", "driftwatch --help: []"], done.stdout

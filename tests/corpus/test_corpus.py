"""The bad-input corpus (issue 12): one file per case, one test over every file.

A case is a file under ``config/``, ``data/``, ``sql/`` or ``api/``; what it expects is written in
the file itself (``README.md`` beside this one gives the format). CLI cases run
``driftwatch.cli.main`` in-process, each in a folder of its own holding the project below; API
cases send one request through ``TestClient`` to the app built from ``APP_CONFIG``.

Every case must keep four promises besides its own status: no traceback anywhere in what is
printed or answered, none of ``SECRETS`` shown or stored (every config holds at least one of
them), exactly one stderr line that names the file, key or column (unless the case says
``stderr: none``), and nothing written but what the command's contract allows: no file besides
the store's, and in the store only what the case's ``store:`` says.

The project every CLI case runs in:

- ``ref.csv``: 200 rows of ``x`` (numeric) and ``c`` (categorical);
- ``cur.csv``: 100 rows of ``ts``, ``x`` and ``c`` within the day 2026-11-01, like the reference;
- ``src.db``: a SQLite file whose table ``events`` holds ``cur.csv``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import shlex
import shutil
import sqlite3
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

from driftwatch.cli import main
from driftwatch.config import load
from driftwatch.config.daemon import WebSettings
from driftwatch.store import Store
from driftwatch.web import create_app

HERE = Path(__file__).parent
KINDS = ("config", "data", "sql", "api")

TOKEN = "corpus-web-token-5ecret-9f3a"
WEBHOOK_SECRET = "whsec_Y29ycHVzLXNpZ25pbmcta2V5LTdkMWUh"
PASSWORD = "corpus-db-pa55word-41c7"
URL_SECRET = "hook-path-5ecret-d3e8"
#: Every case with a config holds at least one of these; none may ever be shown.
SECRETS = (TOKEN, WEBHOOK_SECRET, PASSWORD, URL_SECRET)

#: ``check`` runs the window [2026-11-01, 2026-11-02), the day ``cur.csv`` and ``src.db`` hold.
AT = "2026-11-02T00:00:00+00:00"
#: The command of a case that names none.
DEFAULT_RUN = {"config": "validate {config}", "data": f"check --config {{config}} --at {AT}",
               "sql": f"check --config {{config}} --at {AT}"}
#: An environment variable that ``${...}`` cases name; the test makes sure it is unset.
UNSET = "DRIFTWATCH_CORPUS_UNSET"

#: The config of a data case: ``{current}`` and ``{reference}`` become file names.
DATA_CONFIG = f"""
[store]
url = "sqlite:///dw.db"
[web]
auth_token = "{TOKEN}"
[webhooks.pipeline]
url = "https://pipelines.example.com/{URL_SECRET}"
secret = "{WEBHOOK_SECRET}"
events = ["retrain.requested"]
[[monitors]]
name = "m1"
window = "1d"
{{schema}}
[monitors.current]
type = "file"
path = "{{current}}"
{{timestamp}}
[monitors.reference]
type = "file"
path = "{{reference}}"
"""
SCHEMA = '[monitors.schema]\nnumeric = ["x"]\ncategorical = ["c"]'

#: The config the API cases' app is built from (its store holds one run of ``m1``, id 1).
APP_CONFIG = DATA_CONFIG.format(schema=SCHEMA, current="cur.csv", reference="ref.csv", timestamp="") + f"""
[channels.mail]
type = "email"
host = "127.0.0.1"
sender = "dw@example.com"
to = ["ml@example.com"]
username = "dw"
password = "{PASSWORD}"
"""

HEADER = re.compile(rb"^#\| *([a-z_]+): ?(.*?)\s*$")
KEYS = {"run", "exit", "stderr", "stdout", "store", "env", "role", "schema", "timestamp_column"}
STORES = {"empty", "failed", "succeeded"}
#: The files a command may create in a case's folder: the store's (checked by ``store:``).
STORE_FILES = {"dw.db", "dw.db-wal", "dw.db-shm", "dw.db-journal"}


# --- the cases ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One file of the corpus, with its expectations."""

    kind: str
    path: Path
    expect: dict[str, list[str]]
    body: bytes  # a data case's bytes after its header; a config case's whole file

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.path.name}"

    def one(self, key: str, default: str | None = None) -> str:
        values = self.expect.get(key, [])
        assert len(values) <= 1, f"{self.id}: '{key}' given {len(values)} times"
        if values:
            return values[0]
        assert default is not None, f"{self.id}: '{key}' is required"
        return default


def read_case(kind: str, path: Path) -> Case:
    raw = path.read_bytes()
    if kind == "api":
        return Case(kind, path, {}, raw)
    expect: dict[str, list[str]] = {}
    lines = raw.split(b"\n")
    header = 0
    for line in lines:
        if not line.startswith(b"#"):
            break
        header += 1
        match = HEADER.match(line)
        assert match or not line.startswith(b"#|"), f"{path.name}: not 'key: value': {line!r}"
        if match:
            key = match.group(1).decode()
            assert key in KEYS, f"{path.name}: unknown key '{key}' (known: {', '.join(sorted(KEYS))})"
            expect.setdefault(key, []).append(match.group(2).decode("utf-8"))
    body = raw if kind in ("config", "sql") else b"\n".join(lines[header:])
    return Case(kind, path, expect, body)


def all_cases() -> list[Case]:
    return [read_case(kind, path) for kind in KINDS for path in sorted((HERE / kind).iterdir())
            if path.is_file()]


CASES = all_cases()


# --- the project CLI cases run in --------------------------------------------------------------------

@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("corpus-project"))


def build_project(folder: Path) -> Path:
    rng = np.random.default_rng(12)
    pd.DataFrame({"x": rng.normal(0, 1, 200).round(3),
                  "c": rng.choice(["a", "b", "c"], 200, p=[0.5, 0.3, 0.2])}).to_csv(folder / "ref.csv", index=False)
    stamps = pd.date_range("2026-11-01", periods=100, freq="14min", tz="UTC")
    current = pd.DataFrame({"ts": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"), "x": rng.normal(0, 1, 100).round(3),
                            "c": rng.choice(["a", "b", "c"], 100, p=[0.5, 0.3, 0.2])})
    current.to_csv(folder / "cur.csv", index=False)
    with contextlib.closing(sqlite3.connect(folder / "src.db")) as db:
        current.to_sql("events", db, index=False)
        db.commit()
    return folder


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def run_cli(case: Case, folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Outcome, dict[str, str]]:
    """Lay the case out in ``folder`` (a copy of the project) and run its command in-process."""
    config = folder / (case.path.name if case.kind != "data" else "config.toml")
    places = {"dir": str(folder), "config": str(config), "ref": str(folder / "ref.csv"),
              "cur": str(folder / "cur.csv")}
    if case.kind == "data":
        data = folder / case.path.name
        data.write_bytes(case.body)
        places["data"] = str(data)
        role = case.one("role", "current")
        assert role in ("current", "reference"), f"{case.id}: role must be current or reference"
        schema = case.one("schema", "given")
        assert schema in ("given", "infer"), f"{case.id}: schema must be given or infer"
        column = case.expect.get("timestamp_column")
        config.write_text(DATA_CONFIG.format(
            schema=SCHEMA if schema == "given" else "",
            current=data.name if role == "current" else "cur.csv",
            reference=data.name if role == "reference" else "ref.csv",
            timestamp=f'timestamp_column = "{column[0]}"' if column else ""), encoding="utf-8")
    else:
        config.write_bytes(case.body)
    monkeypatch.chdir(folder)
    monkeypatch.delenv(UNSET, raising=False)
    for assignment in case.expect.get("env", []):
        name, _, value = assignment.partition("=")
        monkeypatch.setenv(name, value)
    argv = shlex.split(fill(case.one("run", DEFAULT_RUN[case.kind]), places))
    before = set(folder.rglob("*"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    made = sorted(p.name for p in set(folder.rglob("*")) - before if p.name not in STORE_FILES)
    assert not made, f"{case.id}: wrote {made} (only the store may be written)"
    return Outcome(code, out.getvalue(), err.getvalue()), places


def store_rows(db: Path) -> dict[str, list[str]]:
    """The status of every row of ``runs``, ``results`` and ``outbox`` (none if there is no store)."""
    rows: dict[str, list[str]] = {"runs": [], "results": [], "outbox": []}
    if not db.exists():
        return rows
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, column in (("runs", "status"), ("results", "status"), ("outbox", "state")):
            if table in tables:
                rows[table] = [status for (status,) in conn.execute(f"SELECT {column} FROM {table}")]
    return rows


def stored_text(db: Path) -> str:
    """What the pages would show of the stored runs: their errors and their results' details."""
    if not db.exists():
        return ""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"runs", "results"} <= tables:
            return ""
        errors = [str(text) for (text,) in conn.execute("SELECT error FROM runs")]
        details = [str(text) for (text,) in conn.execute("SELECT details FROM results")]
    return "\n".join(errors + details)


def check_store(case: Case, folder: Path) -> None:
    want = case.one("store", "empty")
    assert want in STORES, f"{case.id}: store must be one of {sorted(STORES)}"
    kept = stored_text(folder / "dw.db")
    assert not [secret for secret in SECRETS if secret in kept]
    rows = store_rows(folder / "dw.db")
    if want == "empty":  # a config or usage error writes nothing
        assert rows == {"runs": [], "results": [], "outbox": []}, rows
    elif want == "failed":  # a run that could not read its data: one failed run, one error result
        assert rows["runs"] and set(rows["runs"]) == {"failed"}, rows
        assert rows["results"] == ["error"] * len(rows["runs"]) and rows["outbox"] == [], rows
    else:
        assert rows["runs"] and set(rows["runs"]) == {"succeeded"}, rows


def assert_cli(case: Case, outcome: Outcome, places: dict[str, str]) -> None:
    shown = outcome.out + outcome.err
    assert "Traceback" not in shown
    assert not [secret for secret in SECRETS if secret in shown]
    assert outcome.code == int(case.one("exit")), outcome
    lines = outcome.err.splitlines()
    wanted = [fill(text, places) for text in case.expect.get("stderr", [])]
    if wanted == ["none"]:
        assert lines == []
    else:
        assert wanted, f"{case.id}: say what the stderr line holds (or 'stderr: none')"
        assert len(lines) == 1, lines
        missing = [text for text in wanted if text not in lines[0]]
        assert not missing, (missing, lines[0])
    for text in case.expect.get("stdout", []):
        assert fill(text, places) in outcome.out


# --- the app API cases are sent to --------------------------------------------------------------------

@pytest.fixture(scope="module")
def apps(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    with build_apps(project, tmp_path_factory.mktemp("corpus-app")) as clients:
        yield clients


@contextlib.contextmanager
def build_apps(project: Path, folder: Path) -> Iterator[dict[str, TestClient]]:
    """``token``: the app of ``APP_CONFIG`` (web.auth_token set); ``open``: the same without a token."""
    for name in ("ref.csv", "cur.csv"):
        shutil.copyfile(project / name, folder / name)
    config = folder / "config.toml"
    config.write_text(APP_CONFIG, encoding="utf-8")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["check", "--config", str(config), "--at", AT]) in (0, 1)
    settings = load(config)
    with Store(settings.store.url.reveal()) as store:
        clients = {"token": TestClient(create_app(store, settings=settings), raise_server_exceptions=False),
                   "open": TestClient(create_app(store, settings=dataclasses.replace(settings, web=WebSettings())),
                                      raise_server_exceptions=False)}
        with clients["token"], clients["open"]:
            yield clients


def run_api(case: Case, apps: dict[str, TestClient]) -> None:
    spec: dict[str, Any] = json.loads(case.body)
    unknown = set(spec) - {"about", "app", "request", "status", "body_contains", "body_lacks"}
    assert not unknown, f"{case.id}: unknown keys {sorted(unknown)}"
    request = spec["request"]
    assert not set(request) - {"method", "path", "headers", "json", "content", "content_bytes"}, case.id
    headers = {key: fill(value, {"token": TOKEN}) for key, value in request.get("headers", {}).items()}
    content: bytes | None = None
    if "json" in request:
        content = json.dumps(request["json"]).encode()
        headers.setdefault("content-type", "application/json")
    elif "content" in request:
        content = request["content"].encode()
    elif "content_bytes" in request:
        content = b"a" * int(request["content_bytes"])
    response = apps[spec.get("app", "token")].request(request["method"], request["path"], headers=headers,
                                                      content=content)
    text = response.text + "".join(f"{k}: {v}\n" for k, v in response.headers.items())
    assert "Traceback" not in text
    assert not [secret for secret in SECRETS if secret in text]
    assert response.status_code == spec["status"], response.text[:500]
    for needle in _listed(spec.get("body_contains")):
        assert needle in response.text, response.text[:500]
    for needle in _listed(spec.get("body_lacks")):
        assert needle not in response.text


def _listed(value: str | list[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else value


# --- the test ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_case(case: Case, request: pytest.FixtureRequest, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    if case.kind == "api":
        run_api(case, request.getfixturevalue("apps"))
        return
    if case.kind != "data":  # a data case's config is DATA_CONFIG, which holds them
        assert any(secret.encode() in case.body for secret in SECRETS), f"{case.id}: hold one of SECRETS"
    project = request.getfixturevalue("project")
    shutil.copytree(project, tmp_path, dirs_exist_ok=True)
    outcome, places = run_cli(case, tmp_path, monkeypatch)
    assert_cli(case, outcome, places)
    check_store(case, tmp_path)


def test_the_corpus_is_large_and_every_case_fails_for_its_own_reason(project: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """At least 60 bad-input cases (``_control`` files are sound on purpose); and the project they
    run in is sound: the data cases' config over the project's own files exits 0 with a succeeded
    run, so a case fails only by what it changes."""
    assert len([case for case in CASES if not case.path.name.startswith("_")]) >= 60
    shutil.copytree(project, tmp_path, dirs_exist_ok=True)
    control = Case("data", HERE / "control.csv", {"stderr": ["none"], "exit": ["0"], "store": ["succeeded"]},
                   (project / "cur.csv").read_bytes())
    outcome, places = run_cli(control, tmp_path, monkeypatch)
    assert_cli(control, outcome, places)
    check_store(control, tmp_path)

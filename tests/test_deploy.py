"""The container files, checked outside a container: ``Dockerfile``, ``.dockerignore``,
``deploy/compose.yaml``, ``deploy/driftwatch/config.toml`` and ``deploy/.env.example``.

What the image runs is run here for real: the ``HEALTHCHECK`` command (the very argv in the
Dockerfile, its port pointed at a free one) against uvicorn serving driftwatch's app, and against
a port nobody listens on; the ``CMD`` through driftwatch's own argument parser; the compose
stack's config through ``driftwatch.config.load`` with the environment compose would give the
container. The compose file is read by ``docker compose config`` (the plugin, or Debian's
``docker-compose``) when one is installed, else by PyYAML with compose's ``${VAR}`` rules. Building and running the image is
``deploy/smoke.sh`` (it needs a container engine).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from driftwatch.cli import _parser
from driftwatch.config import load
from driftwatch.store import Store
from driftwatch.web import create_app
from driftwatch.web.server import WebServer

from .conftest import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
PORT = 8080
SECRET_WORDS = re.compile(r"password|passwd|secret|token|api_?key|credential|private", re.IGNORECASE)


# -- Dockerfile --------------------------------------------------------------------------------

def instructions(path: Path) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of a Dockerfile: comments dropped, ``\\`` continuations joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        out.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def stages(steps: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, ``FROM`` first (global ``ARG``s before it dropped)."""
    out: list[list[tuple[str, str]]] = []
    for keyword, args in steps:
        if keyword == "FROM":
            out.append([])
        if out:
            out[-1].append((keyword, args))
    return out


def only(stage: list[tuple[str, str]], keyword: str) -> str:
    found = [args for k, args in stage if k == keyword]
    assert len(found) == 1, f"{keyword}: expected once in the final stage, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def final() -> list[tuple[str, str]]:
    return stages(instructions(ROOT / "Dockerfile"))[-1]


def healthcheck_argv(final: list[tuple[str, str]]) -> list[str]:
    """The exec-form command of ``HEALTHCHECK [--options] CMD [...]``."""
    args = only(final, "HEALTHCHECK")
    _options, sep, command = args.partition(" CMD ")
    assert sep, f"HEALTHCHECK: no CMD in {args!r}"
    argv = json.loads(command)
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), "HEALTHCHECK CMD: not exec form"
    return argv


def test_dockerfile_is_multi_stage_with_slim_overridable_base() -> None:
    steps = instructions(ROOT / "Dockerfile")
    froms = [args for k, args in steps if k == "FROM"]
    assert len(froms) >= 2, "multi-stage: a build stage and a runtime stage"
    assert ("ARG", "BASE_IMAGE=python:3.11-slim") in steps[:steps.index(("FROM", froms[0]))]
    assert all(f.split()[0] == "${BASE_IMAGE}" for f in froms)
    build_name = froms[0].split()[-1]
    assert any(k == "COPY" and args.startswith(f"--from={build_name} ") for k, args in stages(steps)[-1])


def test_final_stage_runs_as_fixed_non_root_user(final: list[tuple[str, str]]) -> None:
    user = only(final, "USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {user}: a fixed numeric non-root uid"
    # USER comes after every RUN (which need root to create the user and directories).
    positions = [i for i, (k, _) in enumerate(final) if k in ("RUN", "USER")]
    assert final[positions[-1]][0] == "USER"


def test_entrypoint_cmd_volumes_and_port(final: list[tuple[str, str]]) -> None:
    assert json.loads(only(final, "ENTRYPOINT")) == ["driftwatch"]
    args = _parser().parse_args(json.loads(only(final, "CMD")))  # what the image runs, parsed for real
    assert (args.command, args.config, args.host, args.port) == ("run", "/etc/driftwatch/config.toml", "0.0.0.0", PORT)
    assert not args.no_web
    assert only(final, "EXPOSE") == str(PORT)
    assert set(json.loads(only(final, "VOLUME"))) == {"/etc/driftwatch", "/var/lib/driftwatch"}


def test_no_secret_baked_in() -> None:
    for keyword, args in instructions(ROOT / "Dockerfile"):
        if keyword in ("ENV", "ARG", "LABEL"):
            assert not SECRET_WORDS.search(args), f"{keyword} {args}: secrets come from the environment at run time"


def test_dockerignore_keeps_the_context_to_what_copy_needs() -> None:
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "*", "ignore everything, then list what the build needs (no .env, .venv, .git)"
    kept = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {src for keyword, args in instructions(ROOT / "Dockerfile") if keyword == "COPY"
              and not args.startswith("--from") for src in args.split()[:-1]}
    assert copied == kept
    # driftwatch/demo/config.example.toml links to the root file: both must be in the context.
    assert (ROOT / "driftwatch/demo/config.example.toml").resolve() == ROOT / "config.example.toml"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """driftwatch's app under uvicorn on a free loopback port."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('deploy') / 'dw.db'}")
    port = free_port()
    server = WebServer(create_app(store), "127.0.0.1", port)
    server.start()

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(up, 10, "uvicorn to serve /healthz", step=0.02)
        yield port
    finally:
        server.stop()
        store.dispose()


def run_healthcheck(argv: list[str], port: int) -> subprocess.CompletedProcess[str]:
    """The image's health check with its port moved to ``port`` (``python`` is the venv's in the image)."""
    assert argv[0] == "python"
    code = argv[-1]
    assert code.count(f"127.0.0.1:{PORT}/healthz") == 1
    argv = [sys.executable, *argv[1:-1], code.replace(f":{PORT}/", f":{port}/")]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_healthcheck_passes_while_driftwatch_serves(final: list[tuple[str, str]], web: int) -> None:
    done = run_healthcheck(healthcheck_argv(final), web)
    assert done.returncode == 0, done.stderr


def test_healthcheck_fails_when_nothing_listens(final: list[tuple[str, str]]) -> None:
    done = run_healthcheck(healthcheck_argv(final), free_port())
    assert done.returncode == 1, "Docker reads 1 as unhealthy (other codes are reserved)"
    assert "Connection refused" in done.stderr


# -- compose -----------------------------------------------------------------------------------

def env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of an env file (no quoting is used in ours)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


_REFERENCE = re.compile(r"\$\$|\$\{(\w+)(?:(:-|:\?)([^}]*))?\}")


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}`` and ``$$`` in every string."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.groups()
        if env.get(name):
            return env[name]
        assert op != ":?", f"${{{name}}}: required ({arg}) but not in .env.example"
        return arg if op == ":-" else ""

    return _REFERENCE.sub(one, value)


@functools.cache
def compose_tool() -> list[str] | None:
    """``docker compose`` (the plugin) or ``docker-compose`` (Debian's 1.29), whichever is here."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def compose_config(tool: list[str], env_path: Path) -> subprocess.CompletedProcess[str]:
    """``config`` of deploy/compose.yaml with ``env_path`` as its .env, the shell's copies of
    its variables removed (compose prefers those)."""
    environ = {k: v for k, v in os.environ.items() if k not in env_file(ENV_EXAMPLE)}
    return subprocess.run([*tool, "-f", str(COMPOSE), "--env-file", str(env_path), "config"],
                          capture_output=True, text=True, timeout=60, env=environ)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML reads compose.yaml")
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    """The compose model as the engine sees it, with deploy/.env.example as deploy/.env."""
    import yaml

    tool = compose_tool()
    if tool is None:
        return dict(interpolate(raw, env_file(ENV_EXAMPLE)))
    done = compose_config(tool, ENV_EXAMPLE)
    assert done.returncode == 0, done.stderr
    model: dict[str, Any] = yaml.safe_load(done.stdout)
    return model


def test_compose_needs_the_secrets_from_env(tmp_path: Path) -> None:
    tool = compose_tool()
    if tool is None:
        pytest.skip("neither `docker compose` nor docker-compose here (the other compose tests read the file "
                    "with PyYAML)")
    empty = tmp_path / ".env"
    empty.write_text("")
    done = compose_config(tool, empty)
    assert done.returncode != 0 and "set POSTGRES_PASSWORD in deploy/.env" in done.stderr, done.stderr


def volumes(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source (a host path or a volume name) of a service's mounts."""
    out = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):  # short form: SOURCE:TARGET[:MODE]
            source, target = volume.split(":")[:2]
        else:  # docker compose config's long form
            source, target = volume["source"], volume["target"]
        out[target.rstrip("/")] = source
    return out


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path (resolved against deploy/) of a service's bind mounts."""
    return {target: (DEPLOY / source).resolve() for target, source in volumes(service).items()
            if source.startswith((".", "/"))}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def test_the_four_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"driftwatch", "postgres", "prometheus", "grafana"} <= set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert services["prometheus"]["image"].startswith("prom/prometheus")
    assert services["grafana"]["image"].startswith("grafana/grafana")
    build = services["driftwatch"]["build"]
    assert (DEPLOY / build["context"]).resolve() == ROOT and (ROOT / "Dockerfile").is_file()


def test_driftwatch_waits_for_postgres_and_is_health_checked(compose: dict[str, Any],
                                                          final: list[tuple[str, str]]) -> None:
    services = compose["services"]
    dw = services["driftwatch"]
    assert depends_on(dw)["postgres"] == "service_healthy"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert dw["healthcheck"]["test"] == ["CMD", *healthcheck_argv(final)]
    # The one-shot demo-data service writes what the monitors read; its command parses too.
    assert depends_on(dw)["demo-data"] == "service_completed_successfully"
    demo = _parser().parse_args(services["demo-data"]["command"])
    assert demo.command == "demo" and demo.dir.startswith("/var/lib/driftwatch/")


def test_prometheus_and_grafana_mount_the_provisioned_files(compose: dict[str, Any]) -> None:
    services = compose["services"]
    prometheus = mounts(services["prometheus"])
    assert prometheus["/etc/prometheus"] == DEPLOY / "prometheus"
    assert (DEPLOY / "prometheus/prometheus.yml").is_file() and (DEPLOY / "prometheus/rules.yaml").is_file()
    grafana = mounts(services["grafana"])
    assert grafana["/etc/grafana/provisioning"] == DEPLOY / "grafana/provisioning"
    assert grafana["/var/lib/grafana/dashboards/driftwatch.json"] == DEPLOY / "grafana/driftwatch.json"
    assert (DEPLOY / "grafana/provisioning").is_dir() and (DEPLOY / "grafana/driftwatch.json").is_file()


def test_no_literal_secret_in_compose(raw: dict[str, Any]) -> None:
    """Every secret-named variable is a ``${VAR}`` reference filled from deploy/.env."""
    checked = 0
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_WORDS.search(key):
                assert re.fullmatch(r"\$\{\w+(:\?[^}]*)?\}", str(value)), f"{name}.environment.{key}: use ${{VAR}}"
                checked += 1
    assert checked >= 4  # driftwatch's two, postgres's password, grafana's admin password


def test_env_example_holds_placeholders_only() -> None:
    env = env_file(ENV_EXAMPLE)
    secrets = {key: value for key, value in env.items() if SECRET_WORDS.search(key)}
    assert secrets and all(value.startswith("change-me") for value in secrets.values()), secrets


def test_compose_config_loads_with_the_containers_environment(compose: dict[str, Any]) -> None:
    dw = compose["services"]["driftwatch"]
    config = mounts(dw)["/etc/driftwatch/config.toml"]
    assert config == DEPLOY / "driftwatch/config.toml"
    environ = {key: str(value) for key, value in dw["environment"].items()}
    settings = load(config, environ=environ)  # the real loader: every key checked, ${VAR} filled
    env = env_file(ENV_EXAMPLE)
    url = settings.store.url.reveal()
    assert url == (f"postgresql+psycopg://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}"
                   f"@postgres:5432/{env['POSTGRES_DB']}")
    assert env["POSTGRES_PASSWORD"] not in config.read_text()
    assert settings.web.auth_token is not None and settings.web.auth_token.reveal() == env["DRIFTWATCH_TOKEN"]
    assert not settings.web.protect_metrics, "Prometheus scrapes /metrics without a token"
    # The monitors read the demo data from the volume that demo-data writes.
    data = volumes(dw)["/var/lib/driftwatch"]
    assert data == volumes(compose["services"]["demo-data"])["/var/lib/driftwatch"] and data in compose["volumes"]
    for monitor in settings.monitors:
        assert str(monitor.current.path).startswith("/var/lib/driftwatch/demo/")
    assert [m.name for m in settings.monitors] == ["credit-model"]

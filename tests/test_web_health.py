"""R32: ``/healthz`` answers 200 while the process lives; ``/readyz`` is 503 (with the reason)
until the store answers and the scheduler runs.

The app through FastAPI's ``TestClient`` over real stores (a SQLite file, a SQLite file in a
folder that does not exist, PostgreSQL on a port nobody listens on), then real ``driftwatch
run`` / ``driftwatch serve`` processes over HTTP on free 127.0.0.1 ports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

with warnings.catch_warnings():
    # starlette 1.x asks for the ``httpx2`` package and warns when its test client falls back to
    # ``httpx`` (the test extra); that fallback is what runs here.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

from driftwatch.store import Store
from driftwatch.web import create_app

from .conftest import free_port

UTC = timezone.utc
DRIFTWATCH = str(Path(sys.executable).with_name("driftwatch"))
PG_ENV = "DRIFTWATCH_TEST_POSTGRES_URL"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'dw.db'}") as store:
        store.create_all()
        yield store


def test_healthz_200(sqlite_store: Store) -> None:
    with TestClient(create_app(sqlite_store, scheduler_running=lambda: False)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_200_when_store_answers_and_scheduler_runs(sqlite_store: Store) -> None:
    with TestClient(create_app(sqlite_store, scheduler_running=lambda: True)) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_503_while_the_scheduler_is_not_running(sqlite_store: Store) -> None:
    running = False
    with TestClient(create_app(sqlite_store, scheduler_running=lambda: running)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["problems"] == ["scheduler: not running"]
        running = True
        assert client.get("/readyz").status_code == 200  # asked on every request, not cached


def test_readyz_without_a_scheduler_depends_on_the_store_alone(sqlite_store: Store) -> None:
    with TestClient(create_app(sqlite_store)) as client:
        assert client.get("/readyz").status_code == 200


def test_readyz_503_when_the_sqlite_file_cannot_be_opened(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'gone' / 'dw.db'}") as store, \
            TestClient(create_app(store, scheduler_running=lambda: True)) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["problems"] == ["store: not reachable"]


def test_readyz_503_when_postgresql_is_unreachable_names_both_problems() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test?connect_timeout=3"
    with Store(url) as store, TestClient(create_app(store, scheduler_running=lambda: False)) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable",
                               "problems": ["store: not reachable", "scheduler: not running"]}


def test_readyz_follows_the_store_coming_back(tmp_path: Path) -> None:
    folder = tmp_path / "later"
    with Store(f"sqlite:///{folder / 'dw.db'}") as store, \
            TestClient(create_app(store, scheduler_running=lambda: True)) as client:
        assert client.get("/readyz").status_code == 503
        folder.mkdir()
        assert client.get("/readyz").status_code == 200


def test_readyz_200_on_postgresql() -> None:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    with Store(url) as store, TestClient(create_app(store, scheduler_running=lambda: True)) as client:
        assert client.get("/readyz").status_code == 200


# -- real processes over HTTP ------------------------------------------------------------------


def write_project(folder: Path, port: int) -> Path:
    rng = np.random.default_rng(1)
    pd.DataFrame({"x": rng.uniform(0, 10, 200).round(3)}).to_csv(folder / "ref.csv", index=False)
    now = datetime.now(UTC).replace(microsecond=0)
    stamps = [(now + timedelta(seconds=s)).isoformat() for s in range(-60, 300) for _ in range(2)]
    pd.DataFrame({"ts": stamps, "x": rng.uniform(0, 10, len(stamps)).round(3)}).to_csv(
        folder / "data.csv", index=False)
    path = folder / "config.toml"
    path.write_text(f"""
[store]
url = "sqlite:///{folder / 'dw.db'}"
[daemon]
shutdown_grace = "5s"
[web]
host = "127.0.0.1"
port = {port}
[[monitors]]
name = "m"
window = "1s"
schedule = "1s"
[monitors.schema]
numeric = ["x"]
[monitors.current]
type = "file"
path = "data.csv"
timestamp_column = "ts"
[monitors.reference]
type = "file"
path = "ref.csv"
[[monitors.detectors]]
type = "drift"
""", encoding="utf-8")
    return path


def poll(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> list[tuple[float, int]]:
    """Poll ``url`` until it answers 200: every (time, status) seen, connection failures as 0."""
    seen: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the process exited"
        try:
            status = httpx.get(url, timeout=2).status_code
        except httpx.TransportError:
            status = 0
        seen.append((time.monotonic(), status))
        if status == 200:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"{url} never answered 200: {seen[-5:]}")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def start_and_poll(tmp_path: Path, command: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = write_project(tmp_path, port)
    with (tmp_path / "stderr.log").open("wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen([DRIFTWATCH, command, "--config", str(config), "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=log)
    try:
        seen = poll(f"http://127.0.0.1:{port}/readyz", proc)
        assert seen[-1][1] == 200
        assert set(status for _, status in seen) <= {0, 200, 503}
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
        assert ready.status_code == 200 and ready.json() == {"status": "ok"}
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, port


def test_run_readyz_turns_200_over_http_after_start_and_sigterm_exits_0(tmp_path: Path) -> None:
    proc, _ = start_and_poll(tmp_path, "run")
    assert stop(proc) == 0, (tmp_path / "stderr.log").read_text()


def test_serve_readyz_turns_200_over_http_after_start(tmp_path: Path) -> None:
    proc, port = start_and_poll(tmp_path, "serve")
    stop(proc)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_serve_exits_0_on_sigterm(tmp_path: Path) -> None:
    proc, _ = start_and_poll(tmp_path, "serve")
    assert stop(proc) == 0


def test_run_readyz_503_once_the_daemon_is_stopping(tmp_path: Path) -> None:
    """While SIGTERM waits for running work, the scheduler no longer counts as running."""
    port = free_port()
    config = write_project(tmp_path, port)
    fifo_dir = tmp_path / "slow"
    fifo_dir.mkdir()
    (tmp_path / "data.csv").rename(fifo_dir / "data.csv")
    os.mkfifo(fifo_dir / "zz-block.csv")  # a run of this monitor blocks until the FIFO is fed
    config.write_text(config.read_text().replace('path = "data.csv"', 'path = "slow/*.csv"')
                      .replace('shutdown_grace = "5s"', 'shutdown_grace = "20s"'), encoding="utf-8")
    proc = subprocess.Popen([DRIFTWATCH, "run", "--config", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        poll(f"http://127.0.0.1:{port}/readyz", proc)
        with Store(f"sqlite:///{tmp_path / 'dw.db'}") as store:
            deadline = time.monotonic() + 20
            while not [r for r in store.runs("m") if r.status == "running"]:
                assert time.monotonic() < deadline, "no run started"
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while True:
            response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
            if response.status_code == 503:
                break
            assert time.monotonic() < deadline, "readyz stayed 200 after SIGTERM"
            time.sleep(0.05)
        assert response.json()["problems"] == ["scheduler: not running"]
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        with (fifo_dir / "zz-block.csv").open("w") as fifo:  # let the run finish
            fifo.write("ts,x\n")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

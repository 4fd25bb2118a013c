"""Fixtures for the web tests: a store filled by real runs, and the app over it.

One project is built per session (config, CSVs, and real ``run_monitor`` runs with alert
evaluation, so runs, results, alert states and outbox rows all exist); each test gets its own
copy of the SQLite file, so a test that adds a silence changes nobody else's store.

The project, in ``PROJECT``'s config:

- ``churn``: columns ``x`` (numeric), ``c`` (categorical) and ``<script>alert(1)</script>``
  (numeric, for escaping tests); windows 0-2 look like the reference, windows 3-5 are shifted, so
  its drift alerts fire from window 3 on.
- ``fraud``: one numeric column that never drifts.
- ``removed``: runs in the store but no longer in the config (as after a reload).

The config holds secrets (``SECRETS``: the web token, a webhook URL and secret, an SMTP
password, a Slack token) so tests can check that none of them ever shows.
"""

from __future__ import annotations

import dataclasses
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

with warnings.catch_warnings():
    # starlette 1.x asks for the ``httpx2`` package and warns when its test client falls back to
    # ``httpx`` (the test extra); that fallback is what runs here.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

from driftwatch.alerts.evaluate import AlertContext
from driftwatch.config import Settings, load
from driftwatch.config.daemon import WebSettings
from driftwatch.engine import run_monitor
from driftwatch.model import Result, Window
from driftwatch.store import Store
from driftwatch.web import create_app

UTC = timezone.utc
#: The first window starts here; windows are one hour long.
T0 = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
#: Windows per monitor in the filled store.
WINDOWS = 6
#: The feature whose name is markup.
SCRIPT = "<script>alert(1)</script>"
#: The web token of the project's config.
TOKEN = "tok-3f9c2a7e1d5b4c8a"
#: Every secret in the project's config; none may appear in a page, a response or the schema.
SECRETS: dict[str, str] = {
    "web.auth_token": TOKEN,
    "channels.hook.url": "https://hooks.example.com/T0KEN-in-url-6b1f0e",
    "channels.hook.secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "channels.mail.password": "smtp-pa55word-77e1",
    "channels.chat.token": "xoxb-1234-slack-token-9a9a",
    "webhooks.sink.url": "https://pipelines.example.com/hook/SINK-5ecret-path",
    "webhooks.sink.secret": "whsec_c2luay1zZWNyZXQtc2luay1zZWNyZXQ=",
}

CONFIG = """
[store]
url = "{store_url}"
[web]
auth_token = "{web.auth_token}"
[alerts]
base_url = "http://127.0.0.1:8080"
channels = ["log", "hook", "mail", "chat"]
[channels.log]
type = "log"
[channels.hook]
type = "webhook"
url = "{channels.hook.url}"
secret = "{channels.hook.secret}"
[channels.mail]
type = "email"
host = "127.0.0.1"
port = 2525
tls = "starttls"
sender = "dw@example.com"
to = ["ml@example.com"]
username = "dw"
password = "{channels.mail.password}"
[channels.chat]
type = "slack"
token = "{channels.chat.token}"
channel = "#ml"
[webhooks.sink]
url = "{webhooks.sink.url}"
secret = "{webhooks.sink.secret}"
events = ["alert.firing", "run.failed"]
"""

MONITOR = """
[[monitors]]
name = "{name}"
window = "1h"
[monitors.schema]
numeric = {numeric}
categorical = {categorical}
[monitors.current]
type = "file"
path = "{name}.csv"
timestamp_column = "ts"
[monitors.reference]
type = "file"
path = "{name}-ref.csv"
[[monitors.detectors]]
type = "drift"
"""


@dataclass(frozen=True)
class Project:
    """A project folder whose ``dw.db`` was filled by real runs."""

    folder: Path
    settings: Settings

    @property
    def db(self) -> Path:
        return self.folder / "dw.db"


def window(i: int) -> Window:
    return Window(T0 + i * HOUR, T0 + (i + 1) * HOUR)


def _write_data(folder: Path, name: str, numeric: list[str], categorical: list[str], shift_from: int | None,
                seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    ref: dict[str, Any] = {col: rng.normal(0, 1, n).round(4) for col in numeric}
    ref.update({col: rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]) for col in categorical})
    pd.DataFrame(ref).to_csv(folder / f"{name}-ref.csv", index=False)
    frames = []
    for i in range(WINDOWS):
        shifted = shift_from is not None and i >= shift_from
        m = 200
        stamps = [(window(i).start + timedelta(seconds=int(s))).isoformat()
                  for s in np.linspace(0, 3599, m)]
        cur: dict[str, Any] = {"ts": stamps}
        cur.update({col: rng.normal(2.0 if shifted else 0.0, 1, m).round(4) for col in numeric})
        cur.update({col: rng.choice(["a", "b", "c"], m, p=[0.1, 0.2, 0.7] if shifted else [0.5, 0.3, 0.2])
                    for col in categorical})
        frames.append(pd.DataFrame(cur))
    pd.concat(frames).to_csv(folder / f"{name}.csv", index=False)


def _config_text(store_url: str, monitors: list[dict[str, Any]]) -> str:
    text = CONFIG.replace("{store_url}", store_url)
    for key, value in SECRETS.items():
        text = text.replace("{" + key + "}", value)
    for spec in monitors:
        text += MONITOR.format(name=spec["name"], numeric=_toml_list(spec["numeric"]),
                               categorical=_toml_list(spec["categorical"]))
    return text


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


MONITORS: list[dict[str, Any]] = [
    {"name": "churn", "numeric": ["x", SCRIPT], "categorical": ["c"], "shift_from": 3, "seed": 1},
    {"name": "fraud", "numeric": ["amount"], "categorical": [], "shift_from": None, "seed": 2},
    {"name": "removed", "numeric": ["y"], "categorical": [], "shift_from": 0, "seed": 3},
]


def build_project(folder: Path, *, store_url: str | None = None) -> Project:
    """Write the project into ``folder`` and fill its store (``folder/dw.db`` unless ``store_url``)
    by real runs of every window."""
    store_url = store_url or f"sqlite:///{folder / 'dw.db'}"
    for spec in MONITORS:
        _write_data(folder, spec["name"], spec["numeric"], spec["categorical"], spec["shift_from"], spec["seed"])
    config = folder / "config.toml"
    config.write_text(_config_text(store_url, MONITORS), encoding="utf-8")
    full = load(config)
    with Store(full.store.url.reveal()) as store:
        store.create_all()
        context = AlertContext(full.alerts, full.webhooks)
        for i in range(WINDOWS):
            for monitor in full.monitors:
                outcome = run_monitor(monitor, window(i), store=store, options=full.profile,
                                      owner="test", alerts=context, now=window(i).end + timedelta(minutes=1))
                assert outcome.status == "succeeded", outcome
    # The config as it is "after a reload": monitor ``removed`` is gone.
    config.write_text(_config_text(store_url, MONITORS[:2]), encoding="utf-8")
    return Project(folder, load(config))


def finish_segmented_run(store: Store, monitor: str, at: Window, segments: list[str]) -> int:
    """A run of ``monitor`` stored as a monitor with ``segments`` stores one: the whole window's
    drift figures first (``x`` ks 0.1, ok; ``drift_share`` 0.0), then per segment its row count
    (``segments``/``rows``, 100 + its place) and the same figures, alerting (``x`` ks
    0.2 + 0.001 × its place, so later segments look worse). Returns the run id."""
    run_id = store.start_run(monitor, at, owner="test")
    assert run_id is not None

    def result(detector: str, feature: str, metric: str, value: float, status: str, segment: str) -> Result:
        return Result(monitor, run_id, at.start, at.end, detector, feature, metric, value, None, 0.5, status,
                      {}, segment)  # type: ignore[arg-type]

    results = [result("drift", "x", "ks", 0.1, "ok", ""), result("drift", "", "drift_share", 0.0, "ok", "")]
    for place, segment in enumerate(segments):
        results += [result("segments", "", "rows", 100 + place, "ok", segment),
                    result("drift", "x", "ks", 0.2 + 0.001 * place, "alert", segment),
                    result("drift", "", "drift_share", 1.0, "alert", segment)]
    store.finish_run(run_id, results, rows_reference=1000, rows_current=500)
    return run_id


@pytest.fixture(scope="session")
def web_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The session's filled project (read-only: tests copy its store through ``web_store``)."""
    return build_project(tmp_path_factory.mktemp("web-project"))


@pytest.fixture
def web_store(web_project: Project, tmp_path: Path) -> Iterator[Store]:
    """A private copy of the filled store."""
    copy = tmp_path / "dw.db"
    shutil.copyfile(web_project.db, copy)
    with Store(f"sqlite:///{copy}") as store:
        yield store


@pytest.fixture
def settings(web_project: Project) -> Settings:
    """The project's settings, with ``web.auth_token`` set."""
    return web_project.settings


@pytest.fixture
def open_settings(web_project: Project) -> Settings:
    """The project's settings without ``web.auth_token`` (reading is open, changes refused)."""
    return dataclasses.replace(web_project.settings, web=WebSettings())


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(web_store: Store) -> Iterator[AppFactory]:
    """``make_client(**create_app_kwargs)``: a ``TestClient`` over the app on ``web_store``."""
    clients: list[TestClient] = []

    def make(**kwargs: Any) -> TestClient:
        client = TestClient(create_app(web_store, **kwargs))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: AppFactory, settings: Settings) -> TestClient:
    """The app with the project's settings (auth on), sending the bearer token."""
    made = make_client(settings=settings)
    made.headers["Authorization"] = f"Bearer {TOKEN}"
    return made


@pytest.fixture
def open_client(make_client: AppFactory, open_settings: Settings) -> TestClient:
    """The app with no ``web.auth_token``."""
    return make_client(settings=open_settings)

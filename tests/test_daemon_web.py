"""The web app inside ``driftwatch run`` sees the daemon's current config: a monitor removed by
a reload leaves ``/api/v1/monitors`` and ``/metrics`` (R31), the dispatcher's tally reaches
``driftwatch_notifications_total``, and ``web.auth_token`` from the config guards the API.

A real ``Daemon`` in this process with its uvicorn server on a free 127.0.0.1 port, over a
SQLite file, monitors reading CSV files; requests go over HTTP with httpx.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

from driftwatch.scheduler import Daemon

from .conftest import free_port, wait_for

TOKEN = "t0ken-for-the-test"
MONITOR = """
[[monitors]]
name = "{name}"
window = "1h"
[monitors.schema]
numeric = ["x"]
[monitors.current]
type = "file"
path = "cur.csv"
[monitors.reference]
type = "file"
path = "ref.csv"
"""


def write_config(folder: Path, names: list[str]) -> Path:
    rng = np.random.default_rng(1)
    pd.DataFrame({"x": rng.normal(0, 1, 200)}).to_csv(folder / "ref.csv", index=False)
    pd.DataFrame({"x": rng.normal(3, 1, 200)}).to_csv(folder / "cur.csv", index=False)  # drifts
    text = (f'[store]\nurl = "sqlite:///{folder / "dw.db"}"\n[daemon]\nreload_check = "1h"\n'
            f'[web]\nauth_token = "{TOKEN}"\n[alerts]\nchannels = ["log"]\n[channels.log]\ntype = "log"\n')
    text += "".join(MONITOR.format(name=name) for name in names)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def metric_monitors(text: str, name: str) -> set[str]:
    return {s.labels["monitor"] for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name}


def test_the_daemons_web_app_follows_reloads_counts_notifications_and_needs_the_token(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["first", "second"])
    port = free_port()
    daemon = Daemon(config, host="127.0.0.1", port=port)
    daemon.start()
    base = f"http://127.0.0.1:{port}"
    auth = {"authorization": f"Bearer {TOKEN}"}
    try:
        wait_for(lambda: httpx.get(f"{base}/healthz").status_code == 200, 20, "the web server")
        assert httpx.get(f"{base}/api/v1/monitors").status_code == 401  # the token from the config guards it
        wait_for(lambda: daemon.dispatcher is not None and daemon.dispatcher.outcomes[("log", "delivered")] >= 2,
                 30, "both monitors' first alert messages delivered to the log channel")
        names = {m["name"] for m in httpx.get(f"{base}/api/v1/monitors", headers=auth).json()}
        assert {"first", "second"} <= names
        wait_for(lambda: metric_monitors(httpx.get(f"{base}/metrics").text,
                                         "driftwatch_last_run_success_timestamp_seconds") == {"first", "second"},
                 20, "both monitors in /metrics")
        exposition = httpx.get(f"{base}/metrics").text
        delivered = [s.value for f in text_string_to_metric_families(exposition) for s in f.samples
                     if s.name == "driftwatch_notifications_total"
                     and s.labels == {"channel": "log", "outcome": "delivered"}]
        assert delivered and delivered[0] >= 2

        write_config(tmp_path, ["first"])  # "second" is removed
        assert daemon.reload()
        time.sleep(5.5)  # past /metrics' 5-second cache
        assert metric_monitors(httpx.get(f"{base}/metrics").text,
                               "driftwatch_last_run_success_timestamp_seconds") == {"first"}
    finally:
        daemon.stop()

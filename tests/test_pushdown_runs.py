"""A run whose window is profiled in its database stores the same results as one that pulls the
rows (issue 13): drift and data quality on a DuckDB and a PostgreSQL table, ``pushdown =
"require"`` against ``"off"``; and the paths that cannot push down say why (``prefer``) or fail
the run in one line (``require``)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from driftwatch.config import load
from driftwatch.connectors.sql_engines import dispose_engines
from driftwatch.engine import run_monitor
from driftwatch.model import Window
from driftwatch.store import Store

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
WINDOW = Window(T0, T0 + timedelta(days=1))


def _events() -> list[dict[str, Any]]:
    """Two days of events: day one drifts in ``x`` (mean +0.4) and gains a category in ``c``."""
    rng = np.random.default_rng(21)
    rows = []
    for i in range(1200):
        day = i % 2
        x: float | None = float(rng.normal(0.4 if day == 0 else 0.0, 1.0))
        if rng.random() < 0.04:
            x = None
        cats = ["a", "b", "c", "new"] if day == 0 else ["a", "b", "c", "c"]
        rows.append({"ts": (T0 + timedelta(days=day, seconds=i * 60)).replace(tzinfo=None), "x": x,
                     "k": int(rng.integers(0, 9)), "c": str(rng.choice(cats)),
                     "flag": math.inf if rng.random() < 0.01 else float(rng.uniform(0, 1))})
    return rows


@pytest.fixture(params=["duckdb", "postgresql"])
def source_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "duckdb":
        pytest.importorskip("duckdb_engine")
        url = f"duckdb:///{tmp_path / 'src.duckdb'}"
    else:
        url = request.getfixturevalue("postgres_database")
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    table = sa.Table("events", metadata, sa.Column("ts", sa.DateTime), sa.Column("x", sa.Float),
                     sa.Column("k", sa.Integer), sa.Column("c", sa.String(8)), sa.Column("flag", sa.Float))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), _events())
    engine.dispose()
    yield url
    dispose_engines()


def write_reference(folder: Path) -> None:
    rng = np.random.default_rng(3)
    pd.DataFrame({"x": rng.normal(0, 1, 800), "k": rng.integers(0, 9, 800), "c": rng.choice(["a", "b", "c"], 800),
                  "flag": rng.uniform(0, 1, 800)}).to_csv(folder / "ref.csv", index=False)


def monitor_config(folder: Path, name: str, current: str, *, extra: str = "") -> Path:
    """A store and one monitor ``m`` (drift and quality over ``x``, ``k``, ``flag``, ``c``)
    whose ``[monitors.current]`` table holds the lines ``current``; the reference is ref.csv."""
    path = folder / f"{name}.toml"
    path.write_text(f"""
[store]
url = "sqlite:///{folder / (name + '.db')}"
[[monitors]]
name = "m"
window = "1d"
[monitors.schema]
numeric = ["x", "k", "flag"]
categorical = ["c"]
[monitors.current]
{current}
[monitors.reference]
type = "file"
path = "ref.csv"
[[monitors.detectors]]
type = "drift"
[[monitors.detectors]]
type = "quality"
{extra}
""", encoding="utf-8")
    return path


def _config(folder: Path, url: str, pushdown: str, *, extra: str = "") -> Path:
    write_reference(folder)
    current = f'type = "sql"\nurl = "{url}"\ntable = "events"\ntimestamp_column = "ts"\npushdown = "{pushdown}"'
    return monitor_config(folder, pushdown, current, extra=extra)


def _run(config: Path) -> Any:
    settings = load(config)
    with Store(settings.store.url.reveal()) as store:
        store.create_all()
        return run_monitor(settings.monitor("m"), WINDOW, store=store, options=settings.profile, now=WINDOW.end)


def _key(result: Any) -> tuple[Any, ...]:
    return (result.detector, result.feature, result.metric)


def assert_same_results(pushed: Any, pulled: Any,
                        fields: tuple[str, ...] = ("value", "p_value", "threshold")) -> dict[tuple[Any, ...], Any]:
    """Both runs succeeded and stored the same findings: statuses equal, ``fields`` to 1e-9;
    the pulled run's results by key."""
    assert pushed.status == pulled.status == "succeeded", (pushed.error, pulled.error)
    want = {_key(r): r for r in pulled.results}
    got = {_key(r): r for r in pushed.results}
    assert got.keys() == want.keys()
    for key, result in want.items():
        assert got[key].status == result.status, key
        for field in fields:
            a, b = getattr(got[key], field), getattr(result, field)
            assert (a is None and b is None) or a == pytest.approx(b, rel=1e-9, abs=1e-12), (key, field)
    return want


def test_a_pushed_down_run_stores_what_a_pulled_run_stores(source_url: str, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="driftwatch.pushdown"):
        pushed = _run(_config(tmp_path, source_url, "require"))
    pulled = _run(_config(tmp_path, source_url, "off"))
    assert "profiled in the database (600 rows)" in caplog.text
    want = assert_same_results(pushed, pulled)
    drifting = {r.feature for r in pulled.results if r.detector == "drift" and r.status == "alert"}
    assert {"x"} <= drifting  # the shift is caught, so the comparison covers a decision that fired
    assert want[("quality", "c", "new_category_share")].status == "alert"


def test_prefer_pulls_what_cannot_be_pushed_down_and_says_why(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A SQLite timestamp is text: the window is cut after reading, so the rows are pulled."""
    url = f"sqlite:///{tmp_path / 'src.db'}"
    frame = pd.DataFrame(_events())
    frame["ts"] = frame["ts"].map(lambda t: t.isoformat())
    with sa.create_engine(url).begin() as conn:
        frame.to_sql("events", conn, index=False)
    with caplog.at_level(logging.INFO, logger="driftwatch.pushdown"):
        outcome = _run(_config(tmp_path, url, "prefer"))
    assert outcome.status == "succeeded"
    assert "rows pulled, not profiled in the database: timestamp column 'ts' is" in caplog.text
    required = _run(_config(tmp_path, url, "require"))
    assert required.status == "failed" and required.error is not None
    assert required.error.startswith("monitor 'm': pushdown = \"require\", but timestamp column 'ts' is")
    dispose_engines()


def test_require_with_a_detector_that_reads_rows_fails_in_one_line(source_url: str, tmp_path: Path) -> None:
    extra = '[[monitors.detectors]]\ntype = "performance"\n'
    config = _config(tmp_path, source_url, "require", extra=extra)
    text = config.read_text().replace('categorical = ["c"]', 'categorical = ["c"]\ntarget = "k"\nprediction = "k"')
    config.write_text(text)
    outcome = _run(config)
    assert outcome.status == "failed"
    assert outcome.error == "monitor 'm': pushdown = \"require\", but detector 'performance' reads rows"


def test_explain_prints_the_statements_with_their_parameters_apart(source_url: str, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from driftwatch.cli import main

    code = main(["explain", "--config", str(_config(tmp_path, source_url, "prefer")), "--monitor", "m",
                 "--at", "2026-11-02T00:00:00+00:00"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("monitor 'm' window [2026-11-01T00:00:00+00:00, 2026-11-02T00:00:00+00:00)")
    # figures, non-finite figures, a row sample, a GROUP BY; DuckDB counts the rows first, draws the sample in the
    # aggregate scan of a table (keyed by rowid), and has each numeric column's ordered SELECT for when it is short
    duckdb = source_url.startswith("duckdb")
    assert f"profiled in the database ({7 if duckdb else 4} statements)" in out
    assert ("list(row(flag, k, x)) FILTER (WHERE (hash(rowid" if duckdb else "TABLESAMPLE bernoulli") in out
    assert "-- categories of 'c'" in out and "GROUP BY c" in out
    sql = "\n".join(line for line in out.splitlines()[2:] if not line.startswith("--"))
    params = "\n".join(line for line in out.splitlines() if line.startswith("-- parameters"))
    assert "2026-11-01" not in sql and "2026, 11, 1, 0, 0" in params  # the window is bound, never written


def test_explain_says_why_rows_are_pulled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from driftwatch.cli import main

    url = f"sqlite:///{tmp_path / 'src.db'}"
    with sa.create_engine(url).begin() as conn:
        pd.DataFrame({"ts": ["2026-11-01T01:00:00"], "x": [1.0], "k": [1], "c": ["a"], "flag": [0.5]}).to_sql(
            "events", conn, index=False)
    code = main(["explain", "--config", str(_config(tmp_path, url, "require")), "--monitor", "m",
                 "--at", "2026-11-02T00:00:00+00:00"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0 and out[1].startswith("the run fails: timestamp column 'ts' is TEXT on sqlite")
    dispose_engines()


def test_a_database_without_a_function_the_profile_needs_is_pulled_or_fails_naming_it(
        source_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """As if the database had no window functions: the sorted values ask for one it lacks."""
    import driftwatch.pushdown.window as window_module

    def lacking(source: Any, column: str, **_: Any) -> sa.Select[Any]:
        return sa.select(sa.func.no_such_rank(sa.column(column))).select_from(source.selectable)

    monkeypatch.setattr(window_module, "sorted_values", lacking)
    with caplog.at_level(logging.INFO, logger="driftwatch.pushdown"):
        assert _run(_config(tmp_path, source_url, "prefer")).status == "succeeded"
    dialect = source_url.split(":", 1)[0].split("+", 1)[0]
    assert f"rows pulled, not profiled in the database: {dialect} cannot run the profile's SQL: " in caplog.text
    failed = _run(_config(tmp_path, source_url, "require"))
    assert failed.status == "failed" and failed.error is not None and "\n" not in failed.error
    assert failed.error.startswith(f"monitor 'm': pushdown = \"require\", but {dialect} cannot run the profile's SQL")
    assert "no_such_rank" in failed.error


def test_a_statement_that_times_out_fails_the_run_in_one_line_without_the_password(
        tmp_path: Path, postgres_database: str) -> None:
    """PostgreSQL cancels the profile after statement_timeout (a view that sleeps per row): the
    run fails with the database's words, the URL's password masked; nothing is pulled instead."""
    base = sa.engine.make_url(postgres_database)
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE slow_base (ts timestamp, x float8, k int, c text, flag float8)")
        conn.exec_driver_sql("INSERT INTO slow_base SELECT timestamp '2026-11-01' + g * interval '1 minute', g, g, "
                             "'a', 0.5 FROM generate_series(1, 50) g")
        conn.exec_driver_sql("CREATE VIEW slow_events AS SELECT b.*, pg_sleep(0.05)::text AS nap FROM slow_base b")
    engine.dispose()
    secret = "hunter2-not-used-by-trust"
    timed = base.set(password=secret, query={"options": "-c statement_timeout=300"}).render_as_string(
        hide_password=False)
    config = _config(tmp_path, timed, "prefer")
    config.write_text(config.read_text().replace('table = "events"', 'table = "slow_events"'))
    try:
        outcome = _run(config)
    finally:
        dispose_engines()
    assert outcome.status == "failed" and outcome.error is not None
    assert "canceling statement due to statement timeout" in outcome.error and "\n" not in outcome.error
    assert secret not in outcome.error and "***" in outcome.error


def test_a_reference_table_profiled_in_the_database_gives_the_pulled_results(source_url: str, tmp_path: Path,
                                                                              caplog: pytest.LogCaptureFixture) -> None:
    """The reference is the clean second day of the same table, profiled in the database
    (``require``) or read (``off``): the stored results are the same."""
    outcomes = {}
    for mode in ("require", "off"):
        config = _config(tmp_path, source_url, mode)
        text = config.read_text().replace('[monitors.reference]\ntype = "file"\npath = "ref.csv"', f"""
[monitors.reference]
type = "sql"
url = "{source_url}"
table = "events"
timestamp_column = "ts"
pushdown = "{mode}"
start = "2026-11-02T00:00:00Z"
end = "2026-11-03T00:00:00Z"
""")
        config.write_text(text)
        with caplog.at_level(logging.INFO, logger="driftwatch.pushdown"):
            outcomes[mode] = _run(config)
    assert "monitor m reference: profiled in the database (600 rows)" in caplog.text
    pushed, pulled = outcomes["require"], outcomes["off"]
    assert pushed.status == pulled.status == "succeeded", (pushed.error, pulled.error)
    want = {_key(r): r for r in pulled.results}
    got = {_key(r): r for r in pushed.results}
    assert got.keys() == want.keys()
    for key, result in want.items():
        assert (got[key].status, got[key].value) == (result.status, pytest.approx(result.value, rel=1e-9)), key
    assert want[("drift", "x", "ks")].status == "alert"

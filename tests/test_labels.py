"""Late labels through ``run_monitor`` on real files and a real SQLite store: the labels source is
joined to the window on the row id, a rerun after late labels arrive supersedes the first run
(both stay), ``label_delay`` holds performance back until the labels are due (the label-free
estimates do not wait), config and data problems are clear, and the demo shows all of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from driftwatch import demo as demo_module
from driftwatch.config import Settings, load, settings_from_dict
from driftwatch.engine import RunOutcome, run_monitor
from driftwatch.errors import ConfigError
from driftwatch.model import Result, Window
from driftwatch.store import RunRecord, Store

DAY = timedelta(days=1)
START = datetime(2026, 11, 1, tzinfo=timezone.utc)
WINDOW = Window(START, START + DAY)
SCHEMA: dict[str, Any] = {"numeric": ["x"], "target": "y", "prediction": "pred", "score": "score",
                          "sensitive": ["g"], "id": "id"}
PERFORMANCE = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier")
ESTIMATED = ("estimated_accuracy", "estimated_precision", "estimated_recall", "estimated_f1", "estimated_roc_auc")


def model_rows(rng: np.random.Generator, n: int, *, right: float) -> pd.DataFrame:
    """Scores, predictions from them, labels agreeing with the prediction a share ``right`` of
    the time, and a group column."""
    score = rng.uniform(0.02, 0.98, n).round(4)
    pred = (score >= 0.5).astype(int)
    y = np.where(rng.random(n) < right, pred, 1 - pred)
    return pd.DataFrame({"x": rng.normal(size=n).round(4), "pred": pred, "score": score, "y": y,
                         "g": rng.choice(["a", "b"], n)})


@dataclass(frozen=True)
class Data:
    folder: Path
    current: pd.DataFrame   # the window as written, plus the true label of every row (y)

    def write_labels(self, ids: Any, *, y: Any = None) -> None:
        truth = self.current.set_index("id")["y"]
        labels = pd.DataFrame({"id": list(ids), "y": truth.loc[list(ids)].to_numpy() if y is None else y})
        labels.to_csv(self.folder / "labels.csv", index=False)

    def expected(self, ids: Any, y: Any = None) -> dict[str, float]:
        rows = self.current.set_index("id").loc[list(ids)]
        truth = rows["y"].to_numpy() if y is None else np.asarray(y)
        return {"accuracy": skm.accuracy_score(truth, rows["pred"]), "f1": skm.f1_score(truth, rows["pred"]),
                "roc_auc": skm.roc_auc_score(truth, rows["score"])}


@pytest.fixture
def data(tmp_path: Path) -> Data:
    """``ref.csv`` (labelled), ``cur/2026-11-01.csv`` (300 predictions, no label column) and
    ``labels.csv`` with the labels of the first 200 rows. The last 100 rows are mostly wrong,
    so their late labels change every figure."""
    rng = np.random.default_rng(17)
    ref = model_rows(rng, 800, right=0.85)
    ref.insert(0, "id", np.arange(len(ref)))
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur = pd.concat([model_rows(rng, 200, right=0.85), model_rows(rng, 100, right=0.3)], ignore_index=True)
    cur.insert(0, "id", np.arange(1000, 1300))
    (tmp_path / "cur").mkdir()
    cur.drop(columns="y").to_csv(tmp_path / "cur" / "2026-11-01.csv", index=False)
    found = Data(tmp_path, cur)
    found.write_labels(cur["id"][:200])
    return found


def settings(folder: Path, **monitor: Any) -> Settings:
    table: dict[str, Any] = {
        "name": "m", "window": "1d", "schema": SCHEMA,
        "current": {"type": "file", "path": "cur/{start:%Y-%m-%d}.csv"},
        "reference": {"type": "file", "path": "ref.csv"},
        "labels": {"type": "file", "path": "labels.csv"},
        "detectors": [{"type": "performance", "metrics": ["accuracy", "f1", "roc_auc"]}],
    }
    table.update(monitor)
    table = {k: v for k, v in table.items() if v is not None}
    return settings_from_dict({"store": {"url": "sqlite:///dw.db"}, "monitors": [table]},
                              path=folder / "config.toml", environ={})


@pytest.fixture
def store(data: Data) -> Iterator[Store]:
    with Store(f"sqlite:///{data.folder / 'dw.db'}") as opened:
        opened.create_all()
        yield opened


def monitor_run(s: Settings, store: Store, *, now: datetime | None = None, rerun: bool = True) -> RunOutcome:
    return run_monitor(s.monitors[0], WINDOW, store=store, options=s.profile, rerun=rerun,
                       now=now or START + 30 * DAY)


def of(results: list[Result], metric: str, detector: str = "performance", feature: str = "") -> Result:
    found = [r for r in results if r.metric == metric and r.detector == detector and r.feature == feature]
    assert len(found) == 1, [(r.detector, r.feature, r.metric) for r in results]
    return found[0]


def close(a: float | None, b: float) -> bool:
    return a is not None and abs(a - float(b)) <= 1e-9


# --- the join ------------------------------------------------------------------------------------

def test_labels_are_joined_on_schema_id(data: Data, store: Store) -> None:
    out = monitor_run(settings(data.folder), store)
    assert out.status == "succeeded", out.error
    want = data.expected(data.current["id"][:200])
    for name, value in want.items():
        r = of(out.results, name)
        assert close(r.value, value), (name, r.value, value)
        assert r.details["n"] == 200
    coverage = of(out.results, "label_coverage")
    assert coverage.value == pytest.approx(200 / 300)
    assert (coverage.details["rows"], coverage.details["labelled"]) == (300, 200)
    stored = store.results(run_id=out.run_id)
    assert {(r.metric, r.value) for r in stored} == {(r.metric, r.value) for r in out.results}


def test_a_configured_id_column_without_schema_id(data: Data, store: Store) -> None:
    schema = {k: v for k, v in SCHEMA.items() if k != "id"}
    s = settings(data.folder, schema=schema, labels={"type": "file", "path": "labels.csv", "id_column": "id"})
    out = monitor_run(s, store)
    assert out.status == "succeeded", out.error
    assert close(of(out.results, "accuracy").value, data.expected(data.current["id"][:200])["accuracy"])


def test_late_labels_rerun_supersedes_and_both_runs_stay(data: Data, store: Store) -> None:
    s = settings(data.folder)
    first = monitor_run(s, store)
    data.write_labels(data.current["id"])  # the last 100 labels arrive
    second = monitor_run(s, store, rerun=True)
    assert (first.status, second.status) == ("succeeded", "succeeded")
    early, late = data.expected(data.current["id"][:200]), data.expected(data.current["id"])
    for name in ("accuracy", "f1", "roc_auc"):
        assert abs(early[name] - late[name]) > 0.05
        assert close(of(store.results(run_id=first.run_id), name).value, early[name]), name
        assert close(of(store.results(run_id=second.run_id), name).value, late[name]), name
    assert of(second.results, "label_coverage").value == 1.0
    runs: list[RunRecord] = store.runs("m")
    assert [(r.id, r.attempt, r.status) for r in runs] == [(second.run_id, 2, "succeeded"),
                                                           (first.run_id, 1, "succeeded")]
    assert {r.window for r in runs} == {WINDOW}


def test_duplicate_label_ids_keep_the_last(data: Data, store: Store) -> None:
    ids = list(data.current["id"][:200])
    truth = data.current.set_index("id")["y"]
    first = 1 - truth.loc[ids[:50]].to_numpy()   # wrong labels first ...
    last = truth.loc[ids[:50]].to_numpy()        # ... corrected later in the file
    labels = pd.DataFrame({"id": ids[:50] + ids + ids[:50],
                           "y": np.r_[first, truth.loc[ids].to_numpy(), last]})
    labels.loc[50:99, "y"] = 1 - labels.loc[50:99, "y"]  # the middle copy of the first 50 is wrong too
    labels.to_csv(data.folder / "labels.csv", index=False)
    out = monitor_run(settings(data.folder), store)
    assert close(of(out.results, "accuracy").value, data.expected(ids)["accuracy"])
    assert of(out.results, "label_coverage").details["labelled"] == 200


def test_labels_source_wins_where_both_hold_a_label(data: Data, store: Store) -> None:
    cur = data.current.copy()
    cur["y"] = 1 - cur["y"]          # the prediction log holds wrong labels for every row
    cur.to_csv(data.folder / "cur" / "2026-11-01.csv", index=False)
    out = monitor_run(settings(data.folder), store)
    ids = list(cur["id"])
    want = list(data.current["y"][:200]) + list(cur["y"][200:])
    assert close(of(out.results, "accuracy").value, data.expected(ids, want)["accuracy"])
    assert of(out.results, "label_coverage").value == 1.0


def test_target_in_the_current_data_needs_no_labels_source(data: Data, store: Store) -> None:
    data.current.to_csv(data.folder / "cur" / "2026-11-01.csv", index=False)
    (data.folder / "labels.csv").unlink()
    out = monitor_run(settings(data.folder, labels=None), store)
    assert out.status == "succeeded", out.error
    assert close(of(out.results, "accuracy").value, data.expected(data.current["id"])["accuracy"])


def test_reference_labels_are_joined_too(data: Data, store: Store) -> None:
    ref = pd.read_csv(data.folder / "ref.csv")
    ref.drop(columns="y").to_csv(data.folder / "ref.csv", index=False)
    labels = pd.concat([ref[["id", "y"]], pd.read_csv(data.folder / "labels.csv")])
    labels.to_csv(data.folder / "labels.csv", index=False)
    out = monitor_run(settings(data.folder), store)
    assert out.status == "succeeded", out.error
    r = of(out.results, "accuracy")
    assert close(r.details["reference"], skm.accuracy_score(ref["y"], ref["pred"]))
    assert close(r.value, data.expected(data.current["id"][:200])["accuracy"])


# --- label_delay ---------------------------------------------------------------------------------

DUE = WINDOW.end + 2 * DAY


def test_performance_waits_until_labels_are_due(data: Data, store: Store) -> None:
    s = settings(data.folder, label_delay="2d", detectors=[{"type": "performance"}])
    out = monitor_run(s, store, now=DUE - timedelta(seconds=1))
    assert out.status == "succeeded", out.error
    coverage = of(out.results, "label_coverage")
    assert coverage.details["labels_due_at"] == DUE.isoformat()
    assert coverage.value == pytest.approx(200 / 300)  # what has arrived is still counted
    for name in PERFORMANCE:
        r = of(out.results, name)
        assert (r.status, r.value) == ("insufficient_data", None), name
        assert DUE.isoformat() in r.details["reason"] and "not due" in r.details["reason"]
    assert not [r for r in out.results if r.metric == "new_label_share"]
    for name in ESTIMATED:
        r = of(out.results, name)
        assert r.value is not None and r.status in ("ok", "alert"), name


@pytest.mark.parametrize("now", [DUE, DUE + 5 * DAY])
def test_performance_is_computed_once_labels_are_due(data: Data, store: Store, now: datetime) -> None:
    s = settings(data.folder, label_delay="2d", detectors=[{"type": "performance"}])
    out = monitor_run(s, store, now=now)
    assert "labels_due_at" not in of(out.results, "label_coverage").details
    want = data.expected(data.current["id"][:200])
    for name in PERFORMANCE:
        assert of(out.results, name).status in ("ok", "alert"), name
    assert close(of(out.results, "accuracy").value, want["accuracy"])
    for name in ESTIMATED:
        assert of(out.results, name).value is not None


def test_fairness_label_based_disparities_wait_for_labels_too(data: Data, store: Store) -> None:
    s = settings(data.folder, label_delay="2d",
                 detectors=[{"type": "performance"}, {"type": "fairness", "min_group_size": 10}])
    out = monitor_run(s, store, now=DUE - DAY)
    assert of(out.results, "demographic_parity_ratio", "fairness", "g").value is not None  # needs no labels
    for name in ("equalized_odds_difference", "equalized_odds_ratio", "equal_opportunity_difference"):
        assert of(out.results, name, "fairness", "g").status == "insufficient_data", name


@pytest.mark.parametrize("detectors", [[{"type": "fairness"}], [{"type": "drift"}, {"type": "quality"}]])
def test_labels_join_without_a_performance_detector(data: Data, store: Store, detectors: list[Any]) -> None:
    out = monitor_run(settings(data.folder, detectors=detectors), store)
    assert out.status == "succeeded", out.error


# --- config and data problems --------------------------------------------------------------------

def test_labels_without_an_id_column_is_a_config_problem(data: Data) -> None:
    schema = {k: v for k, v in SCHEMA.items() if k != "id"}
    with pytest.raises(ConfigError) as caught:
        settings(data.folder, schema=schema)
    assert "monitors[0].labels.id_column: labels are joined on a row id" in str(caught.value)
    assert "schema.id" in str(caught.value)


@pytest.mark.parametrize("value", ["2 days", 2, ""])
def test_bad_label_delay_is_a_config_problem(data: Data, value: Any) -> None:
    with pytest.raises(ConfigError, match=r"monitors\[0\]\.label_delay: "):
        settings(data.folder, label_delay=value)


def test_id_column_missing_from_the_current_data_fails_the_run(data: Data, store: Store) -> None:
    data.current.drop(columns=["id", "y"]).to_csv(data.folder / "cur" / "2026-11-01.csv", index=False)
    out = monitor_run(settings(data.folder), store)
    assert out.status == "failed"
    assert out.error is not None and "'id'" in out.error
    run = store.run(out.run_id)  # type: ignore[arg-type]
    assert run is not None and run.status == "failed"
    [error] = store.results(run_id=out.run_id)
    assert (error.detector, error.metric, error.status) == ("engine", "run", "error")
    assert "'id'" in error.details["error"]


def test_ids_of_another_type_in_the_labels_source_still_join(data: Data, store: Store) -> None:
    ids = data.current["id"][:200]
    truth = data.current.set_index("id")["y"].loc[list(ids)].to_numpy()
    pd.DataFrame({"id": ids.astype(str), "y": truth}).to_parquet(data.folder / "labels.parquet", index=False)
    out = monitor_run(settings(data.folder, labels={"type": "file", "path": "labels.parquet"}), store)
    assert out.status == "succeeded", out.error
    assert of(out.results, "label_coverage").value == pytest.approx(200 / 300)
    assert close(of(out.results, "accuracy").value, data.expected(ids)["accuracy"])


def test_labels_source_without_the_label_column_fails_the_run(data: Data, store: Store) -> None:
    pd.DataFrame({"id": data.current["id"], "label": data.current["y"]}).to_csv(data.folder / "labels.csv",
                                                                                index=False)
    out = monitor_run(settings(data.folder), store)
    assert out.status == "failed"
    assert out.error is not None and "labels source" in out.error and "'y'" in out.error


# --- the demo ------------------------------------------------------------------------------------

TODAY = datetime(2026, 11, 8, 12, tzinfo=timezone.utc)


@dataclass(frozen=True)
class DemoRuns:
    windows: tuple[Window, ...]
    results: list[list[Result]]   # per window, oldest first


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> DemoRuns:
    written = demo_module.write(tmp_path_factory.mktemp("demo"), today=TODAY)
    s = load(written.config)
    with Store(s.store.url.reveal()) as store:
        store.create_all()
        outcomes = [run_monitor(s.monitors[0], w, store=store, options=s.profile, now=TODAY)
                    for w in written.windows]
        assert [o.status for o in outcomes] == ["succeeded"] * 7, [o.error for o in outcomes]
        stored = [store.results(run_id=o.run_id) for o in outcomes]
    return DemoRuns(written.windows, stored)


def test_demo_days_1_and_2_have_no_performance_or_fairness_alert(demo_runs: DemoRuns) -> None:
    for results in demo_runs.results[:2]:
        assert [r for r in results if r.detector in ("performance", "fairness")]
        assert [(r.feature, r.metric) for r in results
                if r.detector in ("performance", "fairness") and r.status == "alert"] == []
        assert of(results, "accuracy").status == "ok"


@pytest.mark.parametrize("index", [2, 3, 4])
def test_demo_accuracy_alerts_from_day_3_where_labels_are_due(demo_runs: DemoRuns, index: int) -> None:
    results = demo_runs.results[index]
    assert demo_runs.windows[index].end + 2 * DAY <= TODAY
    for name in ("accuracy", "precision", "f1"):
        r = of(results, name)
        assert r.status == "alert", (name, r.value, r.threshold)
    accuracy = of(results, "accuracy")
    assert accuracy.details["rule"] == "max_drop"
    assert accuracy.value is not None and accuracy.value < accuracy.details["reference"] - 0.05
    assert of(results, "label_coverage").value == 1.0


@pytest.mark.parametrize("index", range(2, 7))
def test_demo_gender_parity_alerts_from_day_3(demo_runs: DemoRuns, index: int) -> None:
    r = of(demo_runs.results[index], "demographic_parity_ratio", "fairness", "gender")
    assert r.value is not None and r.value < 0.8
    assert (r.status, r.threshold) == ("alert", 0.8)
    rates = {row["group"][0]: row["selection_rate"] for row in r.details["groups"]}
    assert rates["F"] < 0.8 * rates["M"]  # the hurt group is F


@pytest.mark.parametrize("index", [5, 6])
def test_demo_last_two_windows_wait_for_labels_but_estimate(demo_runs: DemoRuns, index: int) -> None:
    results = demo_runs.results[index]
    due = demo_runs.windows[index].end + 2 * DAY
    assert due > TODAY
    assert of(results, "label_coverage").details["labels_due_at"] == due.isoformat()
    for name in PERFORMANCE:
        r = of(results, name)
        assert (r.status, r.value) == ("insufficient_data", None), name
        assert due.isoformat() in r.details["reason"]
    for name in ESTIMATED:
        r = of(results, name)
        assert r.value is not None and 0 < r.value < 1, name

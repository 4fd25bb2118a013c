"""``driftwatch calibrate`` (the A/A dry run) and the warnings ``driftwatch validate`` gives for
deprecated keys and windows too small to alert. Real files, a real SQLite store, ``main`` in-process."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwatch.calibrate import calibrate, false_pages
from driftwatch.detectors import DriftDetector, MultivariateDetector, QualityDetector
from driftwatch.model import Result, Window

from .test_cli import PROBLEM_LINE, run, store_of, write_config, write_data


def test_false_pages_by_hand() -> None:
    expected, upper = false_pages(0, 200, 720)
    assert expected == 0.0
    # Clopper-Pearson with no event: 1 - (0.025)^(1/n)
    assert upper == pytest.approx(720 * (1 - 0.025 ** (1 / 200)), rel=1e-9)
    # two breaching windows in a row are needed: rate squared
    assert false_pages(2, 200, 720, for_runs=2)[0] == pytest.approx(720 * 0.01**2, rel=1e-12)
    assert false_pages(200, 200, 30) == (30.0, 30.0)


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.lognormal(size=n), "y": rng.standard_t(3, size=n),
                         "c": rng.choice(list("abcde"), n, p=[0.4, 0.3, 0.15, 0.1, 0.05])})


def test_default_detectors_are_quiet_on_a_split_reference_and_say_what_they_could_see() -> None:
    result = calibrate("m", _frame(3_000, 1), (DriftDetector(), QualityDetector()), schema=None, rows=300,
                       draws=20, period=timedelta(hours=1))
    assert (result.draws, result.rows, result.reference_rows) == (20, 300, 2_700)
    assert result.windows_per_month == 720
    assert result.any_alert_draws <= 1
    assert set(result.detectable) == {"x", "y", "c"}
    assert result.detectable["x"].method == "ks" and result.detectable["c"].method == "jensenshannon"
    assert 0.02 < result.detectable["x"].mde_sd < 1.0 and result.detectable["c"].mde_sd is None


def test_a_trigger_happy_detector_is_caught_over_budget() -> None:
    eager = DriftDetector(alpha=0.5, correction="none", threshold=1e-6)
    result = calibrate("m", _frame(2_000, 2), (eager,), schema=None, rows=200, draws=20, period=timedelta(days=1))
    assert result.any_alert_draws >= 15
    expected, _ = result.pages(result.any_alert_draws)
    assert expected == pytest.approx(30 * result.any_alert_draws / 20) and expected > 1


@pytest.mark.parametrize("rows, draws, message", [(0, 5, "rows"), (1_001, 5, "rows"), (10, 0, "draws")])
def test_bad_sizes_are_named(rows: int, draws: int, message: str) -> None:
    with pytest.raises(ValueError, match=rf"^{message}:"):
        calibrate("m", _frame(2_000, 3), (DriftDetector(),), schema=None, rows=rows, draws=draws,
                  period=timedelta(hours=1))


# --- the command ----------------------------------------------------------------------------------

def test_calibrate_command_within_and_over_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path)
    code, out, err = run(capsys, "calibrate", "--config", str(config), "--draws", "10", "--rows", "150")
    assert (code, err) == (0, "")
    assert "monitor 'm1': 10 A/A draws of 150 rows against 450 reference rows; 30 windows per 30 days" in out
    assert "expected false pages per 30 days: 0.00 (within the budget of 1)" in out
    assert [line.split()[:2] for line in out.splitlines() if line.startswith(("x ", "c "))] == [
        ["c", "jensenshannon"], ["x", "ks"]]
    assert not (tmp_path / "dw.db").exists()  # nothing stored, no store created to find the usual size
    eager = write_config(tmp_path, extra='[[monitors.detectors]]\ntype = "drift"\nalpha = 0.9\nthreshold = 1e-9\n'
                                         'correction = "none"\n')
    code, out, _ = run(capsys, "calibrate", "--config", str(eager), "--draws", "10", "--rows", "150")
    assert code == 1 and "(over the budget of 1)" in out


def test_calibrate_takes_the_usual_window_size_from_the_stores_history(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path)
    assert run(capsys, "check", "--config", str(config), "--at", "2026-11-02T06:00:00+00:00")[0] == 0
    code, out, _ = run(capsys, "calibrate", "--config", str(config), "--draws", "3")
    assert code == 0 and "3 A/A draws of 300 rows" in out  # the stored run's 300 rows


def test_calibrate_bad_arguments_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path)
    for argv, needle in ((("--monitor", "nope"), "unknown monitor 'nope'"), (("--draws", "0"), "--draws"),
                         (("--budget", "-1"), "--budget")):
        code, _, err = run(capsys, "calibrate", "--config", str(config), *argv)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


# --- validate's warnings --------------------------------------------------------------------------

def test_validate_warns_about_large_sample_with_its_line_and_still_passes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path, extra='[[monitors.detectors]]\ntype = "drift"\nlarge_sample = 5000\n')
    code, out, err = run(capsys, "validate", str(config))
    assert code == 0 and "ok (1 monitor)" in out
    [line] = err.strip().splitlines()
    match = PROBLEM_LINE.match(line)
    assert match is not None, line
    assert match["file"] == f"{config}:{len(config.read_text().splitlines())}"
    assert match["key"] == "monitors[0].detectors[0].large_sample"
    assert match["msg"].startswith("warning: no longer used")


def test_validate_warns_when_recent_windows_are_too_small_for_every_detector(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = write_config(tmp_path)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with store_of(tmp_path) as store:
        store.create_all()
        for day in range(3):
            window = Window(start + timedelta(days=day), start + timedelta(days=day + 1))
            run_id = store.start_run("m1", window, owner="test")
            assert run_id is not None
            store.finish_run(run_id, [Result("m1", run_id, window.start, window.end, "drift", "", "drift_share",
                                             None, None, 0.5, "insufficient_data")], rows_reference=600,
                             rows_current=12)
    code, out, err = run(capsys, "validate", str(config))
    assert code == 0 and "ok (1 monitor)" in out
    [line] = err.strip().splitlines()
    assert line.startswith(f"{config}: monitors[0]: warning: monitor 'm1': its last windows held a median of 12 rows")
    assert "under min_rows of every detector (drift 30, quality 30): none of its rules can alert" in line


def test_a_multivariate_detector_is_calibrated_on_the_reference_rows_it_keeps() -> None:
    """Each draw's reference profile keeps rows for it: quiet by default, and it does run (a
    detector that alerts on any rise alerts in many draws; without rows it would only error)."""
    quiet = calibrate("m", _frame(3_000, 1), (MultivariateDetector(),), schema=None, rows=300, draws=20,
                      period=timedelta(hours=1))
    eager = calibrate("m", _frame(3_000, 1), (MultivariateDetector(alpha=0.9, threshold=1e-9),), schema=None,
                      rows=300, draws=20, period=timedelta(hours=1))
    assert quiet.any_alert_draws <= 1
    assert eager.alert_draws[("multivariate", "reconstruction_error")] >= 5

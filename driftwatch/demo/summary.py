"""What ``driftwatch demo`` prints: one line per window that a newcomer reads in ten seconds.

Per window it names what went wrong, by kind: the features that drifted (and whether the
columns moved together, the multivariate check), the data-quality checks that failed, the
performance and fairness figures out of bounds, and how many alert messages went out. Every
figure stays in the store and in ``driftwatch demo --all``; this says where to look next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from ..model import Result
from ..output import table_text, window_text

__all__ = ["summary"]

HEADER = ("window", "drifted", "failing quality checks", "performance", "fairness", "alerts sent")
#: Names a cell lists before it says how many more there are (the full list: ``--all``).
MOST_NAMES = 3


def _names(names: Sequence[str]) -> str:
    """``a, b, c +2``: the first few names and how many more, or ``-`` for none."""
    if not names:
        return "-"
    more = len(names) - MOST_NAMES
    return ", ".join(names[:MOST_NAMES]) + (f" +{more}" if more > 0 else "")


def _quality(result: Result) -> str:
    """``employment missing`` for ``missing_share`` of ``employment``."""
    return f"{result.feature} {result.metric.removesuffix('_share').replace('_', ' ')}".strip()


def _cells(results: Sequence[Result]) -> list[str]:
    alerts = [r for r in results if r.status == "alert" and not r.segment]
    drifted = [r.feature for r in alerts if r.detector == "drift" and r.feature]
    drifted += ["jointly"] * any(r.detector == "multivariate" for r in alerts)
    quality = [_quality(r) for r in alerts if r.detector == "quality"]
    performance = [r.metric for r in alerts if r.detector == "performance"]
    fairness = list(dict.fromkeys(r.feature for r in alerts if r.detector == "fairness"))  # by sensitive column
    return [_names(cell) for cell in (drifted, quality, performance, fairness)]


def summary(results: Sequence[Result], messages: Mapping[int, int]) -> str:
    """Per monitor, one row per run in ``results`` (by window, in order), ``messages`` being the
    alert messages each run id queued. ``jointly``: the multivariate check saw the columns move
    together; fairness names the sensitive columns with a disparity out of bounds.

    >>> from datetime import timezone
    >>> day = datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 2, tzinfo=timezone.utc)
    >>> rs = [Result("m", 1, *day, "drift", "income", "psi", 0.4, 0.0, 0.2, "alert"),
    ...       Result("m", 1, *day, "drift", "age", "ks", 0.01, 0.9, 0.05, "ok"),
    ...       Result("m", 1, *day, "quality", "employment", "missing_share", 0.2, 0.0, 0.1, "alert"),
    ...       Result("m", 1, *day, "fairness", "gender", "demographic_parity_ratio", 0.5, None, 0.8, "alert")]
    >>> print(summary(rs, {1: 2}))
    m: 1 window
    window      drifted  failing quality checks  performance  fairness  alerts sent
    2026-11-01  income   employment missing      -            gender    2
    """
    runs: dict[str, dict[tuple[datetime | None, datetime | None, int | None], list[Result]]] = {}
    for r in results:
        runs.setdefault(r.monitor, {}).setdefault((r.window_start, r.window_end, r.run_id), []).append(r)
    blocks = []
    for monitor, by_run in runs.items():
        rows = [[window_text(start, end), *_cells(found), str(messages.get(run_id, 0)) if run_id else "-"]
                for (start, end, run_id), found in by_run.items()]
        blocks.append(f"{monitor}: {len(rows)} window{'s' * (len(rows) != 1)}\n{table_text(HEADER, rows)}")
    return "\n\n".join(blocks)

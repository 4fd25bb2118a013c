"""New and vanished categories beyond a profile's kept ones (issue 12, defect 6).

With more distinct categories than ``max_categories`` the reference sums the rest as ``other``;
before, every current row outside the kept categories counted as new and no tail category could
vanish (10^6 ids a side, half shared: 1.0 new and 0.01 vanished instead of 0.5 and 0.5). The
shares here are hand-computed; 20,000 categories with ``max_categories=100`` stand for the
million with 10,000.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import driftwatch
from driftwatch import membership
from driftwatch.profiling import ProfileOptions


def quality(results: list[driftwatch.Result], metric: str) -> driftwatch.Result:
    return next(r for r in results if r.detector == "quality" and r.feature == "c" and r.metric == metric)


def labels(prefix: str, n: int, repeat: int = 1) -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(n) for _ in range(repeat)]


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference: k00000-k00099 five rows each (kept), t00000-t19899 one row each (the tail).
    Current: k00000-k00049 twice, t00000-t09999 once, and 5,000 categories never seen."""
    ref = labels("k", 100, 5) + labels("t", 19_900)
    cur = labels("k", 50, 2) + labels("t", 10_000) + labels("n", 5_000)
    rng = np.random.default_rng(0)
    return pd.DataFrame({"c": rng.permutation(ref)}), pd.DataFrame({"c": rng.permutation(cur)})


def test_shares_beyond_the_kept_categories_are_exact() -> None:
    ref, cur = frames()
    results = driftwatch.check(ref, cur, max_categories=100)
    new = quality(results, "new_category_share")
    assert new.value == 5_000 / 15_100  # before: (10,000 tail + 5,000 new) / 15,100
    assert new.details["count"] == 5_000
    assert new.details["top"] == {f"n{i:05d}": 1 for i in range(10)}
    assert "note" not in new.details
    # nothing is guessed from "other" any more: the unseen mass is the reference's singletons
    assert new.details["expected"] == pytest.approx(19_900 / 20_400, rel=1e-12)
    gone = quality(results, "vanished_category_share")
    # k00050-k00099 (5 rows each) and t10000-t19899 (1 row each); before: 250 / 20,400
    assert gone.value == (50 * 5 + 9_900) / 20_400
    assert gone.details["count"] == 50 + 9_900
    assert gone.details["tail"] == {"categories": 9_900, "rows": 9_900, "rows_at_most": 9_900}
    assert list(gone.details["top"]) == [f"k{i:05d}" for i in range(50, 60)]


def test_the_issue_shape_half_shared_ids_read_one_half_each_and_page_nobody() -> None:
    # 20,000 distinct ids a side, the second half of the reference's shared
    ref = pd.DataFrame({"c": labels("c", 20_000)})
    cur = pd.DataFrame({"c": [f"c{i:05d}" for i in range(10_000, 30_000)]})
    results = driftwatch.check(ref, cur, max_categories=100)
    new, gone = quality(results, "new_category_share"), quality(results, "vanished_category_share")
    assert (new.value, gone.value) == (0.5, 0.5)
    # an id column: a fresh sample of it would be all new ids and lack every reference id, so
    # both expectations are 1 and half is no cause for alarm
    assert new.details["expected"] == pytest.approx(1.0) and gone.details["expected"] == pytest.approx(1.0)
    assert (new.status, gone.status) == ("ok", "ok")


def test_past_the_exact_limit_a_bloom_filter_gives_the_shares_within_its_rate(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(membership, "EXACT_LIMIT", 1_000)
    ref, cur = frames()
    profile = driftwatch.profile(ref, options=ProfileOptions(max_categories=100))
    tail = profile.columns["c"].tail
    assert tail is not None and not tail.exact
    results = driftwatch.check(profile, cur)
    new = quality(results, "new_category_share")
    # a new category passes for a known one at the 0.1 % rate: of 5,000, about 5 (sd 2.2)
    assert 5_000 - 25 <= new.value * 15_100 <= 5_000
    assert "Bloom filter" in new.details["note"]
    gone = quality(results, "vanished_category_share")
    # the tail's counts are all 1, so its bounds meet, off only by the estimated false positives
    assert gone.details["tail"]["rows"] == gone.details["tail"]["rows_at_most"]
    assert abs(gone.value * 20_400 - (250 + 9_900)) <= 25


def test_an_unchanged_long_tailed_column_does_not_warn_of_vanished_categories() -> None:
    # 6,000 Zipf categories, 2,000 rows a side: most reference categories are seen once and
    # vanish from any fresh sample. The plug-in (1 - r/n)^m expected a third of what vanishes,
    # so every such run warned. Judged with every category kept and with a tail of all but 100.
    rng = np.random.default_rng(5)
    ids = np.array(labels("id", 6_000), dtype=object)
    p = 1.0 / np.arange(1, 6_001) ** 1.1
    p /= p.sum()
    statuses = []
    for _ in range(8):
        ref = pd.DataFrame({"c": ids[rng.choice(6_000, 2_000, p=p)]})
        cur = pd.DataFrame({"c": ids[rng.choice(6_000, 2_000, p=p)]})
        for kept in (10_000, 100):
            gone = quality(driftwatch.check(ref, cur, max_categories=kept), "vanished_category_share")
            assert abs(gone.value - gone.details["expected"]) < 0.05
            statuses.append(gone.status)
    assert statuses == ["ok"] * 16

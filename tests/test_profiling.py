"""Reference profiles: what they keep, thinning, serialisation, and schema inference."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import driftwatch
from driftwatch import DataError, Profile, Schema, Window, engine, membership, profiling
from driftwatch.column_profile import profile_categorical, profile_numeric
from driftwatch.membership import category_hashes
from driftwatch.profiling import ProfileOptions, cache_key
from driftwatch.values import category_counts, numeric_values


def hand_edges(values: np.ndarray, bins: int = 10) -> np.ndarray:
    """Reference minimum, the distinct quantiles at i / bins, and just above the maximum."""
    s = np.sort(values[np.isfinite(values)])
    inner = np.quantile(s, np.arange(1, bins) / bins)
    return np.unique(np.concatenate(([s[0]], inner, [np.nextafter(s[-1], np.inf)])))


def hand_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(-inf, e0) | [e0, e1) | ... | [e_last, +inf), NaN left out, ±inf in the outer bins."""
    v = values[~np.isnan(values)]
    inner = [int(np.count_nonzero((v >= lo) & (v < hi))) for lo, hi in zip(edges[:-1], edges[1:])]
    return np.array([int(np.count_nonzero(v < edges[0])), *inner, int(np.count_nonzero(v >= edges[-1]))])


def drift_json(results: list[driftwatch.Result]) -> list[dict[str, object]]:
    return [r.to_json() for r in results]


# --- numeric profiles ------------------------------------------------------------------------

def test_numeric_profile_keeps_sorted_finite_values_and_counts() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(3.0, 2.0, 997), [np.nan] * 5, [np.inf] * 2, [-np.inf] * 3])
    rng.shuffle(values)
    col = profile_numeric(pd.Series(values), "x")
    finite = values[np.isfinite(values)]
    np.testing.assert_array_equal(col.sorted_values, np.sort(finite))
    assert (col.n, col.n_missing, col.n_finite, col.n_posinf, col.n_neginf) == (1007, 5, 997, 2, 3)
    assert col.n_present == 1002
    assert col.mean == pytest.approx(finite.mean(), rel=0, abs=1e-12)
    assert col.std == pytest.approx(np.std(finite, ddof=1), rel=0, abs=1e-12)
    assert (col.minimum, col.maximum) == (finite.min(), finite.max())
    assert col.kind == "numeric" and col.dtype == "float64"


def test_numeric_bins_are_reference_quantiles_with_open_outer_bins() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=2_345)
    col = profile_numeric(pd.Series(values), "x", bins=10)
    np.testing.assert_array_equal(col.edges, hand_edges(values))
    np.testing.assert_array_equal(col.bin_counts, hand_counts(values, hand_edges(values)))
    assert col.bin_counts[0] == 0 and col.bin_counts[-1] == 0  # the reference is inside its own range
    assert col.bin_counts.sum() == values.size


def test_bins_option_sets_the_number_of_quantile_bins() -> None:
    values = np.random.default_rng(2).random(1_000)
    col = profile_numeric(pd.Series(values), "x", bins=4)
    np.testing.assert_array_equal(col.edges, hand_edges(values, bins=4))
    assert col.bin_counts.size == 4 + 2


def test_a_value_on_a_quantile_lands_in_the_bin_it_starts() -> None:
    values = np.arange(101.0)  # quantiles at i/10 are exactly 10, 20, ..., 90
    col = profile_numeric(pd.Series(values), "x", bins=10)
    np.testing.assert_array_equal(col.edges, hand_edges(values))
    assert col.bin_counts.tolist() == [0] + [10] * 9 + [11, 0]


def test_tied_quantiles_collapse_into_distinct_edges() -> None:
    values = np.array([1.0] * 80 + [2.0] * 15 + [3.0] * 5)
    col = profile_numeric(pd.Series(values), "x")
    assert np.all(np.diff(col.edges) > 0)
    np.testing.assert_array_equal(col.edges, hand_edges(values))
    assert col.bin_counts.sum() == 100


def test_constant_column_has_below_at_and_above_bins() -> None:
    col = profile_numeric(pd.Series([5.0] * 40), "x")
    assert col.edges.tolist() == [5.0, np.nextafter(5.0, np.inf)]
    assert col.bin_counts.tolist() == [0, 40, 0]
    assert col.std == 0.0


def test_current_side_uses_the_given_edges_and_bins_infinities_outside() -> None:
    ref = profile_numeric(pd.Series(np.arange(100.0)), "x")
    cur = profile_numeric(pd.Series([-np.inf, -5.0, 0.0, 50.0, 99.0, 99.5, 1e9, np.inf, np.nan]), "x", edges=ref.edges)
    assert cur.edges is ref.edges
    assert cur.bin_counts[0] == 2  # -inf and -5
    assert cur.bin_counts[-1] == 3  # 99.5, 1e9 and +inf
    assert cur.bin_counts.sum() == 8  # NaN is not binned


def test_all_missing_numeric_column() -> None:
    col = profile_numeric(pd.Series([np.nan] * 10), "x")
    assert (col.n, col.n_missing, col.n_finite) == (10, 10, 0)
    assert math.isnan(col.mean) and math.isnan(col.minimum)
    assert col.edges.size == 0 and col.bin_counts.tolist() == [0]


def test_numeric_values_reads_numeric_strings_and_names_the_bad_text() -> None:
    np.testing.assert_array_equal(numeric_values(pd.Series(["1.5", None, "2"]), "x"), [1.5, np.nan, 2.0])
    with pytest.raises(DataError, match=r"column 'amount'.*'oops'.*2 such rows"):
        numeric_values(pd.Series(["1.0", "oops", "2", "nope"]), "amount")


def test_nullable_integers_read_as_floats_with_nan() -> None:
    values = numeric_values(pd.Series(pd.array([1, None, 3], dtype="Int64")), "n")
    np.testing.assert_array_equal(values, [1.0, np.nan, 3.0])


# --- categorical profiles --------------------------------------------------------------------

def test_category_keys_are_normalised_across_dtypes() -> None:
    counts, missing = category_counts(pd.Series([True, False, True, None], dtype=object))
    assert counts.to_dict() == {"true": 2, "false": 1} and missing == 1
    counts, missing = category_counts(pd.Series([3.0, 3.0, np.nan, 1.0]))
    assert counts.to_dict() == {"3": 2, "1": 1} and missing == 1
    ints, _ = category_counts(pd.Series([3, 3, 1]))
    assert ints.to_dict() == counts.to_dict()


def test_unused_categories_of_a_pandas_categorical_are_not_counted() -> None:
    counts, missing = category_counts(pd.Series(pd.Categorical(["a", "a", None], categories=["a", "b"])))
    assert counts.to_dict() == {"a": 2} and missing == 1


def test_categories_are_ordered_by_count_then_name() -> None:
    counts, _ = category_counts(pd.Series(list("bbaccd")))
    assert list(counts.index) == ["b", "c", "a", "d"]


def test_max_categories_keeps_the_most_frequent_and_sums_the_rest() -> None:
    series = pd.Series(["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2 + ["e", "f", None])
    col = profile_categorical(series, "c", max_categories=2)
    assert col.category_counts() == {"a": 5, "b": 4}
    assert col.other_count == 7
    # what Good-Turing needs of the lumped tail: two categories seen once, one seen twice
    assert (col.other_singletons, col.other_doubletons) == (2, 1)
    assert (col.n, col.n_missing, col.n_present) == (17, 1, 16)


def _many_categories(seed: int = 9) -> pd.Series:
    """20,000 distinct categories, 1 to 4 rows each (seeded), shuffled."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 5, 20_000)
    return pd.Series(rng.permutation(np.repeat([f"v{i:05d}" for i in range(20_000)], counts)))


def test_categories_beyond_max_categories_stay_known_as_a_hash_set() -> None:
    series = _many_categories()
    col = profile_categorical(series, "c", max_categories=100)
    counts = series.value_counts()
    assert len(col.categories) == 100 and col.other_count == len(series) - int(col.counts.sum())
    tail = col.tail
    assert tail is not None and tail.exact
    rest = counts.drop(list(col.categories))
    assert (tail.n_categories, tail.rows) == (19_900, col.other_count)
    # its frequency of frequencies, of which the Good-Turing singletons / doubletons are two
    values, freqs = np.unique(rest.to_numpy(), return_counts=True)
    assert (tail.values.tolist(), tail.freqs.tolist()) == (values.tolist(), freqs.tolist())
    assert (col.other_singletons, col.other_doubletons) == (freqs[0], freqs[1])
    # every tail category, and no other, is a member, with its own count
    hashes = category_hashes(rest.index.to_numpy(dtype=object))
    member, where = tail.lookup(hashes)
    assert member.all() and where is not None
    np.testing.assert_array_equal(tail.counts[where], rest.to_numpy())
    assert not tail.lookup(category_hashes(np.array(["v20000", "v1", list(col.categories)[0]], dtype=object)))[0].any()


def test_an_integer_tail_is_known_to_a_float_current_column() -> None:
    # keys are normalised before hashing: 7 and 7.0 are the one category "7" on both sides
    ref = pd.DataFrame({"n": np.arange(20_000)})
    cur = pd.DataFrame({"n": np.arange(10_000, 30_000, dtype=np.float64)})
    results = driftwatch.check(ref, cur, {"categorical": ["n"]}, max_categories=100)
    new = next(r for r in results if r.metric == "new_category_share")
    assert new.value == 0.5


# --- whole profiles --------------------------------------------------------------------------

def test_profile_infers_the_schema_and_summarises_each_feature() -> None:
    ref = pd.DataFrame({"x": [0.5, 1.5, 2.5], "c": ["a", "b", "a"], "ts": pd.date_range("2026-01-01", periods=3)})
    p = driftwatch.profile(ref)
    assert p.schema == Schema(numeric=("x",), categorical=("c",), timestamp="ts")
    assert set(p.columns) == {"x", "c"}
    assert p.n_rows == 3


def test_profile_rejects_a_schema_column_the_reference_lacks() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(DataError, match="'income'"):
        driftwatch.profile(ref, {"numeric": ["x", "income"]})


def test_profile_honours_an_explicit_schema() -> None:
    ref = pd.DataFrame({"n": np.arange(100), "extra": np.arange(100.0)})
    p = driftwatch.profile(ref, {"categorical": ["n"]})
    assert set(p.columns) == {"n"} and p.columns["n"].kind == "categorical"


@pytest.mark.parametrize("kwargs, key", [
    ({"bins": 1}, "bins"),
    ({"max_sample": 99}, "max_sample"),
    ({"max_categories": True}, "max_categories"),
    ({"max_categories": 0}, "max_categories"),
    ({"bins": 2.5}, "bins"),
])
def test_profile_options_reject_bad_values(kwargs: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=f"^{key}:"):
        ProfileOptions(**kwargs)  # type: ignore[arg-type]


# --- thinning --------------------------------------------------------------------------------

def test_thinning_keeps_max_sample_order_statistics_and_the_true_counts() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=50_000)
    p = driftwatch.profile(pd.DataFrame({"x": values}), options=ProfileOptions(max_sample=1_000))
    col = p.columns["x"]
    assert col.sorted_values.size == 1_000
    assert col.n_finite == 50_000
    assert col.sorted_values[0] == values.min() and col.sorted_values[-1] == values.max()
    assert np.all(np.diff(col.sorted_values) >= 0)
    assert np.isin(col.sorted_values, values).all()
    # moments, range and bins still come from all rows
    assert col.mean == pytest.approx(values.mean(), rel=0, abs=1e-12)
    np.testing.assert_array_equal(col.bin_counts, hand_counts(values, hand_edges(values)))


def test_thinned_ks_is_within_one_over_max_sample_of_the_full_statistic() -> None:
    rng = np.random.default_rng(4)
    ref = rng.normal(size=50_000)
    for shift in (0.0, 0.05, 0.3):
        cur = rng.normal(shift, size=4_000)
        results = driftwatch.check(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), method="ks", max_sample=1_000)
        ks = next(r for r in results if r.metric == "ks")
        full = stats.ks_2samp(ref, cur)
        assert abs(ks.value - full.statistic) <= 1 / 1_000 + 1e-9
        # the p-value uses the true sample sizes (asymptotic Kolmogorov distribution)
        en = round(50_000 * 4_000 / 54_000)
        assert ks.p_value == pytest.approx(float(stats.kstwo.sf(ks.value, en)), rel=0, abs=1e-9)


def test_below_max_sample_nothing_is_thinned() -> None:
    values = np.random.default_rng(5).normal(size=5_000)
    col = driftwatch.profile(pd.DataFrame({"x": values}), options=ProfileOptions(max_sample=5_000)).columns["x"]
    np.testing.assert_array_equal(col.sorted_values, np.sort(values))


# --- serialisation ---------------------------------------------------------------------------

def _mixed_reference(seed: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 800
    x = rng.normal(size=n)
    x[:7] = np.nan
    x[7:9] = np.inf
    return pd.DataFrame({
        "x": x,
        "größe ✓": rng.gamma(2.0, size=n),
        "<script>alert(1)</script>": rng.choice(["a", "b", "c", "ü"], n),
        "flag": rng.random(n) < 0.3,
        "empty": [np.nan] * n,
    })


def test_profile_round_trips_through_bytes() -> None:
    ref = _mixed_reference()
    p = driftwatch.profile(ref, {"numeric": ["x", "größe ✓", "empty"],
                                 "categorical": ["<script>alert(1)</script>", "flag"], "target": "flag"},
                           ProfileOptions(bins=7, max_sample=500))
    q = Profile.from_bytes(p.to_bytes())
    assert q.schema == p.schema and q.n_rows == p.n_rows and q.options == p.options
    assert q.schema_inferred == p.schema_inferred is False
    assert Profile.from_bytes(driftwatch.profile(ref).to_bytes()).schema_inferred is True
    assert list(q.columns) == list(p.columns)
    for name, a in p.columns.items():
        b = q.columns[name]
        for attr in ("name", "kind", "n", "n_missing", "dtype", "n_finite", "n_posinf", "n_neginf",
                     "categories", "other_count", "other_singletons", "other_doubletons"):
            assert getattr(a, attr) == getattr(b, attr), (name, attr)
        for attr in ("mean", "std", "minimum", "maximum"):
            x, y = getattr(a, attr), getattr(b, attr)
            assert x == y or (math.isnan(x) and math.isnan(y)), (name, attr)
        for attr in ("sorted_values", "edges", "bin_counts", "counts"):
            np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
            assert getattr(a, attr).dtype == getattr(b, attr).dtype


def test_round_tripped_profile_gives_identical_check_results() -> None:
    ref = _mixed_reference(7)
    cur = _mixed_reference(8)
    cur["x"] = cur["x"] + 0.3
    p = driftwatch.profile(ref)
    q = Profile.from_bytes(p.to_bytes())
    direct = drift_json(driftwatch.check(ref, cur))
    assert drift_json(driftwatch.check(p, cur)) == direct
    assert drift_json(driftwatch.check(q, cur)) == direct
    assert any(r["status"] == "alert" for r in direct)  # the comparison is not between empty results


@pytest.mark.parametrize("exact_limit", [None, 1_000])
def test_a_profile_with_a_category_tail_round_trips(monkeypatch: pytest.MonkeyPatch, exact_limit: int | None) -> None:
    if exact_limit is not None:  # the Bloom filter path
        monkeypatch.setattr(membership, "EXACT_LIMIT", exact_limit)
    ref = pd.DataFrame({"c": _many_categories(10)})
    cur = pd.DataFrame({"c": _many_categories(11).str.replace("v00", "w00")})  # one in 20 new
    p = driftwatch.profile(ref, options=ProfileOptions(max_categories=100))
    data = p.to_bytes()
    q = Profile.from_bytes(data)
    a, b = p.columns["c"].tail, q.columns["c"].tail
    assert a is not None and b is not None and a.exact == b.exact == (exact_limit is None)
    for name in ("values", "freqs", "hashes", "counts"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == getattr(b, name).dtype
    if not a.exact:
        assert a.bloom is not None and b.bloom is not None
        np.testing.assert_array_equal(a.bloom.bits, b.bloom.bits)
    # compact: the exact set is about 8 bytes a tail category, the filter under 2
    assert len(data) < (9 if a.exact else 2) * a.n_categories + 4_000
    direct = drift_json(driftwatch.check(p, cur))
    assert drift_json(driftwatch.check(q, cur)) == direct
    new = next(r for r in direct if r["metric"] == "new_category_share")
    truth = float(cur["c"].str.startswith("w").mean())
    assert truth - (0.0 if a.exact else 0.002) <= new["value"] <= truth


def test_a_profile_hashed_differently_is_a_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    data = driftwatch.profile(pd.DataFrame({"c": ["a", "b"]})).to_bytes()
    monkeypatch.setattr(profiling, "HASH_PROBE", 1)  # as a pandas that hashed otherwise would see it
    with pytest.raises(DataError, match="hashes categories differently"):
        Profile.from_bytes(data)


def test_an_old_format_cached_profile_is_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    # a format-4 profile lumped the tail without knowing its categories: used again, it would
    # count every tail category as new, so the engine must read the reference and profile it anew
    frame = pd.DataFrame({"c": _many_categories()})
    options = ProfileOptions(max_categories=100)
    monkeypatch.setattr(profiling, "PROFILE_FORMAT", 4)
    old = driftwatch.profile(frame, options=options).to_bytes()
    monkeypatch.undo()
    version, reads = f"v-{uuid.uuid4()}", []

    class Source:
        def version(self, window: object) -> str:
            return version

        def fetch(self, window: object, columns: object) -> pd.DataFrame:
            reads.append(window)
            return frame

    class Store:
        def __init__(self) -> None:
            self.profiles = {cache_key(version, None, options): old}

        def get_profile(self, key: str) -> bytes | None:
            return self.profiles.get(key)

        def put_profile(self, key: str, monitor: str, data: bytes) -> None:
            self.profiles[key] = data

    monitor = SimpleNamespace(name="m", schema=None, labels=None, current=Source(), detectors=(),
                              reference=SimpleNamespace(connector=None, rolling=None, start=None, end=None))
    store = Store()
    window = Window(datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 2, tzinfo=timezone.utc))
    built = engine.load_reference(monitor, window, store, options)  # type: ignore[arg-type]
    assert reads == [None]  # the old profile was not used
    assert built.columns["c"].tail is not None
    stored = Profile.from_bytes(store.profiles[cache_key(version, None, options)])
    assert stored.columns["c"].tail is not None


def test_to_bytes_does_not_pickle() -> None:
    data = driftwatch.profile(_mixed_reference()).to_bytes()
    with np.load(__import__("io").BytesIO(data), allow_pickle=False) as npz:
        assert "header" in npz.files


def test_a_profile_of_another_format_is_a_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiling, "PROFILE_FORMAT", 999)
    data = driftwatch.profile(pd.DataFrame({"x": [1.0, 2.0]})).to_bytes()
    monkeypatch.undo()
    with pytest.raises(DataError, match="format 999"):
        Profile.from_bytes(data)


def test_cache_key_changes_with_source_schema_and_options() -> None:
    schema = Schema(numeric=("x",))
    base = cache_key("v1", schema, ProfileOptions())
    assert base == cache_key("v1", Schema(numeric=("x",)), ProfileOptions())
    assert base != cache_key("v2", schema, ProfileOptions())
    assert base != cache_key("v1", Schema(numeric=("x", "y")), ProfileOptions())
    assert base != cache_key("v1", None, ProfileOptions())
    assert base != cache_key("v1", schema, ProfileOptions(bins=11))
    assert base != cache_key("v1", schema, ProfileOptions(max_sample=1_000))


# --- schema inference ------------------------------------------------------------------------

def test_infer_floats_bools_strings_and_datetimes() -> None:
    frame = pd.DataFrame({
        "f": [0.5, 1.5, 2.5],
        "f32": np.array([1, 2, 3], dtype="float32"),
        "b": [True, False, True],
        "nb": pd.array([True, None, False], dtype="boolean"),
        "s": ["x", "y", "z"],
        "cat": pd.Categorical(["a", "b", "a"]),
        "when": pd.date_range("2026-01-01", periods=3),
    })
    schema = Schema.infer(frame)
    assert schema.numeric == ("f", "f32")
    assert schema.categorical == ("b", "nb", "s", "cat")
    assert schema.timestamp == "when"


@pytest.mark.parametrize("distinct, kind", [(2, "categorical"), (20, "categorical"), (21, "numeric"), (500, "numeric")])
def test_infer_integers_by_distinct_count(distinct: int, kind: str) -> None:
    values = np.arange(1_000) % distinct
    for dtype in ("int64", "uint8" if distinct < 256 else "int32", "Int64"):
        schema = Schema.infer(pd.DataFrame({"n": pd.array(values, dtype=dtype)}))
        assert schema.kind("n") == kind and "n" in schema.features, dtype


def test_infer_takes_a_timezone_aware_timestamp() -> None:
    frame = pd.DataFrame({"ts": pd.date_range("2026-01-01", periods=3, tz="UTC"), "x": [1.0, 2.0, 3.0]})
    schema = Schema.infer(frame)
    assert schema.timestamp == "ts" and schema.features == ("x",)

"""Category membership beyond a profile's kept categories (issue 12, defect 6): stable hashes, the
exact hash set, the Bloom filter's false-positive rate, and the tail's vanished rows."""

from __future__ import annotations

import numpy as np
import pytest

from driftwatch.membership import (
    FALSE_POSITIVE_RATE,
    HASH_PROBE,
    BloomFilter,
    CategoryTail,
    category_hashes,
)


def keys(prefix: str, n: int, start: int = 0) -> np.ndarray:
    return np.array([f"{prefix}{i:07d}" for i in range(start, start + n)], dtype=object)


def test_category_hashes_are_fixed_values_in_every_process() -> None:
    # SipHash-2-4 under a fixed key: these numbers are what any process on any machine computes
    # (Python's hash() of a str is salted per process and would differ run to run)
    got = category_hashes(np.array(["driftwatch", "", "größe ✓", "c0000001"], dtype=object))
    assert got.dtype == np.uint64
    assert got.tolist() == [4374780468569687957, 11479543901206097430, 200659537374295541,
                            6702289331232859740]
    assert HASH_PROBE == 4374780468569687957
    # chunking does not change a hash, and a lone surrogate hashes without breaking the others
    many = keys("c", 70_000)
    np.testing.assert_array_equal(category_hashes(many)[[1, 69_999]],
                                  category_hashes(many[[1, 69_999]]))
    odd = category_hashes(np.array(["a\ud800", "driftwatch"], dtype=object))
    assert odd[1] == HASH_PROBE and odd[0] != odd[1]


def test_the_exact_tail_answers_membership_and_absent_rows_exactly() -> None:
    tail_keys = keys("t", 19_900)
    counts = 1 + np.arange(19_900) % 3  # 1, 2, 3, 1, 2, 3, ...
    tail = CategoryTail.build(tail_keys, counts)
    assert tail.exact and tail.bloom is None
    assert (tail.n_categories, tail.rows) == (19_900, int(counts.sum()))
    assert tail.values.tolist() == [1, 2, 3] and tail.freqs.tolist() == [6_634, 6_633, 6_633]
    assert np.all(np.diff(tail.hashes.astype(np.float64)) >= 0)
    # look up every third tail key and 5,000 keys it never had
    query = np.concatenate([tail_keys[::3], keys("new", 5_000)])
    member, where = tail.lookup(category_hashes(query))
    assert member.tolist() == [True] * 6_634 + [False] * 5_000
    np.testing.assert_array_equal(tail.hashes[where[member]], category_hashes(tail_keys[::3]))
    matched, absent = tail.match(query)
    np.testing.assert_array_equal(matched, member)
    # the keys looked up were exactly those of count 1; every count-2 and count-3 key is absent
    assert absent.categories == 19_900 - 6_634
    assert absent.rows == absent.rows_high == 6_633 * 2 + 6_633 * 3


def test_a_bloom_filter_keeps_its_false_positive_rate() -> None:
    members = category_hashes(keys("m", 20_000))
    bloom = BloomFilter.build(members, FALSE_POSITIVE_RATE)
    assert bloom.contains(members).all()  # never a false negative
    assert bloom.bits.nbytes * 8 == bloom.n_bits <= 20_000 * 14.4 + 64  # -ln(0.001) / ln(2)^2 bits a key
    others = category_hashes(keys("x", 200_000))
    measured = float(bloom.contains(others).mean())
    # 200,000 seeded non-members: about 200 false positives expected, sd 14; the bound is 1.5x
    assert 0.5 * FALSE_POSITIVE_RATE < measured < 1.5 * FALSE_POSITIVE_RATE
    assert bloom.false_positive_rate == pytest.approx(FALSE_POSITIVE_RATE, rel=0.2)


def test_past_the_exact_limit_the_tail_is_a_filter_with_bounded_absent_rows() -> None:
    tail_keys = keys("t", 20_000)
    uniform = CategoryTail.build(tail_keys, np.ones(20_000, dtype=np.int64), exact_limit=1_000)
    assert not uniform.exact and uniform.hashes.size == 0
    # half the tail seen, plus 10,000 keys it never had: the absent half is 10,000 rows, give or
    # take the false positives the correction cannot undo (about sqrt(0.001 * 20,000) = 4.5)
    query = np.concatenate([tail_keys[:10_000], keys("new", 10_000)])
    member, absent = uniform.match(query)
    assert member[:10_000].all() and uniform.lookup(category_hashes(query))[1] is None
    assert absent.rows == absent.rows_high and abs(absent.rows - 10_000) <= 25
    # unequal counts: the truth lies between the bounds
    counts = np.where(np.arange(20_000) < 10_000, 1, 5)
    mixed = CategoryTail.build(tail_keys, counts, exact_limit=1_000)
    member, absent = mixed.match(tail_keys[5_000:15_000])
    truth = 5_000 * 1 + 5_000 * 5
    assert absent.rows <= truth <= absent.rows_high
    assert abs(absent.categories - 10_000) <= 25


@pytest.mark.parametrize("exact_limit", [None, 100])
def test_a_tail_round_trips_through_its_arrays(exact_limit: int | None) -> None:
    tail_keys = keys("t", 3_000)
    tail = CategoryTail.build(tail_keys, 1 + np.arange(3_000) % 7, exact_limit=exact_limit)
    meta, arrays = tail.to_arrays()
    back = CategoryTail.from_arrays(meta, arrays)
    assert back.exact == tail.exact
    for name in ("values", "freqs", "hashes", "counts"):
        np.testing.assert_array_equal(getattr(back, name), getattr(tail, name))
    query = category_hashes(np.concatenate([tail_keys, keys("n", 3_000)]))
    np.testing.assert_array_equal(back.lookup(query)[0], tail.lookup(query)[0])

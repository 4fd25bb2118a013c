"""Was this category in the reference? For the categories a profile does not keep by name.

A reference profile keeps counts for its ``max_categories`` most frequent categories and sums
the rest as ``other``. Without more, a current category outside the kept ones cannot be told
apart as new, and a reference category of the tail cannot be seen vanishing: with 10^6 ids per
side, half shared, every current row looked new (1.0 instead of 0.5). ``CategoryTail`` keeps
the membership of every category of that tail:

* up to ``EXACT_LIMIT`` (2,000,000) tail categories: the sorted 64-bit hashes of their keys with
  their counts, so membership is exact (two of ``d`` distinct keys share a hash with probability
  about ``d² / 2^65``: 1e-7 at two million) and so is the reference mass of the tail categories
  a window lacks. 8 bytes a category plus its count;
* beyond that: a Bloom filter sized for a false-positive rate of ``FALSE_POSITIVE_RATE`` (0.1 %),
  ``-ln(0.001) / ln(2)² = 14.4`` bits a category with ``k = 10`` probes (Bloom 1970; the probes
  are ``h1 + i·h2``, Kirsch & Mitzenmacher 2006). A new category passes for a known one with
  probability 0.1 %, so a new-category share reads at most 0.1 % low (relative). A filter
  cannot list what it holds, so the tail's vanished mass is bounded (``CategoryTail.match``) instead.

Both keep the tail's frequency of frequencies (how many categories were seen ``r`` times), which
is all the sampling expectations need of it (``driftwatch.detectors.sampling``).

Keys are hashed with pandas' SipHash-2-4 under a fixed key (``pandas.util.hash_array``), the same
in every process and on every machine (Python's own ``hash`` of a string is salted per process),
and vectorised: 0.1 s a million keys, against 0.65 s for ``hashlib.blake2b`` called per key.

>>> int(category_hashes(np.array(["driftwatch"], dtype=object))[0])
4374780468569687957
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
from pandas.util import hash_array

#: 16 bytes, the SipHash key. Changing it (or a pandas that hashes differently) changes every
#: stored hash; profiles keep ``HASH_PROBE`` and are rebuilt when it no longer matches.
HASH_KEY = "driftwatch-cat-1"
#: Up to this many tail categories are kept as an exact hash set, beyond it as a Bloom filter.
EXACT_LIMIT = 2_000_000
#: The Bloom filter's design false-positive rate.
FALSE_POSITIVE_RATE = 1e-3

_EMPTY_U64 = np.empty(0, dtype=np.uint64)
_EMPTY_I64 = np.empty(0, dtype=np.int64)


def category_hashes(keys: np.ndarray) -> np.ndarray:
    """64-bit hashes of category keys (``str``), stable across processes and machines.

    Hashed 65,536 at a time: pandas holds the UTF-8 bytes of every key it hashes until it is
    done, 50 MB for a million keys at once.
    """
    keys = np.asarray(keys, dtype=object)
    out = np.empty(keys.size, dtype=np.uint64)
    for start in range(0, keys.size, _CHUNK):
        out[start:start + _CHUNK] = _hash_chunk(keys[start:start + _CHUNK])
    return out


_CHUNK = 1 << 16


def _hash_chunk(keys: np.ndarray) -> np.ndarray:
    try:
        hashes: np.ndarray = hash_array(keys, hash_key=HASH_KEY, categorize=False)
    except UnicodeEncodeError:  # a lone surrogate: the same bytes as UTF-8 for every other key
        keys = np.array([k.encode("utf-8", "surrogatepass") for k in keys], dtype=object)
        hashes = hash_array(keys, hash_key=HASH_KEY, categorize=False)
    return hashes


#: The hash of a fixed string, stored with a profile: a different value on load means the
#: stored hashes no longer match this process's.
HASH_PROBE = int(category_hashes(np.array(["driftwatch"], dtype=object))[0])


def _second_hash(hashes: np.ndarray) -> np.ndarray:
    """An odd step per key from its hash (the splitmix64 finaliser), for double hashing."""
    z = hashes + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (z ^ (z >> np.uint64(31))) | np.uint64(1)


@dataclass(frozen=True, eq=False)
class BloomFilter:
    """A Bloom filter over 64-bit hashes: no false negatives, false positives at about
    ``(set bits / n_bits) ** n_probes``.

    >>> keys = category_hashes(np.array([f"k{i}" for i in range(1000)], dtype=object))
    >>> f = BloomFilter.build(keys, 0.001)
    >>> bool(f.contains(keys).all()), f.n_probes, f.n_bits
    (True, 10, 14384)
    """

    bits: np.ndarray  # uint8, bit p of the filter is bits[p >> 3] >> (p & 7)
    n_bits: int
    n_probes: int

    @classmethod
    def build(cls, hashes: np.ndarray, fp_rate: float) -> BloomFilter:
        """The optimal filter for ``hashes``: ``m = -n ln(p) / ln(2)²`` bits, ``k = m / n · ln 2`` probes."""
        if not 0 < fp_rate < 1:
            raise ValueError(f"fp_rate: must be in (0, 1), got {fp_rate!r}")
        n = max(int(hashes.size), 1)
        n_bits = max(64, 8 * math.ceil(-n * math.log(fp_rate) / math.log(2) ** 2 / 8))
        n_probes = max(1, round(n_bits / n * math.log(2)))
        bits = np.zeros(n_bits // 8, dtype=np.uint8)
        for start in range(0, hashes.size, _CHUNK):
            for position in _positions(hashes[start:start + _CHUNK], n_bits, n_probes):
                np.bitwise_or.at(bits, position >> np.uint64(3),
                                 np.left_shift(np.uint8(1), (position & np.uint64(7)).astype(np.uint8)))
        return cls(bits, n_bits, n_probes)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """True where a hash may be in the set (always, when it is)."""
        found = np.ones(hashes.size, dtype=bool)
        for start in range(0, hashes.size, _CHUNK):
            part = found[start:start + _CHUNK]  # a view: filled in place
            for position in _positions(hashes[start:start + _CHUNK], self.n_bits, self.n_probes):
                byte = self.bits[position >> np.uint64(3)]
                part &= ((byte >> (position & np.uint64(7)).astype(np.uint8)) & np.uint8(1)).astype(bool)
        return found

    @cached_property
    def false_positive_rate(self) -> float:
        """The rate this filter gives, from its share of set bits: ``fill ** k``."""
        ones = sum(int(_POPCOUNT[self.bits[i:i + _CHUNK]].sum(dtype=np.int64))
                   for i in range(0, self.bits.size, _CHUNK))
        return float((ones / self.n_bits) ** self.n_probes)


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _positions(hashes: np.ndarray, n_bits: int, n_probes: int) -> Iterator[np.ndarray]:
    """The filter's ``k`` bit positions of each hash, one probe at a time."""
    h1 = np.asarray(hashes, dtype=np.uint64)
    h2 = _second_hash(h1)
    m = np.uint64(n_bits)
    for i in range(n_probes):
        yield (h1 + np.uint64(i) * h2) % m


class Absent(NamedTuple):
    """Tail categories a window lacks: how many, and their reference rows (between ``rows`` and
    ``rows_high`` when only a filter knows the tail; equal when the set is exact)."""

    categories: int
    rows: int
    rows_high: int


@dataclass(frozen=True, eq=False)
class CategoryTail:
    """The categories a profile lumped as ``other``: membership, and their counts when exact.

    >>> keys = np.array(["x", "y", "z"], dtype=object)
    >>> tail = CategoryTail.build(keys, np.array([3, 1, 1]))
    >>> tail.exact, tail.n_categories, tail.rows
    (True, 3, 5)
    >>> member, absent = tail.match(np.array(["y", "new"], dtype=object))
    >>> member.tolist(), absent
    ([True, False], Absent(categories=2, rows=4, rows_high=4))
    """

    #: Frequency of frequencies: ``freqs[i]`` tail categories were seen ``values[i]`` times.
    values: np.ndarray = field(default_factory=lambda: _EMPTY_I64)
    freqs: np.ndarray = field(default_factory=lambda: _EMPTY_I64)
    #: Exact: the sorted hashes and the count of each.
    hashes: np.ndarray = field(default_factory=lambda: _EMPTY_U64)
    counts: np.ndarray = field(default_factory=lambda: _EMPTY_I64)
    #: Beyond ``EXACT_LIMIT``: the filter instead.
    bloom: BloomFilter | None = None

    @classmethod
    def build(cls, keys: np.ndarray, counts: np.ndarray, *, exact_limit: int | None = None,
              fp_rate: float | None = None) -> CategoryTail:
        """The tail of ``keys`` (distinct category keys) seen ``counts`` times each."""
        exact_limit = EXACT_LIMIT if exact_limit is None else exact_limit
        fp_rate = FALSE_POSITIVE_RATE if fp_rate is None else fp_rate
        counts = np.asarray(counts, dtype=np.int64)
        values, freqs = np.unique(counts, return_counts=True)
        hashes = category_hashes(keys)
        if hashes.size > exact_limit:
            return cls(values, freqs.astype(np.int64), bloom=BloomFilter.build(hashes, fp_rate))
        order = np.argsort(hashes, kind="stable")
        small = counts.astype(np.min_scalar_type(int(counts.max()))) if counts.size else counts
        return cls(values, freqs.astype(np.int64), hashes=hashes[order], counts=small[order])

    @property
    def exact(self) -> bool:
        return self.bloom is None

    @property
    def n_categories(self) -> int:
        return int(self.freqs.sum())

    @property
    def rows(self) -> int:
        return int(np.dot(self.values, self.freqs))

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Which ``hashes`` are tail categories, and (exact only) where each sits in ``self.hashes``."""
        if self.bloom is not None:
            return self.bloom.contains(hashes), None
        if self.hashes.size == 0:
            return np.zeros(hashes.size, dtype=bool), np.zeros(hashes.size, dtype=np.int64)
        where = np.minimum(np.searchsorted(self.hashes, hashes), self.hashes.size - 1)
        return self.hashes[where] == hashes, where

    def match(self, keys: np.ndarray) -> tuple[np.ndarray, Absent]:
        """Which of ``keys`` (distinct category keys) are tail categories, and the tail
        categories none of them is, with their rows. Hashed and looked up 65,536 keys at a time,
        so a million keys hold a few megabytes at once.

        With a filter, the tail categories seen are counted as ``S = (hits - f·U) / (1 - f)``
        (``U`` keys looked up, ``f`` the filter's own false-positive rate), ``V = D - S`` are
        absent, and their rows lie between the sum of the ``V`` smallest tail counts (``rows``)
        and that of the ``V`` largest (``rows_high``). For a tail of equal counts (ids seen once)
        the two are equal and off by the error of ``S`` alone, about ``sqrt(f·U)`` categories.
        """
        keys = np.asarray(keys, dtype=object)
        member = np.zeros(keys.size, dtype=bool)
        seen = np.zeros(self.hashes.size, dtype=bool)
        for start in range(0, keys.size, _CHUNK):
            found, where = self.lookup(category_hashes(keys[start:start + _CHUNK]))
            member[start:start + found.size] = found
            if where is not None:
                seen[where[found]] = True
        if self.bloom is None:
            rows = int(self.counts[~seen].sum(dtype=np.int64))
            return member, Absent(int(seen.size - np.count_nonzero(seen)), rows, rows)
        f = self.bloom.false_positive_rate
        hits = int(np.count_nonzero(member))
        seen_est = min(max((hits - f * keys.size) / (1.0 - f), 0.0), float(hits), float(self.n_categories))
        absent = self.n_categories - round(seen_est)
        return member, Absent(absent, _smallest_rows(self.values, self.freqs, absent),
                              _smallest_rows(self.values[::-1], self.freqs[::-1], absent))

    # -- serialisation (see ``Profile.to_bytes``) ----------------------------------------------
    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """A JSON-able header and the arrays; sorted hashes are stored as differences, which
        compress (their top bytes are zero) where the raw hashes do not."""
        meta: dict[str, Any] = {"exact": self.exact}
        arrays = {"values": self.values, "freqs": self.freqs}
        if self.bloom is None:
            arrays["hashes"] = np.diff(self.hashes, prepend=np.uint64(0))
            arrays["counts"] = self.counts
        else:
            meta.update(n_bits=self.bloom.n_bits, n_probes=self.bloom.n_probes)
            arrays["bloom"] = self.bloom.bits
        return meta, arrays

    @classmethod
    def from_arrays(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> CategoryTail:
        if meta["exact"]:
            return cls(arrays["values"], arrays["freqs"], hashes=np.cumsum(arrays["hashes"], dtype=np.uint64),
                       counts=arrays["counts"])
        return cls(arrays["values"], arrays["freqs"],
                   bloom=BloomFilter(arrays["bloom"], int(meta["n_bits"]), int(meta["n_probes"])))


def _smallest_rows(values: np.ndarray, freqs: np.ndarray, k: int) -> int:
    """The sum of the ``k`` first counts of the multiset ``values`` repeated ``freqs`` times.

    >>> _smallest_rows(np.array([1, 2, 5]), np.array([3, 2, 1]), 4)
    5
    """
    if k <= 0:
        return 0
    before = np.concatenate(([0], np.cumsum(freqs)[:-1]))
    take = np.clip(k - before, 0, freqs)
    return int(np.dot(take, values))

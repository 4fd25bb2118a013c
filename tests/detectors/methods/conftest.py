"""Sample pairs shared by the tests that compare a kernel with scipy.

A test that takes a ``pair`` argument runs once per pair below. A test module may set
``MIN_EACH`` (minimum size of each sample), ``MIN_TOTAL`` and ``NEED_DISTINCT`` (at least
two distinct pooled values) to leave out pairs its statistic is undefined for.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest


def _pairs() -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    yield "hand", np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 4.0, 5.0, 6.0])
    yield "hand-ties", np.array([1.0, 1.0, 2.0, 2.0, 2.0]), np.array([2.0, 2.0, 3.0])
    yield "disjoint", np.array([0.0, 1.0, 2.0]), np.array([10.0, 11.0, 12.0, 13.0])
    yield "identical", np.arange(50.0), np.arange(50.0)
    yield "const-equal", np.ones(10), np.ones(13)
    yield "const-equal-big", np.ones(300), np.ones(4000)
    yield "const-differ", np.zeros(40), np.ones(25)
    yield "one-const", np.full(30, 0.5), np.random.default_rng(7).random(30)
    for seed, (n1, n2) in enumerate(
        [(1, 1), (1, 5), (6, 1), (2, 3), (3, 3), (20, 20), (21, 19), (100, 1000),
         (10_000, 10_000), (10_000, 9_999), (10_001, 500), (20_000, 20_000), (20_000, 7)]
    ):
        rng = np.random.default_rng(seed)
        shift = 0.0 if seed % 2 else 0.3
        yield f"normal-{n1}x{n2}", rng.normal(size=n1), rng.normal(shift, size=n2)
    for seed in (11, 12, 13):
        rng = np.random.default_rng(seed)
        n1, n2 = int(rng.integers(2, 3_000)), int(rng.integers(2, 3_000))
        yield f"ints-{seed}", rng.integers(0, 6, n1).astype(float), rng.integers(0, 7, n2).astype(float)
    for seed in (21, 22):
        rng = np.random.default_rng(seed)
        yield f"cauchy-{seed}", rng.standard_cauchy(5_000), rng.standard_cauchy(3_001) * 2
    rng = np.random.default_rng(31)
    yield "large", rng.normal(0, 1e12, 800), rng.normal(1e11, 1e12, 1_200)
    yield "pm-large", np.array([-1e15, -1e12, 0.0, 1e12, 1e15]), np.array([-1e15, 3.0, 1e14, 1e15])
    yield "ints-big", rng.integers(-3, 3, 15_000).astype(float), rng.integers(-3, 4, 12_000).astype(float)


PAIRS = [(label, np.sort(a), np.sort(b)) for label, a, b in _pairs()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pair" not in metafunc.fixturenames:
        return
    min_each = getattr(metafunc.module, "MIN_EACH", 1)
    min_total = getattr(metafunc.module, "MIN_TOTAL", 2)
    need_distinct = getattr(metafunc.module, "NEED_DISTINCT", False)
    metafunc.parametrize("pair", [
        pytest.param((a, b), id=label) for label, a, b in PAIRS
        if min(a.size, b.size) >= min_each and a.size + b.size >= min_total
        and (not need_distinct or a[0] != a[-1] or b[0] != b[-1] or a[0] != b[0])
    ])

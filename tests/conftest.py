"""Shared test settings and helpers for the nmf_lib test suite.

Hypothesis runs under one profile: a fixed number of examples, no per-example
deadline (the machine is shared and timings are noisy), and derandomized so CI
draws the same examples every run.  Set HYPOTHESIS_PROFILE=thorough for a longer,
randomized search when hunting bugs locally.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class Data:
    """The test suite's data, from seeds: one helper for every test file (``data`` fixture)."""

    @staticmethod
    def noisy(m: int = 40, n: int = 60, d: int = 5, seed: int = 0, dtype=np.float64) -> np.ndarray:
        """Rank-d non-negative data plus uniform noise: the loss stays well above rounding."""
        rng = np.random.default_rng(seed)
        X = rng.uniform(size=(m, d)) @ rng.uniform(size=(d, n)) + 0.3 * rng.uniform(size=(m, n))
        return X.astype(dtype)

    @staticmethod
    def uniform(m: int, n: int, seed: int, *, dtype=np.float64, zero_rows=(), zero_cols=(),
                scale: float = 1.0) -> np.ndarray:
        """U(0, scale) entries, with the given rows and columns all zero."""
        rng = np.random.default_rng(seed)
        X = rng.uniform(0.0, 1.0, size=(m, n)) * scale
        X[list(zero_rows), :] = 0.0
        X[:, list(zero_cols)] = 0.0
        return X.astype(dtype)


@pytest.fixture(scope="session")
def data() -> type[Data]:
    return Data


@pytest.fixture
def small_X() -> np.ndarray:
    """A 12 x 20 non-negative float64 array that is close to rank 3 plus noise."""
    rng = np.random.default_rng(7)
    return rng.uniform(size=(12, 3)) @ rng.uniform(size=(3, 20)) + 0.1 * rng.uniform(size=(12, 20))


@pytest.fixture(scope="session", autouse=True)
def _blas_threads():
    """Run the tests with one BLAS thread (NMF_TEST_BLAS_THREADS overrides).

    The test problems are small, and on a busy 2-core machine a multi-threaded BLAS
    spends its time waiting for its threads: measured, 400 MU steps on a 128 x 2048
    problem took 6-17 s with OpenBLAS's 2 threads and 0.6 s with one.  No test compares
    results across thread counts, so this changes speed only.
    """
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=int(os.environ.get("NMF_TEST_BLAS_THREADS", "1")), user_api="blas"):
        yield

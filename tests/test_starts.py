"""nmf_lib.init: the starting points."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nmf_lib import (
    INITS, fit, gaussian_mixture, initialize, match_components, mse, nndsvd, random_init, spa, spa_start,
)
from nmf_lib.starts import SPA_PASSES


def test_inits_listed():
    assert INITS == ("random", "random_scaled", "nndsvd", "nndsvda")


# ----------------------------------------------------------------------------- random

def test_random_is_w_then_v_uniform_from_the_seed():
    W, V = random_init((6, 9), 3, seed=42)
    rng = np.random.default_rng(42)
    np.testing.assert_array_equal(W, rng.uniform(size=(6, 3)))
    np.testing.assert_array_equal(V, rng.uniform(size=(3, 9)))
    assert W.min() >= 0 and W.max() < 1 and V.min() >= 0 and V.max() < 1


def test_initialize_random_matches_random_init_and_keeps_float32():
    X = np.random.default_rng(0).uniform(size=(6, 9)).astype(np.float32)
    W, V = initialize(X, 3, "random", seed=5)
    W_ref, V_ref = random_init((6, 9), 3, seed=5)
    assert W.dtype == np.float32 and V.dtype == np.float32
    np.testing.assert_array_equal(W, W_ref.astype(np.float32))
    np.testing.assert_array_equal(V, V_ref.astype(np.float32))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_scaled_matches_the_mean_of_x(seed):
    """scale = 2 sqrt(mean(X) / d) makes E[(WV)_ij] = scale^2 d / 4 = mean(X).
    On 800 x 900 the sample mean of W V is within 5% of it (its relative spread is about 1%)."""
    X = np.random.default_rng(100 + seed).uniform(size=(800, 900)) * 37.0
    W, V = initialize(X, 4, "random_scaled", seed=seed)
    np.testing.assert_allclose((W @ V).mean(), X.mean(), rtol=0.05)
    # and it is the plain random start, scaled
    W1, V1 = initialize(X, 4, "random", seed=seed)
    scale = 2.0 * np.sqrt(X.mean() / 4)
    np.testing.assert_allclose(W, scale * W1, rtol=1e-14)
    np.testing.assert_allclose(V, scale * V1, rtol=1e-14)


# ----------------------------------------------------------------------------- nndsvd

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nndsvd_reproduces_a_rank_one_matrix(dtype):
    rng = np.random.default_rng(3)
    u, v = rng.uniform(0.1, 2.0, size=7), rng.uniform(0.1, 2.0, size=11)
    u[2] = 0.0  # a zero row and column too
    v[5] = 0.0
    X = np.outer(u, v).astype(dtype)
    W, V = nndsvd(X, 1)
    assert W.dtype == dtype and V.dtype == dtype and W.shape == (7, 1) and V.shape == (1, 11)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(W @ V, X, rtol=rtol, atol=rtol * X.max())
    assert W[2, 0] == 0 and V[0, 5] == 0


def test_nndsvd_rank_one_is_the_best_rank_one_approximation():
    """For a non-negative X the leading singular pair can be taken non-negative, so
    rank-1 NNDSVD is the truncated SVD: ||X - WV||^2 = ||X||^2 - s_1^2."""
    X = np.random.default_rng(4).uniform(size=(15, 12))
    W, V = nndsvd(X, 1)
    s = np.linalg.svd(X, compute_uv=False)
    np.testing.assert_allclose(np.sum((X - W @ V) ** 2), np.sum(X**2) - s[0] ** 2, rtol=1e-10)


@given(st.integers(2, 12), st.integers(2, 12), st.integers(0, 2**32 - 1), st.data())
def test_nndsvd_is_non_negative_and_finite(m, n, seed, data):
    rank = data.draw(st.integers(1, min(m, n)))
    X = np.random.default_rng(seed).uniform(size=(m, n))
    X[X < 0.3] = 0.0
    W, V = nndsvd(X, rank)
    assert W.shape == (m, rank) and V.shape == (rank, n)
    for F in (W, V):
        assert np.all(np.isfinite(F)) and np.all(F >= 0)
    # each component j >= 1 keeps one sign of a singular pair: W's column and V's row
    # are supported where that pair was positive (or negative), so zeros appear
    Wa, Va = nndsvd(X, rank, fill=0.123)
    np.testing.assert_array_equal(Wa[W > 0], W[W > 0])
    np.testing.assert_array_equal(Wa[W == 0], 0.123)
    np.testing.assert_array_equal(Va[V == 0], 0.123)


@pytest.mark.parametrize("seed", range(4))
def test_nndsvd_agrees_with_scikit_learn(seed):
    """Cross-check against scikit-learn's NNDSVD (an independent implementation of
    Boutsidis & Gallopoulos): which sign part each component keeps, the scaling, and
    the zeros.  scikit-learn uses a randomized SVD, exact only when the spectrum is
    well separated, so the data have singular values about 8 : 4 : 2 : 1 (measured
    agreement: 5e-15 relative)."""
    from sklearn.decomposition._nmf import _initialize_nmf

    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(30, 4)) @ np.diag([8.0, 4.0, 2.0, 1.0]) @ rng.uniform(size=(4, 20))
    X += 0.01 * rng.uniform(size=X.shape)
    W, V = nndsvd(X, 4)
    W_sk, H_sk = _initialize_nmf(X, 4, init="nndsvd", random_state=0)
    np.testing.assert_allclose(W, W_sk, rtol=0, atol=1e-12 * W.max())
    np.testing.assert_allclose(V, H_sk, rtol=0, atol=1e-12 * V.max())
    np.testing.assert_array_equal(W == 0, W_sk == 0)


def test_nndsvd_has_zeros_and_nndsvda_fills_them_in_the_units_of_the_factors():
    X = np.random.default_rng(5).uniform(size=(20, 30))
    W, V = initialize(X, 4, "nndsvd")
    Wa, Va = initialize(X, 4, "nndsvda")
    assert np.count_nonzero(W == 0) > 0 and np.count_nonzero(V == 0) > 0
    assert np.count_nonzero(Wa == 0) == 0 and np.count_nonzero(Va == 0) == 0
    # sqrt(mean(X)), in the units of the factors: a product of two fills is mean(X)
    np.testing.assert_allclose(Wa[W == 0], np.sqrt(X.mean()), rtol=1e-15)
    np.testing.assert_array_equal(Wa[W != 0], W[W != 0])
    np.testing.assert_array_equal(Va[V != 0], V[V != 0])


def test_nndsvd_is_deterministic_and_ignores_the_seed():
    X = np.random.default_rng(6).uniform(size=(9, 8))
    a = initialize(X, 3, "nndsvd", seed=1)
    b = initialize(X, 3, "nndsvd", seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_nndsvd_is_a_better_start_than_random():
    X = np.random.default_rng(7).uniform(size=(30, 3)) @ np.random.default_rng(8).uniform(size=(3, 40))
    W, V = nndsvd(X, 3)
    Wr, Vr = initialize(X, 3, "random_scaled", seed=0)
    assert np.sum((X - W @ V) ** 2) < 0.1 * np.sum((X - Wr @ Vr) ** 2)


@pytest.mark.parametrize("init", INITS)
def test_initialize_does_not_modify_x(init):
    X = np.random.default_rng(9).uniform(size=(6, 7))
    X_copy = X.copy()
    W, V = initialize(X, 3, init, seed=0)
    np.testing.assert_array_equal(X, X_copy)
    assert not np.shares_memory(W, X) and not np.shares_memory(V, X)
    assert W.shape == (6, 3) and V.shape == (3, 7)


# ----------------------------------------------------------------------------- spa

def test_spa_start_is_the_picked_columns_and_their_nnls_coefficients():
    mix = gaussian_mixture(m=64, n=300, seed=2)
    X = mix.X.copy()
    X[:, [10, 20, 30, 40]] = mix.G  # separable: one pure sample per bump
    before = X.copy()
    W, V = spa_start(X, 4)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(W, X[:, spa(X, 4)])
    assert not np.shares_memory(W, X) and V.min() >= 0 and V.shape == (4, 300)
    assert match_components(mix.G, W).worst > 1 - 1e-12
    # the data are exactly W V' for some V' >= 0: the start is (nearly) exact already
    assert mse(X, W, V) < 1e-20 * np.mean(X**2)


def test_spa_start_coefficients_are_nnls_optimal():
    """KKT conditions of min ||X - W V|| over V >= 0: gradient W^T (W V - X) >= 0, = 0 where V > 0."""
    X = np.random.default_rng(3).uniform(size=(30, 40))
    W, V = spa_start(X, 3)
    grad = W.T @ (W @ V - X)
    scale = np.abs(W.T @ X).max()
    assert grad.min() > -1e-6 * scale
    assert np.abs(grad[V > 1e-8]).max() < 1e-6 * scale
    assert SPA_PASSES >= 1


def test_fit_from_the_spa_start():
    X = np.random.default_rng(4).uniform(size=(20, 30))
    W0, V0 = spa_start(X, 3)
    res = fit(X, 3, W0=W0, V0=V0, method="hals", n_steps=10)
    assert res.loss[0] == pytest.approx(mse(X, W0, V0), rel=1e-12)
    assert np.all(np.diff(res.loss) <= 1e-12 * res.loss[:-1])
    with pytest.raises(ValueError, match="rank 4 is larger than min"):
        spa_start(X[:3], 4)

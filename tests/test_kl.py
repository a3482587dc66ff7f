"""Kullback-Leibler multiplicative updates (method="kl") and the divergence they record."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nmf_lib import ZeroLockWarning, fit, gaussian_mixture, initialize, kl_divergence, kl_update_V, kl_update_W


def noisy_data(m=40, n=60, d=5, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(m, d)) @ rng.uniform(size=(d, n)) + 0.3 * rng.uniform(size=(m, n))
    return X.astype(dtype)


def naive_kl(X, Y):
    """sum X log(X / Y) - X + Y over all entries, term by term, divided by the size."""
    total = 0.0
    for x, y in zip(np.ravel(X).astype(float), np.ravel(Y).astype(float)):
        total += (x * np.log(x / y) if x > 0 else 0.0) - x + y
    return total / np.size(X)


def test_kl_divergence_matches_definition_with_zeros():
    X = noisy_data(m=8, n=9)
    X[2] = 0
    X[:, 4] = 0
    W, V = initialize(X, 3, "random", seed=1)
    assert kl_divergence(X, W, V) == pytest.approx(naive_kl(X, W @ V), rel=1e-12)


def test_kl_divergence_zero_at_exact_fit_and_infinite_where_wv_vanishes():
    mix = gaussian_mixture(n=50, m=32, seed=0)
    assert kl_divergence(mix.X, mix.G, mix.Nu) == pytest.approx(0.0, abs=1e-12)
    W = mix.G.copy()
    W[5] = 0  # (WV)_5j = 0 while X_5j > 0
    assert kl_divergence(mix.X, W, mix.Nu) == np.inf


def test_loss_never_increases_float64():
    X = noisy_data()
    res = fit(X, 4, method="kl", n_steps=200, seed=1)
    assert res.method == "kl" and res.loss.size == 201
    assert np.all(np.diff(res.loss) <= 1e-12 * res.loss[:-1])
    assert res.loss[-1] < 0.2 * res.loss[0]


def test_loss_never_increases_float32():
    # the divergence is sum X log X - sum X log WV - sum X + sum WV, each term rounded in
    # float32 (relative ~1e-7): allow a rise of 1e-5 of mean(X)
    X = noisy_data(dtype=np.float32)
    res = fit(X, 4, method="kl", n_steps=200, seed=1)
    assert np.all(np.diff(res.loss) <= 1e-5 * float(X.mean(dtype=np.float64)))
    assert res.loss[-1] < 0.2 * res.loss[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_recorded_loss_is_the_divergence(dtype):
    X = noisy_data(dtype=dtype)
    res = fit(X, 4, method="kl", n_steps=20, seed=2)
    rtol = 1e-9 if dtype == np.float64 else 1e-3
    assert res.loss[-1] == pytest.approx(kl_divergence(X, res.W, res.V), rel=rtol)
    W0, V0 = initialize(X, 4, "random", seed=2)
    assert res.loss[0] == pytest.approx(kl_divergence(X, W0, V0), rel=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_nonnegative_finite(dtype):
    X = noisy_data(dtype=dtype)
    res = fit(X, 4, method="kl", n_steps=30, seed=3)
    for F in (res.W, res.V):
        assert F.dtype == dtype
        assert np.all(np.isfinite(F)) and F.min() >= 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_stepper_equals_readable_rules(dtype):
    X = noisy_data(dtype=dtype)
    W, V = initialize(X, 4, "random", seed=4)
    res = fit(X, 4, W0=W, V0=V, method="kl", n_steps=15)
    for _ in range(15):
        W = kl_update_W(X, W, V)
        V = kl_update_V(X, W, V)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(res.W, W, rtol=rtol)
    np.testing.assert_allclose(res.V, V, rtol=rtol)


def test_zero_rows_and_columns_of_X():
    X = noisy_data()
    X[3] = 0
    X[:, 7] = 0
    res = fit(X, 4, method="kl", n_steps=50, seed=5)
    assert np.all(np.isfinite(res.W)) and np.all(np.isfinite(res.V)) and np.all(np.isfinite(res.loss))
    assert np.all(np.diff(res.loss) <= 1e-12 * res.loss[:-1])
    # the ratio X / WV is 0 on a zero row of X, so one W step zeroes that row of W
    one = fit(X, 4, method="kl", n_steps=1, seed=5)
    assert np.all(one.W[3] == 0)


def test_zero_entries_of_WV_are_guarded():
    X = noisy_data(m=20, n=30, d=3, seed=6)
    W0, V0 = initialize(X, 3, "random", seed=6)
    X[4] = 0
    W0[4] = 0  # (WV)_4j = 0 where X_4j = 0: 0 log 0 = 0, ratio 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroLockWarning)
        warnings.simplefilter("error", RuntimeWarning)
        res = fit(X, 3, W0=W0, V0=V0, method="kl", n_steps=20)
        assert np.all(np.isfinite(res.loss))
        assert np.all(np.diff(res.loss) <= 1e-12 * res.loss[:-1])
        assert np.all(res.W[4] == 0)
        assert np.all(np.isfinite(kl_update_W(X, res.W, res.V)))
        # X_ij > 0 where (WV)_ij = 0: the divergence is infinite, the factors stay finite
        X2 = X.copy()
        X2[4] = 1.0
        res2 = fit(X2, 3, W0=W0, V0=V0, method="kl", n_steps=5)
    assert np.all(res2.loss == np.inf)
    assert np.all(np.isfinite(res2.W)) and np.all(np.isfinite(res2.V))


def test_zero_row_of_V_keeps_W_finite():
    X = noisy_data(m=20, n=30, d=3, seed=7)
    W0, V0 = initialize(X, 3, "random", seed=7)
    V0[1] = 0
    W1 = kl_update_W(X, W0, V0)
    assert np.all(np.isfinite(W1)) and np.all(W1[:, 1] == 0)


def test_kl_warns_about_zeros_it_cannot_move():
    X = noisy_data(seed=8)
    W0, V0 = initialize(X, 4, "nndsvd")
    zeros = W0 == 0
    with pytest.warns(ZeroLockWarning):
        res = fit(X, 4, W0=W0, V0=V0, method="kl", n_steps=20)
    assert np.all(res.W[zeros] == 0)


def test_bad_input_and_caller_data_untouched():
    X = noisy_data()
    W0, V0 = initialize(X, 4, "random", seed=9)
    copies = X.copy(), W0.copy(), V0.copy()
    with pytest.raises(ValueError, match="unknown method 'KL'"):
        fit(X, 4, method="KL")
    with pytest.raises(ValueError, match="NaN"):
        Xn = X.copy()
        Xn[0, 0] = np.nan
        fit(Xn, 4, method="kl")
    fit(X, 4, W0=W0, V0=V0, method="kl", n_steps=3)
    for a, b in zip((X, W0, V0), copies):
        np.testing.assert_array_equal(a, b)

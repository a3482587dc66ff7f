"""HALS (method="hals"): the readable rules in updates.py and the fast stepper in fit.py."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from nmf_lib import (
    ZeroLockWarning, fit, gaussian_mixture, hals_passes, hals_update_V, hals_update_W, initialize, mse,
)

fit_module = sys.modules["nmf_lib.fit"]


def noisy_data(m=40, n=60, d=5, seed=0, dtype=np.float64):
    """Low-rank non-negative data plus noise: the loss stays well above rounding."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(m, d)) @ rng.uniform(size=(d, n)) + 0.3 * rng.uniform(size=(m, n))
    return X.astype(dtype)


def readable_steps(X, W, V, n_steps):
    """n_steps HALS steps with the readable rules and the passes fit uses."""
    passes_W, passes_V = hals_passes(*X.shape, W.shape[1])
    for _ in range(n_steps):
        W = hals_update_W(X, W, V, passes_W, fit_module.HALS_DELTA)
        V = hals_update_V(X, W, V, passes_V, fit_module.HALS_DELTA)
    return W, V


def test_loss_never_increases_float64():
    X = noisy_data()
    res = fit(X, 4, method="hals", n_steps=200, seed=1)
    assert res.loss.size == 201 and res.method == "hals"
    assert np.all(np.diff(res.loss) <= 1e-12 * res.loss[:-1])
    assert res.loss[-1] < 0.2 * res.loss[0]


def test_loss_never_increases_float32():
    # float32 products carry relative rounding ~1e-7; the MSE is computed from
    # ||X||^2 - 2<W^T X, V> + <W^T W, V V^T>, so allow a rise of 1e-5 of ||X||^2 / (mn)
    X = noisy_data(dtype=np.float32)
    res = fit(X, 4, method="hals", n_steps=200, seed=1)
    scale = float(np.mean(X.astype(np.float64) ** 2))
    assert np.all(np.diff(res.loss) <= 1e-5 * scale)
    assert res.loss[-1] < 0.2 * res.loss[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_nonnegative_finite(dtype):
    X = noisy_data(dtype=dtype)
    res = fit(X, 4, method="hals", n_steps=30, seed=2)
    for F in (res.W, res.V):
        assert F.dtype == dtype
        assert np.all(np.isfinite(F)) and F.min() >= 0
    assert np.all(np.isfinite(res.loss))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_recorded_loss_is_the_mse(dtype):
    X = noisy_data(dtype=dtype)
    res = fit(X, 4, method="hals", n_steps=25, seed=3)
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    assert res.loss[-1] == pytest.approx(mse(X, res.W, res.V), rel=rtol)
    W0, V0 = initialize(X, 4, "random", seed=3)
    assert res.loss[0] == pytest.approx(mse(X, W0, V0), rel=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_stepper_equals_readable_rules(dtype):
    X = noisy_data(dtype=dtype)
    W0, V0 = initialize(X, 4, "random", seed=4)
    res = fit(X, 4, W0=W0, V0=V0, method="hals", n_steps=12)
    W, V = readable_steps(X, W0, V0, 12)
    rtol = 1e-10 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(res.W, W, rtol=rtol, atol=rtol * np.abs(W).max())
    np.testing.assert_allclose(res.V, V, rtol=rtol, atol=rtol * np.abs(V).max())


def test_fast_stepper_equals_readable_rules_single_and_many_passes():
    X = noisy_data(m=30, n=300, d=3, seed=5)
    W0, V0 = initialize(X, 3, "random", seed=5)
    for passes in [(1, 1), (7, 3)]:
        W, V = W0.copy(), V0.copy()
        stepper = fit_module._hals_steps(X, W, V, passes=passes, delta=0.0)
        for _ in range(6):
            next(stepper)
        Wr, Vr = W0, V0
        for _ in range(5):
            Wr = hals_update_W(X, Wr, Vr, passes[0])
            Vr = hals_update_V(X, Wr, Vr, passes[1])
        np.testing.assert_allclose(W, Wr, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(V, Vr, rtol=1e-10, atol=1e-12)


def test_one_column_update_is_the_exact_minimiser():
    """hals_update_W with one pass: each column solves its non-negative least squares
    problem exactly, so no single column can be improved by moving it."""
    X = noisy_data(m=20, n=30, d=3, seed=6)
    W0, V0 = initialize(X, 3, "random", seed=6)
    W = hals_update_W(X, W0, V0)
    # after the pass the last column is optimal given the others
    k = 2
    R = X - np.delete(W, k, axis=1) @ np.delete(V0, k, axis=0)
    best = np.maximum(R @ V0[k] / (V0[k] @ V0[k]), 0)
    np.testing.assert_allclose(W[:, k], best, rtol=1e-12, atol=1e-14)
    rng = np.random.default_rng(0)
    base = mse(X, W, V0)
    for _ in range(20):
        trial = W.copy()
        trial[:, k] = np.maximum(trial[:, k] + 1e-3 * rng.standard_normal(20), 0)
        assert mse(X, trial, V0) >= base


def test_zero_rows_and_columns_of_X():
    X = noisy_data()
    X[3] = 0
    X[:, 7] = 0
    res = fit(X, 4, method="hals", n_steps=40, seed=7)
    assert np.all(np.isfinite(res.W)) and np.all(np.isfinite(res.V))
    assert np.all(np.diff(res.loss) <= 1e-12 * res.loss[:-1])
    # a zero row of X is best fitted by a zero row of W, which HALS reaches in one step
    one = fit(X, 4, method="hals", n_steps=1, seed=7)
    assert np.all(one.W[3] == 0) and np.all(one.V[:, 7] == 0)


def test_zero_denominators_keep_factors_finite():
    """A zero row of V makes (V V^T)_kk = 0; a zero column of W makes (W^T W)_kk = 0."""
    X = noisy_data(m=20, n=30, d=3, seed=8)
    W0, V0 = initialize(X, 3, "random", seed=8)
    V0[1] = 0
    W1 = hals_update_W(X, W0, V0, passes=3)
    assert np.all(np.isfinite(W1))
    np.testing.assert_array_equal(W1[:, 1], W0[:, 1])  # nothing to fit: unchanged
    W0[:, 2] = 0
    V1 = hals_update_V(X, W0, V0, passes=3)
    assert np.all(np.isfinite(V1))
    np.testing.assert_array_equal(V1[2], V0[2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fit(X, 3, W0=W0, V0=V0, method="hals", n_steps=20)
    assert np.all(np.isfinite(res.W)) and np.all(np.isfinite(res.V)) and np.all(np.isfinite(res.loss))
    assert np.all(np.diff(res.loss) <= 1e-12 * res.loss[:-1])


def test_hals_moves_zeros_that_mu_cannot():
    X = noisy_data(seed=9)
    W0, V0 = initialize(X, 4, "nndsvd")
    zeros = W0 == 0
    assert zeros.sum() > 0
    with pytest.warns(ZeroLockWarning):
        mu = fit(X, 4, W0=W0, V0=V0, method="mu", n_steps=50)
    assert np.all(mu.W[zeros] == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ZeroLockWarning for HALS
        hals = fit(X, 4, W0=W0, V0=V0, method="hals", n_steps=50)
    assert np.count_nonzero(hals.W[zeros]) > 0
    assert hals.loss[-1] < mu.loss[-1]


def test_hals_beats_mu_per_step_on_the_experiment():
    mix = gaussian_mixture(n=1024, m=128, seed=0)
    W0, V0 = initialize(mix.X, 4, "random", seed=1)
    mu = fit(mix.X, 4, W0=W0, V0=V0, method="mu", n_steps=50)
    hals = fit(mix.X, 4, W0=W0, V0=V0, method="hals", n_steps=50)
    assert hals.loss[-1] < 0.1 * mu.loss[-1]


def test_bad_input_and_caller_data_untouched():
    X = noisy_data()
    W0, V0 = initialize(X, 4, "random", seed=10)
    copies = X.copy(), W0.copy(), V0.copy()
    with pytest.raises(ValueError, match="unknown method 'HALS'.*'hals'"):
        fit(X, 4, method="HALS")
    with pytest.raises(ValueError, match="negative"):
        fit(-X, 4, method="hals")
    with pytest.raises(ValueError, match="shape"):
        fit(X, 4, W0=W0[:, :3], V0=V0, method="hals")
    fit(X, 4, W0=W0, V0=V0, method="hals", n_steps=5)
    for a, b in zip((X, W0, V0), copies):
        np.testing.assert_array_equal(a, b)


def test_tol_and_callback_work_with_hals():
    X = noisy_data()
    res = fit(X, 4, method="hals", n_steps=5000, seed=11, tol=1e-6)
    assert res.stop_reason == "tol" and res.n_steps < 5000
    seen = []
    res = fit(X, 4, method="hals", n_steps=10, seed=11, callback=lambda s, W, V, l: seen.append(l) or s == 3)
    assert res.stop_reason == "callback" and res.n_steps == 3 and seen == list(res.loss)


def test_hals_passes():
    assert hals_passes(512, 16384, 4) == (5, 5)
    assert hals_passes(4, 4, 4, alpha=0.0) == (1, 1)
    pw, pv = hals_passes(10000, 10, 3, most=100)
    assert pw == 1 + int(0.5 * (1 + (10000 * 10 + 10 * 3) / (10000 * 4))) and pv > pw

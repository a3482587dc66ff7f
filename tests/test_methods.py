"""The methods of ``fit`` (``nmf_lib.METHODS``): each stepper is its readable rules.

The promises every method shares are tested once, parametrised over the methods: the
stepper computes what the rules of updates.py compute, the recorded loss is the
method's objective computed directly, the loss never increases, zero rows and columns
of X are handled, bad input is refused and the caller's arrays are untouched.  A new
method needs an entry in READABLE and OBJECTIVE, or these tests fail.  Below them, what
is particular to each method.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nmf_lib
from nmf_lib import (
    METHODS, ZeroLockWarning, fit, gaussian_mixture, hals_pass_counts, hals_update_V, hals_update_W,
    initialize, kl_divergence, kl_update_V, kl_update_W, logdet_penalty, mse, mu_update_V, mu_update_W,
    scale_to_fit,
)
from nmf_lib.steppers import HALS_DELTA, MINVOL_DELTA, MINVOL_WEIGHT
from nmf_lib.updates import extrapolate, minvol_lambda, minvol_update_W, normalize_columns, simplex_projection


def _hals_readable(X, W, V, n_steps):
    passes_W, passes_V = hals_pass_counts(*X.shape, W.shape[1])
    for _ in range(n_steps):
        W = hals_update_W(X, W, V, passes_W, HALS_DELTA)
        V = hals_update_V(X, W, V, passes_V, HALS_DELTA)
    return W, V


def _rules(update_W, update_V):
    """n_steps full steps (W, then V with the new W) of the two rules."""
    def run(X, W, V, n_steps):
        for _ in range(n_steps):
            W = update_W(X, W, V)
            V = update_V(X, W, V)
        return W, V
    return run


def _minvol_objective(X, W, V, W0, V0, weight=MINVOL_WEIGHT, delta=MINVOL_DELTA):
    """(||X - W V||^2 + lam logdet_penalty(W)) / (m n), lam from the start (W0, V0) with its
    columns rescaled to sum 1, as minvol_steps does."""
    lam = minvol_lambda(X, *normalize_columns(W0, V0), weight, delta)
    W, V = normalize_columns(W, V)
    return mse(X, W, V) + lam * logdet_penalty(W, delta) / X.size


def _minvol_readable(X, W, V, n_steps, weight=MINVOL_WEIGHT, delta=MINVOL_DELTA):
    """The rules of updates.py with the extrapolation minvol_steps documents."""
    passes_W, passes_V = hals_pass_counts(*X.shape, W.shape[1])
    W, V = normalize_columns(W, V)
    lam = minvol_lambda(X, W, V, weight, delta)

    def objective(W, V):
        return mse(X, W, V) + lam * logdet_penalty(W, delta) / X.size

    def step(W, V):
        W = minvol_update_W(X, W, V, lam, delta, passes_W, HALS_DELTA)
        return W, hals_update_V(X, W, V, passes_V, HALS_DELTA)

    best = objective(W, V)
    start_W, start_V, beta, beta_max = W, V, 0.5, 1.0
    for _ in range(n_steps):
        new_W, new_V = step(start_W, start_V)
        if objective(new_W, new_V) > best:
            beta_max, beta = beta, beta / 1.5
            new_W, new_V = step(W, V)
        if objective(new_W, new_V) > best:
            start_W, start_V = W, V
            continue
        best = objective(new_W, new_V)
        start_W, start_V = normalize_columns(extrapolate(new_W, W, beta), extrapolate(new_V, V, beta))
        W, V = new_W, new_V
        beta, beta_max = min(beta_max, 1.05 * beta), min(1.0, 1.01 * beta_max)
    return W, V


#: n_steps full steps (W, then V with the new W) with the readable rules of updates.py
READABLE = {"mu": _rules(mu_update_W, mu_update_V), "hals": _hals_readable,
            "kl": _rules(kl_update_W, kl_update_V), "minvol": _minvol_readable}
#: the objective each method records, computed directly in float64, for the start (W0, V0)
OBJECTIVE = {"mse": lambda X, W, V, W0, V0: mse(X, W, V),
             "kl": lambda X, W, V, W0, V0: kl_divergence(X, W, V),
             "minvol": _minvol_objective}
#: what a method does to the start before its first step (HALS depends on the start's scale)
PREPARE = {"hals": scale_to_fit}
ALL = sorted(METHODS)


def test_every_method_has_a_readable_reference_and_an_objective():
    assert set(READABLE) == set(METHODS)
    assert {spec.loss for spec in METHODS.values()} <= set(OBJECTIVE)


# ------------------------------------------------------------------ shared promises

@pytest.mark.parametrize("method, kernel", [(method, kernel) for method in ALL for kernel in ("numpy", "auto")
                                            if kernel == "numpy" or method in nmf_lib.fused.FUSED_STEPS])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 2e-4)])
def test_stepper_equals_readable_rules(data, method, kernel, dtype, rtol):
    """Both kernels: the numpy stepper, and "auto" (the fused one where numba is installed)."""
    X = data.noisy(dtype=dtype)
    W, V = initialize(X, 4, "random", seed=4)
    res = fit(X, 4, W0=W, V0=V, method=method, n_steps=12, kernel=kernel)
    W = PREPARE.get(method, lambda X, W, V: W)(X, W, V)
    W, V = READABLE[method](X, W, V, 12)
    np.testing.assert_allclose(res.W, W, rtol=rtol, atol=rtol * np.abs(W).max())
    np.testing.assert_allclose(res.V, V, rtol=rtol, atol=rtol * np.abs(V).max())


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_recorded_loss_is_the_objective(data, method, dtype):
    X = data.noisy(dtype=dtype)
    objective = OBJECTIVE[METHODS[method].loss]
    res = fit(X, 4, method=method, n_steps=20, seed=3)
    rtol = 1e-9 if dtype == np.float64 else 1e-3
    W0, V0 = initialize(X, 4, "random", seed=3)
    assert res.loss[-1] == pytest.approx(objective(X, res.W, res.V, W0, V0), rel=rtol)
    assert res.loss[0] == pytest.approx(objective(X, W0, V0, W0, V0), rel=rtol)
    if res.mse is not None:  # the reconstruction error alongside
        assert res.mse[-1] == pytest.approx(mse(X, res.W, res.V), rel=rtol)
        assert res.mse[0] == pytest.approx(mse(X, W0, V0), rel=rtol)


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_never_increases_and_factors_stay_finite(data, method, dtype):
    # float32: the objective is a difference of terms of the size of ||X||^2 (or of
    # sum X log X), each rounded in float32 (relative ~1e-7): allow 1e-5 of mean(X^2)
    X = data.noisy(dtype=dtype)
    res = fit(X, 4, method=method, n_steps=200, seed=1)
    assert res.method == method and res.loss.size == 201
    allowed = (1e-12 * res.loss[:-1] if dtype == np.float64
               else 1e-5 * float(np.mean(X.astype(np.float64) ** 2)))
    assert np.all(np.diff(res.loss) <= allowed)
    assert res.loss[-1] < 0.2 * res.loss[0]
    for F in (res.W, res.V):
        assert F.dtype == dtype
        assert np.all(np.isfinite(F)) and F.min() >= 0


@pytest.mark.parametrize("method", ALL)
def test_zero_rows_and_columns_of_X(data, method):
    X = data.noisy()
    X[3] = 0
    X[:, 7] = 0
    res = fit(X, 4, method=method, n_steps=50, seed=5)
    assert np.all(np.isfinite(res.W)) and np.all(np.isfinite(res.V)) and np.all(np.isfinite(res.loss))
    assert np.all(np.diff(res.loss) <= 1e-12 * res.loss[:-1])


@pytest.mark.parametrize("method", ALL)
def test_bad_input_and_callers_data_untouched(data, method):
    X = data.noisy()
    W0, V0 = initialize(X, 4, "random", seed=9)
    copies = X.copy(), W0.copy(), V0.copy()
    with pytest.raises(ValueError, match=f"unknown method '{method.upper()}'.*'{method}'"):
        fit(X, 4, method=method.upper())
    with pytest.raises(ValueError, match="negative"):
        fit(-X, 4, method=method)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(Xn, 4, method=method)
    with pytest.raises(ValueError, match="shape"):
        fit(X, 4, W0=W0[:, :3], V0=V0, method=method)
    with pytest.raises(TypeError, match="no option 'nonsense'"):
        fit(X, 4, method=method, options={"nonsense": 1})
    fit(X, 4, W0=W0, V0=V0, method=method, n_steps=5)
    for a, b in zip((X, W0, V0), copies):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("method", ALL)
def test_tol_and_callback(data, method):
    X = data.noisy()
    res = fit(X, 4, method=method, n_steps=5000, seed=11, tol=1e-6)
    assert res.stop_reason == "tol" and res.n_steps < 5000
    seen = []
    res = fit(X, 4, method=method, n_steps=10, seed=11,
              callback=lambda s, W, V, loss: seen.append(loss) or s == 3)
    assert res.stop_reason == "callback" and res.n_steps == 3 and seen == list(res.loss)


@pytest.mark.parametrize("method", ALL)
def test_zero_lock_warning_only_for_methods_that_cannot_move_zeros(data, method):
    X = data.noisy(seed=9)
    W0, V0 = initialize(X, 4, "nndsvd")
    zeros = W0 == 0
    assert zeros.sum() > 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit(X, 4, W0=W0, V0=V0, method=method, n_steps=50)
    locked = any(issubclass(w.category, ZeroLockWarning) for w in caught)
    assert locked == (not METHODS[method].moves_zeros)
    if METHODS[method].moves_zeros:
        assert np.count_nonzero(res.W[zeros]) > 0
    else:
        assert np.all(res.W[zeros] == 0)


# ---------------------------------------------------------------------------- HALS

def test_hals_stepper_equals_readable_rules_with_single_and_many_passes(data):
    X = data.noisy(m=30, n=300, d=3, seed=5)
    W0, V0 = initialize(X, 3, "random", seed=5)
    for passes in [(1, 1), (7, 3)]:
        res = fit(X, 3, W0=W0, V0=V0, method="hals", n_steps=5, options={"passes": passes, "delta": 0.0})
        Wr, Vr = scale_to_fit(X, W0, V0), V0
        for _ in range(5):
            Wr = hals_update_W(X, Wr, Vr, passes[0])
            Vr = hals_update_V(X, Wr, Vr, passes[1])
        np.testing.assert_allclose(res.W, Wr, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(res.V, Vr, rtol=1e-10, atol=1e-12)


def test_hals_options_are_checked(data):
    X = data.noisy()
    one = fit(X, 4, method="hals", n_steps=3, seed=0, options={"passes": 1})
    pair = fit(X, 4, method="hals", n_steps=3, seed=0, options={"passes": (1, 1)})
    np.testing.assert_array_equal(one.W, pair.W)
    for bad, error in [({"passes": 0}, ValueError), ({"passes": 2.5}, TypeError),
                       ({"passes": (1, 2, 3)}, TypeError), ({"delta": -0.1}, ValueError),
                       ({"delta": "0.1"}, TypeError), ("passes=1", TypeError)]:
        with pytest.raises(error, match="passes|delta|options"):
            fit(X, 4, method="hals", n_steps=1, seed=0, options=bad)


def test_one_hals_column_update_is_the_exact_minimiser(data):
    """hals_update_W with one pass: each column solves its non-negative least squares
    problem exactly, so no single column can be improved by moving it."""
    X = data.noisy(m=20, n=30, d=3, seed=6)
    W0, V0 = initialize(X, 3, "random", seed=6)
    W = hals_update_W(X, W0, V0)
    k = 2  # after the pass the last column is optimal given the others
    R = X - np.delete(W, k, axis=1) @ np.delete(V0, k, axis=0)
    best = np.maximum(R @ V0[k] / (V0[k] @ V0[k]), 0)
    np.testing.assert_allclose(W[:, k], best, rtol=1e-12, atol=1e-14)
    rng = np.random.default_rng(0)
    base = mse(X, W, V0)
    for _ in range(20):
        trial = W.copy()
        trial[:, k] = np.maximum(trial[:, k] + 1e-3 * rng.standard_normal(20), 0)
        assert mse(X, trial, V0) >= base


def test_hals_fits_a_zero_row_of_X_by_a_zero_row_of_W_in_one_step(data):
    X = data.noisy()
    X[3] = 0
    X[:, 7] = 0
    one = fit(X, 4, method="hals", n_steps=1, seed=7)
    assert np.all(one.W[3] == 0) and np.all(one.V[:, 7] == 0)


def test_hals_zero_denominators_keep_factors_finite(data):
    """A zero row of V makes (V V^T)_kk = 0; a zero column of W makes (W^T W)_kk = 0."""
    X = data.noisy(m=20, n=30, d=3, seed=8)
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


def test_hals_beats_mu_per_step_on_the_experiment():
    mix = gaussian_mixture(m=128, n=1024, seed=0)
    W0, V0 = initialize(mix.X, 4, "random", seed=1)
    mu = fit(mix.X, 4, W0=W0, V0=V0, method="mu", n_steps=50)
    hals = fit(mix.X, 4, W0=W0, V0=V0, method="hals", n_steps=50)
    assert hals.loss[-1] < 0.1 * mu.loss[-1]


def test_hals_pass_counts():
    assert hals_pass_counts(512, 16384, 4) == (5, 5)
    assert hals_pass_counts(4, 4, 4, alpha=0.0) == (1, 1)
    pw, pv = hals_pass_counts(10000, 10, 3, most=100)
    assert pw == 1 + int(0.5 * (1 + (10000 * 10 + 10 * 3) / (10000 * 4))) and pv > pw


# ------------------------------------------------------------------ Kullback-Leibler

def _naive_kl(X, Y):
    """sum X log(X / Y) - X + Y over all entries, term by term, divided by the size."""
    total = 0.0
    for x, y in zip(np.ravel(X).astype(float), np.ravel(Y).astype(float)):
        total += (x * np.log(x / y) if x > 0 else 0.0) - x + y
    return total / np.size(X)


def test_kl_divergence_matches_definition_with_zeros(data):
    X = data.noisy(m=8, n=9)
    X[2] = 0
    X[:, 4] = 0
    W, V = initialize(X, 3, "random", seed=1)
    assert kl_divergence(X, W, V) == pytest.approx(_naive_kl(X, W @ V), rel=1e-12)


def test_kl_divergence_zero_at_exact_fit_and_infinite_where_wv_vanishes():
    mix = gaussian_mixture(m=32, n=50, seed=0)
    assert kl_divergence(mix.X, mix.G, mix.Nu) == pytest.approx(0.0, abs=1e-12)
    W = mix.G.copy()
    W[5] = 0  # (WV)_5j = 0 while X_5j > 0
    assert kl_divergence(mix.X, W, mix.Nu) == np.inf


def test_kl_zeroes_the_row_of_W_of_a_zero_row_of_X_in_one_step(data):
    X = data.noisy()
    X[3] = 0
    one = fit(X, 4, method="kl", n_steps=1, seed=5)
    assert np.all(one.W[3] == 0)  # the ratio X / WV is 0 on that row


def test_kl_zero_entries_of_WV_are_guarded(data):
    X = data.noisy(m=20, n=30, d=3, seed=6)
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


def test_kl_zero_row_of_V_keeps_W_finite(data):
    X = data.noisy(m=20, n=30, d=3, seed=7)
    W0, V0 = initialize(X, 3, "random", seed=7)
    V0[1] = 0
    W1 = kl_update_W(X, W0, V0)
    assert np.all(np.isfinite(W1)) and np.all(W1[:, 1] == 0)


def test_methods_registry_is_read_only():
    with pytest.raises(TypeError):
        nmf_lib.METHODS["new"] = METHODS["mu"]


# ------------------------------------------------------------------ minimum volume

def test_minvol_mse_and_loss_relate_as_documented(data):
    X = data.noisy()
    res = fit(X, 4, method="minvol", n_steps=30, seed=2)
    assert np.all(res.loss > res.mse)  # the penalty is >= 0, and > 0 for W != 0
    assert np.all(np.diff(res.loss) <= 0)
    free = fit(X, 4, method="minvol", n_steps=30, seed=2, options={"weight": 0.0})
    np.testing.assert_array_equal(free.loss, free.mse)
    for method in ("mu", "hals"):
        plain = fit(X, 4, method=method, n_steps=5, seed=2)
        np.testing.assert_array_equal(plain.mse, plain.loss)
    assert fit(X, 4, method="kl", n_steps=5, seed=2).mse is None


def test_minvol_keeps_the_columns_of_W_on_the_simplex(data):
    X = data.noisy(seed=4)
    W0, V0 = initialize(X, 4, "random", seed=4)
    res = fit(X, 4, W0=W0, V0=V0, method="minvol", n_steps=25, record_steps="all")
    np.testing.assert_allclose(res.W_history.sum(axis=1), 1.0, rtol=1e-12)
    assert res.W_history.min() >= 0
    # the rescaled start is the caller's start: same product
    Wn, Vn = normalize_columns(W0, V0)
    np.testing.assert_array_equal(res.W_history[0], Wn)
    np.testing.assert_allclose(Wn @ Vn, W0 @ V0, rtol=1e-13)


def test_minvol_has_no_fused_kernel(data):
    X = data.noisy()
    with pytest.raises(ValueError, match="no fused step for method 'minvol'"):
        fit(X, 4, method="minvol", kernel="fused", n_steps=2)
    auto = fit(X, 4, method="minvol", kernel="auto", n_steps=5, seed=1)
    numpy = fit(X, 4, method="minvol", kernel="numpy", n_steps=5, seed=1)
    np.testing.assert_array_equal(auto.W, numpy.W)


def test_minvol_options_are_checked(data):
    X = data.noisy()
    for bad, error in [({"weight": -1.0}, ValueError), ({"weight": "0.1"}, TypeError),
                       ({"weight": np.inf}, ValueError), ({"logdet_delta": 0.0}, ValueError),
                       ({"logdet_delta": True}, TypeError), ({"delta": 0.1}, TypeError)]:
        with pytest.raises(error, match="weight|logdet_delta|no option 'delta'"):
            fit(X, 4, method="minvol", n_steps=1, seed=0, options=bad)


def test_minvol_stepper_equals_readable_rules_with_other_options(data):
    X = data.noisy(m=30, n=80, d=3, seed=5)
    W0, V0 = initialize(X, 3, "random", seed=5)
    options = {"weight": 0.05, "logdet_delta": 1e-3}
    res = fit(X, 3, W0=W0, V0=V0, method="minvol", n_steps=15, options=options)
    W, V = _minvol_readable(X, W0, V0, 15, weight=0.05, delta=1e-3)
    np.testing.assert_allclose(res.W, W, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(res.V, V, rtol=1e-10, atol=1e-12)
    assert res.loss[-1] == pytest.approx(_minvol_objective(X, W, V, W0, V0, 0.05, 1e-3), rel=1e-10)


def test_simplex_projection_is_the_nearest_point_of_the_simplex():
    rng = np.random.default_rng(0)
    for scale in (0.01, 1.0, 100.0):
        y = scale * rng.standard_normal(12)
        w = simplex_projection(y)
        assert w.min() >= 0 and w.sum() == pytest.approx(1.0, abs=1e-14)
        for _ in range(200):  # no point of the simplex is nearer
            other = rng.dirichlet(np.full(12, 0.3))
            assert np.sum((y - other) ** 2) >= np.sum((y - w) ** 2) - 1e-12
    w = np.array([0.2, 0.5, 0.3])
    np.testing.assert_allclose(simplex_projection(w), w, rtol=1e-15)  # already on it
    np.testing.assert_array_equal(simplex_projection(np.array([5.0, 0.0, -1.0])), [1.0, 0.0, 0.0])


def test_one_minvol_column_update_is_the_exact_minimiser_of_the_majorizer(data):
    """After a single pass the last column minimises the quadratic majorizer over the simplex."""
    X = data.noisy(m=20, n=30, d=3, seed=6)
    W0, V0 = normalize_columns(*initialize(X, 3, "random", seed=6))
    lam, delta = 0.5, 1e-3
    W = minvol_update_W(X, W0, V0, lam, delta)
    Y = np.linalg.inv(W0.T @ W0 + delta * np.eye(3))

    def majorizer(W):
        return np.sum((X - W @ V0) ** 2) + lam * np.sum(Y * (W.T @ W))

    rng = np.random.default_rng(1)
    base = majorizer(W)
    assert base <= majorizer(W0)
    for _ in range(50):
        trial = W.copy()
        trial[:, 2] = rng.dirichlet(np.ones(20)) * 0.02 + 0.98 * W[:, 2]
        assert majorizer(trial) >= base - 1e-12

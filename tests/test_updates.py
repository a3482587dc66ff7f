"""nmf_lib.updates: Lee and Seung's multiplicative rules, one function per formula."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nmf_lib import guard, mse, mu_update_V, mu_update_W


def _loop_update_W(X, W, V):
    """W_ik * sum_j X_ij V_kj / sum_j sum_l W_il V_lj V_kj, entry by entry (no matmul)."""
    m, d = W.shape
    out = np.empty_like(W)
    WV = np.array([[sum(W[i, l] * V[l, j] for l in range(d)) for j in range(X.shape[1])] for i in range(m)])
    for i in range(m):
        for k in range(d):
            num = sum(X[i, j] * V[k, j] for j in range(X.shape[1]))
            den = sum(WV[i, j] * V[k, j] for j in range(X.shape[1]))
            out[i, k] = W[i, k] * num / den
    return out


def _random_problem(seed, m=5, n=7, d=3):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(m, n)), rng.uniform(size=(m, d)), rng.uniform(size=(d, n))


def test_update_w_is_the_formula_entry_by_entry():
    X, W, V = _random_problem(0)
    np.testing.assert_allclose(mu_update_W(X, W, V), _loop_update_W(X, W, V), rtol=1e-13)


def test_update_v_is_the_formula_entry_by_entry():
    """By symmetry: the V rule on (X, W, V) is the W rule on (X^T, V^T, W^T), transposed."""
    X, W, V = _random_problem(1)
    np.testing.assert_allclose(mu_update_V(X, W, V), _loop_update_W(X.T, V.T, W.T).T, rtol=1e-13)


def test_inputs_are_not_modified():
    X, W, V = _random_problem(2)
    copies = [A.copy() for A in (X, W, V)]
    mu_update_W(X, W, V)
    mu_update_V(X, W, V)
    for A, C in zip((X, W, V), copies):
        np.testing.assert_array_equal(A, C)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    X, W, V = (A.astype(dtype) for A in _random_problem(3))
    assert mu_update_W(X, W, V).dtype == dtype and mu_update_V(X, W, V).dtype == dtype


def test_exact_factorization_is_a_fixed_point():
    _, W, V = _random_problem(4)
    X = W @ V
    np.testing.assert_allclose(mu_update_W(X, W, V), W, rtol=1e-12)
    np.testing.assert_allclose(mu_update_V(X, W, V), V, rtol=1e-12)


def test_scale_invariance():
    """The W rule does not depend on the scale of W (numerator and denominator are both
    linear in W), so the rule fixes the scale itself."""
    X, W, V = _random_problem(5)
    np.testing.assert_allclose(mu_update_W(X, 7.0 * W, V), mu_update_W(X, W, V), rtol=1e-13)
    np.testing.assert_allclose(mu_update_V(X, W, 0.01 * V), mu_update_V(X, W, V), rtol=1e-13)


def test_zero_denominators_give_zero_not_nan():
    """A zero row of V makes column k of W V V^T zero, and of X V^T too: 0 / 0 -> 0.
    (pytest turns numpy's RuntimeWarning for 0/0 into an error, so none may occur.)"""
    X, W, V = _random_problem(6)
    V[1] = 0.0
    W_new = mu_update_W(X, W, V)
    assert np.all(np.isfinite(W_new))
    np.testing.assert_array_equal(W_new[:, 1], 0.0)
    W[2] = 0.0
    X[2] = 0.0
    V_new = mu_update_V(X, W, V)
    assert np.all(np.isfinite(V_new)) and np.all(V_new >= 0)


def test_zeros_stay_zero():
    X, W, V = _random_problem(7)
    W[3, 2] = 0.0
    V[0, 4] = 0.0
    assert mu_update_W(X, W, V)[3, 2] == 0.0
    assert mu_update_V(X, W, V)[0, 4] == 0.0


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_guard_raises_only_zeros_in_place_and_keeps_subnormals(dtype):
    """A positive denominator, however small, is kept: raising a subnormal one to the
    smallest normal number shrank the step by up to 2^23 (float32) and was one cause of
    multiplicative updates collapsing to zero on data around 1e-21."""
    tiny, smallest = np.finfo(dtype).tiny, np.finfo(dtype).smallest_subnormal
    d = np.array([0.0, tiny / 4, smallest, 1.0, 3.5], dtype=dtype)
    out = guard(d)
    assert out is d and d.dtype == dtype
    np.testing.assert_array_equal(d, np.array([smallest, tiny / 4, smallest, 1.0, 3.5], dtype=dtype))


@given(
    st.integers(1, 8), st.integers(1, 8), st.integers(1, 5), st.integers(0, 2**32 - 1),
    st.sampled_from(["W", "V"]),
)
def test_each_half_step_does_not_increase_the_loss(m, n, d, seed, which):
    """Lee and Seung's theorem, for each rule on its own, from any positive start."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(m, n)) * (rng.uniform(size=(m, n)) < 0.8)
    W, V = rng.uniform(size=(m, d)) * 3, rng.uniform(size=(d, n))
    before = mse(X, W, V)
    after = mse(X, mu_update_W(X, W, V), V) if which == "W" else mse(X, W, mu_update_V(X, W, V))
    assert after <= before + 1e-12 * max(before, float(np.mean(X * X)))

"""nmf_lib.metrics: losses, matching learned factors to true ones, sparsity."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nmf_lib
from nmf_lib import hoyer_sparsity, match_components, mse, mse_from_products, squared_norm


# ----------------------------------------------------------------------------- losses

def test_mse_is_the_mean_of_squared_residuals():
    rng = np.random.default_rng(0)
    X, W, V = rng.uniform(size=(5, 6)), rng.uniform(size=(5, 2)), rng.uniform(size=(2, 6))
    expected = sum((X[i, j] - sum(W[i, k] * V[k, j] for k in range(2))) ** 2
                   for i in range(5) for j in range(6)) / 30
    assert mse(X, W, V) == pytest.approx(expected, rel=1e-13)
    assert mse(W @ V, W, V) == 0.0
    assert isinstance(mse(X, W, V), float)


def test_mse_computes_in_float64():
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(50, 60))
    W, V = rng.uniform(size=(50, 3)), rng.uniform(size=(3, 60))
    X32, W32, V32 = (A.astype(np.float32) for A in (X, W, V))
    expected = np.mean((X32.astype(float) - W32.astype(float) @ V32.astype(float)) ** 2)
    assert mse(X32, W32, V32) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("block", [1, 7, 1 << 16])
def test_squared_norm_c_contiguous(block):
    X = np.random.default_rng(2).uniform(size=(13, 11))
    assert squared_norm(X, block=block) == pytest.approx(np.sum(X * X), rel=1e-14)


@pytest.mark.parametrize(
    "view",
    [lambda A: A.T, lambda A: A[:, ::2], lambda A: np.asfortranarray(A), lambda A: A[::-1]],
    ids=["transposed", "strided", "fortran", "reversed"],
)
def test_squared_norm_non_contiguous_does_not_need_a_copy(view):
    A = np.random.default_rng(3).uniform(size=(13, 11))
    Y = view(A)
    assert squared_norm(Y) == pytest.approx(np.sum(Y * Y), rel=1e-14)


def test_squared_norm_accumulates_float32_in_float64():
    """A float32 sum of 2^20 values near 1 loses about 1e-4 of it; float64 does not."""
    X = np.full((1024, 1024), 1.0 + 2.0**-12, dtype=np.float32)
    exact = X.size * float(X[0, 0]) ** 2
    assert squared_norm(X) == pytest.approx(exact, rel=1e-12)


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_mse_from_products_equals_mse(m, n, d, seed):
    rng = np.random.default_rng(seed)
    X, W, V = rng.uniform(size=(m, n)) * 3, rng.uniform(size=(m, d)), rng.uniform(size=(d, n))
    cheap = mse_from_products(squared_norm(X), float(np.vdot(W.T @ X, V)), W.T @ W, V @ V.T, X.size)
    direct = mse(X, W, V)
    assert cheap == pytest.approx(direct, rel=1e-10, abs=1e-13 * np.mean(X * X))


def test_mse_from_products_clips_rounding_below_zero():
    # an exact fit whose three terms cancel to a tiny negative number
    assert mse_from_products(1.0, 0.5 + 1e-17, np.eye(1), np.array([[0.0]]), 1) == 0.0
    assert mse_from_products(1.0, 0.5000001, np.eye(1), np.array([[0.0]]), 4) == 0.0


# ----------------------------------------------------------------------------- matching

def _g():
    return nmf_lib.gaussian_basis(128)[1]


def test_match_recovers_a_known_permutation_and_scale_exactly():
    G = _g()
    perm = np.array([2, 0, 3, 1])  # learned column j is true column perm[j]
    scales = np.array([0.5, 3.0, 7.25, 0.01])
    L = G[:, perm] * scales
    match = match_components(G, L)
    # true column k sits at learned column perm^-1[k]
    np.testing.assert_array_equal(match.order, np.argsort(perm))
    np.testing.assert_allclose(match.correlation, 1.0, rtol=1e-12)
    np.testing.assert_allclose(match.scale, scales[np.argsort(perm)], rtol=1e-12)
    assert match.worst == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(L[:, match.order], G * match.scale, rtol=1e-12)


def test_match_with_extra_learned_components():
    G = _g()
    rng = np.random.default_rng(4)
    L = np.column_stack([rng.uniform(size=128), G[:, 3], rng.uniform(size=128), G[:, 1] * 2,
                         G[:, 0], G[:, 2] * 0.1])
    match = match_components(G, L)
    np.testing.assert_array_equal(match.order, [4, 3, 5, 1])
    np.testing.assert_allclose(match.scale, [1.0, 2.0, 0.1, 1.0], rtol=1e-12)


def test_match_picks_the_best_total_not_the_greedy_choice():
    """corr(T0, L0) = 0.6, corr(T1, L0) = 0.55, corr(T0, L1) = 0.5, corr(T1, L1) = 0:
    greedy (true 0 takes its best, learned 0) totals 0.6; the optimum, T0 -> L1 and
    T1 -> L0, totals 1.05."""
    A = np.random.default_rng(5).normal(size=(50, 3))
    E, _ = np.linalg.qr(A - A.mean(axis=0))  # orthonormal, zero-mean columns e1, e2, e3
    e1, e2, e3 = E.T
    T = np.column_stack([e1, e2]) + 2.0  # shifts and positive scales do not change correlations
    L = np.column_stack([0.6 * e1 + 0.55 * e2 + np.sqrt(1 - 0.6**2 - 0.55**2) * e3,
                         3.0 * (0.5 * e1 + np.sqrt(1 - 0.5**2) * e3)]) + 1.0
    match = match_components(T, L)
    np.testing.assert_array_equal(match.order, [1, 0])
    np.testing.assert_allclose(match.correlation, [0.5, 0.55], rtol=1e-12)


@given(st.integers(1, 5), st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_match_maximises_the_total_correlation(d, extra, seed):
    """Against brute force over every one-to-one assignment."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(size=(20, d))
    L = rng.uniform(size=(20, d + extra))
    match = match_components(T, L)
    C = np.corrcoef(np.column_stack([T, L]).T)[:d, d:]
    best = max(sum(C[k, p[k]] for k in range(d)) for p in itertools.permutations(range(d + extra), d))
    assert len(set(match.order.tolist())) == d
    np.testing.assert_allclose(match.correlation, C[np.arange(d), match.order], rtol=1e-10)
    assert match.correlation.sum() == pytest.approx(best, rel=1e-10)


def test_correlation_matrix_is_numpys_corrcoef_between_the_two_sets():
    rng = np.random.default_rng(3)
    A, B = rng.uniform(size=(25, 3)), rng.uniform(size=(25, 5))
    expected = np.corrcoef(np.column_stack([A, B]).T)[:3, 3:]
    np.testing.assert_allclose(nmf_lib.correlation_matrix(A, B), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="same number of rows"):
        nmf_lib.correlation_matrix(A, B[:-1])


@given(st.integers(1, 5), st.integers(0, 2), st.integers(0, 2**32 - 1))
def test_best_assignment_is_the_brute_force_optimum(k, extra, seed):
    score = np.random.default_rng(seed).normal(size=(k, k + extra))
    col = nmf_lib.best_assignment(score)
    best = max(sum(score[i, p[i]] for i in range(k)) for p in itertools.permutations(range(k + extra), k))
    assert len(set(col.tolist())) == k
    assert score[np.arange(k), col].sum() == pytest.approx(best, rel=1e-12)


def test_best_assignment_refuses_more_rows_than_columns():
    with pytest.raises(ValueError, match="no more rows than columns"):
        nmf_lib.best_assignment(np.ones((3, 2)))


def test_column_scale_is_the_least_squares_factor():
    rng = np.random.default_rng(0)
    T, L = rng.uniform(size=(30, 3)), rng.uniform(size=(30, 3))
    T[:, 2] = 0.0
    s = nmf_lib.column_scale(T, L)
    for k in range(2):  # learned ~= s * true
        assert s[k] == pytest.approx(np.linalg.lstsq(T[:, [k]], L[:, k], rcond=None)[0][0])
    assert s[2] == 0.0


def test_align_puts_the_learned_factors_in_the_true_order_and_units():
    G = _g()
    rng = np.random.default_rng(1)
    Nu = rng.uniform(size=(4, 9))
    perm, scales = np.array([2, 0, 3, 1]), np.array([0.5, 3.0, 7.25, 0.01])
    W, V = G[:, perm] * scales, Nu[perm] / scales[:, None]   # the same product G Nu
    match = match_components(G, W)
    W_al, V_al = match.align(W, V)
    np.testing.assert_allclose(W_al, G, rtol=1e-12)
    np.testing.assert_allclose(V_al, Nu, rtol=1e-12)
    np.testing.assert_allclose(W_al @ V_al, W @ V, rtol=1e-12)
    np.testing.assert_allclose(match.align(W), G, rtol=1e-12)


def test_match_constant_learned_column_counts_as_uncorrelated():
    G = _g()
    L = np.column_stack([G[:, :3], np.ones(128)])
    match = match_components(G, L)
    assert match.correlation[3] == 0.0 and match.order[3] == 3


@pytest.mark.parametrize(
    "T, L, fragment",
    [
        (np.ones((10, 2)), np.ones((9, 2)), r"same number of rows, got \(10, 2\) and \(9, 2\)"),
        (np.ones(10), np.ones((10, 2)), r"must be 2-D"),
        (np.ones((10, 3)), np.ones((10, 2)), r"cannot match 3 true components to only 2 learned ones"),
    ],
)
def test_match_rejects_mismatched_shapes(T, L, fragment):
    with pytest.raises(ValueError, match=fragment):
        match_components(T, L)


# ----------------------------------------------------------------------------- sparsity

def test_hoyer_one_hot_is_one_and_constant_is_zero():
    A = np.array([[0.0, 5.0], [0.0, 5.0], [3.0, 5.0], [0.0, 5.0]])
    np.testing.assert_allclose(hoyer_sparsity(A), [1.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(hoyer_sparsity(A.T, axis=1), [1.0, 0.0], atol=1e-15)


def test_hoyer_known_value_and_sign():
    # [1, 1, 0, 0]: l1 / l2 = sqrt(2), so (2 - sqrt(2)) / (2 - 1)
    a = np.array([[1.0], [-1.0], [0.0], [0.0]])
    np.testing.assert_allclose(hoyer_sparsity(a), [2.0 - np.sqrt(2.0)], rtol=1e-15)


@given(st.integers(2, 30), st.integers(0, 2**32 - 1))
def test_hoyer_lies_in_unit_interval(k, seed):
    A = np.random.default_rng(seed).uniform(size=(k, 5)) * (np.random.default_rng(seed + 1).uniform(size=(k, 5)) < 0.5)
    s = hoyer_sparsity(A)
    assert s.shape == (5,) and np.all(s >= -1e-12) and np.all(s <= 1 + 1e-12)


def test_hoyer_is_scale_invariant_and_grows_with_concentration():
    a = np.array([[4.0, 3.0, 2.0, 1.0]]).T
    b = np.array([[4.0, 1.0, 0.5, 0.1]]).T
    np.testing.assert_allclose(hoyer_sparsity(10 * a), hoyer_sparsity(a), rtol=1e-14)
    assert hoyer_sparsity(b)[0] > hoyer_sparsity(a)[0]


@pytest.mark.parametrize("A, fragment", [(np.ones(4), "2-D"), (np.ones((1, 3)), "length >= 2")])
def test_hoyer_bad_input(A, fragment):
    with pytest.raises(ValueError, match=fragment):
        hoyer_sparsity(A)

"""nmf_lib.uniqueness: the smallest ratios, the exact alternative factorizations, SPA.

On the post's data (the four Gaussian bumps of data.py): subtracting the largest
allowed multiple of g2 from g1 (or of g3 from g4) gives another exact factorization
whose column correlates only about 0.758 (0.866) with the true bump.
"""

from __future__ import annotations

import numpy as np
import pytest

import nmf_lib
from nmf_lib import (
    correlation_matrix, exact_alternative, fit, gaussian_basis, gaussian_mixture, logdet_penalty,
    match_components, smallest_ratios, spa, spa_start,
)
from nmf_lib.steppers import MINVOL_DELTA


@pytest.fixture(scope="module")
def post():
    """The post's data, fewer samples: the exact alternatives do not depend on n."""
    return gaussian_mixture(m=512, n=2048, seed=0)


# ------------------------------------------------------------------- smallest ratios

def _brute_force_ratios(W):
    d = W.shape[1]
    R = np.empty((d, d))
    for i in range(d):
        for j in range(d):
            R[i, j] = min((W[t, i] / W[t, j] for t in range(W.shape[0]) if W[t, j] > 0), default=np.inf)
    return R


def test_smallest_ratios_match_brute_force_with_zeros():
    rng = np.random.default_rng(0)
    W = rng.uniform(size=(15, 4))
    W[rng.uniform(size=W.shape) < 0.3] = 0.0
    W[:, 2] = 0.0  # a zero column: nothing bounds the multiple of it
    R = smallest_ratios(W)
    expected = _brute_force_ratios(W)
    np.fill_diagonal(expected, [1.0, 1.0, np.inf, 1.0])
    np.testing.assert_array_equal(R, expected)
    assert np.all(np.isinf(R[:, 2]))


def test_smallest_ratios_of_the_posts_bumps():
    """g1 - 0.564 g2 stays >= 0 (the issue's figure), while almost nothing can be taken from g3."""
    _, G = gaussian_basis(512)
    R = smallest_ratios(G)
    np.testing.assert_allclose(np.diag(R), 1.0)
    np.testing.assert_allclose(R, _brute_force_ratios(G), rtol=1e-13)
    assert R[0, 1] == pytest.approx(0.5636, abs=5e-5)
    assert R[3, 2] == pytest.approx(0.1899, abs=5e-5)
    assert np.all(np.delete(R[2], 2) < 1e-3)  # g3 is pinned


def test_smallest_ratios_bound_is_tight():
    """Subtracting R[i, j] w_j leaves a zero entry; a little more makes one negative."""
    W = np.random.default_rng(1).uniform(0.1, 1.0, size=(20, 3))
    R = smallest_ratios(W)
    for i, j in [(0, 1), (2, 0)]:
        col = W[:, i] - R[i, j] * W[:, j]
        assert col.min() == pytest.approx(0.0, abs=1e-15)
        assert (W[:, i] - 1.001 * R[i, j] * W[:, j]).min() < 0


# -------------------------------------------------------------- exact alternatives

def test_exact_alternatives_of_the_posts_data(post):
    R = smallest_ratios(post.G)
    norm = np.linalg.norm(post.X)
    for i, j, corr in [(0, 1, 0.758), (3, 2, 0.866)]:
        W, V = exact_alternative(post.G, post.Nu, [(i, j, R[i, j])])
        assert W.min() >= 0 and V.min() >= 0
        assert np.linalg.norm(W @ V - post.X) / norm < 1e-15
        C = correlation_matrix(W, post.G)
        assert C[i, i] == pytest.approx(corr, abs=5e-4)
        others = [k for k in range(4) if k != i]
        np.testing.assert_array_equal(W[:, others], post.G[:, others])
        assert not np.array_equal(V[j], post.Nu[j])


def test_moves_combine_and_are_the_matrix_product(post):
    R = smallest_ratios(post.G)
    moves = [(0, 1, 0.5 * R[0, 1]), (3, 2, R[3, 2]), (1, 3, 0.5 * R[1, 3])]
    W, V = exact_alternative(post.G, post.Nu, moves)
    M = np.eye(4)
    for i, j, alpha in moves:
        shear = np.eye(4)
        shear[j, i] = -alpha  # column i of W M is w_i - alpha w_j
        M = M @ shear
    np.testing.assert_allclose(W, post.G @ M, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(V, np.linalg.solve(M, post.Nu), rtol=1e-12, atol=1e-14)
    assert np.linalg.norm(W @ V - post.X) / np.linalg.norm(post.X) < 1e-15


def test_exact_alternative_refuses_a_move_too_far_and_names_it(post):
    R = smallest_ratios(post.G)
    G, Nu = post.G.copy(), post.Nu.copy()
    with pytest.raises(ValueError, match=r"move 1 \(i=0, j=1, alpha=0\.6.*column 0 of W negative"):
        exact_alternative(post.G, post.Nu, [(3, 2, R[3, 2]), (0, 1, 1.1 * R[0, 1])])
    with pytest.raises(ValueError, match=r"move 0 .*row 1 of V negative"):
        exact_alternative(post.G, post.Nu, [(0, 1, -0.5)])  # adding g2 to g1 takes from v_2
    np.testing.assert_array_equal(G, post.G)
    np.testing.assert_array_equal(Nu, post.Nu)


@pytest.mark.parametrize("moves, error, match", [
    ([(0, 0, 0.1)], ValueError, "i and j must differ"),
    ([(0, 4, 0.1)], ValueError, "j = 4 is not a column index"),
    ([(0, 1.0, 0.1)], TypeError, "j must be an integer"),
    ([(0, 1, np.nan)], TypeError, "alpha must be a finite real"),
    ([(0, 1)], TypeError, "must be a triple"),
    ((0, 1, 0.1), TypeError, "single triple"),
])
def test_exact_alternative_bad_moves(post, moves, error, match):
    with pytest.raises(error, match=match):
        exact_alternative(post.G, post.Nu, moves)


def test_exact_alternative_bad_factors(post):
    with pytest.raises(ValueError, match="do not multiply"):
        exact_alternative(post.G, post.Nu[:3], [])
    W = post.G.copy()
    W[7, 2] = -1.0
    with pytest.raises(ValueError, match="W has 1 negative"):
        exact_alternative(W, post.Nu, [])


def test_smallest_ratios_bad_input():
    with pytest.raises(ValueError, match="negative"):
        smallest_ratios(-np.ones((3, 2)))
    with pytest.raises(ValueError, match="2-D"):
        smallest_ratios(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        smallest_ratios(np.array([[1.0, np.nan]]))


# ----------------------------------------------------------------------------- SPA

def separable(n=600, seed=0, m=512):
    """The post's bumps with U(0, 1) amplitudes, plus one pure sample per bump at random places."""
    mix = gaussian_mixture(m=m, n=n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    pure = rng.choice(n, size=4, replace=False)
    Nu = mix.Nu.copy()
    Nu[:, pure] = np.diag(rng.uniform(0.2, 1.0, size=4))
    return mix.G @ Nu, mix.G, pure


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spa_picks_one_pure_sample_per_bump(seed):
    X, G, pure = separable(seed=seed)
    before = X.copy()
    idx = spa(X, 4)
    assert idx.dtype.kind == "i" and idx.shape == (4,)
    assert sorted(idx) == sorted(pure)
    np.testing.assert_array_equal(X, before)
    assert np.all(np.diag(correlation_matrix(X[:, pure], G)) > 1 - 1e-12)


def test_spa_finds_the_vertices_of_a_simplex():
    """Convex combinations of 3 vertices in 5-D: the vertices are picked, in any order."""
    rng = np.random.default_rng(3)
    vertices = rng.uniform(size=(5, 3))
    H = rng.dirichlet(np.ones(3), size=200).T
    H[:, [17, 80, 150]] = np.eye(3)
    X = vertices @ H
    assert sorted(spa(X, 3)) == [17, 80, 150]
    # without normalisation the columns already sum to 1 times the vertices' sums: here the
    # vertices differ in size, and the largest column is still a vertex
    assert spa(X, 1, normalize=False)[0] in (17, 80, 150)


def test_spa_ignores_zero_columns_and_checks_its_input():
    X, _, pure = separable(n=100, seed=4, m=64)
    X[:, 5] = 0.0
    assert 5 not in spa(X, 4)
    with pytest.raises(ValueError, match="rank 5 is larger than min"):
        spa(X[:, :4], 5)
    with pytest.raises(ValueError, match="only 2 linearly independent"):
        spa(np.outer(np.arange(1.0, 6.0), np.ones(7)) + np.outer(np.ones(5), np.arange(7.0)), 3)
    with pytest.raises(ValueError, match="negative"):
        spa(-X, 4)
    with pytest.raises(TypeError, match="rank must be a positive integer"):
        spa(X, 2.0)
    with pytest.raises(TypeError, match="normalize"):
        spa(X, 2, normalize="yes")


def test_uniqueness_tools_are_exported():
    for name in ("smallest_ratios", "exact_alternative", "spa"):
        assert name in nmf_lib.__all__ and getattr(nmf_lib, name) is getattr(nmf_lib.uniqueness, name)


# ------------------------------------------------------------------ minimum volume

def test_the_truth_has_less_volume_than_its_exact_alternatives(post):
    """What minimum-volume NMF relies on: among these exact factorizations the true basis,
    columns normalised to sum 1, has the smallest log-det volume."""
    R = smallest_ratios(post.G)
    truth = logdet_penalty(post.G / post.G.sum(axis=0), MINVOL_DELTA)
    for moves in ([(0, 1, R[0, 1])], [(3, 2, R[3, 2])], [(0, 1, 0.5 * R[0, 1]), (3, 2, 0.5 * R[3, 2])]):
        W, _ = exact_alternative(post.G, post.Nu, moves)
        assert logdet_penalty(W / W.sum(axis=0), MINVOL_DELTA) > truth + 0.1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_minvol_recovers_all_four_bumps_from_random_starts(seed):
    """2048 of the post's samples (the 16384-sample, 10-start figure is benchmarks/bench_minvol.py's)."""
    mix = gaussian_mixture(m=512, n=2048, seed=0)
    res = fit(mix.X, 4, method="minvol", n_steps=400, seed=seed)
    match = match_components(mix.G, res.W)
    assert match.worst >= 0.99
    assert np.sqrt(res.mse[-1] * mix.X.size) / np.linalg.norm(mix.X) < 2e-3  # the price: a small error
    assert np.all(np.diff(res.loss) <= 0)


def test_hals_does_not_recover_them_from_the_same_starts():
    """The contrast the chapter draws: the squared error alone leaves g1 and g4 undetermined."""
    mix = gaussian_mixture(m=512, n=2048, seed=0)
    worst = [match_components(mix.G, fit(mix.X, 4, method="hals", n_steps=400, seed=seed).W).worst
             for seed in (0, 1)]
    assert max(worst) < 0.99


def test_minvol_from_the_spa_start_on_separable_data():
    X, G, pure = separable(n=600, seed=5)
    W0, V0 = spa_start(X, 4)
    assert match_components(G, W0).worst > 1 - 1e-12
    res = fit(X, 4, W0=W0, V0=V0, method="minvol", n_steps=50)
    assert match_components(G, res.W).worst > 0.999

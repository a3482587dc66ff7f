"""Rank selection: the error curve, consensus matrices and the cophenetic correlation."""

import numpy as np
import pytest

import nmf_lib
from nmf_lib.rank import (
    average_linkage,
    cluster_labels,
    connectivity,
    consensus_by_rank,
    consensus_matrix,
    cophenetic_correlation,
    cophenetic_distances,
    dendrogram_order,
    error_by_rank,
)

hierarchy = pytest.importorskip("scipy.cluster.hierarchy")
distance = pytest.importorskip("scipy.spatial.distance")


def random_distances(n, seed, dim=3):
    points = np.random.default_rng(seed).normal(size=(n, dim))
    return distance.squareform(distance.pdist(points))


def block_consensus(sizes):
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return connectivity(labels), labels


# ------------------------------------------------------------- linkage vs SciPy

@pytest.mark.parametrize("n, seed", [(2, 0), (3, 1), (10, 2), (57, 3), (200, 4)])
def test_average_linkage_matches_scipy(n, seed):
    D = random_distances(n, seed)
    Z = average_linkage(D)
    Zs = hierarchy.linkage(distance.squareform(D), method="average")
    assert Z.shape == (n - 1, 4)
    np.testing.assert_allclose(Z[:, 2], Zs[:, 2], rtol=1e-12, atol=1e-12)  # merge heights
    np.testing.assert_array_equal(Z[:, 3], Zs[:, 3])  # cluster sizes
    np.testing.assert_array_equal(Z[:, :2], Zs[:, :2])  # which clusters merge (no ties here)


@pytest.mark.parametrize("n, seed", [(5, 0), (40, 1), (150, 2)])
def test_cophenetic_distances_match_scipy(n, seed):
    D = random_distances(n, seed)
    Zs = hierarchy.linkage(distance.squareform(D), method="average")
    ours = cophenetic_distances(average_linkage(D))
    theirs = distance.squareform(hierarchy.cophenet(Zs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    # also on SciPy's own linkage: our function reads the same layout
    np.testing.assert_allclose(cophenetic_distances(Zs), theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_cophenetic_correlation_matches_scipy_on_random_data(seed):
    # continuous random similarities in [0, 1] (no tied distances, so one dendrogram)
    D = random_distances(80, seed, dim=2)
    C = 1.0 - D / D.max()
    y = distance.squareform(1.0 - C, checks=False)
    expected, _ = hierarchy.cophenet(hierarchy.linkage(y, method="average"), y)
    assert cophenetic_correlation(C) == pytest.approx(expected, abs=1e-10)


def test_cophenetic_correlation_is_one_for_block_diagonal_consensus():
    C, labels = block_consensus([5, 12, 3, 9])
    perm = np.random.default_rng(0).permutation(len(labels))  # blocks need not be contiguous
    assert cophenetic_correlation(C) == pytest.approx(1.0, abs=1e-12)
    assert cophenetic_correlation(C[np.ix_(perm, perm)]) == pytest.approx(1.0, abs=1e-12)


def test_cophenetic_correlation_drops_for_a_blurred_consensus():
    C, _ = block_consensus([20, 20, 20])
    rng = np.random.default_rng(1)
    noise = rng.uniform(0, 0.6, C.shape)
    blurred = np.clip(C - np.triu(noise, 1) - np.triu(noise, 1).T, 0, 1)
    blurred = np.where(C == 0, 1 - blurred, blurred)  # off-block pairs sometimes agree
    np.fill_diagonal(blurred, 1.0)
    rho = cophenetic_correlation(blurred)
    assert 0 < rho < 0.95


def test_cophenetic_correlation_of_a_single_cluster_is_one():
    # every distance is 0: the dendrogram reproduces them exactly (0/0 taken as 1)
    assert cophenetic_correlation(np.ones((6, 6))) == 1.0


def test_dendrogram_order_groups_blocks():
    C, labels = block_consensus([4, 7, 5])
    perm = np.random.default_rng(3).permutation(len(labels))
    Cp, lp = C[np.ix_(perm, perm)], labels[perm]
    order = dendrogram_order(average_linkage(1 - Cp))
    assert sorted(order) == list(range(len(labels)))
    ordered = lp[order]
    assert np.count_nonzero(np.diff(ordered)) == 2  # each cluster is one contiguous run


def test_dendrogram_order_matches_scipy_leaves():
    D = random_distances(30, 7)
    Zs = hierarchy.linkage(distance.squareform(D), method="average")
    np.testing.assert_array_equal(dendrogram_order(Zs), hierarchy.leaves_list(Zs))


# ------------------------------------------------------------- clustering a fit

def test_cluster_labels_use_unit_columns_of_W():
    # the second column of W is 10x longer: in V it looks small, but it explains more
    W = np.array([[1.0, 0.0], [0.0, 10.0]])
    V = np.array([[2.0, 0.5], [0.3, 0.01]])
    np.testing.assert_array_equal(cluster_labels(W, V), [1, 0])
    # rescaling a column of W and the row of V inversely changes nothing
    s = np.array([3.0, 0.2])
    np.testing.assert_array_equal(cluster_labels(W * s, V / s[:, None]), [1, 0])


def test_connectivity():
    C = connectivity([0, 1, 0, 2])
    expected = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]], float)
    np.testing.assert_array_equal(C, expected)


def clustered_data(seed=0, n_per=15):
    """Three well-separated non-negative parts; each sample dominated by one of them."""
    rng = np.random.default_rng(seed)
    m = 30
    G = np.zeros((m, 3))
    G[0:10, 0] = 1.0
    G[10:20, 1] = 1.0
    G[20:30, 2] = 1.0
    labels = np.repeat(np.arange(3), n_per)
    Nu = rng.uniform(0.0, 0.1, (3, labels.size))
    Nu[labels, np.arange(labels.size)] = rng.uniform(1.0, 2.0, labels.size)
    return G @ Nu, labels


def test_consensus_is_stable_on_clustered_data():
    X, labels = clustered_data()
    X_before = X.copy()
    C = consensus_matrix(X, 3, n_runs=5, seed=0, n_steps=200)
    np.testing.assert_array_equal(X, X_before)  # the caller's data is untouched
    np.testing.assert_array_equal(C, connectivity(labels))
    assert cophenetic_correlation(C) == pytest.approx(1.0)


def test_consensus_matrix_is_seeded_and_returns_errors():
    X, _ = clustered_data(1)
    C1, e1 = consensus_matrix(X, 4, n_runs=3, seed=5, n_steps=30, return_errors=True)
    C2, e2 = consensus_matrix(X, 4, n_runs=3, seed=5, n_steps=30, return_errors=True)
    np.testing.assert_array_equal(C1, C2)
    np.testing.assert_array_equal(e1, e2)
    assert e1.shape == (3,)
    assert np.all((C1 >= 0) & (C1 <= 1)) and np.all(np.diag(C1) == 1)
    np.testing.assert_array_equal(C1, C1.T)


def test_consensus_by_rank():
    X, _ = clustered_data(2)
    res = consensus_by_rank(X, [2, 3, 4], n_runs=4, seed=0, n_steps=200)
    assert res.consensus.shape == (3, X.shape[1], X.shape[1])
    assert res.errors.shape == (3, 4)
    assert res.cophenetic[1] == pytest.approx(1.0)
    # the same consensus as one rank at a time: runs are seeded by (seed, rank, run)
    np.testing.assert_array_equal(res.consensus[2], consensus_matrix(X, 4, n_runs=4, seed=0, n_steps=200))
    for rho, C in zip(res.cophenetic, res.consensus):
        assert rho == pytest.approx(cophenetic_correlation(C))


# ------------------------------------------------------------- the error curve

def test_error_curve_on_exact_low_rank_data():
    mix = nmf_lib.gaussian_mixture(n=200, m=64, seed=0)
    ranks = [1, 2, 3, 4, 5, 6]
    errors = error_by_rank(mix.X, ranks, n_runs=2, seed=0, n_steps=400)
    assert errors.shape == (6,)
    # non-increasing with rank, allowing 1% for fits that have not converged
    assert np.all(errors[1:] <= errors[:-1] * 1.01)
    # the largest relative drop is the step onto the true rank 4
    drops = errors[:-1] / errors[1:]
    assert ranks[int(np.argmax(drops)) + 1] == 4
    assert errors[3] < 0.1 * errors[2]


def test_error_by_rank_is_seeded_and_independent_of_the_other_ranks():
    X, _ = clustered_data(3)
    a = error_by_rank(X, [2, 3, 4], seed=1, n_steps=20)
    b = error_by_rank(X, [4, 3], seed=1, n_steps=20)
    np.testing.assert_array_equal(a[[2, 1]], b)
    assert np.all(a > 0)


# ------------------------------------------------------------- bad input

def test_bad_ranks():
    X, _ = clustered_data()
    with pytest.raises(TypeError, match="sequence of ranks"):
        error_by_rank(X, 3)
    with pytest.raises(ValueError, match="empty"):
        error_by_rank(X, [])
    with pytest.raises(ValueError, match="duplicates"):
        error_by_rank(X, [2, 2])
    with pytest.raises(ValueError, match="positive integer"):
        error_by_rank(X, [0, 2])
    with pytest.raises(TypeError, match="positive integer"):
        consensus_matrix(X, 2.5)
    with pytest.raises(ValueError, match="exceed min"):
        error_by_rank(X, [2, 31])


def test_bad_runs_seed_and_passthrough():
    X, _ = clustered_data()
    with pytest.raises(ValueError, match="n_runs"):
        consensus_matrix(X, 2, n_runs=0)
    with pytest.raises(TypeError, match="seed"):
        consensus_matrix(X, 2, seed=1.5)
    with pytest.raises(TypeError, match="cannot be passed"):
        error_by_rank(X, [2], W0=np.ones((30, 2)))
    with pytest.raises(ValueError, match="unknown method"):
        error_by_rank(X, [2], method="nope")


def test_bad_data():
    with pytest.raises(ValueError, match="negative"):
        error_by_rank(-np.ones((5, 5)), [2])
    with pytest.raises(ValueError, match="NaN"):
        consensus_matrix(np.full((5, 5), np.nan), 2)


def test_bad_distance_and_consensus_matrices():
    D = random_distances(6, 0)
    with pytest.raises(ValueError, match="square"):
        average_linkage(D[:, :5])
    with pytest.raises(ValueError, match="at least 2"):
        average_linkage(np.zeros((1, 1)))
    bad = D.copy()
    bad[0, 1] += 1
    with pytest.raises(ValueError, match="symmetric"):
        average_linkage(bad)
    with pytest.raises(ValueError, match="negative"):
        average_linkage(-D)
    with pytest.raises(ValueError, match="zero diagonal"):
        average_linkage(D + 1)
    bad = D.copy()
    bad[2, 3] = bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        average_linkage(bad)
    with pytest.raises(TypeError, match="real numbers"):
        average_linkage(D.astype(complex))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cophenetic_correlation(2 * np.ones((4, 4)))
    with pytest.raises(ValueError, match="diagonal"):
        cophenetic_correlation(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="shape"):
        cophenetic_distances(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="existing clusters"):
        cophenetic_distances(np.array([[0, 7, 1.0, 2]]))
    with pytest.raises(ValueError, match="twice"):
        cophenetic_distances(np.array([[0, 1, 1.0, 2], [0, 2, 2.0, 2]]))
    with pytest.raises(ValueError, match="do not fit"):
        cluster_labels(np.ones((3, 2)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="1-D"):
        connectivity(np.zeros((2, 2)))


def test_inputs_are_not_modified():
    D = random_distances(8, 1)
    D_before = D.copy()
    average_linkage(D)
    np.testing.assert_array_equal(D, D_before)
    C = np.mean([connectivity(np.random.default_rng(i).integers(0, 2, 8)) for i in range(3)], axis=0)
    C_before = C.copy()
    cophenetic_correlation(C)
    np.testing.assert_array_equal(C, C_before)

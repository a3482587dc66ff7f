"""Choosing the rank d: the error curve, and consensus clustering (Brunet et al. 2004).

* ``error_by_rank``: fit X for each d in a range and keep the final MSE; where the
  curve stops falling steeply (its *elbow*) hints at the number of components.
* ``consensus_matrix``: run NMF many times from seeded random starts; each run puts
  sample i in the cluster k = argmax_k V[k, i] (after giving W unit columns), and
  the connectivity C_ij = 1 when i and j share a cluster.  The consensus is the mean
  of C over the runs: 1 where every run agrees that i and j belong together.
* ``cophenetic_correlation``: how well an average-linkage dendrogram of the distances
  1 - consensus reproduces those distances.  1 for a perfectly stable clustering;
  Brunet et al. pick the d where it begins to fall.

The hierarchical clustering is written out in numpy (``average_linkage``,
``cophenetic_distances``, ``dendrogram_order``) so the library needs no SciPy.  It is
the textbook O(n^3) algorithm, meant for a few hundred samples.  The linkage matrix
has SciPy's layout: row s merges clusters Z[s, 0] and Z[s, 1] (ids < n are samples,
id n + s is the cluster formed at row s) at height Z[s, 2] into Z[s, 3] samples.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ._validate import as_array, as_data, check_count, check_rank, check_seed
from .loop import _fit

__all__ = [
    "error_by_rank", "cluster_labels", "connectivity", "consensus_matrix",
    "RankConsensus", "consensus_by_rank",
    "average_linkage", "cophenetic_distances", "dendrogram_order", "cophenetic_correlation",
]


# ---------------------------------------------------------------------------- checks

def _check_ranks(ranks, shape) -> np.ndarray:
    if isinstance(ranks, numbers.Integral) and not isinstance(ranks, bool):
        raise TypeError(f"ranks must be a sequence of ranks such as range(2, 9), got the single integer {ranks}")
    try:
        ranks = list(ranks)
    except TypeError:
        raise TypeError(f"ranks must be a sequence of ranks such as range(2, 9), got {ranks!r}") from None
    ranks = [check_rank(d) for d in ranks]
    if not ranks:
        raise ValueError("ranks is empty: give at least one rank")
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"ranks contains duplicates: {ranks}")
    too_big = [d for d in ranks if d > min(shape)]
    if too_big:
        raise ValueError(f"ranks {too_big} exceed min(m, n) = {min(shape)} for X of shape {shape}")
    return np.asarray(ranks, dtype=int)


def _seed_words(seed) -> list[int]:
    """The seed as integers the runs' seeds are built from: fit's convention (anything
    ``numpy.random.default_rng`` accepts).  An integer or a sequence of them is used as
    it is; None draws fresh entropy (the runs are then not reproducible); a
    SeedSequence gives its entropy; a Generator or BitGenerator gives one draw."""
    check_seed(seed)
    if seed is None:
        return [int(np.random.SeedSequence().entropy)]
    if isinstance(seed, numbers.Integral):
        return [int(seed)]
    if isinstance(seed, np.random.SeedSequence):
        return list(np.atleast_1d(seed.entropy).tolist()) + list(seed.spawn_key)
    if isinstance(seed, (np.random.Generator, np.random.BitGenerator)):
        return [int(np.random.default_rng(seed).integers(2**63))]
    return [int(w) for w in np.ravel(seed)]


def _run_seed(words: list[int], rank: int, run: int) -> np.random.Generator:
    """The start of run ``run`` at rank ``rank``: independent of which other ranks are fitted."""
    return np.random.default_rng([*words, rank, run])


def _check_fit_kwargs(fit_kwargs: dict) -> None:
    clash = {"seed", "W0", "V0", "rank"} & set(fit_kwargs)
    if clash:
        raise TypeError(f"{sorted(clash)} cannot be passed through: the starts are drawn from seed per run")


def _as_square(D, name: str) -> np.ndarray:
    A = np.array(as_array(D, name, finite=False), copy=True)  # a private copy: the caller's matrix is never touched
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be a square 2-D matrix, got shape {A.shape}")
    if A.shape[0] < 2:
        raise ValueError(f"{name} must describe at least 2 samples, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} contains {int((~np.isfinite(A)).sum())} NaN or infinite entries")
    if not np.allclose(A, A.T, rtol=0, atol=1e-12):
        raise ValueError(f"{name} must be symmetric (largest asymmetry {np.abs(A - A.T).max():.3g})")
    return A


def _check_distances(D) -> np.ndarray:
    D = _as_square(D, "D")
    if D.min() < 0:
        raise ValueError(f"D has negative distances (smallest {D.min():.6g})")
    if np.abs(np.diag(D)).max() > 1e-12:
        raise ValueError("D must have a zero diagonal (the distance of a sample to itself)")
    np.fill_diagonal(D, 0.0)
    return 0.5 * (D + D.T)


def _check_linkage(Z) -> np.ndarray:
    Z = as_array(Z, "Z", ndim=None)
    if Z.ndim != 2 or Z.shape[1] != 4 or Z.shape[0] < 1:
        raise ValueError(f"Z must be a linkage matrix of shape (n - 1, 4), got shape {Z.shape}")
    n = Z.shape[0] + 1
    ids = Z[:, :2]
    if np.any(ids != np.round(ids)) or ids.min() < 0 or np.any(ids >= n + np.arange(n - 1)[:, None]):
        raise ValueError("Z's first two columns must name existing clusters (row s may use ids < n + s)")
    if len(np.unique(ids)) != 2 * (n - 1):
        raise ValueError("Z merges some cluster twice")
    return Z


# ------------------------------------------------------------------ the error curve

def error_by_rank(X, ranks: Iterable[int], *, n_runs: int = 1, seed=0, **fit_kwargs) -> np.ndarray:
    """The final MSE of a fit of X (m x n) at each rank in ``ranks``.

    Each rank is fitted ``n_runs`` times from seeded random starts and the lowest
    final MSE is kept (several runs guard the curve against an unlucky start).
    ``fit_kwargs`` go to ``nmf_lib.fit`` (``n_steps``, ``method``, ``init``, ``tol``);
    ``seed`` is anything ``numpy.random.default_rng`` accepts, as for ``fit``.
    Returns a float64 array aligned with ``ranks``.
    """
    X = as_data(X)
    ranks = _check_ranks(ranks, X.shape)
    n_runs, words = check_count(n_runs, "n_runs", 1), _seed_words(seed)
    _check_fit_kwargs(fit_kwargs)
    errors = np.empty(len(ranks))
    for i, d in enumerate(ranks):
        errors[i] = min(_fit(X, int(d), seed=_run_seed(words, int(d), r), **fit_kwargs).loss[-1]
                        for r in range(n_runs))
    return errors


# ---------------------------------------------------------------- consensus clustering

def cluster_labels(W, V) -> np.ndarray:
    """Assign each sample (column of V) to its dominant component.

    W's columns are scaled to unit length and V's rows by the inverse factors, so
    W V is unchanged and V[k, i] measures how much of sample i component k explains.
    A zero column of W contributes nothing: its row of V counts as 0.
    """
    W, V = as_array(W, "W"), as_array(V, "V")
    if W.shape[1] != V.shape[0]:
        raise ValueError(f"W (m x d) and V (d x n) do not fit together: shapes {W.shape} and {V.shape}")
    return _cluster_labels(W, V)


def _cluster_labels(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(W, axis=0)
    return np.argmax(norms[:, None] * V, axis=0)


def connectivity(labels) -> np.ndarray:
    """C_ij = 1 if samples i and j have the same label, else 0 (an n x n float array)."""
    labels = np.asarray(labels)
    if labels.dtype.kind in "OV":
        raise TypeError(f"labels must be numbers or strings, got dtype {labels.dtype}")
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D (one label per sample), got shape {labels.shape}")
    return (labels[:, None] == labels[None, :]).astype(np.float64)


def consensus_matrix(X, rank: int, *, n_runs: int = 20, seed=0, return_errors: bool = False,
                     **fit_kwargs):
    """The consensus matrix of ``n_runs`` seeded fits of X at ``rank``: the mean connectivity.

    Entry (i, j) is the fraction of runs that put samples i and j (columns of X) in
    the same cluster.  With ``return_errors=True`` also returns the final MSE of each run.
    ``seed`` is anything ``numpy.random.default_rng`` accepts, as for ``fit``.
    """
    X = as_data(X)
    (rank,) = _check_ranks([rank], X.shape)
    n_runs, words = check_count(n_runs, "n_runs", 1), _seed_words(seed)
    _check_fit_kwargs(fit_kwargs)
    consensus, errors = _consensus(X, int(rank), n_runs, words, fit_kwargs)
    return (consensus, errors) if return_errors else consensus


def _consensus(X: np.ndarray, rank: int, n_runs: int, words: list[int], fit_kwargs: dict):
    """The consensus matrix and the runs' final errors, for checked arguments."""
    n = X.shape[1]
    total = np.zeros((n, n))
    errors = np.empty(n_runs)
    for r in range(n_runs):
        result = _fit(X, rank, seed=_run_seed(words, rank, r), **fit_kwargs)
        total += connectivity(_cluster_labels(result.W, result.V))
        errors[r] = result.loss[-1]
    return total / n_runs, errors


@dataclass(frozen=True)
class RankConsensus:
    """What ``consensus_by_rank`` returns, aligned with ``ranks``.

    consensus : (len(ranks), n, n) consensus matrices.   cophenetic : their
    cophenetic correlation coefficients.   errors : (len(ranks), n_runs) final MSE of
    every run (the lowest per rank is an error curve for free).
    """

    ranks: np.ndarray
    consensus: np.ndarray
    cophenetic: np.ndarray
    errors: np.ndarray


def consensus_by_rank(X, ranks: Iterable[int], *, n_runs: int = 20, seed=0,
                      **fit_kwargs) -> RankConsensus:
    """Brunet et al.'s procedure: a consensus matrix and its cophenetic correlation for each rank."""
    X = as_data(X)
    ranks = _check_ranks(ranks, X.shape)
    n_runs, words = check_count(n_runs, "n_runs", 1), _seed_words(seed)
    _check_fit_kwargs(fit_kwargs)
    pairs = [_consensus(X, int(d), n_runs, words, fit_kwargs) for d in ranks]
    consensus = np.stack([c for c, _ in pairs])
    return RankConsensus(ranks=ranks, consensus=consensus,
                         cophenetic=np.array([_cophenetic_correlation(c) for c in consensus]),
                         errors=np.stack([e for _, e in pairs]))


# ------------------------------------------------------ average-linkage clustering

def average_linkage(D) -> np.ndarray:
    """Agglomerative clustering with average linkage (UPGMA) of an n x n distance matrix.

    Start with every sample in its own cluster; repeatedly merge the two closest
    clusters, where the distance between clusters A and B is the mean distance over
    all pairs (a in A, b in B).  After merging A and B, the distance to any cluster K
    follows from the old ones (Lance-Williams):

        d(K, A u B) = (|A| d(K, A) + |B| d(K, B)) / (|A| + |B|)

    Returns the (n - 1) x 4 linkage matrix (SciPy's layout, see the module docstring).
    Ties are broken by the first pair in row-major order.
    """
    return _average_linkage(_check_distances(D))


def _average_linkage(D: np.ndarray) -> np.ndarray:
    n = D.shape[0]
    dist = D.copy()
    np.fill_diagonal(dist, np.inf)  # row/column i stays inf once cluster i is merged away
    size = np.ones(n)
    cluster_id = np.arange(n)  # the id of the cluster held in row i
    Z = np.empty((n - 1, 4))
    for s in range(n - 1):
        i, j = np.unravel_index(np.argmin(dist), dist.shape)
        i, j = min(i, j), max(i, j)
        a, b = sorted((cluster_id[i], cluster_id[j]))
        Z[s] = a, b, dist[i, j], size[i] + size[j]
        merged = (size[i] * dist[i] + size[j] * dist[j]) / (size[i] + size[j])
        dist[i, :] = merged  # the merged cluster takes row i ...
        dist[:, i] = merged
        dist[i, i] = np.inf
        dist[j, :] = np.inf  # ... and row j is retired
        dist[:, j] = np.inf
        size[i] += size[j]
        cluster_id[i] = n + s
    return Z


def _members(Z: np.ndarray) -> list[list[int]]:
    """The samples in every cluster id 0 .. 2n - 2 of a linkage matrix."""
    n = Z.shape[0] + 1
    members = [[i] for i in range(n)]
    for a, b in Z[:, :2].astype(int):
        members.append(members[a] + members[b])
    return members


def cophenetic_distances(Z) -> np.ndarray:
    """The n x n cophenetic distances of a linkage matrix: entry (i, j) is the height
    at which samples i and j first fall into the same cluster."""
    return _cophenetic_distances(_check_linkage(Z))


def _cophenetic_distances(Z: np.ndarray) -> np.ndarray:
    n = Z.shape[0] + 1
    members = _members(Z)
    coph = np.zeros((n, n))
    for (a, b), height in zip(Z[:, :2].astype(int), Z[:, 2]):
        A, B = members[a], members[b]
        coph[np.ix_(A, B)] = height
        coph[np.ix_(B, A)] = height
    return coph


def dendrogram_order(Z) -> np.ndarray:
    """The samples in the left-to-right order of the dendrogram's leaves.

    Reordering a consensus matrix by it brings each cluster into a block on the diagonal.
    """
    Z = _check_linkage(Z)
    n = Z.shape[0] + 1
    order, stack = [], [2 * n - 2]  # start at the root; visit left before right
    while stack:
        c = stack.pop()
        if c < n:
            order.append(c)
        else:
            a, b = Z[c - n, :2].astype(int)
            stack += [b, a]
    return np.asarray(order, dtype=int)


def cophenetic_correlation(consensus) -> float:
    """Brunet et al.'s cophenetic correlation coefficient of a consensus matrix.

    The Pearson correlation, over all pairs i < j, between the distances 1 - C_ij and
    the cophenetic distances of the average-linkage dendrogram built from them.  When
    all distances are equal the dendrogram reproduces them exactly and the correlation
    (otherwise 0 / 0) is taken as 1.
    """
    C = _as_square(consensus, "consensus")
    if C.min() < -1e-12 or C.max() > 1 + 1e-12:
        raise ValueError(f"consensus entries must lie in [0, 1], got [{C.min():.6g}, {C.max():.6g}]")
    if np.abs(np.diag(C) - 1).max() > 1e-12:
        raise ValueError("consensus must have ones on its diagonal (every sample is with itself)")
    return _cophenetic_correlation(C)


def _cophenetic_correlation(C: np.ndarray) -> float:
    D = np.clip(1.0 - 0.5 * (C + C.T), 0.0, 1.0)
    np.fill_diagonal(D, 0.0)
    coph = _cophenetic_distances(_average_linkage(D))
    iu = np.triu_indices(C.shape[0], k=1)
    d, c = D[iu], coph[iu]
    if d.min() == d.max():
        return 1.0
    return float(np.clip(np.corrcoef(d, c)[0, 1], -1.0, 1.0))

"""Is the factorization unique?  Tools to see which basis vectors the data pin down.

An exact NMF X = W V is never unique up to order and scale alone when a multiple of one
basis vector can be subtracted from another without making it negative: with the shear
M = I - alpha e_j e_i^T (column i of W minus alpha times column j),

    X = W V = (W M)(M^-1 V),     M^-1 = I + alpha e_j e_i^T (row j of V plus alpha times row i),

and both new factors stay non-negative for every alpha up to the smallest ratio
min_t W[t, i] / W[t, j] (as long as V's rows stay non-negative, which they do for
alpha >= 0).  ``smallest_ratios`` tabulates that bound for every pair, and
``exact_alternative`` builds the other factorization from a list of such moves.

The Successive Projection Algorithm (``spa``, Gillis & Vavasis 2014) finds the basis
directly from the data when it is *separable*: when, for every basis vector, some
sample is a multiple of it alone.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import as_data, check_rank

__all__ = ["smallest_ratios", "exact_alternative", "spa"]


def smallest_ratios(W) -> np.ndarray:
    """R (d x d): R[i, j] = min over rows t with W[t, j] > 0 of W[t, i] / W[t, j].

    R[i, j] is the largest multiple of column j that can be subtracted from column i
    with every entry staying >= 0; the diagonal is 1.  A row t where column j is 0 sets
    no bound, so an all-zero column j gives R[:, j] = inf.  W must be non-negative,
    finite and 2-D (features x basis vectors); it is not modified.
    """
    W = as_data(W, "W").astype(np.float64, copy=False)
    positive = W > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = W[:, :, None] / W[:, None, :]  # ratio[t, i, j] = W[t, i] / W[t, j]
    ratio = np.where(positive[:, None, :], ratio, np.inf)
    R = ratio.min(axis=0)
    nonzero = positive.any(axis=0)
    R[np.diag_indices_from(R)] = np.where(nonzero, 1.0, np.inf)
    return R


def _check_move(move, d: int, number: int) -> tuple[int, int, float]:
    if not isinstance(move, (tuple, list)) or len(move) != 3:
        raise TypeError(f"move {number} must be a triple (i, j, alpha), got {move!r}")
    i, j, alpha = move
    for name, index in (("i", i), ("j", j)):
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"move {number} {move!r}: {name} must be an integer column index, got {index!r}")
        if not 0 <= index < d:
            raise ValueError(f"move {number} {move!r}: {name} = {index} is not a column index of W (0 <= {name} < {d})")
    if i == j:
        raise ValueError(f"move {number} {move!r}: i and j must differ (subtracting a column from "
                         f"itself only rescales it)")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not np.isfinite(alpha):
        raise TypeError(f"move {number} {move!r}: alpha must be a finite real number, got {alpha!r}")
    return int(i), int(j), float(alpha)


def exact_alternative(W, V, moves) -> tuple[np.ndarray, np.ndarray]:
    """Another exact factorization: (W M, M^-1 V) for M the product of the shears in ``moves``.

    Each move (i, j, alpha) replaces column i of W by w_i - alpha w_j and, to keep the
    product W V unchanged, row j of V by v_j + alpha v_i (the shear M = I - alpha e_j e_i^T
    and its inverse).  The moves are applied in the order given.  A move that would make
    an entry of either factor negative beyond rounding raises ValueError naming the move
    (the largest alpha for a single move is ``smallest_ratios(W)[i, j]``); entries
    negative by rounding only (within 4 eps of the terms subtracted) are set to 0, so the
    result is a valid non-negative pair.  The inputs are not modified; the result is
    float64, with (W M)(M^-1 V) = W V to rounding.
    """
    W = as_data(W, "W").astype(np.float64, copy=True)
    V = as_data(V, "V").astype(np.float64, copy=True)
    if W.shape[1] != V.shape[0]:
        raise ValueError(f"W ({W.shape}) and V ({V.shape}) do not multiply: W has {W.shape[1]} "
                         f"columns and V {V.shape[0]} rows")
    if isinstance(moves, tuple) and len(moves) == 3 and isinstance(moves[0], numbers.Integral):
        raise TypeError(f"moves must be a list of triples (i, j, alpha), got a single triple {moves!r}: "
                        f"write [{moves!r}]")
    eps = np.finfo(np.float64).eps
    for number, move in enumerate(moves):
        i, j, alpha = _check_move(move, W.shape[1], number)
        for F, target, source, label in ((W[:, i], W[:, i].copy(), alpha * W[:, j], f"column {i} of W"),
                                         (V[j], V[j].copy(), -alpha * V[i], f"row {j} of V")):
            F -= source  # W: w_i - alpha w_j;  V: v_j + alpha v_i
            rounding = 4 * eps * (np.abs(target) + np.abs(source))
            below = F < -rounding
            if below.any():
                k = int(np.argmin(np.where(below, F, np.inf)))
                raise ValueError(
                    f"move {number} (i={i}, j={j}, alpha={alpha:.6g}) makes {int(below.sum())} entries of "
                    f"{label} negative (smallest {F[k]:.3g}); for W the largest alpha allowed is "
                    f"smallest_ratios(W)[{i}, {j}]")
            np.maximum(F, 0.0, out=F)
    return W, V


def spa(X, rank: int, *, normalize: bool = True) -> np.ndarray:
    """The Successive Projection Algorithm (Gillis & Vavasis 2014): ``rank`` column indices.

    Repeatedly pick the column of X whose residual has the largest Euclidean norm, then
    project every column onto the orthogonal complement of that residual.  With
    ``normalize`` (the default) each column is first divided by its sum, so that for
    X = W V with the columns of W summing to 1 every normalised sample is a convex
    combination of the columns of W, the setting of SPA's guarantee: when the data are
    separable (for each basis vector some sample is a multiple of it alone) and the
    basis has full column rank, the picked samples are one pure sample per basis vector
    (exactly so without noise, and robustly under small noise).  Zero columns are never
    picked.

    As a start for ``fit``: W0 = X[:, idx] (a copy), and V0 the non-negative
    least-squares coefficients of X on W0, approximated by a few HALS passes
    (``starts.spa_start(X, rank)`` does exactly this; pass them as ``fit(X, rank,
    W0=W0, V0=V0)``).

    Returns an int array of ``rank`` distinct indices, in the order picked.  X (m x n,
    non-negative, finite) is not modified; rank must be at most min(m, n), and X must
    have at least ``rank`` linearly independent columns.
    """
    X = as_data(X)
    rank = check_rank(rank, X.shape, need_at_most_min=True)
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")
    return _spa(X, rank, normalize)


def _spa(X: np.ndarray, rank: int, normalize: bool) -> np.ndarray:
    """``spa`` for checked arguments (``starts.spa_start`` calls it)."""
    n = X.shape[1]
    X64 = X.astype(np.float64, copy=False)
    sums = X64.sum(axis=0)
    scale = 1.0 / np.where(sums > 0, sums, 1.0) if normalize else np.ones(n)
    # residual norms without forming the residual: ||r_j||^2 = ||x_j||^2 - sum_k (u_k^T x_j)^2
    norms2 = np.einsum("ij,ij->j", X64, X64) * scale**2
    first = float(norms2.max())
    U = np.zeros((X.shape[0], rank))
    picked = np.empty(rank, dtype=int)
    for k in range(rank):
        j = int(np.argmax(norms2))
        r = X64[:, j] * scale[j]
        for _ in range(2):  # Gram-Schmidt twice: orthogonal to rounding
            r = r - U[:, :k] @ (U[:, :k].T @ r)
        norm = float(np.linalg.norm(r))
        if norm <= 1e-10 * np.sqrt(first):
            raise ValueError(f"X has only {k} linearly independent columns (after {k} picks every "
                             f"residual is 0 to rounding); spa needs rank <= {k}")
        U[:, k] = r / norm
        norms2 -= (U[:, k] @ X64 * scale) ** 2
        norms2[j] = -np.inf  # never pick a column twice
        norms2[picked[:k]] = -np.inf
        picked[k] = j
    return picked

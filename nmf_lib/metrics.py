"""Losses, and matching learned factors to true ones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_array, check_count, check_product, check_real

__all__ = ["mse", "squared_norm", "mse_from_products", "kl_divergence", "xlogx_sum", "logdet_penalty",
           "correlation_matrix", "best_assignment", "column_scale", "Match", "match_components",
           "hoyer_sparsity"]


def squared_norm(X, block: int = 1 << 13) -> float:
    """||X||_F^2 accumulated in float64, in blocks so no copy of X is made (``_squared_norm``)."""
    return _squared_norm(as_array(X, "X", ndim=None, dtype=None), check_count(block, "block", 1))


def _squared_norm(X: np.ndarray, block: int = 1 << 13) -> float:
    """||X||_F^2 accumulated in float64, in blocks so no copy of X is made.

    A float32 block is converted to float64 before the dot product (float32 sums of
    millions of squares lose digits); blocks of 8192 entries keep that copy at 64 KiB.
    """
    flat = X.reshape(-1) if X.flags.c_contiguous else None
    total = 0.0
    if flat is not None:
        for start in range(0, flat.size, block):
            chunk = flat[start:start + block].astype(np.float64, copy=False)
            total += float(np.dot(chunk, chunk))
        return total
    for row in X:  # non-contiguous input: one row at a time
        r = row.astype(np.float64)
        total += float(np.dot(r, r))
    return total


def mse(X, W, V) -> float:
    """The mean squared error ||X - W V||_F^2 / (m n), computed directly in float64.

    This is the reference the book reports; it forms the m x n residual.
    """
    X, W, V = check_product(X, W, V)
    R = X - W @ V
    return float(np.vdot(R, R)) / X.size


def _squared_error(X: np.ndarray, W: np.ndarray, V: np.ndarray, block_bytes: int = 1 << 21) -> float:
    """||X - W V||_F^2 in float64, a block of samples at a time: no m x n temporary,
    only a float64 block of about ``block_bytes`` (``metrics.mse`` forms the whole
    residual).  What ``fit`` checks ``tol`` against for float32 X."""
    m, n = X.shape
    W64 = np.asarray(W, dtype=np.float64)
    block = max(1, block_bytes // (8 * m))
    total = 0.0
    for j in range(0, n, block):
        R = X[:, j:j + block].astype(np.float64)
        R -= W64 @ np.asarray(V[:, j:j + block], dtype=np.float64)
        total += float(np.vdot(R, R))
    return total


def mse_from_products(norm_X2: float, WtX_dot_V: float, WtW: np.ndarray, VVt: np.ndarray, size: int) -> float:
    """The MSE from products the updates already computed:

        ||X - W V||^2 = ||X||^2 - 2 <W^T X, V> + <W^T W, V V^T>

    clipped at 0 (rounding can push a tiny true value below zero).
    """
    norm_X2 = check_real(norm_X2, "norm_X2", minimum=0.0)
    WtX_dot_V = check_real(WtX_dot_V, "WtX_dot_V")
    WtW, VVt = as_array(WtW, "WtW", dtype=None), as_array(VVt, "VVt", dtype=None)
    if WtW.shape != VVt.shape or WtW.shape[0] != WtW.shape[1]:
        raise ValueError(f"WtW and VVt must be square (d x d) of the same shape, got {WtW.shape} and {VVt.shape}")
    return _mse_from_products(norm_X2, WtX_dot_V, WtW, VVt, check_count(size, "size", 1))


def _mse_from_products(norm_X2: float, WtX_dot_V: float, WtW: np.ndarray, VVt: np.ndarray, size: int) -> float:
    cross = float(np.vdot(WtW.astype(np.float64), VVt.astype(np.float64)))
    return max(norm_X2 - 2.0 * WtX_dot_V + cross, 0.0) / size


def xlogx_sum(X: np.ndarray, scale: float = 1.0) -> float:
    """sum Y log Y over the entries of Y = scale X (X >= 0), with 0 log 0 = 0, accumulated
    in float64 (a power of two as ``scale`` is exact)."""
    total = 0.0
    for row in np.atleast_2d(X):
        r = row.astype(np.float64) * scale
        pos = r > 0
        total += float(np.dot(r[pos], np.log(r[pos])))
    return total


def kl_divergence(X, W, V) -> float:
    """The generalized Kullback-Leibler divergence per entry, computed directly in float64:

        D(X || WV) / (m n),   D(X || Y) = sum_ij X_ij log(X_ij / Y_ij) - X_ij + Y_ij

    with 0 log(0 / y) = 0.  It is >= 0, and 0 exactly when X = WV; it is +inf when some
    X_ij > 0 has (WV)_ij = 0.  This is the loss ``fit(..., method="kl")`` records.  The
    logarithm is taken as log X - log WV, which neither underflows nor overflows where
    the ratio X / WV would.
    """
    X, W, V = check_product(X, W, V, nonnegative=True)
    Y = W @ V
    pos = X > 0
    if np.any(Y[pos] <= 0):
        return float("inf")
    D = np.sum(X[pos] * (np.log(X[pos]) - np.log(Y[pos]))) - X.sum() + Y.sum()
    return max(float(D), 0.0) / X.size


def logdet_penalty(W, delta: float) -> float:
    """The volume penalty of minimum-volume NMF, computed in float64:

        logdet(W^T W + delta I) - d log(delta) = sum_k log(1 + s_k^2 / delta)

    with s_k the singular values of W (m x d).  The constant d log(delta) changes no
    minimiser; it makes the penalty >= 0, 0 exactly for W = 0, so the objective
    ``fit(..., method="minvol")`` records is >= 0 like every other loss.
    """
    return _logdet_penalty(as_array(W, "W"), check_real(delta, "delta", minimum=0.0, strict=True))


def _logdet_penalty(W: np.ndarray, delta: float) -> float:
    W = W.astype(np.float64, copy=False)
    d = W.shape[1]
    logdet = np.linalg.slogdet(W.T @ W + delta * np.eye(d))[1]
    return max(float(logdet - d * np.log(delta)), 0.0)


def correlation_matrix(A, B) -> np.ndarray:
    """C[i, j]: the Pearson correlation of column i of A with column j of B (m x d and m x d').

    A column with no spread (constant) correlates 0 with everything.  The correlation
    of paired columns is the diagonal: ``np.diag(correlation_matrix(A, B))``.
    """
    A, B = as_array(A, "A"), as_array(B, "B")
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"A and B must be 2-D with the same number of rows, got shapes {A.shape} and {B.shape}")
    return _correlation_matrix(A, B)


def _correlation_matrix(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    A = A - A.mean(axis=0)
    B = B - B.mean(axis=0)
    na = np.linalg.norm(A, axis=0)
    nb = np.linalg.norm(B, axis=0)
    denom = np.outer(na, nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        C = np.where(denom > 0, (A.T @ B) / np.where(denom > 0, denom, 1.0), 0.0)
    return C


def best_assignment(score) -> np.ndarray:
    """The one-to-one assignment of rows to columns (rows <= columns) with the largest
    total score: returns col, with row i assigned to column col[i].

    The Hungarian algorithm (Kuhn-Munkres, O(k^2 l)) with potentials, on cost = -score;
    it replaces trying all l! / (l - k)! assignments.
    """
    score = as_array(score, "score")
    if score.shape[0] > score.shape[1]:
        raise ValueError(f"score must be a finite 2-D array with no more rows than columns, got shape {score.shape}")
    return _best_assignment(score)


def _best_assignment(score: np.ndarray) -> np.ndarray:
    cost = -score
    k, l = cost.shape
    INF = np.inf
    u = np.zeros(k + 1)
    v = np.zeros(l + 1)
    p = np.zeros(l + 1, dtype=int)  # p[j]: row (1-based) assigned to column j
    way = np.zeros(l + 1, dtype=int)
    for i in range(1, k + 1):
        p[0] = i
        j0 = 0
        minv = np.full(l + 1, INF)
        used = np.zeros(l + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            cur = cost[i0 - 1] - u[i0] - v[1:]
            free = ~used[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = j0
            cand = np.where(free, minv[1:], INF)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    col = np.empty(k, dtype=int)
    for j in range(1, l + 1):
        if p[j]:
            col[p[j] - 1] = j - 1
    return col


def column_scale(true, learned) -> np.ndarray:
    """Per column k, the least-squares factor s_k with learned[:, k] ~= s_k * true[:, k]
    (0 for a zero true column): s_k = <true_k, learned_k> / <true_k, true_k>.

    W V = (W D)(D^{-1} V) for any positive diagonal D, so a fit fixes each learned
    column's shape, not its size; dividing learned[:, k] by s_k puts it in true's units.
    """
    T, L = as_array(true, "true"), as_array(learned, "learned")
    if T.shape != L.shape:
        raise ValueError(f"true and learned must be 2-D of the same shape, got {T.shape} and {L.shape}")
    return _column_scale(T, L)


def _column_scale(T: np.ndarray, L: np.ndarray) -> np.ndarray:
    tt = np.einsum("ij,ij->j", T, T)
    return np.einsum("ij,ij->j", T, L) / np.where(tt > 0, tt, 1.0)


@dataclass(frozen=True)
class Match:
    """Learned basis vectors matched to true ones.

    ``order[k]`` is the learned column matched to true column k;
    ``correlation[k]`` is their Pearson correlation;
    ``scale[k]`` is the least-squares factor with learned[:, order[k]] ~= scale[k] * true[:, k]
    (``column_scale``).  ``align(W, V)`` applies both: the learned factors in the true
    order and in the true units.
    """

    order: np.ndarray
    correlation: np.ndarray
    scale: np.ndarray

    @property
    def worst(self) -> float:
        return float(self.correlation.min())

    def align(self, W, V=None):
        """W[:, order] / scale (and scale * V[order]): the matched columns in true's order
        and units, with the rows of V scaled the opposite way so W V is unchanged.
        Returns W alone when V is not given."""
        s = np.where(self.scale != 0, self.scale, 1.0)
        W_aligned = np.asarray(W)[:, self.order] / s
        if V is None:
            return W_aligned
        return W_aligned, np.asarray(V)[self.order] * s[:, None]


def match_components(true, learned) -> Match:
    """Match the columns of ``learned`` (m x d') to those of ``true`` (m x d), d <= d',
    up to permutation and scale, maximising the total Pearson correlation."""
    T, L = as_array(true, "true"), as_array(learned, "learned")
    if T.shape[0] != L.shape[0]:
        raise ValueError(f"true and learned must be 2-D with the same number of rows, got {T.shape} and {L.shape}")
    if T.shape[1] > L.shape[1]:
        raise ValueError(f"cannot match {T.shape[1]} true components to only {L.shape[1]} learned ones")
    C = _correlation_matrix(T, L)
    order = _best_assignment(C)
    corr = C[np.arange(T.shape[1]), order]
    return Match(order=order, correlation=corr, scale=_column_scale(T, L[:, order]))


def hoyer_sparsity(A, axis: int = 0) -> np.ndarray:
    """Hoyer's (2004) sparsity of each column (axis=0) or row (axis=1), in [0, 1]:

        (sqrt(k) - ||a||_1 / ||a||_2) / (sqrt(k) - 1)

    1 for a vector with a single non-zero entry, 0 when all |entries| are equal.
    Signed vectors are measured on their absolute values.  The ratio is scale-free, so it
    is computed on each vector divided by its largest |entry|: no square overflows or
    underflows, whether the entries are 1e200 or 1e-200.  A zero vector counts as 0.
    """
    A = np.abs(as_array(A, "A"))
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be 0 (columns) or 1 (rows), got {axis!r} of type {type(axis).__name__}")
    if axis not in (0, 1):
        raise ValueError(f"axis must be 0 (columns) or 1 (rows), got {axis}")
    k = A.shape[axis]
    if k < 2:
        raise ValueError(f"sparsity needs vectors of length >= 2, got A of shape {A.shape} along axis {axis}")
    peak = A.max(axis=axis, keepdims=True)
    U = A / np.where(peak > 0, peak, 1.0)  # entries in [0, 1], the largest exactly 1
    l1 = U.sum(axis=axis)
    l2 = np.sqrt((U * U).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(l2 > 0, l1 / np.where(l2 > 0, l2, 1.0), np.sqrt(k))
    return (np.sqrt(k) - ratio) / (np.sqrt(k) - 1)

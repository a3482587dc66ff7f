"""Starting points for the factors W (m x d) and V (d x n): ``fit(..., init=...)``.

* ``"random"``: W and V uniform on [0, 1), as in the post (W drawn first, then V).
* ``"random_scaled"``: the same, scaled by 2 sqrt(mean(X) / d) so that the mean of
  W V equals the mean of X from the first step.
* ``"nndsvd"``: Boutsidis and Gallopoulos's non-negative double SVD.  It contains
  exact zeros, which multiplicative updates can never move.
* ``"nndsvda"``: NNDSVD with its zeros filled by sqrt(mean(X)), so that a product of
  two filled entries is mean(X).  (Boutsidis and Gallopoulos, and scikit-learn, fill
  with mean(X) itself, which has the units of X while the factors have those of its
  square root: far too large for large X, far too small for small X; at mean(X) = 1
  the two agree.)

Every start is scale-equivariant: the start for c X is that for X with both factors
multiplied by sqrt(c) (``"random"``: unchanged, it does not look at X), to rounding,
and exactly when c is a power of 4.

``spa_start`` builds one more start, passed to ``fit`` as ``W0, V0``: W = the columns of X
that the Successive Projection Algorithm picks (``uniqueness.spa``), V their non-negative
least-squares coefficients.  On separable data it is already the answer.
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import (
    as_data, check_choice, check_count, check_dtype, check_memory, check_rank, check_real, check_seed,
)
from .uniqueness import _spa
from .updates import hals_update_V

__all__ = ["INITS", "initialize", "random_init", "nndsvd", "spa_start", "SPA_PASSES"]

INITS = ("random", "random_scaled", "nndsvd", "nndsvda")

#: HALS passes over V that turn the least-squares coefficients of the SPA start into
#: (nearly) the non-negative least-squares ones
SPA_PASSES = 20


def random_init(shape_X, rank: int, seed=None, scale: float = 1.0, dtype=np.float64):
    """W ~ scale * U(0, 1) of shape (m, rank), then V ~ scale * U(0, 1) of shape (rank, n)."""
    if not (isinstance(shape_X, (tuple, list)) and len(shape_X) == 2):
        raise TypeError(f"shape_X must be the pair (m, n), got {shape_X!r}")
    m, n = (check_count(k, name, 1) for k, name in zip(shape_X, ("m", "n")))
    rank = check_rank(rank)
    scale = check_real(scale, "scale", minimum=0.0, strict=True)
    dtype = check_dtype(dtype)
    check_memory(8 * (m + n) * rank, f"rank={rank}", f"random factors of {m} x {rank} and {rank} x {n}")
    return _random_init((m, n), rank, check_seed(seed), scale, dtype)


def _random_init(shape_X, rank: int, seed, scale: float, dtype):
    m, n = shape_X
    rng = np.random.default_rng(seed)
    W = rng.uniform(0.0, 1.0, size=(m, rank))
    V = rng.uniform(0.0, 1.0, size=(rank, n))
    if scale != 1.0:
        W *= scale
        V *= scale
    return W.astype(dtype, copy=False), V.astype(dtype, copy=False)


def _top_svd(X: np.ndarray, rank: int, scale: float = 1.0):
    """The leading ``rank`` singular triplets of scale X (float64; ``scale`` a power of
    two, applied to the products so that large X is not copied).

    A full SVD of a 512 x 16384 matrix takes seconds; for larger matrices the leading
    triplets come from the eigenvectors of the small Gram matrix (X X^T or X^T X), which
    is accurate for singular values well above sqrt(eps) * s_max.  When a requested
    singular value is not (rank-deficient data), the full SVD is used instead.
    """
    m, n = X.shape
    if min(m, n) <= 128:
        U, S, Vt = np.linalg.svd(X * scale, full_matrices=False)
        return U[:, :rank], S[:rank], Vt[:rank]
    small = (X @ X.T if m <= n else X.T @ X) * (scale * scale)
    evals, evecs = np.linalg.eigh(small)
    evals, evecs = evals[::-1][:rank], evecs[:, ::-1][:, :rank]
    if evals[-1] <= 1e-8 * evals[0]:
        U, S, Vt = np.linalg.svd(X * scale, full_matrices=False)
        return U[:, :rank], S[:rank], Vt[:rank]
    S = np.sqrt(evals)
    if m <= n:
        return evecs, S, (evecs.T @ X) * (scale / S[:, None])
    return (X @ evecs) * (scale / S[None, :]), S, evecs.T


def nndsvd(X, rank: int, fill: float | None = None):
    """Non-negative double SVD (Boutsidis & Gallopoulos 2008).

    For each of the top ``rank`` singular triplets (s, u, v), keep whichever of the
    positive or negative parts of (u, v) carries more energy.  ``fill`` replaces the
    zeros that result (``None`` keeps them: plain NNDSVD).

    It computes in working units: X / x with x = 4^k the power of four just above
    max X, so that the zero threshold is relative and the start for c X is that for X
    times sqrt(c) (exactly when c is a power of 4), over float64's whole range.
    """
    X = as_data(X)
    rank = check_rank(rank, X.shape, need_at_most_min=True)
    if fill is not None:
        fill = check_real(fill, "fill", minimum=0.0)
    return _nndsvd(X, rank, fill)


def _nndsvd(X: np.ndarray, rank: int, fill: float | None):
    exponent = math.frexp(float(X.max()))[1] if X.max() > 0 else 0
    half = (exponent + 1) // 2  # x = 2^(2 half) >= max X; the factors carry sqrt(x) = 2^half
    U, S, Vt = _top_svd(X.astype(np.float64, copy=False), rank, scale=math.ldexp(1.0, -2 * half))
    m, n = X.shape
    W = np.zeros((m, rank))
    V = np.zeros((rank, n))
    # the leading singular vectors of a non-negative matrix can be taken non-negative
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    V[0, :] = np.sqrt(S[0]) * np.abs(Vt[0, :])
    for j in range(1, rank):
        x, y = U[:, j], Vt[j, :]
        xp, xn = np.maximum(x, 0), np.maximum(-x, 0)
        yp, yn = np.maximum(y, 0), np.maximum(-y, 0)
        nxp, nyp = np.linalg.norm(xp), np.linalg.norm(yp)
        nxn, nyn = np.linalg.norm(xn), np.linalg.norm(yn)
        if nxp * nyp >= nxn * nyn:
            u, v, sigma = xp / nxp if nxp else xp, yp / nyp if nyp else yp, nxp * nyp
        else:
            u, v, sigma = xn / nxn if nxn else xn, yn / nyn if nyn else yn, nxn * nyn
        W[:, j] = np.sqrt(S[j] * sigma) * u
        V[j, :] = np.sqrt(S[j] * sigma) * v
    # round-off-sized entries count as zero, as in the original algorithm (in working units)
    eps = np.finfo(np.float64).eps * max(1.0, float(S[0]))
    W[W < eps] = 0.0
    V[V < eps] = 0.0
    W *= math.ldexp(1.0, half)
    V *= math.ldexp(1.0, half)
    if fill is not None:
        W[W == 0] = fill
        V[V == 0] = fill
    dtype = X.dtype
    return W.astype(dtype, copy=False), V.astype(dtype, copy=False)


def spa_start(X, rank: int):
    """A start from the data (W, V): W = X[:, spa(X, rank)] (a copy), V the non-negative
    least-squares coefficients of X on W, approximated by the least-squares solution
    W^+ X clipped at 0 and then ``SPA_PASSES`` HALS passes (``updates.hals_update_V``).
    Use it as ``fit(X, rank, W0=W, V0=V)``; V may hold exact zeros, which the
    multiplicative updates never move (``ZeroLockWarning``)."""
    X = as_data(X)
    rank = check_rank(rank, X.shape, need_at_most_min=True)
    W = X[:, _spa(X, rank, True)].copy()
    V = np.maximum(np.linalg.lstsq(W.astype(np.float64), X.astype(np.float64), rcond=None)[0], 0)
    return W, hals_update_V(X, W, V.astype(X.dtype), passes=SPA_PASSES)


def initialize(X, rank: int, method: str = "random", seed=None):
    """Return starting factors (W, V) for X by one of ``INITS``, in X's working dtype."""
    X = as_data(X)
    method = check_choice(method, "init", INITS)
    rank = check_rank(rank, X.shape, need_at_most_min=method.startswith("nndsvd"))
    return _initialize(X, rank, method, check_seed(seed))


def _initialize(X: np.ndarray, rank: int, method: str, seed):
    """``initialize`` for checked arguments (``fit`` calls it)."""
    if method == "random":
        return _random_init(X.shape, rank, seed, 1.0, X.dtype)
    if method == "random_scaled":
        scale = 2.0 * np.sqrt(float(X.mean(dtype=np.float64)) / rank)
        return _random_init(X.shape, rank, seed, scale, X.dtype)
    fill = float(np.sqrt(X.mean(dtype=np.float64))) if method == "nndsvda" else None
    return _nndsvd(X, rank, fill)

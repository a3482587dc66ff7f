"""The update rules, one function per formula in the book.

Lee and Seung's multiplicative update rules for the squared error ||X - W V||_F^2:

    W <- W * (X V^T) / (W V V^T)          V <- V * (W^T X) / (W^T W V)

Products are ordered W (V V^T) and (W^T W) V: written left to right, W V V^T
would first form the m x n matrix W V.  A denominator can only be zero where the
numerator W * (X V^T) is zero too (all entries are >= 0); ``guard`` replaces such zeros
by the smallest positive (subnormal) number, so the entry becomes 0 instead of NaN, and
leaves every positive denominator as it is, however small.  (W * (X V^T) has the units
of X squared: on data of 1e-21 in float32 it underflows.  ``fit`` runs these rules in
working units, where it cannot: ``steppers.WorkingUnits``.)

Below them: HALS for the same objective (``hals_update_W``, ``hals_update_V``), the
multiplicative rules for the Kullback-Leibler divergence (``kl_update_W``, ``kl_update_V``)
and minimum-volume NMF (``minvol_update_W``, with ``hals_update_V`` for V).

These are the rules as the book prints them.  ``fit`` runs their buffered twins in
``steppers.py`` (``mu_steps``, ``hals_steps``, ``kl_steps``, ``minvol_steps``): the same arithmetic with
preallocated buffers, tested equal to these functions step by step.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mu_update_W", "mu_update_V", "guard", "scale_to_fit", "hals_rows", "hals_update_W", "hals_update_V",
           "kl_ratio", "kl_update_W", "kl_update_V", "simplex_projection", "normalize_columns",
           "minvol_lambda", "minvol_update_W", "extrapolate"]


def guard(denominator: np.ndarray) -> np.ndarray:
    """Raise a zero denominator to the smallest positive (subnormal) number, in place;
    positive entries, subnormal ones included, are kept as they are."""
    return np.maximum(denominator, np.finfo(denominator.dtype).smallest_subnormal, out=denominator)


def mu_update_W(X: np.ndarray, W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """One multiplicative step for W:  W * (X V^T) / (W (V V^T))."""
    return W * (X @ V.T) / guard(W @ (V @ V.T))


def mu_update_V(X: np.ndarray, W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """One multiplicative step for V:  V * (W^T X) / ((W^T W) V)."""
    return V * (W.T @ X) / guard((W.T @ W) @ V)


# --------------------------------------------------------------------------------------
# HALS: hierarchical alternating least squares (Cichocki & Phan 2009)
#
# The squared error is a quadratic in one column w_k of W (others fixed); its exact
# minimiser over w_k >= 0 is
#
#     w_k <- max(0, w_k + ((X V^T)_k - W (V V^T)_k) / (V V^T)_kk)
#
# and symmetrically for a row v_k of V with W^T X and W^T W.  Columns are updated in
# turn, each using the columns already updated (Gauss-Seidel).  X V^T and V V^T do not
# change while W does, so several passes over the columns can reuse them (Gillis &
# Glineur 2012): ``passes`` passes at most, stopping early once a pass changes the
# factor by at most ``delta`` times what the first pass changed it.  A zero row of V
# makes (V V^T)_kk = 0 and the whole numerator 0: ``guard`` keeps w_k as it is.
#
# Unlike the multiplicative rules, HALS depends on the scale of its start: from a W
# far too large for X, the first column's update subtracts the other (not yet updated)
# columns' contribution and is clipped to zero.  ``fit`` therefore first scales the
# start's W by the factor that fits X best (``scale_to_fit``, as Gillis's HALS codes
# do); then the fit of c X is the fit of X with W multiplied by c.
# --------------------------------------------------------------------------------------

def scale_to_fit(X: np.ndarray, W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """The multiple of W that fits X best with V fixed:  W <X, W V> / ||W V||^2
    (W unchanged when W V = 0)."""
    WV = W @ V
    num, den = float(np.vdot(X, WV)), float(np.vdot(WV, WV))
    return W * (num / den) if den > 0 and num > 0 else W.copy()


def hals_rows(F: np.ndarray, num: np.ndarray, G: np.ndarray, passes: int, delta: float,
              project=None) -> np.ndarray:
    """HALS passes over the rows of F (d x p), in place:
    F_k <- max(0, F_k + (num_k - G_k F) / G_kk), for k = 0 .. d-1, repeated.
    ``project`` replaces max(0, .) when given (minimum-volume NMF: ``simplex_projection``)."""
    diag = guard(np.diag(G).copy())
    first = None
    for _ in range(passes):
        before = F.copy() if passes > 1 else None
        for k in range(F.shape[0]):
            step = F[k] + (num[k] - G[k] @ F) / diag[k]
            F[k] = np.maximum(step, 0) if project is None else project(step)
        if before is None:
            break
        change = float(np.sum((F - before) ** 2, dtype=np.float64))  # squared
        if first is None:
            first = change
        elif change <= delta * delta * first:
            break
    return F


def hals_update_W(X: np.ndarray, W: np.ndarray, V: np.ndarray, passes: int = 1, delta: float = 0.0) -> np.ndarray:
    """HALS for W: w_k <- max(0, w_k + ((X V^T)_k - W (V V^T)_k) / (V V^T)_kk), one column
    at a time, for up to ``passes`` passes reusing X V^T and V V^T (returns a new array)."""
    Wt = hals_rows(W.T.copy(), (X @ V.T).T, V @ V.T, passes, delta)
    return np.ascontiguousarray(Wt.T)


def hals_update_V(X: np.ndarray, W: np.ndarray, V: np.ndarray, passes: int = 1, delta: float = 0.0) -> np.ndarray:
    """HALS for V: v_k <- max(0, v_k + ((W^T X)_k - (W^T W)_k V) / (W^T W)_kk), one row
    at a time, for up to ``passes`` passes reusing W^T X and W^T W (returns a new array)."""
    return hals_rows(V.copy(), W.T @ X, W.T @ W, passes, delta)


# --------------------------------------------------------------------------------------
# Kullback-Leibler multiplicative rules (Lee & Seung 2001), for the generalized
# divergence D(X || WV) = sum X log(X / WV) - X + WV:
#
#     W <- W * ((X / WV) V^T) / (1 V^T)          V <- V * (W^T (X / WV)) / (W^T 1)
#
# i.e. the denominators are the row sums of V and the column sums of W.  Unlike the
# squared-error rules, each half-step needs the m x n ratio X / (WV): that is inherent
# to the objective, which does not split into small products.  Where WV = 0 the ratio is
# set to 0: every term it multiplies is 0 there anyway (W_ia V_aj = 0 for all a).
# --------------------------------------------------------------------------------------

def kl_ratio(X: np.ndarray, WV: np.ndarray) -> np.ndarray:
    """X / WV, with 0 where WV = 0 (then every W_ia V_aj is 0, so the value is never used)."""
    R = np.divide(X, WV, out=np.zeros_like(WV), where=WV > 0)
    return R


def kl_update_W(X: np.ndarray, W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """One KL multiplicative step for W:  W * ((X / WV) V^T) / (row sums of V)."""
    R = kl_ratio(X, W @ V)
    return W * (R @ V.T) / guard(V.sum(axis=1))[None, :]


def kl_update_V(X: np.ndarray, W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """One KL multiplicative step for V:  V * (W^T (X / WV)) / (column sums of W)."""
    R = kl_ratio(X, W @ V)
    return V * (W.T @ R) / guard(W.sum(axis=0))[:, None]


# --------------------------------------------------------------------------------------
# Minimum-volume NMF (Fu et al. 2016; Leplat, Gillis & Ang 2020), for
#
#     ||X - W V||_F^2 + lam * logdet(W^T W + delta I),   columns of W summing to 1
#
# The volume term only means something once the scale is fixed (W V = (W D)(D^-1 V):
# shrinking W would shrink any "volume" for free), so every column of W lies on the
# unit simplex {w >= 0, sum w = 1} (Gillis's model W^T e = e).  logdet is concave in
# W^T W, so its tangent at the current W_k majorizes it:
#
#     logdet(W^T W + delta I) <= const + <Y, W^T W>,   Y = (W_k^T W_k + delta I)^-1
#
# and the majorizer of the objective is the quadratic ||X - W V||^2 + lam <Y, W^T W> in W,
# with Hessian VV^T + lam Y.  Minimised one column at a time it is isotropic in w_k, so
# the exact column minimiser over the simplex is a projection (HALS with
# ``simplex_projection`` instead of max(0, .)):
#
#     w_k <- P(w_k + ((X V^T)_k - W (V V^T + lam Y)_k) / (V V^T + lam Y)_kk)
#
# Each pass lowers the majorizer, hence the objective (block majorization-minimization);
# V is then updated by plain HALS (``hals_update_V``), which V's scale is free for.
# --------------------------------------------------------------------------------------

def simplex_projection(y: np.ndarray) -> np.ndarray:
    """The Euclidean projection of the vector y onto the unit simplex {w >= 0, sum w = 1}:
    w = max(0, y - theta), with theta found from y sorted in decreasing order
    (Held, Wolfe & Crowder 1974; Duchi et al. 2008)."""
    u = np.sort(y)[::-1]
    css = np.cumsum(u, dtype=np.float64) - 1.0
    k = np.arange(1, y.size + 1)
    rho = np.nonzero(u - css / k > 0)[0][-1]  # the last k with u_k > (sum_{i<=k} u_i - 1) / k
    theta = css[rho] / (rho + 1)
    return np.maximum(y - theta, 0).astype(y.dtype, copy=False)


def normalize_columns(W: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(W D^-1, D V) with D the column sums of W, so that every column of W sums to 1 and
    W V is unchanged.  A zero column (which contributes nothing to W V) becomes the
    constant 1/m, and its row of V 0."""
    sums = W.sum(axis=0)
    zero = sums <= 0
    W = np.where(zero, 1.0 / W.shape[0], W / np.where(zero, 1.0, sums)).astype(W.dtype, copy=False)
    V = np.where(zero[:, None], 0.0, V * sums[:, None]).astype(V.dtype, copy=False)
    return W, V


def minvol_lambda(X: np.ndarray, W: np.ndarray, V: np.ndarray, weight: float, delta: float) -> float:
    """The penalty's weight, relative to the start (Leplat, Ang & Gillis 2019; Leplat, Gillis & Ang 2020):
    lam = weight * ||X - W V||_F^2 / |logdet(W^T W + delta I)|, for the start (W, V) with
    the columns of W summing to 1; 0 < weight << 1 is then scale-free."""
    R = X.astype(np.float64) - W.astype(np.float64) @ V.astype(np.float64)
    W64 = W.astype(np.float64)
    logdet = np.linalg.slogdet(W64.T @ W64 + delta * np.eye(W.shape[1]))[1]
    return float(weight * np.vdot(R, R) / (abs(logdet) or 1.0))


def minvol_update_W(X: np.ndarray, W: np.ndarray, V: np.ndarray, lam: float, delta: float,
                    passes: int = 1, stop: float = 0.0) -> np.ndarray:
    """Minimum-volume step for W (block majorization-minimization): with
    Y = (W^T W + delta I)^-1 at the current W, up to ``passes`` passes of
    w_k <- P(w_k + ((X V^T)_k - W (V V^T + lam Y)_k) / (V V^T + lam Y)_kk), P the projection
    onto the unit simplex (``hals_rows``' early stop ``stop``; returns a new array)."""
    W64 = W.astype(np.float64)
    Y = np.linalg.inv(W64.T @ W64 + delta * np.eye(W.shape[1]))
    G = (V @ V.T + lam * Y).astype(W.dtype)
    Wt = hals_rows(W.T.copy(), (X @ V.T).T, G, passes, stop, project=simplex_projection)
    return np.ascontiguousarray(Wt.T)


def extrapolate(F: np.ndarray, F_before: np.ndarray, beta: float) -> np.ndarray:
    """max(0, F + beta (F - F_before)): the point the next step starts from, ahead of F
    along its last move (Ang & Gillis 2019; ``steppers.minvol_steps`` says when it is used)."""
    return np.maximum(F + beta * (F - F_before), 0)

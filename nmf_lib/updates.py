"""The update rules, one function per formula in the book.

Lee and Seung's multiplicative update rules for the squared error ||X - W V||_F^2:

    W <- W * (X V^T) / (W V V^T)          V <- V * (W^T X) / (W^T W V)

Products are ordered W (V V^T) and (W^T W) V: written left to right, W V V^T
would first form the m x n matrix W V.  A denominator can only be zero where its
numerator is zero too (all entries are >= 0); ``guard`` replaces such zeros by the
smallest normal number, so the entry becomes 0 instead of NaN.

Below them: HALS for the same objective (``hals_update_W``, ``hals_update_V``) and the
multiplicative rules for the Kullback-Leibler divergence (``kl_update_W``, ``kl_update_V``).

These are the rules as the book prints them.  ``fit`` runs their buffered twins in
``steppers.py`` (``mu_steps``, ``hals_steps``, ``kl_steps``): the same arithmetic with
preallocated buffers, tested equal to these functions step by step.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mu_update_W", "mu_update_V", "guard", "hals_rows", "hals_update_W", "hals_update_V",
           "kl_ratio", "kl_update_W", "kl_update_V"]


def guard(denominator: np.ndarray) -> np.ndarray:
    """Clip a denominator from below at the smallest positive normal number (in place)."""
    return np.maximum(denominator, np.finfo(denominator.dtype).tiny, out=denominator)


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
# --------------------------------------------------------------------------------------

def hals_rows(F: np.ndarray, num: np.ndarray, G: np.ndarray, passes: int, delta: float) -> np.ndarray:
    """HALS passes over the rows of F (d x p), in place:
    F_k <- max(0, F_k + (num_k - G_k F) / G_kk), for k = 0 .. d-1, repeated."""
    diag = guard(np.diag(G).copy())
    first = None
    for _ in range(passes):
        before = F.copy() if passes > 1 else None
        for k in range(F.shape[0]):
            F[k] = np.maximum(F[k] + (num[k] - G[k] @ F) / diag[k], 0)
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

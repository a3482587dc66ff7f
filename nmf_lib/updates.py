"""Lee and Seung's multiplicative update rules for the squared error ||X - W V||_F^2.

    W <- W * (X V^T) / (W V V^T)          V <- V * (W^T X) / (W^T W V)

Products are ordered W (V V^T) and (W^T W) V: written left to right, W V V^T
would first form the m x n matrix W V.  A denominator can only be zero where its
numerator is zero too (all entries are >= 0); ``guard`` replaces such zeros by the
smallest normal number, so the entry becomes 0 instead of NaN.
"""

from __future__ import annotations

import numpy as np

__all__ = ["update_W", "update_V", "guard"]


def guard(denominator: np.ndarray) -> np.ndarray:
    """Clip a denominator from below at the smallest positive normal number (in place)."""
    return np.maximum(denominator, np.finfo(denominator.dtype).tiny, out=denominator)


def update_W(X: np.ndarray, W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """One multiplicative step for W:  W * (X V^T) / (W (V V^T))."""
    return W * (X @ V.T) / guard(W @ (V @ V.T))


def update_V(X: np.ndarray, W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """One multiplicative step for V:  V * (W^T X) / ((W^T W) V)."""
    return V * (W.T @ X) / guard((W.T @ W) @ V)

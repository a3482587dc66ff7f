"""Synthetic data for the experiment of the 2017 post: sums of Gaussian bumps.

Each sample is x_i = sum_k nu_ik g_k, where g_k = N(t | c_k, s_k) is a Gaussian pdf
with centre c_k and width (standard deviation) s_k, evaluated on t = linspace(0, 1, m),
and nu_ik ~ U(0, 1).  In matrix form
X = G @ Nu, with X of shape (m, n), G (m, d) and Nu (d, n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CENTRES", "WIDTHS", "Mixture", "gaussian_basis", "gaussian_mixture"]

#: centres (means) and widths (standard deviations) of the post's four Gaussian basis vectors
CENTRES = (0.15, 0.25, 0.6, 0.9)
WIDTHS = (0.2, 0.15, 0.1, 0.3)


@dataclass(frozen=True)
class Mixture:
    """A synthetic data set with the truth that generated it.

    X : (m, n) samples in columns;  G : (m, d) true basis vectors in columns;
    Nu : (d, n) true amplitudes;  t : (m,) the grid.  X == G @ Nu exactly.
    """

    X: np.ndarray
    G: np.ndarray
    Nu: np.ndarray
    t: np.ndarray


def gaussian_basis(m: int = 512, *, centres=CENTRES, widths=WIDTHS) -> tuple[np.ndarray, np.ndarray]:
    """Return (t, G): the grid t = linspace(0, 1, m) and G[:, k] = N(t | centres[k], widths[k])."""
    centres = np.asarray(centres, dtype=float)
    widths = np.asarray(widths, dtype=float)
    if centres.ndim != 1 or centres.shape != widths.shape or centres.size == 0:
        raise ValueError(f"centres and widths must be 1-D of the same non-zero length, "
                         f"got shapes {centres.shape} and {widths.shape}")
    if not (np.all(np.isfinite(centres)) and np.all(np.isfinite(widths))) or np.any(widths <= 0):
        raise ValueError("centres must be finite and every width finite and > 0")
    if int(m) != m or m < 2:
        raise ValueError(f"m must be an integer >= 2, got {m!r}")
    t = np.linspace(0.0, 1.0, int(m))
    z = (t[:, None] - centres[None, :]) / widths[None, :]
    G = np.exp(-0.5 * z**2) / (widths[None, :] * np.sqrt(2 * np.pi))
    return t, G


def gaussian_mixture(
    *, m: int = 512, n: int = 16384, centres=CENTRES, widths=WIDTHS, seed=None, dtype=np.float64
) -> Mixture:
    """The post's data: X (m x n) with columns x_i = sum_k nu_ik g_k, nu_ik ~ U(0, 1).

    The sizes are keyword-only (``gaussian_mixture(m=512, n=4096)``), so they cannot be
    swapped by accident.  ``seed`` is anything ``numpy.random.default_rng`` accepts.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    rng = np.random.default_rng(seed)
    t, G = gaussian_basis(m, centres=centres, widths=widths)
    Nu = rng.uniform(0.0, 1.0, size=(G.shape[1], int(n)))
    X = G @ Nu
    dtype = np.dtype(dtype)
    return Mixture(X=X.astype(dtype, copy=False), G=G.astype(dtype, copy=False),
                   Nu=Nu.astype(dtype, copy=False), t=t)

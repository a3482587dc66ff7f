"""Synthetic data for the experiment of the 2017 post: sums of Gaussian bumps.

Each sample is x_i = sum_k nu_ik g_k, where g_k = N(t | mu_k, sigma_k) is a Gaussian
pdf evaluated on t = linspace(0, 1, m) and nu_ik ~ U(0, 1).  In matrix form
X = G @ Nu, with X of shape (m, n), G (m, d) and Nu (d, n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MU", "SIGMA", "Mixture", "gaussian_basis", "gaussian_mixture"]

#: centres and widths of the post's four Gaussian basis vectors
MU = (0.15, 0.25, 0.6, 0.9)
SIGMA = (0.2, 0.15, 0.1, 0.3)


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


def gaussian_basis(m: int = 512, mu=MU, sigma=SIGMA) -> tuple[np.ndarray, np.ndarray]:
    """Return (t, G): the grid t = linspace(0, 1, m) and G[:, k] = N(t | mu_k, sigma_k)."""
    mu = np.asarray(mu, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    if mu.ndim != 1 or mu.shape != sigma.shape or mu.size == 0:
        raise ValueError(f"mu and sigma must be 1-D of the same non-zero length, got {mu.shape} and {sigma.shape}")
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))) or np.any(sigma <= 0):
        raise ValueError("mu must be finite and every sigma finite and > 0")
    if int(m) != m or m < 2:
        raise ValueError(f"m must be an integer >= 2, got {m!r}")
    t = np.linspace(0.0, 1.0, int(m))
    z = (t[:, None] - mu[None, :]) / sigma[None, :]
    G = np.exp(-0.5 * z**2) / (sigma[None, :] * np.sqrt(2 * np.pi))
    return t, G


def gaussian_mixture(
    n: int = 16384, m: int = 512, mu=MU, sigma=SIGMA, *, seed=None, dtype=np.float64
) -> Mixture:
    """The post's data: n samples x_i = sum_k nu_ik g_k with nu_ik ~ U(0, 1).

    ``seed`` is anything ``numpy.random.default_rng`` accepts (an int or a Generator).
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    rng = np.random.default_rng(seed)
    t, G = gaussian_basis(m, mu, sigma)
    Nu = rng.uniform(0.0, 1.0, size=(G.shape[1], int(n)))
    X = G @ Nu
    dtype = np.dtype(dtype)
    return Mixture(X=X.astype(dtype, copy=False), G=G.astype(dtype, copy=False),
                   Nu=Nu.astype(dtype, copy=False), t=t)

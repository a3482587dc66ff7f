"""Synthetic data for the experiment of the 2017 post: sums of Gaussian bumps.

Each sample is x_i = sum_k nu_ik g_k, where g_k = N(t | c_k, s_k) is a Gaussian pdf
with centre c_k and width (standard deviation) s_k, evaluated on t = linspace(0, 1, m),
and nu_ik ~ U(0, 1).  In matrix form
X = G @ Nu, with X of shape (m, n), G (m, d) and Nu (d, n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_array, check_count, check_dtype, check_seed

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
    m = check_count(m, "m", 2)
    centres, widths = _check_bumps(centres, widths)
    return _gaussian_basis(m, centres, widths)


def _check_bumps(centres, widths):
    centres = as_array(centres, "centres", ndim=1, finite=False)
    widths = as_array(widths, "widths", ndim=1, finite=False)
    if centres.shape != widths.shape:
        raise ValueError(f"centres and widths must be 1-D of the same non-zero length, "
                         f"got shapes {centres.shape} and {widths.shape}")
    if not (np.all(np.isfinite(centres)) and np.all(np.isfinite(widths))) or np.any(widths <= 0):
        raise ValueError("centres must be finite and every width finite and > 0")
    return centres, widths


def _gaussian_basis(m: int, centres: np.ndarray, widths: np.ndarray):
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
    m, n = check_count(m, "m", 2), check_count(n, "n", 1)
    centres, widths = _check_bumps(centres, widths)
    dtype = check_dtype(dtype)
    rng = np.random.default_rng(check_seed(seed))
    t, G = _gaussian_basis(m, centres, widths)
    Nu = rng.uniform(0.0, 1.0, size=(G.shape[1], n))
    X = G @ Nu
    return Mixture(X=X.astype(dtype, copy=False), G=G.astype(dtype, copy=False),
                   Nu=Nu.astype(dtype, copy=False), t=t)

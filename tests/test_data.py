"""nmf_lib.data: the post's synthetic Gaussian-mixture experiment."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nmf_lib
from nmf_lib import CENTRES, WIDTHS, gaussian_basis, gaussian_mixture


def _normal_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_the_posts_parameters():
    assert CENTRES == (0.15, 0.25, 0.6, 0.9)
    assert WIDTHS == (0.2, 0.15, 0.1, 0.3)


def test_basis_grid_and_values():
    t, G = gaussian_basis()
    assert t.shape == (512,) and G.shape == (512, 4)
    np.testing.assert_array_equal(t, np.linspace(0.0, 1.0, 512))
    i = 100
    for k, (mu, s) in enumerate(zip(CENTRES, WIDTHS)):
        expected = math.exp(-0.5 * ((t[i] - mu) / s) ** 2) / (s * math.sqrt(2 * math.pi))
        assert G[i, k] == pytest.approx(expected, rel=1e-14)


def test_basis_peaks_at_the_centres():
    t, G = gaussian_basis(2001)  # grid spacing 0.0005; every mu is on the grid
    for k, (mu, s) in enumerate(zip(CENTRES, WIDTHS)):
        assert t[np.argmax(G[:, k])] == pytest.approx(mu, abs=1e-12)
        assert G[:, k].max() == pytest.approx(1.0 / (s * math.sqrt(2 * math.pi)), rel=1e-12)
    assert G.max() == pytest.approx(1.0 / (0.1 * math.sqrt(2 * math.pi)))  # about 4, as in the post


def test_each_column_integrates_to_one_on_a_wide_grid():
    """On [0, 1] the widest bumps are cut off, so use narrow ones well inside it."""
    _, G = gaussian_basis(4001, centres=(0.3, 0.5, 0.7), widths=(0.02, 0.05, 0.05))  # >= 6 sigma from the ends
    integrals = np.trapezoid(G, dx=1.0 / 4000, axis=0)
    np.testing.assert_allclose(integrals, 1.0, atol=1e-6)


def test_default_columns_integrate_to_the_normal_mass_inside_the_unit_interval():
    t, G = gaussian_basis(20001)
    integrals = np.trapezoid(G, t, axis=0)
    expected = [_normal_cdf((1 - mu) / s) - _normal_cdf(-mu / s) for mu, s in zip(CENTRES, WIDTHS)]
    np.testing.assert_allclose(integrals, expected, rtol=1e-7)


def test_mixture_defaults():
    mix = gaussian_mixture(seed=0)
    assert mix.X.shape == (512, 16384) and mix.G.shape == (512, 4) and mix.Nu.shape == (4, 16384)
    assert mix.t.shape == (512,)
    assert mix.X.dtype == mix.G.dtype == mix.Nu.dtype == np.float64
    _, G = gaussian_basis()
    np.testing.assert_array_equal(mix.G, G)
    assert mix.Nu.min() >= 0.0 and mix.Nu.max() < 1.0
    # U(0, 1): the mean is 1/2 to within a few standard errors (0.29 / sqrt(65536) = 0.0011)
    assert mix.Nu.mean() == pytest.approx(0.5, abs=0.005)


def test_mixture_is_g_times_nu():
    mix = gaussian_mixture(n=300, m=64, seed=1)
    np.testing.assert_array_equal(mix.X, mix.G @ mix.Nu)
    assert np.all(mix.X >= 0)


def test_mixture_nu_is_drawn_from_default_rng():
    mix = gaussian_mixture(n=50, m=16, seed=9)
    np.testing.assert_array_equal(mix.Nu, np.random.default_rng(9).uniform(size=(4, 50)))


def test_mixture_seeds_are_reproducible():
    a = gaussian_mixture(n=200, m=32, seed=3)
    b = gaussian_mixture(n=200, m=32, seed=3)
    c = gaussian_mixture(n=200, m=32, seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.Nu, b.Nu)
    assert not np.allclose(a.Nu, c.Nu)
    d = gaussian_mixture(n=200, m=32, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a.X, d.X)


def test_mixture_float32():
    mix = gaussian_mixture(n=100, m=32, seed=2, dtype=np.float32)
    assert mix.X.dtype == mix.G.dtype == mix.Nu.dtype == np.float32
    ref = gaussian_mixture(n=100, m=32, seed=2)
    np.testing.assert_allclose(mix.X, ref.X, rtol=1e-6)
    np.testing.assert_allclose(mix.X, mix.G @ mix.Nu, rtol=1e-5)


def test_mixture_custom_basis():
    mix = gaussian_mixture(n=10, m=40, centres=(0.5, 0.2), widths=(0.1, 0.05), seed=0)
    assert mix.G.shape == (40, 2) and mix.Nu.shape == (2, 10)
    _, G = gaussian_basis(40, centres=(0.5, 0.2), widths=(0.1, 0.05))
    np.testing.assert_array_equal(mix.G, G)


def test_mixture_is_exactly_rank_four_so_nmf_can_fit_it():
    mix = gaussian_mixture(n=400, m=64, seed=5)
    s = np.linalg.svd(mix.X, compute_uv=False)
    assert s[3] > 1e-6 * s[0] and s[4] < 1e-12 * s[0]
    assert isinstance(mix, nmf_lib.Mixture)

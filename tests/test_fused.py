"""The fused single-pass kernel (nmf_lib/fused.py): the numpy steppers' iterates, one read of X.

* MU and HALS through ``fit(kernel="fused")`` equal ``kernel="numpy"`` to about 1e-12
  relative in float64 after 256 steps, on C-order and on samples-contiguous X, and
  within float32's precision in float32;
* odd shapes (m, n, d not multiples of the kernels' tiles) and HALS's early stop (the
  pass redone when the guess of the pass count was wrong) give the same iterates;
* X is neither copied nor modified, and a fit allocates at most 5% of X (the kernel's
  buffers are numpy arrays, which tracemalloc sees);
* the pieces of a pass over two blocks of samples add up to the pass over all of X;
* ``kernel`` is validated and dispatched as documented.

The kernels are compiled once per dtype and layout, then loaded from numba's disk
cache.  Without numba these tests are skipped, except in CI (CI set), where numba is
part of the test extra and its absence is a failure.
"""

from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest

import nmf_lib
from nmf_lib import fit, fused, gaussian_mixture, mse, random_init
from nmf_lib.steppers import HALS_DELTA, hals_steps, mu_steps

pytestmark = pytest.mark.skipif(not fused.AVAILABLE and not os.environ.get("CI"),
                                reason="numba is not installed (pip install 'nmf-lib[fast]')")

EPS32 = float(np.finfo(np.float32).eps)


def experiment(n=2048, m=512, d=4, dtype=np.float64, layout="C"):
    X = gaussian_mixture(m=m, n=n, seed=0, dtype=dtype).X
    if layout == "F":  # samples contiguous, as data.T of a samples x features array
        X = np.asfortranarray(X)
    W0, V0 = random_init(X.shape, d, seed=1, dtype=dtype)
    return X, W0, V0


def trajectory(X, W0, V0, kernel, n_steps, at=(1, 16, 64, 256), **kw):
    seen = {}

    def keep(step, W, V, loss):
        if step in at:
            seen[step] = (W.copy(), V.copy())

    res = fit(X, W0.shape[1], W0=W0, V0=V0, n_steps=n_steps, kernel=kernel, callback=keep, **kw)
    return res, seen


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# ------------------------------------------------------------- fused == numpy
@pytest.mark.parametrize("layout", ["C", "F"])
def test_mu_fused_equals_numpy_float64_256_steps(layout):
    X, W0, V0 = experiment(layout=layout)
    ref, ref_seen = trajectory(X, W0, V0, "numpy", 256)
    res, seen = trajectory(X, W0, V0, "fused", 256)
    for step in ref_seen:
        assert rel(seen[step][0], ref_seen[step][0]) <= 1e-12, f"W, step {step}"
        assert rel(seen[step][1], ref_seen[step][1]) <= 1e-12, f"V, step {step}"
    # the cheap loss subtracts terms of the size of ||X||^2: it agrees to rounding of that
    np.testing.assert_allclose(res.loss, ref.loss, rtol=0, atol=1e-13 * np.mean(X ** 2))
    # the loss is the MSE of the iterates (computed from the pass's products)
    assert res.loss[-1] == pytest.approx(mse(X, res.W, res.V), rel=1e-10)


@pytest.mark.parametrize("layout", ["C", "F"])
def test_mu_fused_float32_within_its_precision(layout):
    X, W0, V0 = experiment(dtype=np.float32, layout=layout)
    ref = fit(X, 4, W0=W0, V0=V0, n_steps=256, kernel="numpy")
    res = fit(X, 4, W0=W0, V0=V0, n_steps=256, kernel="fused")
    assert res.W.dtype == np.float32 and res.V.dtype == np.float32
    # measured: about 1e-5 relative after 256 steps (float32 rounding, amplified by the steps)
    assert rel(res.W, ref.W) <= 1e-4 and rel(res.V, ref.V) <= 1e-4
    assert np.all(np.diff(res.loss) < 0)
    # the sums over all samples are float64: the loss is as accurate as float32 products allow
    assert abs(res.loss[-1] - mse(X, res.W, res.V)) <= 8 * EPS32 * np.mean(X.astype(np.float64) ** 2)


@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("options", [None, {"passes": 1}, {"passes": (3, 4), "delta": 0.5}])
def test_hals_fused_equals_numpy(layout, options):
    X, W0, V0 = experiment(n=1024, layout=layout)
    ref = fit(X, 4, W0=W0, V0=V0, n_steps=64, method="hals", options=options, kernel="numpy")
    res = fit(X, 4, W0=W0, V0=V0, n_steps=64, method="hals", options=options, kernel="fused")
    assert rel(res.W, ref.W) <= 1e-11 and rel(res.V, ref.V) <= 1e-11
    np.testing.assert_allclose(res.loss, ref.loss, rtol=0, atol=1e-13 * np.mean(X ** 2))


def test_hals_redo_when_the_pass_count_changes(monkeypatch):
    """The kernel keeps V after the count of passes the previous step needed; when the
    totals say otherwise the pass is redone.  Here the count changes between steps (a
    large delta stops early on some steps and not on others), and the iterates still
    equal the numpy stepper's."""
    X, W0, V0 = experiment(n=512)
    redone = []
    real = fused.passes_needed

    def spy(changes, passes, delta):
        redone.append(real(changes, passes, delta))
        return redone[-1]

    monkeypatch.setattr(fused, "passes_needed", spy)
    kw = dict(passes=5, delta=0.6)
    Wn, Vn, Wf, Vf = W0.copy(), V0.copy(), W0.copy(), V0.copy()
    gn, gf = hals_steps(X, Wn, Vn, **kw), fused.hals_fused_steps(X, Wf, Vf, **kw)
    for _ in range(40):
        assert next(gf) == pytest.approx(next(gn), rel=0, abs=1e-13 * np.mean(X ** 2))
    assert len(set(redone)) > 1, f"the pass count never changed: {redone}"
    assert rel(Wf, Wn) <= 1e-11 and rel(Vf, Vn) <= 1e-11


@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("m, n, d", [(1, 1, 1), (37, 53, 1), (37, 53, 3), (5, 130, 6), (70, 9, 9)])
@pytest.mark.parametrize("method", ["mu", "hals"])
def test_odd_shapes(data, layout, m, n, d, method):
    X = data.noisy(m=m, n=n, d=3, seed=m + n)
    X = np.asfortranarray(X) if layout == "F" else X
    W0, V0 = random_init(X.shape, d, seed=2)
    ref = fit(X, d, W0=W0, V0=V0, n_steps=30, method=method, kernel="numpy")
    res = fit(X, d, W0=W0, V0=V0, n_steps=30, method=method, kernel="fused")
    np.testing.assert_allclose(res.W, ref.W, rtol=1e-10, atol=1e-12 * np.abs(ref.W).max())
    np.testing.assert_allclose(res.V, ref.V, rtol=1e-10, atol=1e-12 * np.abs(ref.V).max())
    np.testing.assert_allclose(res.loss, ref.loss, rtol=0, atol=1e-13 * np.mean(X ** 2))


def test_zero_rows_and_columns(data):
    X = data.uniform(30, 50, seed=3, zero_rows=[0, 7], zero_cols=[4, 5, 49])
    W0, V0 = random_init(X.shape, 4, seed=1)
    for method in ("mu", "hals"):
        ref = fit(X, 4, W0=W0, V0=V0, n_steps=40, method=method, kernel="numpy")
        res = fit(X, 4, W0=W0, V0=V0, n_steps=40, method=method, kernel="fused")
        assert np.all(np.isfinite(res.W)) and np.all(np.isfinite(res.V))
        np.testing.assert_allclose(res.W, ref.W, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(res.V, ref.V, rtol=1e-10, atol=1e-13)


# ------------------------------------------------------------- no copy, little memory
def peak_during(fn):
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, out


@pytest.mark.parametrize("method", ["mu", "hals"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_fused_fit_allocates_at_most_5_percent_of_x(method, dtype, layout):
    X, W0, V0 = experiment(n=4096, dtype=dtype, layout=layout)
    before = X.copy(order="A")
    fit(X, 4, W0=W0, V0=V0, n_steps=1, method=method, kernel="fused")  # compiled before tracing
    peak, res = peak_during(lambda: fit(X, 4, W0=W0, V0=V0, n_steps=3, method=method, kernel="fused"))
    assert peak <= 0.05 * X.nbytes, f"peak {peak} bytes = {100 * peak / X.nbytes:.1f}% of X"
    np.testing.assert_array_equal(X, before)  # the caller's data is never modified


def test_the_memory_check_would_catch_a_copy_of_x():
    X, W0, V0 = experiment(n=4096, layout="F")
    peak, _ = peak_during(lambda: np.ascontiguousarray(X).sum())
    assert peak >= X.nbytes


# ------------------------------------------------------------- the pieces add up
@pytest.mark.parametrize("layout", ["C", "F"])
def test_a_pass_over_blocks_of_samples_adds_up_to_the_whole(layout):
    """What a map-reduce over chunks of samples needs: X V^T, V V^T and <W^T X, V> of
    two blocks add up to those of all of X, and each block's V is updated as in the
    whole pass."""
    X, W, V = experiment(n=600, d=5, layout=layout)
    WtW = W.T @ W
    whole, V_whole = fused.FusedPass(X, 5), V.copy()
    dot = whole(W, WtW, V_whole, fused.MU)
    parts, dots, V_parts = [], 0.0, []
    for cols in (slice(0, 250), slice(250, 600)):
        Xb = np.asfortranarray(X[:, cols]) if layout == "F" else np.ascontiguousarray(X[:, cols])
        Vb = np.ascontiguousarray(V[:, cols])
        part = fused.FusedPass(Xb, 5)
        dots += part(W, WtW, Vb, fused.MU)
        parts.append((part.XVt.copy(), part.VVt.copy()))
        V_parts.append(Vb)
    assert dots == pytest.approx(dot, rel=1e-13)
    np.testing.assert_allclose(parts[0][0] + parts[1][0], whole.XVt, rtol=1e-13)
    np.testing.assert_allclose(parts[0][1] + parts[1][1], whole.VVt, rtol=1e-13)
    np.testing.assert_allclose(np.hstack(V_parts), V_whole, rtol=1e-15)
    np.testing.assert_allclose(whole.XVt, X @ V_whole.T, rtol=1e-12)


# ------------------------------------------------------------- choosing the kernel
def test_kernel_is_validated(data):
    X = data.noisy()
    with pytest.raises(TypeError, match="kernel must be one of"):
        fit(X, 3, kernel=None)
    with pytest.raises(ValueError, match="unknown kernel 'fast'"):
        fit(X, 3, kernel="fast")
    with pytest.raises(ValueError, match="no fused step for method 'kl'"):
        fit(X, 3, method="kl", kernel="fused")
    with pytest.raises(ValueError, match="contiguous"):
        fit(np.asarray(data.noisy(n=120))[:, ::2], 3, kernel="fused")


def test_fused_without_numba_names_the_extra(data, monkeypatch):
    monkeypatch.setattr(fused, "AVAILABLE", False)
    with pytest.raises(ImportError, match=r"nmf-lib\[fast\]"):
        fit(data.noisy(), 3, kernel="fused")
    # "auto" falls back to the numpy steppers
    assert fit(data.noisy(), 3, seed=0, n_steps=3).n_steps == 3


def test_auto_follows_the_documented_rule(data, monkeypatch):
    chosen = []
    real = fused.select_steps

    def spy(method, numpy_steps, X, d, kernel):
        chosen.append(real(method, numpy_steps, X, d, kernel))
        return chosen[-1]

    monkeypatch.setattr(nmf_lib.loop, "select_steps", spy)
    X = data.noisy()
    fit(X, 3, seed=0, n_steps=1, kernel="numpy")
    fit(X, 3, seed=0, n_steps=1, method="kl")
    fit(X[:, ::2], 3, seed=0, n_steps=1)
    assert chosen == [mu_steps, nmf_lib.steppers.kl_steps, mu_steps]
    chosen.clear()
    for dtype in ("float64", "float32"):
        for layout in ("C", "F"):
            Xl = np.asfortranarray(X.astype(dtype)) if layout == "F" else X.astype(dtype)
            limit = fused.FUSED_MAX_RANK[(dtype, layout)]
            assert fused.fused_pays(Xl, limit) and not fused.fused_pays(Xl, limit + 1)
            fit(Xl, 3, seed=0, n_steps=1, method="hals")
            assert chosen[-1] is fused.hals_fused_steps
    monkeypatch.setitem(fused.FUSED_MAX_RANK, ("float64", "C"), 2)
    fit(X, 3, seed=0, n_steps=1)
    assert chosen[-1] is mu_steps
    tall = data.noisy(m=fused.FUSED_MAX_FEATURES_C + 1, n=8)
    assert not fused.fused_pays(tall, 2) and fused.fused_pays(np.asfortranarray(tall), 2)
    assert HALS_DELTA == fused.HALS_DELTA

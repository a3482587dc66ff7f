"""What nmf_lib is measured against, and the two measuring helpers.

The benchmarks (benchmarks/) and the chapter "Making it fast" time the same variants,
so they live here once:

* ``two_pass_floor``: the two products every multiplicative step needs, X V^T and
  W^T X, and nothing else; every time is reported as a multiple of it;
* ``post_as_written``: the post's loop, ``W @ V @ V.T`` evaluated left to right and the
  MSE from a full reconstruction at every step;
* ``ordered_full_mse``: the readable rules of ``updates.py`` (products in the cheap
  order), still with the MSE from a full reconstruction;
* ``sklearn_nmf``: scikit-learn's NMF from the same start, in this book's notation;
* ``streaming_read``: one read of X per step and nothing else (``X.sum()``), the
  lower bound of any method that reads X once per step;
* ``fit_numpy``, ``fit_fused``: ``nmf_lib.fit`` with the numpy steppers or with the
  fused kernel of ``nmf_lib.fused`` (one pass over X per step).

Each variant takes (X, W, V, steps), works on its own copies and returns (W, V, loss),
with the loss at the start and after every step.  ``best_time`` and ``peak_memory``
time a call and measure the memory it allocates; ``best_times`` times several variants
with their runs interleaved, so that a busy moment of a shared machine hits all alike.
"""

from __future__ import annotations

import time
import tracemalloc
import warnings

import numpy as np

from .updates import mu_update_V, mu_update_W

__all__ = ["two_pass_floor", "streaming_read", "post_as_written", "ordered_full_mse", "fit_numpy",
           "fit_fused", "sklearn_nmf", "best_time", "best_times", "peak_memory"]


def two_pass_floor(X, W, V, steps):
    """The two products of every step, ``steps`` times; returns None (nothing is updated)."""
    for _ in range(steps):
        X @ V.T
        W.T @ X


def streaming_read(X, W, V, steps):
    """One streaming read of X per step (``X.sum()``), ``steps`` times; returns None."""
    for _ in range(steps):
        X.sum()


def fit_numpy(X, W, V, steps, method="mu"):
    """``nmf_lib.fit`` (multiplicative updates by default) with the numpy steppers;
    returns the loss."""
    from .loop import fit
    return fit(X, W.shape[1], W0=W, V0=V, n_steps=steps, method=method, kernel="numpy").loss


def fit_fused(X, W, V, steps, method="mu"):
    """``nmf_lib.fit`` with the fused single-pass kernel (needs numba); returns the loss."""
    from .loop import fit
    return fit(X, W.shape[1], W0=W, V0=V, n_steps=steps, method=method, kernel="fused").loss


def post_as_written(X, W, V, steps):
    """The post's loop: ``W @ V @ V.T`` forms the m x n W V first, and so does the MSE."""
    loss = [np.mean((X - W @ V) ** 2)]
    for _ in range(steps):
        W = W * (X @ V.T) / (W @ V @ V.T)
        V = V * (W.T @ X) / (W.T @ W @ V)
        loss.append(np.mean((X - W @ V) ** 2))
    return W, V, np.array(loss)


def ordered_full_mse(X, W, V, steps):
    """The readable rules (W (V V^T), (W^T W) V), with the MSE from a reconstruction."""
    loss = [np.mean((X - W @ V) ** 2)]
    for _ in range(steps):
        W = mu_update_W(X, W, V)
        V = mu_update_V(X, W, V)
        loss.append(np.mean((X - W @ V) ** 2))
    return W, V, np.array(loss)


def sklearn_nmf(XT, W, V, steps, *, solver="mu", **options):
    """``steps`` iterations of scikit-learn's ``NMF(solver=...)`` from our start (W, V).

    scikit-learn factors samples x features: it takes ``XT`` = X.T (the view, or a
    C-contiguous copy made once before timing), its ``W`` is our V^T and its ``H``
    (``components_``) our W^T.  tol=0, so it runs exactly ``steps`` iterations; it
    records no loss history.  Returns our (W, V) and the fitted model.
    """
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    model = NMF(W.shape[1], init="custom", solver=solver, tol=0.0, max_iter=steps, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # it stops at max_iter, as asked
        V_T = model.fit_transform(XT, W=np.ascontiguousarray(V.T), H=np.ascontiguousarray(W.T))
    return model.components_.T, V_T.T, model


def best_time(fn, args, repeats: int = 3):
    """The shortest of ``repeats`` wall-clock times of ``fn(*args)`` in seconds, and what
    the last call returned."""
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def best_times(variants, repeats: int = 3, clock=time.perf_counter):
    """Time each of ``variants``, a mapping label -> (fn, args, steps), ``repeats``
    times with the runs interleaved (every variant once, then again...); returns
    {label: best seconds per step} and {label: what the last call returned}."""
    best = {label: np.inf for label in variants}
    out = {}
    for _ in range(repeats):
        for label, (fn, args, steps) in variants.items():
            t0 = clock()
            out[label] = fn(*args, steps)
            best[label] = min(best[label], (clock() - t0) / steps)
    return best, out


def peak_memory(fn, args) -> int:
    """Peak bytes allocated (tracemalloc: numpy reports its arrays to it) while ``fn(*args)``
    runs, beyond what was allocated before."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak

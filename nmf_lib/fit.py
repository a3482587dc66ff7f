"""The training loop: apply the update rules in turn and record what the book shows.

``fit`` validates its input, builds a start, then runs a *stepper*: a generator that
updates W and V in place and yields the loss after each full step (first at the
start).  The loss at every step is almost free: it comes from products the updates
compute anyway (``metrics.mse_from_products``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_data, check_factor, check_rank, check_steps
from .init import INITS, initialize
from .metrics import mse_from_products, squared_norm
from .updates import guard

__all__ = ["fit", "FitResult", "ZeroLockWarning", "METHODS"]

METHODS = ("mu",)


class ZeroLockWarning(UserWarning):
    """A starting factor holds exact zeros, which multiplicative updates never move."""


@dataclass
class FitResult:
    """What ``fit`` returns.

    W : (m, d) learned basis vectors in columns.   V : (d, n) coefficients.
    loss : float64 array of the MSE at the start and after each step
        (``loss[0]`` at the start; ``n_steps + 1`` values unless the fit stopped early).
    n_steps : the number of steps performed.   stop_reason : "n_steps", "tol" or "callback".
    recorded_steps, W_history (r, m, d), reconstructions (r, m, s) of the columns
    ``sample_indices`` of X: filled only when recording was asked for.
    """

    W: np.ndarray
    V: np.ndarray
    loss: np.ndarray
    n_steps: int
    stop_reason: str
    method: str
    recorded_steps: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))
    W_history: np.ndarray | None = None
    reconstructions: np.ndarray | None = None
    sample_indices: np.ndarray | None = None

    def reconstruct(self) -> np.ndarray:
        """W V: the (m, n) approximation of X."""
        return self.W @ self.V


def _mu_steps(X: np.ndarray, W: np.ndarray, V: np.ndarray):
    """Lee-Seung multiplicative updates, W first then V, in place on W and V.

    The same arithmetic as ``updates.update_W`` / ``updates.update_V`` (tested equal),
    with preallocated buffers so no m x n temporary, and no transposed copy of X, is made.
    """
    m, n = X.shape
    d = W.shape[1]
    norm_X2 = squared_norm(X)
    XVt = np.empty((m, d), X.dtype)
    den_W = np.empty((m, d), X.dtype)
    WtX = np.empty((d, n), X.dtype)
    den_V = np.empty((d, n), X.dtype)

    def inner(A, B):  # <A, B> accumulated in float64
        if A.dtype == np.float64:
            return float(np.vdot(A, B))
        np.multiply(A, B, out=den_V)
        return float(den_V.sum(dtype=np.float64))

    np.matmul(W.T, X, out=WtX)
    WtW = W.T @ W
    VVt = V @ V.T
    yield mse_from_products(norm_X2, inner(WtX, V), WtW, VVt, X.size)
    while True:
        # W <- W * (X V^T) / (W (V V^T))
        np.matmul(X, V.T, out=XVt)
        np.matmul(W, VVt, out=den_W)
        W *= XVt
        W /= guard(den_W)
        # V <- V * (W^T X) / ((W^T W) V)
        np.matmul(W.T, X, out=WtX)
        WtW = W.T @ W
        np.matmul(WtW, V, out=den_V)
        V *= WtX
        V /= guard(den_V)
        VVt = V @ V.T  # needed by the next W step, and by the loss
        yield mse_from_products(norm_X2, inner(WtX, V), WtW, VVt, X.size)


_STEPPERS = {"mu": _mu_steps}


def _recording_plan(record_steps, n_steps: int) -> np.ndarray:
    if record_steps is None:
        return np.empty(0, dtype=int)
    if isinstance(record_steps, str):
        if record_steps != "all":
            raise ValueError(f"record_steps must be None, 'all', an int or a list of steps, got {record_steps!r}")
        steps = range(n_steps + 1)
    elif isinstance(record_steps, (int, np.integer)) and not isinstance(record_steps, bool):
        if record_steps < 1:
            raise ValueError(f"record_steps as an interval must be >= 1, got {record_steps}")
        steps = list(range(0, n_steps + 1, int(record_steps))) + [n_steps]
    else:
        steps = [int(s) for s in record_steps]
        bad = [s for s in steps if not 0 <= s <= n_steps]
        if bad:
            raise ValueError(f"record_steps must lie in [0, n_steps={n_steps}], got {bad[:5]}")
    # the final state is always recorded
    return np.unique(np.asarray(list(steps) + [n_steps], dtype=int))


def fit(
    X,
    rank: int,
    *,
    n_steps: int = 256,
    init: str = "random",
    seed=None,
    W0=None,
    V0=None,
    method: str = "mu",
    tol: float | None = None,
    record_steps: None | str | int | Iterable[int] = None,
    record_samples: Iterable[int] | None = None,
    callback: Callable[[int, np.ndarray, np.ndarray, float], bool | None] | None = None,
) -> FitResult:
    """Factor X (m x n, entries >= 0) as W V with W (m x rank) and V (rank x n).

    Parameters
    ----------
    X : array (m features x n samples). Note: scikit-learn's NMF takes samples x
        features, i.e. X.T; its ``W`` is our ``V.T`` and its ``components_`` our ``W.T``.
    rank : the inner dimension d.
    n_steps : how many full steps (a W update then a V update) to apply.
    init, seed : the start when W0 and V0 are not given; one of ``init.INITS``.
    W0, V0 : explicit starting factors (copied; the caller's arrays are never modified).
    method : "mu" (Lee-Seung multiplicative updates).
    tol : stop early once a step lowers the loss by less than ``tol`` times its value.
    record_steps : None (default), "all", an interval k (every k-th step and the last),
        or a list of steps; at each, and at the final step, W is copied into ``W_history``.
    record_samples : indices of columns of X whose reconstructions W V[:, idx] are
        stored at the recorded steps.
    callback : called as ``callback(step, W, V, loss)`` after the start and after each
        step, with read-only views; returning True stops the fit.
    """
    X = as_data(X)
    m, n = X.shape
    if method not in _STEPPERS:
        raise ValueError(f"unknown method {method!r}; choose one of {tuple(_STEPPERS)}")
    n_steps = check_steps(n_steps)
    if tol is not None and not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be None or a finite number >= 0, got {tol!r}")
    if (W0 is None) != (V0 is None):
        raise ValueError("W0 and V0 must be given together (or neither)")
    if W0 is not None:
        rank = check_rank(rank)
        W = check_factor(W0, "W0", (m, rank), X.dtype)
        V = check_factor(V0, "V0", (rank, n), X.dtype)
    else:
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {INITS}")
        rank = check_rank(rank, X.shape, need_at_most_min=init.startswith("nndsvd"))
        W, V = initialize(X, rank, init, seed)
        W = np.ascontiguousarray(W, dtype=X.dtype)
        V = np.ascontiguousarray(V, dtype=X.dtype)
    if method == "mu":
        zeros_W, zeros_V = int(np.count_nonzero(W == 0)), int(np.count_nonzero(V == 0))
        if zeros_W or zeros_V:
            warnings.warn(
                f"the start has {zeros_W} zero entries in W and {zeros_V} in V; multiplicative "
                f"updates never move an exact zero, so these stay 0 (use init='nndsvda' or a "
                f"positive start)", ZeroLockWarning, stacklevel=2)

    plan = _recording_plan(record_steps, n_steps)
    samples = None if record_samples is None else np.asarray(list(record_samples), dtype=int)
    if samples is not None and samples.size and (samples.min() < -n or samples.max() >= n):
        raise ValueError(f"record_samples must index columns of X (0 <= i < {n})")
    if samples is not None and plan.size == 0:
        raise ValueError("record_samples needs record_steps to say when to record")
    W_hist = np.empty((plan.size, m, rank), X.dtype) if plan.size else None
    recon = np.empty((plan.size, m, samples.size), X.dtype) if samples is not None else None
    recorded = []
    wanted = set(plan.tolist())

    def record(step):
        i = len(recorded)
        W_hist[i] = W
        if recon is not None:
            np.matmul(W, V[:, samples], out=recon[i])
        recorded.append(step)

    losses = np.empty(n_steps + 1)
    stop_reason = "n_steps"
    step = 0
    for step, value in zip(range(n_steps + 1), _STEPPERS[method](X, W, V)):
        losses[step] = value
        if step in wanted:
            record(step)
        if callback is not None:
            Wv, Vv = W.view(), V.view()
            Wv.flags.writeable = Vv.flags.writeable = False
            if callback(step, Wv, Vv, value):
                stop_reason = "callback"
                break
        if tol is not None and step > 0 and losses[step - 1] - value <= tol * losses[step - 1]:
            stop_reason = "tol"
            break
    if plan.size and (not recorded or recorded[-1] != step):
        record(step)  # stopped early: the final state takes the unused slot of step n_steps
    r = len(recorded)
    return FitResult(
        W=W, V=V, loss=losses[: step + 1].copy(), n_steps=step, stop_reason=stop_reason,
        method=method, recorded_steps=np.asarray(recorded, dtype=int),
        W_history=None if W_hist is None else W_hist[:r],
        reconstructions=None if recon is None else recon[:r], sample_indices=samples,
    )

"""The training loop: apply the update rules in turn and record what the book shows.

``fit`` validates its input, builds a start, then runs a *stepper*: a generator that
updates W and V in place and yields the loss after each full step (first at the
start).  The loss at every step is almost free: it comes from products the updates
compute anyway (``metrics.mse_from_products``).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_data, check_factor, check_rank, check_steps
from .init import INITS, initialize
from .metrics import mse_from_products, squared_norm, xlogx_sum
from .updates import guard

__all__ = ["fit", "FitResult", "ZeroLockWarning", "METHODS"]

METHODS = ("mu", "hals", "kl")


class ZeroLockWarning(UserWarning):
    """A starting factor holds exact zeros, which multiplicative updates never move."""


@dataclass
class FitResult:
    """What ``fit`` returns.

    W : (m, d) learned basis vectors in columns.   V : (d, n) coefficients.
    loss : float64 array of the objective at the start and after each step
        (``loss[0]`` at the start; ``n_steps + 1`` values unless the fit stopped early):
        the MSE ||X - W V||_F^2 / (m n) for "mu" and "hals", the generalized
        Kullback-Leibler divergence per entry D(X || W V) / (m n) for "kl"
        (``metrics.kl_divergence``).  The MSE comes from products the updates compute
        anyway, accumulated in float64; for float32 X those products are float32, so it
        is accurate to a few float32 eps of mean(X**2): plenty to watch it fall, but use
        ``metrics.mse`` for its value when the fit is nearly exact.
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


def _squared_loss(norm_X2, WtX, V, WtW, VVt, size, scratch) -> float:
    """The MSE from products the steps computed anyway (``metrics.mse_from_products``),
    with <W^T X, V> accumulated in float64; ``scratch`` is a d x n buffer for float32."""
    if WtX.dtype == np.float64:
        dot = float(np.vdot(WtX, V))
    else:
        np.multiply(WtX, V, out=scratch)
        dot = float(scratch.sum(dtype=np.float64))
    return mse_from_products(norm_X2, dot, WtW, VVt, size)


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

    np.matmul(W.T, X, out=WtX)
    WtW = W.T @ W
    VVt = V @ V.T
    yield _squared_loss(norm_X2, WtX, V, WtW, VVt, X.size, den_V)
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
        yield _squared_loss(norm_X2, WtX, V, WtW, VVt, X.size, den_V)


def hals_passes(m: int, n: int, d: int, alpha: float = 0.5, most: int = 5) -> tuple[int, int]:
    """How many HALS passes over W and over V one step may make (Gillis & Glineur 2012).

    A pass over W costs about m d^2 operations, while the products it reuses, X V^T and
    V V^T, cost about m n d + n d^2: repeating the cheap passes pays as long as their
    total stays a fraction ``alpha`` of the products' cost.  Here a pass also costs a few
    Python-level array operations per row, so the count is capped at ``most``: on the
    post's experiment (512 x 16384, d = 4) more passes did not reduce the number of
    steps to an MSE of 1e-5 (benchmarks/bench_hals.py).  Returns (passes_W, passes_V),
    each at least 1.
    """
    rho_W = 1 + (m * n + n * d) / (m * (d + 1))
    rho_V = 1 + (m * n + m * d) / (n * (d + 1))
    return min(int(1 + alpha * rho_W), most), min(int(1 + alpha * rho_V), most)


#: stop the passes over a factor once a pass changes it by at most this fraction of
#: what the first pass changed it (Gillis & Glineur 2012)
HALS_DELTA = 0.1


def _hals_passes(F: np.ndarray, num: np.ndarray, G: np.ndarray, passes: int, delta: float,
                 row: np.ndarray, before: np.ndarray) -> None:
    """In place on the rows of F (d x p): F_k <- max(0, F_k + (num_k - G_k F) / G_kk),
    the arithmetic of ``updates._hals_rows`` with buffers ``row`` (p,) and ``before`` (d, p)."""
    diag = guard(np.diag(G).copy())
    first = None
    for _ in range(passes):
        if passes > 1:
            np.copyto(before, F)
        for k in range(F.shape[0]):
            # row = G_k F as d scaled adds: small BLAS calls cost more than they compute
            np.multiply(F[0], G[k, 0], out=row)
            for j in range(1, F.shape[0]):
                row += G[k, j] * F[j]
            np.subtract(num[k], row, out=row)
            row /= diag[k]
            row += F[k]
            np.maximum(row, 0, out=F[k])
        if passes == 1:
            return
        np.subtract(F, before, out=before)
        np.multiply(before, before, out=before)  # (not a BLAS norm: threads stall on a busy machine)
        change = float(before.sum(dtype=np.float64))  # squared
        if first is None:
            first = change
        elif change <= delta * delta * first:
            return


def _hals_steps(X: np.ndarray, W: np.ndarray, V: np.ndarray, passes=None, delta: float = HALS_DELTA):
    """HALS (Cichocki & Phan 2009) with the passes of Gillis & Glineur (2012), W then V,
    in place on W and V: the arithmetic of ``updates.hals_update_W`` / ``hals_update_V``
    (tested equal).  ``passes`` = (passes_W, passes_V), by default ``hals_passes(m, n, d)``.

    A step costs the two products X V^T and W^T X, like a multiplicative step; the
    passes over the small factors reuse them.
    """
    m, n = X.shape
    d = W.shape[1]
    passes_W, passes_V = hals_passes(m, n, d) if passes is None else passes
    norm_X2 = squared_norm(X)
    XVt = np.empty((m, d), X.dtype)
    Wt = np.empty((d, m), X.dtype)
    WtX = np.empty((d, n), X.dtype)
    buf_V = np.empty((d, n), X.dtype)
    buf_W = np.empty((d, m), X.dtype)
    row_V = np.empty(n, X.dtype)
    row_W = np.empty(m, X.dtype)

    np.matmul(W.T, X, out=WtX)
    WtW = W.T @ W
    VVt = V @ V.T
    yield _squared_loss(norm_X2, WtX, V, WtW, VVt, X.size, buf_V)
    while True:
        # the columns of W are the rows of W^T: w_k <- max(0, w_k + ((X V^T)_k - W (V V^T)_k) / (V V^T)_kk)
        np.matmul(X, V.T, out=XVt)
        np.copyto(Wt, W.T)
        _hals_passes(Wt, XVt.T, VVt, passes_W, delta, row_W, buf_W)
        np.copyto(W, Wt.T)
        # v_k <- max(0, v_k + ((W^T X)_k - (W^T W)_k V) / (W^T W)_kk)
        np.matmul(W.T, X, out=WtX)
        WtW = W.T @ W
        _hals_passes(V, WtX, WtW, passes_V, delta, row_V, buf_V)
        VVt = V @ V.T  # needed by the next W step, and by the loss
        yield _squared_loss(norm_X2, WtX, V, WtW, VVt, X.size, buf_V)


def _kl_steps(X: np.ndarray, W: np.ndarray, V: np.ndarray):
    """Lee-Seung multiplicative updates for the generalized KL divergence, W first then V,
    in place: the arithmetic of ``updates.kl_update_W`` / ``kl_update_V`` (tested equal).

    Yields ``metrics.kl_divergence`` (per entry).  Each half-step needs the m x n ratio
    X / (WV), which is inherent to this objective; the W V of the loss is the one the
    next W half-step needs, so a step forms W V twice, like the rules themselves.
    """
    m, n = X.shape
    size = X.size
    xlogx = xlogx_sum(X)
    sum_X = float(X.sum(dtype=np.float64))
    WV = np.empty((m, n), X.dtype)
    R = np.empty((m, n), X.dtype)
    num_W = np.empty(W.shape, X.dtype)
    num_V = np.empty(V.shape, X.dtype)

    def ratio():
        """R = X / WV with 0 where WV = 0 (as ``updates.kl_ratio``)."""
        if WV.min() > 0:
            np.divide(X, WV, out=R)
        else:
            R.fill(0)
            np.divide(X, WV, out=R, where=WV > 0)

    def loss():
        """D(X || WV) / (mn) from WV: sum X log X - sum X log WV - sum X + sum WV."""
        if WV.min() > 0:
            np.log(WV, out=R)
        else:  # 0 log 0 = 0; X_ij > 0 with (WV)_ij = 0 makes the divergence infinite
            zero = WV <= 0
            if np.any(X[zero] > 0):
                return float("inf")
            R.fill(0)
            np.log(WV, out=R, where=~zero)
        np.multiply(R, X, out=R)
        x_log_wv = float(R.sum(dtype=np.float64))
        sum_WV = float(W.sum(axis=0, dtype=np.float64) @ V.sum(axis=1, dtype=np.float64))
        return max(xlogx - x_log_wv - sum_X + sum_WV, 0.0) / size

    np.matmul(W, V, out=WV)
    yield loss()
    while True:
        # W <- W * ((X / WV) V^T) / (row sums of V); WV is current (from the loss)
        ratio()
        np.matmul(R, V.T, out=num_W)
        W *= num_W
        W /= guard(V.sum(axis=1))[None, :]
        # V <- V * (W^T (X / WV)) / (column sums of W)
        np.matmul(W, V, out=WV)
        ratio()
        np.matmul(W.T, R, out=num_V)
        V *= num_V
        V /= guard(W.sum(axis=0))[:, None]
        np.matmul(W, V, out=WV)
        yield loss()


_STEPPERS = {"mu": _mu_steps, "hals": _hals_steps, "kl": _kl_steps}


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
        steps = list(record_steps) if isinstance(record_steps, Iterable) else [record_steps]
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in steps):
            raise TypeError(f"record_steps must be None, 'all', an int or a list of integer steps, "
                            f"got {record_steps!r}")
        steps = [int(s) for s in steps]
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
    method : "mu" (Lee-Seung multiplicative updates for the squared error), "hals"
        (hierarchical alternating least squares, same objective: exact minimisation
        over one column of W / row of V at a time, several passes per step) or "kl"
        (Lee-Seung multiplicative updates for the generalized Kullback-Leibler
        divergence; ``loss`` then records D(X || W V) / (m n)).
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
    if tol is not None and (isinstance(tol, bool) or not isinstance(tol, numbers.Real)
                            or not (np.isfinite(tol) and tol >= 0)):
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
    if method in ("mu", "kl"):  # HALS can move zeros
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

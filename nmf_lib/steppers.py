"""The steppers ``fit`` runs: the rules of ``updates.py`` with preallocated buffers.

Each method has two forms.  ``updates.py`` holds the rules as the book prints them
(``mu_update_W`` / ``mu_update_V`` ...), one function per formula, each returning new
arrays.  Here each method is a *stepper*: a generator that applies the same arithmetic
in place on W and V, with buffers allocated once so that a step makes no m x n
temporary and no transposed copy of X, and yields the loss after each full step
(first at the start).  The loss is almost free: it comes from products the updates
compute anyway (``metrics.mse_from_products``).  tests/test_methods.py checks, step by
step, that every stepper computes what its readable rules compute.

Every stepper computes in working units (``WorkingUnits``): X, W and V rescaled by
exact powers of two so that all three are of order one.  The iterates are those of the
rules in X's units, rounded the same way, but nothing underflows or overflows: the fit
of c X is the fit of X rescaled, to rounding, over the whole range ``fit`` accepts.

A method is a readable rule in ``updates.py``, a stepper here and one entry in
``METHODS``, which also declares the options the stepper accepts (``fit(...,
options=...)``) and whether the method can move an exact zero.  A stepper whose
objective is not the MSE alone (``minvol_steps``) yields pairs (objective, MSE).
A new stepper starts with ``u = WorkingUnits(X, W, V)`` and writes each iterate
back with ``u.to_user()``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .metrics import _mse_from_products as mse_from_products, _squared_norm as squared_norm, xlogx_sum  # X is checked by fit
from .metrics import _logdet_penalty as logdet_penalty  # W is the fit's own
from ._validate import check_count, check_real
from .updates import guard, normalize_columns, simplex_projection

__all__ = ["Method", "METHODS", "mu_steps", "hals_steps", "kl_steps", "minvol_steps", "hals_pass_counts",
           "HALS_DELTA", "MINVOL_WEIGHT", "MINVOL_DELTA", "squared_loss", "WorkingUnits", "power_of_two"]


def power_of_two(value) -> float:
    """The power of two 2^k with value / 2^k in [0.5, 1) (1.0 for value <= 0): scaling by
    it, or by its inverse, is exact."""
    value = float(value)
    return math.ldexp(1.0, math.frexp(value)[1]) if value > 0 else 1.0


class WorkingUnits:
    """The units a stepper computes in: X = x X~, V = v V~ and, from the first step on,
    W = (x / v) W~, where x is the power of two just above max X and v the one just
    above the start's max V.  X~, V~ and W~ V~ are then of order one.

    Scaling by powers of two is exact, so a step on (X~, W~, V~) is the step on (X, W, V)
    rounded the same way, bit for bit, wherever the latter neither underflows nor
    overflows; and it keeps working where it would (X of 1e-30 in float32).  X itself is
    never scaled (that would copy it): the products with X are, X V~^T and W~^T X times
    1/x, which are small.  The start's W may have any scale: it is kept as W / w, w the
    power of two just above its max (the first W half-step of the multiplicative rules
    does not depend on the scale of W; HALS first scales it to fit X), and ``r`` = w v / x
    relates the start's product to X: W V = x r W~ V~.
    """

    def __init__(self, X: np.ndarray, W: np.ndarray, V: np.ndarray):
        self.x = power_of_two(X.max())
        self.v = power_of_two(V.max())
        w = power_of_two(W.max())
        self.r = w * self.v / self.x
        self.W = W * (1.0 / w)  # new arrays in X's dtype: the stepper's own W~ and V~
        self.V = V * (1.0 / self.v)
        self._user = W, V

    def to_user(self) -> None:
        """Write the current iterate into the caller's W and V, in X's units.  The
        stepper goes on from its own W~ and V~, so the round trip rounds nothing."""
        W, V = self._user
        np.multiply(self.W, self.x / self.v, out=W)
        np.multiply(self.V, self.v, out=V)


def squared_loss(norm_X2: float, WtX, V, WtW, VVt, size: int, scratch, x: float = 1.0, r: float = 1.0) -> float:
    """The MSE from products the step computed anyway (``metrics.mse_from_products``),
    with <W^T X, V> accumulated in float64; ``scratch`` is a d x n buffer for float32.
    In working units (``WorkingUnits``): the products are those of X~, W~ and V~ and the
    MSE of X is x^2 ||X~ - r W~ V~||^2 / size.  For float32, pass W^T W and V V^T in
    float64 (``loss_grams``)."""
    if WtX.dtype == np.float64:
        dot = float(np.vdot(WtX, V))
    else:
        np.multiply(WtX, V, out=scratch)
        dot = float(scratch.sum(dtype=np.float64))
    return x * x * mse_from_products(norm_X2, r * dot, r * r * np.asarray(WtW, dtype=np.float64), VVt, size)


def loss_grams(W, V, WtW, VVt):
    """W^T W and V V^T for the loss: as the step computed them in float64; formed again in
    float64 from W and V for float32 (m d^2 + n d^2 operations).  In float32 their
    rounding was measured to dominate the error of the loss (5.8e-7 of the 5.9e-7 on the
    experiment's X after 1000 MU steps; the float32 W^T X, which is kept, adds 5e-8)."""
    if W.dtype == np.float64:
        return WtW, VVt
    return gram64(W.T), gram64(V)


def gram64(F: np.ndarray, block: int = 256) -> np.ndarray:
    """F F^T in float64 for a d x p factor, ``block`` columns at a time (no float64 copy
    of F: for V that would be d n doubles)."""
    G = np.zeros((F.shape[0], F.shape[0]))
    for j in range(0, F.shape[1], block):
        Fb = F[:, j:j + block].astype(np.float64)
        G += Fb @ Fb.T
    return G


# ------------------------------------------------------------ multiplicative updates

def mu_steps(X: np.ndarray, W: np.ndarray, V: np.ndarray):
    """Lee-Seung multiplicative updates, W first then V, in place on W and V: the
    buffered twin of ``updates.mu_update_W`` and ``updates.mu_update_V``."""
    m, n = X.shape
    d = W.shape[1]
    u = WorkingUnits(X, W, V)
    W, V = u.W, u.V  # from here on W~ and V~; X~ = X / x enters through its products
    inv_x = 1.0 / u.x
    norm_X2 = squared_norm(X) * inv_x * inv_x
    XVt = np.empty((m, d), X.dtype)
    den_W = np.empty((m, d), X.dtype)
    WtX = np.empty((d, n), X.dtype)
    den_V = np.empty((d, n), X.dtype)

    np.matmul(W.T, X, out=WtX)
    WtX *= inv_x
    WtW = W.T @ W
    VVt = V @ V.T
    yield squared_loss(norm_X2, WtX, V, *loss_grams(W, V, WtW, VVt), X.size, den_V, u.x, u.r)
    while True:
        # W <- W * (X V^T) / (W (V V^T))
        np.matmul(X, V.T, out=XVt)
        XVt *= inv_x
        np.matmul(W, VVt, out=den_W)
        W *= XVt
        W /= guard(den_W)
        # V <- V * (W^T X) / ((W^T W) V)
        np.matmul(W.T, X, out=WtX)
        WtX *= inv_x
        WtW = W.T @ W
        np.matmul(WtW, V, out=den_V)
        V *= WtX
        V /= guard(den_V)
        VVt = V @ V.T  # needed by the next W step, and by the loss
        u.to_user()
        yield squared_loss(norm_X2, WtX, V, *loss_grams(W, V, WtW, VVt), X.size, den_V, u.x)


# ---------------------------------------------------------------------------- HALS

#: stop the passes over a factor once a pass changes it by at most this fraction of
#: what the first pass changed it (Gillis & Glineur 2012)
HALS_DELTA = 0.1


def hals_pass_counts(m: int, n: int, d: int, alpha: float = 0.5, most: int = 5) -> tuple[int, int]:
    """How many HALS passes over W and over V one step may make (Gillis & Glineur 2012).

    A pass over W costs about m d^2 operations, while the products it reuses, X V^T and
    V V^T, cost about m n d + n d^2: repeating the cheap passes pays as long as their
    total stays a fraction ``alpha`` of the products' cost.  Here a pass also costs a few
    Python-level array operations per row, so the count is capped at ``most``: on the
    post's experiment (512 x 16384, d = 4) more passes did not reduce the number of
    steps to an MSE of 1e-5 (benchmarks/bench_hals.py).  Returns (passes_W, passes_V),
    each at least 1.
    """
    m, n, d, most = (check_count(v, k, 1) for v, k in ((m, "m"), (n, "n"), (d, "d"), (most, "most")))
    alpha = check_real(alpha, "alpha", minimum=0.0)
    rho_W = 1 + (m * n + n * d) / (m * (d + 1))
    rho_V = 1 + (m * n + m * d) / (n * (d + 1))
    return min(int(1 + alpha * rho_W), most), min(int(1 + alpha * rho_V), most)


def _hals_rows_in_place(F: np.ndarray, num: np.ndarray, G: np.ndarray, passes: int, delta: float,
                        row: np.ndarray, before: np.ndarray, project=None) -> None:
    """In place on the rows of F (d x p): F_k <- max(0, F_k + (num_k - G_k F) / G_kk), the
    arithmetic of ``updates.hals_rows`` with the buffers ``row`` (p,) and ``before`` (d, p);
    ``project`` replaces max(0, .) when given."""
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
            if project is None:
                np.maximum(row, 0, out=F[k])
            else:
                F[k] = project(row)
        if passes == 1:
            return
        np.subtract(F, before, out=before)
        np.multiply(before, before, out=before)  # (not a BLAS norm: threads stall on a busy machine)
        change = float(before.sum(dtype=np.float64))  # squared
        if first is None:
            first = change
        elif change <= delta * delta * first:
            return


def _hals_buffers(m: int, n: int, d: int, dtype):
    """The work arrays of a HALS-type step, allocated once per fit: X V^T (m, d), W^T (d, m),
    W^T X (d, n), then the passes' scratch for V and W (d, n), (d, m) and their rows n, m."""
    return (np.empty((m, d), dtype), np.empty((d, m), dtype), np.empty((d, n), dtype),
            np.empty((d, n), dtype), np.empty((d, m), dtype), np.empty(n, dtype), np.empty(m, dtype))


def hals_steps(X: np.ndarray, W: np.ndarray, V: np.ndarray, *, passes=None, delta: float = HALS_DELTA):
    """HALS (Cichocki & Phan 2009) with the repeated passes of Gillis & Glineur (2012), W
    then V, in place on W and V: the buffered twin of ``updates.hals_update_W`` and
    ``updates.hals_update_V``.

    ``passes``: None (``hals_pass_counts(m, n, d)``), an int for both factors, or a pair
    (passes over W, passes over V); ``delta``: stop a factor's passes early once a pass
    changes it by at most ``delta`` times what its first pass did.  A step costs the two
    products X V^T and W^T X, like a multiplicative step; the passes reuse them.
    """
    m, n = X.shape
    d = W.shape[1]
    if passes is None:
        passes_W, passes_V = hals_pass_counts(m, n, d)
    elif isinstance(passes, numbers.Integral):
        passes_W = passes_V = int(passes)
    else:
        passes_W, passes_V = (int(p) for p in passes)
    u = WorkingUnits(X, W, V)
    W, V = u.W, u.V  # from here on W~ and V~; X~ = X / x enters through its products
    inv_x = 1.0 / u.x
    norm_X2 = squared_norm(X) * inv_x * inv_x
    XVt, Wt, WtX, buf_V, buf_W, row_V, row_W = _hals_buffers(m, n, d, X.dtype)

    np.matmul(W.T, X, out=WtX)
    WtX *= inv_x
    WtW = W.T @ W
    VVt = V @ V.T
    yield squared_loss(norm_X2, WtX, V, *loss_grams(W, V, WtW, VVt), X.size, buf_V, u.x, u.r)
    W *= fit_factor(WtX, V, WtW, VVt, buf_V)  # updates.scale_to_fit: HALS depends on the start's scale
    while True:
        # the columns of W are the rows of W^T: w_k <- max(0, w_k + ((X V^T)_k - W (V V^T)_k) / (V V^T)_kk)
        np.matmul(X, V.T, out=XVt)
        XVt *= inv_x
        np.copyto(Wt, W.T)
        _hals_rows_in_place(Wt, XVt.T, VVt, passes_W, delta, row_W, buf_W)
        np.copyto(W, Wt.T)
        # v_k <- max(0, v_k + ((W^T X)_k - (W^T W)_k V) / (W^T W)_kk)
        np.matmul(W.T, X, out=WtX)
        WtX *= inv_x
        WtW = W.T @ W
        _hals_rows_in_place(V, WtX, WtW, passes_V, delta, row_V, buf_V)
        VVt = V @ V.T  # needed by the next W step, and by the loss
        u.to_user()
        yield squared_loss(norm_X2, WtX, V, *loss_grams(W, V, WtW, VVt), X.size, buf_V, u.x)


def fit_factor(WtX, V, WtW, VVt, scratch) -> float:
    """The factor of ``updates.scale_to_fit`` from the start's products: <X, W V> / ||W V||^2
    = <W^T X, V> / <W^T W, V V^T> (1 when either is 0)."""
    if WtX.dtype == np.float64:
        dot = float(np.vdot(WtX, V))
    else:
        np.multiply(WtX, V, out=scratch)
        dot = float(scratch.sum(dtype=np.float64))
    cross = float(np.vdot(WtW.astype(np.float64), VVt.astype(np.float64)))
    return dot / cross if dot > 0 and cross > 0 else 1.0


def _check_passes(passes):
    """None, a positive int, or a pair of positive ints (passes over W, passes over V)."""
    if passes is None:
        return None
    pair = passes if isinstance(passes, (tuple, list)) else (passes,)
    if len(pair) not in (1, 2) or not all(
            isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in pair):
        raise TypeError(f"HALS option passes must be None, a positive integer or a pair of "
                        f"positive integers (passes over W, passes over V), got {passes!r}")
    if min(pair) < 1:
        raise ValueError(f"HALS option passes must be >= 1, got {passes!r}")
    return int(pair[0]) if len(pair) == 1 else (int(pair[0]), int(pair[1]))


def _check_delta(delta) -> float:
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real):
        raise TypeError(f"HALS option delta must be a real number in [0, 1], got {delta!r}")
    if not 0 <= delta <= 1:
        raise ValueError(f"HALS option delta must lie in [0, 1], got {delta!r}")
    return float(delta)


# ---------------------------------------------------------------- Kullback-Leibler

def kl_steps(X: np.ndarray, W: np.ndarray, V: np.ndarray):
    """Lee-Seung multiplicative updates for the generalized KL divergence, W first then V,
    in place: the buffered twin of ``updates.kl_update_W`` and ``updates.kl_update_V``.

    Yields ``metrics.kl_divergence`` (per entry).  Each half-step needs the m x n ratio
    X / (WV), which is inherent to this objective; the W V of the loss is the one the
    next W half-step needs, so a step forms W V twice, like the rules themselves.
    In working units (``WorkingUnits``) D(X || W V) = x D(X~ || W~ V~).  The divergence
    is infinite at the start when some X_ij > 0 has (W V)_ij = 0; the multiplicative
    steps keep every other entry of W V positive, so after a finite start an entry of
    W~ V~ that underflows to 0 counts as the smallest positive number: the recorded
    divergence never jumps from finite to infinite.
    """
    m, n = X.shape
    size = X.size
    u = WorkingUnits(X, W, V)
    W, V = u.W, u.V  # from here on W~ and V~; X~ = X / x enters through its products
    inv_x = 1.0 / u.x
    xlogx = xlogx_sum(X, scale=inv_x)
    sum_X = float(X.sum(dtype=np.float64)) * inv_x
    smallest = np.finfo(X.dtype).smallest_subnormal
    WV = np.empty((m, n), X.dtype)
    R = np.empty((m, n), X.dtype)
    num_W = np.empty(W.shape, X.dtype)
    num_V = np.empty(V.shape, X.dtype)

    def ratio():
        """R = X / W~V~ with 0 where W~V~ = 0 (as ``updates.kl_ratio``): x times X~ / W~V~."""
        if WV.min() > 0:
            np.divide(X, WV, out=R)
        else:
            R.fill(0)
            np.divide(X, WV, out=R, where=WV > 0)

    def loss(r=1.0):
        """D(X || WV) / (mn) = x (sum X~ log X~ - sum X~ log(r W~V~) - sum X~ + r sum W~V~) / (mn)."""
        if WV.min() > 0:
            np.log(WV, out=R)
        else:  # 0 log 0 = 0
            np.maximum(WV, smallest, out=R)
            np.log(R, out=R)
        np.multiply(R, X, out=R)
        x_log_wv = float(R.sum(dtype=np.float64)) * inv_x + math.log(r) * sum_X
        sum_WV = float(W.sum(axis=0, dtype=np.float64) @ V.sum(axis=1, dtype=np.float64))
        return u.x * max(xlogx - x_log_wv - sum_X + r * sum_WV, 0.0) / size

    np.matmul(W, V, out=WV)
    infinite = WV.min() <= 0 and bool(np.any(X[WV <= 0] > 0))  # X_ij > 0 where (WV)_ij = 0
    yield float("inf") if infinite else loss(u.r)
    while True:
        # W <- W * ((X / WV) V^T) / (row sums of V); WV is current (from the loss)
        ratio()
        np.matmul(R, V.T, out=num_W)
        num_W *= inv_x
        W *= num_W
        W /= guard(V.sum(axis=1))[None, :]
        # V <- V * (W^T (X / WV)) / (column sums of W)
        np.matmul(W, V, out=WV)
        ratio()
        np.matmul(W.T, R, out=num_V)
        num_V *= inv_x
        V *= num_V
        V /= guard(W.sum(axis=0))[:, None]
        np.matmul(W, V, out=WV)
        u.to_user()
        yield float("inf") if infinite else loss()


# ------------------------------------------------------------------ minimum volume

#: the penalty's weight relative to the start (``updates.minvol_lambda``), chosen from the
#: sweep of benchmarks/bench_minvol.py on the post's data (512 x 16384, benchmarks/README.md):
#: with 3e-4 every one of 10 random starts had all four bumps at correlation >= 0.9992
#: after 200 steps (0.9998 after 400, relative error 6e-4); 1e-4 ends closer (0.9999,
#: error 2.6e-4) but needs about 400 steps (6 of 10 starts were below 0.99 after 200);
#: larger weights bias the bumps (1e-3: 0.9994, 3e-3: 0.998), 3e-5 had not converged
#: after 400 steps (0.994)
MINVOL_WEIGHT = 3e-4
#: delta in logdet(W^T W + delta I): well below the smallest eigenvalue of W^T W for the
#: post's bumps with columns summing to 1 (2.2e-4), so the penalty measures volume.  (The
#: minvolNMF code of Leplat, Ang & Gillis defaults to 0.1: with columns summing to 1 over
#: 512 features that is far above every eigenvalue, and the penalty is then nearly
#: ||W||_F^2 / delta, not a volume.)
MINVOL_DELTA = 1e-5


def minvol_steps(X: np.ndarray, W: np.ndarray, V: np.ndarray, *, weight: float = MINVOL_WEIGHT,
                 logdet_delta: float = MINVOL_DELTA):
    """Minimum-volume NMF (Fu et al. 2016; Leplat, Gillis & Ang 2020), in place on W and V:
    the buffered twin of ``updates.minvol_update_W`` (W, by block majorization-minimization
    on the simplex) and ``updates.hals_update_V`` (V), with extrapolation.

    Objective: ||X - W V||_F^2 + lam * logdet_penalty(W, delta) with the columns of W
    summing to 1 (the start is rescaled so, W V unchanged), lam = ``updates.minvol_lambda``
    of the start with ``weight``.  Yields (objective, MSE), both per entry (divided by m n).

    Extrapolation (Ang & Gillis 2019): each step starts from the point
    F_k + beta (F_k - F_{k-1}) ahead of the last iterate F_k = (W_k, V_k) along its last
    move (``updates.extrapolate``: clipped at 0, columns of W renormalised) instead of F_k
    itself.  The result is kept only if its objective is no larger than at F_k;
    otherwise beta shrinks and the step is redone from F_k, which a
    majorization-minimization step never makes worse.  So the recorded objective never
    increases, while beta (from 0.5, growing by 5% a step up to a cap that grows by 1% a
    step up to 1, and falls to the beta that failed) lets the iterates slide along the
    valley of near-exact factorizations that the small penalty alone crosses slowly.
    """
    m, n = X.shape
    d = W.shape[1]
    size = X.size
    passes_W, passes_V = hals_pass_counts(m, n, d)
    norm_X2 = squared_norm(X)
    W_start, V_start = normalize_columns(W, V)
    np.copyto(W, W_start)
    np.copyto(V, V_start)
    XVt, Wt, WtX, buf_V, buf_W, row_V, row_W = _hals_buffers(m, n, d, X.dtype)
    W_next, V_next = W.copy(), V.copy()  # the point a step starts from, then its result
    move_W, move_V = np.empty_like(W), np.empty_like(V)
    eye = np.eye(d)

    np.matmul(W.T, X, out=WtX)
    WtW = W.T @ W
    VVt = V @ V.T
    error = squared_loss(norm_X2, WtX, V, WtW, VVt, size, buf_V)
    logdet = np.linalg.slogdet(W.astype(np.float64).T @ W + logdet_delta * eye)[1]
    lam = weight * error * size / (abs(logdet) or 1.0)  # = updates.minvol_lambda
    objective = error + lam * logdet_penalty(W, logdet_delta) / size

    def step():
        """One step from (W_next, V_next), in place; returns its (objective, MSE)."""
        W64 = W_next.astype(np.float64)
        Y = np.linalg.inv(W64.T @ W64 + logdet_delta * eye)
        G = (V_next @ V_next.T + lam * Y).astype(X.dtype)
        # w_k <- P(w_k + ((X V^T)_k - W (V V^T + lam Y)_k) / (V V^T + lam Y)_kk), on the rows of W^T
        np.matmul(X, V_next.T, out=XVt)
        np.copyto(Wt, W_next.T)
        _hals_rows_in_place(Wt, XVt.T, G, passes_W, HALS_DELTA, row_W, buf_W, project=simplex_projection)
        np.copyto(W_next, Wt.T)
        # v_k <- max(0, v_k + ((W^T X)_k - (W^T W)_k V) / (W^T W)_kk)
        np.matmul(W_next.T, X, out=WtX)
        WtW_next = W_next.T @ W_next
        _hals_rows_in_place(V_next, WtX, WtW_next, passes_V, HALS_DELTA, row_V, buf_V)
        VVt_next = V_next @ V_next.T
        err = squared_loss(norm_X2, WtX, V_next, WtW_next, VVt_next, size, buf_V)
        return err + lam * logdet_penalty(W_next, logdet_delta) / size, err

    yield objective, error
    beta, beta_max = 0.5, 1.0
    while True:
        trial = step()
        if trial[0] > objective:  # the extrapolated start did worse: redo the step from (W, V)
            beta_max, beta = beta, beta / 1.5
            np.copyto(W_next, W)
            np.copyto(V_next, V)
            trial = step()
        if trial[0] > objective:  # only rounding is left to gain: stay
            np.copyto(W_next, W)
            np.copyto(V_next, V)
            yield objective, error
            continue
        objective, error = trial
        # accept, and start the next step from W + beta (W - W_before), clipped, columns renormalised
        np.subtract(W_next, W, out=move_W)
        np.subtract(V_next, V, out=move_V)
        np.copyto(W, W_next)
        np.copyto(V, V_next)
        move_W *= beta
        move_V *= beta
        W_next += move_W
        V_next += move_V
        np.maximum(W_next, 0, out=W_next)
        np.maximum(V_next, 0, out=V_next)
        sums = W_next.sum(axis=0)  # >= 1: the unclipped columns sum to 1
        W_next /= sums
        V_next *= sums[:, None]
        beta, beta_max = min(beta_max, 1.05 * beta), min(1.0, 1.01 * beta_max)
        yield objective, error


def _check_weight(weight) -> float:
    if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
        raise TypeError(f"minvol option weight must be a real number >= 0, got {weight!r}")
    if not (np.isfinite(weight) and weight >= 0):
        raise ValueError(f"minvol option weight must be finite and >= 0, got {weight!r}")
    return float(weight)


def _check_logdet_delta(delta) -> float:
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real):
        raise TypeError(f"minvol option logdet_delta must be a real number > 0, got {delta!r}")
    if not (np.isfinite(delta) and delta > 0):
        raise ValueError(f"minvol option logdet_delta must be finite and > 0, got {delta!r}")
    return float(delta)


# ---------------------------------------------------------------------- the registry

@dataclass(frozen=True)
class Method:
    """One method of ``fit``: its stepper, what its loss is, and the options it takes.

    ``options`` maps each option's name to (default, check), where ``check(value)``
    returns the value to use or raises TypeError / ValueError naming the problem.
    ``moves_zeros``: False for multiplicative rules, which never change an exact zero.
    """

    name: str
    steps: Callable
    loss: str
    moves_zeros: bool
    options: Mapping[str, tuple[object, Callable]] = field(default_factory=dict)

    def resolve_options(self, options) -> dict:
        """The stepper's keyword arguments: ``options`` checked and completed by the defaults."""
        given = {} if options is None else options
        if not isinstance(given, Mapping):
            raise TypeError(f"options must be a mapping of option names to values, got {type(given).__name__}")
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            allowed = ", ".join(sorted(self.options)) or "none"
            raise TypeError(f"method {self.name!r} has no option {', '.join(map(repr, unknown))}; "
                            f"its options: {allowed}")
        return {key: check(given[key]) if key in given else default
                for key, (default, check) in self.options.items()}


METHODS: Mapping[str, Method] = MappingProxyType({
    "mu": Method("mu", mu_steps, "mse", moves_zeros=False),
    "hals": Method("hals", hals_steps, "mse", moves_zeros=True,
                   options={"passes": (None, _check_passes), "delta": (HALS_DELTA, _check_delta)}),
    "kl": Method("kl", kl_steps, "kl", moves_zeros=False),
    "minvol": Method("minvol", minvol_steps, "minvol", moves_zeros=True,
                     options={"weight": (MINVOL_WEIGHT, _check_weight),
                              "logdet_delta": (MINVOL_DELTA, _check_logdet_delta)}),
})

"""The training loop: ``fit`` applies a method's steps and records what the book shows.

``fit`` validates its input, builds a start, then runs the method's *stepper*
(``steppers.py``): a generator that updates W and V in place and yields the loss after
each full step, first at the start.  The loop stores the losses, stops on ``tol`` or a
callback, and copies W (and chosen reconstructions) at the steps asked for.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ._validate import (
    as_data, check_choice, check_factor, check_indices, check_kernel, check_memory, check_rank, check_real,
    check_seed, check_steps,
)
from .fused import select_steps
from .metrics import _squared_error
from .starts import INITS, _initialize
from .steppers import METHODS

__all__ = ["fit", "FitResult", "ZeroLockWarning", "is_dask_array", "ToleranceStop"]


def is_dask_array(X) -> bool:
    """True for a ``dask.array.Array`` (without importing dask: if it is not imported, X is none)."""
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(X, dask_array.Array)


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
        (``metrics.kl_divergence``), and for "minvol" its penalised objective per entry,
        (||X - W V||_F^2 + lam * logdet_penalty(W, delta)) / (m n) (``metrics.logdet_penalty``,
        ``steppers.minvol_steps``).  The MSE comes from products the updates compute
        anyway, accumulated in float64.  For float32 X the product W^T X is float32, so
        the recorded MSE is within eps32 mean(X**2) of the true one (tests/test_scale.py:
        measured at most 0.61 of it) and never rises by more: plenty to watch it fall,
        but use ``metrics.mse`` for its value when the fit is nearly exact.  Steps
        where ``tol`` took its decision on the exact MSE record that (``ToleranceStop``).
    mse : float64 array, at the same steps as ``loss``, of the reconstruction error
        ||X - W V||_F^2 / (m n): ``loss`` itself for "mu" and "hals", the error part of
        the objective for "minvol"; None for "kl", whose steps do not compute it (use
        ``metrics.mse(X, result.W, result.V)``).
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
    mse: np.ndarray | None = None
    recorded_steps: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))
    W_history: np.ndarray | None = None
    reconstructions: np.ndarray | None = None
    sample_indices: np.ndarray | None = None

    def reconstruct(self) -> np.ndarray:
        """W V: the (m, n) approximation of X."""
        return self.W @ self.V


def progress_bar_class():
    """tqdm's text bar, for ``fit(progress=True)`` (tqdm is optional: the extra nmf-lib[progress])."""
    try:
        from tqdm import tqdm
    except ImportError:
        raise ImportError("fit(progress=True) needs tqdm, which is not installed: "
                          "pip install 'nmf-lib[progress]'") from None
    return tqdm


class _Growing:
    """Rows of one shape appended one at a time, into an array that starts with
    ``first`` rows and doubles when full, up to ``most``: nothing proportional to
    ``most`` is allocated when the loop stops early."""

    def __init__(self, shape, dtype, most: int, first: int):
        self.data = np.empty((max(min(most, first), 1), *shape), dtype)
        self.most, self.size = most, 0

    def append(self, row) -> None:
        if self.size == len(self.data):
            grown = np.empty((max(min(2 * self.size, self.most), self.size + 1), *self.data.shape[1:]),
                             self.data.dtype)
            grown[: self.size] = self.data
            self.data = grown
        self.data[self.size] = row
        self.size += 1

    def rows(self) -> np.ndarray:
        return self.data[: self.size]


class ToleranceStop:
    """When ``tol`` stops a fit: once a step lowers the loss by at most ``tol`` times it.

    For float32 X and the MSE the recorded loss comes from float32 products, with an
    error of about eps32 mean(X^2) (see ``FitResult``), and near convergence a step's
    decrease is far smaller than that: compared as it is, ``tol`` stopped float32 fits
    thousands of steps before float64 ones.  So there, once the cheap loss says stop,
    the decision moves to the exact MSE (``metrics._squared_error``, float64, no copy of
    X), computed every ``EVERY`` steps and written into the recorded loss: the fit stops
    when the mean decrease per step over such a window is at most ``tol`` times the
    loss, at most ``EVERY`` steps after the step where the per-step rule would.
    """

    EVERY = 10

    def __init__(self, tol, dtype, loss: str, exact: bool = True):
        self.tol = tol
        self.exact = exact and dtype == np.float32 and loss == "mse"  # (not on Dask: X is not in memory)
        self.last = None  # (step, exact loss) of the last exact check

    def reached(self, step: int, losses: np.ndarray, X, W, V, errors: np.ndarray) -> bool:
        if self.last is None and losses[step - 1] - losses[step] > self.tol * losses[step - 1]:
            return False
        if not self.exact:
            return True
        if self.last is not None and step - self.last[0] < self.EVERY:
            return False
        exact = _squared_error(X, W, V) / X.size
        losses[step] = errors[step] = exact
        if self.last is not None:
            before_step, before = self.last
            if before - exact <= self.tol * before * (step - before_step):
                return True
        self.last = step, exact
        return False


def _recording_plan(record_steps, n_steps: int):
    """(wanted, most): ``wanted(step)`` says whether to record at a step, ``most`` is how
    many records the whole run makes.  "all" and intervals are rules, not lists, so a
    huge ``n_steps`` costs nothing until the steps happen."""
    if record_steps is None:
        return (lambda step: False), 0
    if isinstance(record_steps, str):
        if record_steps != "all":
            raise ValueError(f"record_steps must be None, 'all', an int or a list of steps, got {record_steps!r}")
        return (lambda step: True), n_steps + 1
    if isinstance(record_steps, numbers.Integral) and not isinstance(record_steps, bool):
        k = int(record_steps)
        if k < 1:
            raise ValueError(f"record_steps as an interval must be >= 1, got {record_steps}")
        return (lambda step: step % k == 0 or step == n_steps), n_steps // k + 1 + (n_steps % k != 0)
    if not isinstance(record_steps, Iterable) or isinstance(record_steps, (bytes, dict)):
        raise TypeError(f"record_steps must be None, 'all', an int or a list of integer steps, "
                        f"got {record_steps!r}")
    steps = list(record_steps)
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in steps):
        raise TypeError(f"record_steps must be None, 'all', an int or a list of integer steps, "
                        f"got {record_steps!r}")
    bad = [int(s) for s in steps if not 0 <= s <= n_steps]
    if bad:
        raise ValueError(f"record_steps must lie in [0, n_steps={n_steps}], got {bad[:5]}")
    wanted = set(int(s) for s in steps) | {n_steps}  # the final state is always recorded
    return wanted.__contains__, len(wanted)


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
    options=None,
    kernel: str = "auto",
    tol: float | None = None,
    record_steps: None | str | int | Iterable[int] = None,
    record_samples: Iterable[int] | None = None,
    callback: Callable[[int, np.ndarray, np.ndarray, float], bool | None] | None = None,
    progress: bool = False,
) -> FitResult:
    """Factor X (m x n, entries >= 0) as W V with W (m x rank) and V (rank x n).

    Parameters
    ----------
    X : array (m features x n samples). Note: scikit-learn's NMF takes samples x
        features, i.e. X.T; its ``W`` is our ``V.T`` and its ``components_`` our ``W.T``.
    rank : the inner dimension d.
    n_steps : how many full steps (a W update then a V update) to apply.  With ``tol`` or
        a callback it is an upper bound, and nothing proportional to it is allocated
        up front: the losses and the records grow as the steps happen.  A request that
        could not fit in memory (the losses of ``n_steps`` steps without ``tol``, every
        step recorded, a huge rank) is refused before anything is allocated.
    init, seed : the start when W0 and V0 are not given: one of ``starts.INITS``, and
        anything ``numpy.random.default_rng`` accepts.
    W0, V0 : explicit starting factors (copied; the caller's arrays are never modified).
    method : "mu" (Lee-Seung multiplicative updates for the squared error), "hals"
        (hierarchical alternating least squares, same objective: exact minimisation
        over one column of W / row of V at a time, several passes per step), "kl"
        (Lee-Seung multiplicative updates for the generalized Kullback-Leibler
        divergence; ``loss`` then records D(X || W V) / (m n)) or "minvol"
        (minimum-volume NMF: the squared error plus lam * logdet(W^T W + delta I), the
        columns of W summing to 1; ``loss`` records that objective, ``mse`` the error);
        see ``METHODS``.
    options : the method's own options, e.g. ``{"passes": 1, "delta": 0.1}`` for "hals",
        ``{"weight": 3e-4, "logdet_delta": 1e-5}`` for "minvol": ``weight`` sets lam
        relative to the start, lam = weight * ||X - W0 V0||^2 / |logdet(W0^T W0 + delta I)|
        with W0's columns rescaled to sum 1, as Leplat, Gillis & Ang (2020) define it
        (``updates.minvol_lambda``; default ``steppers.MINVOL_WEIGHT`` = 3e-4, chosen from
        the sweep of benchmarks/bench_minvol.py on the post's data: all four bumps at
        correlation >= 0.9992 after 200 steps from each of 10 random starts, relative
        error ||X - W V||_F / ||X||_F of 6e-4); ``logdet_delta`` is delta
        (``steppers.MINVOL_DELTA`` = 1e-5).
        ``METHODS[method].options`` lists each method's options with their defaults.
    kernel : "auto" (default), "numpy" or "fused": for "mu" and "hals", "fused" runs the
        compiled single-pass step of ``nmf_lib.fused`` (needs numba: ``pip install
        'nmf-lib[fast]'``), "numpy" the steppers of ``steppers.py``; "auto" takes the fused
        one where it measured faster (``fused.fused_pays``: by dtype, memory layout and
        rank).  Both give the same iterates to rounding.  "kl" and "minvol" have numpy
        steppers only: "auto" runs them, "fused" refuses them with a ValueError.
    tol : stop early once a step lowers the loss by less than ``tol`` times its value.
        For float32 X and the MSE, once the float32 loss says so, the exact float64 MSE
        decides, every 10 steps (``ToleranceStop``): measured on the post's kind of data
        (64 x 512) float32 then stopped at step 1503 where float64 stopped at 1498 (MU,
        tol 1e-3) and at 5870 for 5668 (HALS, 1e-4).  At smaller tol float32 can stop
        earlier than float64 because its own iterates stop improving (MU, tol 1e-4: 7062
        for 12300, at an MSE of 5.3e-6 for 1.3e-6).
    record_steps : None (default), "all", an interval k (every k-th step and the last),
        or a list of steps; at each, and at the final step, W is copied into ``W_history``.
    record_samples : indices of columns of X whose reconstructions W V[:, idx] are
        stored at the recorded steps.
    callback : called as ``callback(step, W, V, loss)`` after the start and after each
        step, with read-only views; returning True stops the fit.
    progress : show a progress bar of the steps, with the loss (needs tqdm:
        ``pip install 'nmf-lib[progress]'``); it closes when the fit stops, early or not.

    X may also be a Dask array (``dask.array.Array``, needs ``pip install 'nmf-lib[dask]'``)
    with one chunk along the features and any chunks along the samples: ``nmf_lib.dask_fit``
    then runs "mu", "hals" or "kl" reading X once per step, on dask's default scheduler
    (threads, or the cluster of an active ``dask.distributed.Client``), with the iterates of
    the in-memory fit from the same start.  The result's V is then a persisted dask array
    with X's column chunks (``result.V.compute()`` gathers it) and W a numpy array; the
    callback receives that dask V; ``record_samples`` gathers only the recorded columns.
    On Dask, ``init`` must be "random" or "random_scaled" (drawing the in-memory numbers;
    "random_scaled" reads X once more for its mean), or W0 and V0 given (V0 numpy or dask),
    and ``kernel="fused"`` is refused (the blocks run the numpy rules).

    Scale: X may be anywhere between ``_validate.smallest_scale`` (max X of 1.2e-38 in
    float32, 6.7e-139 in float64) and the limit ``as_data`` states; there, the fit of
    c X is the fit of X rescaled, to rounding (the steppers compute in working units,
    ``steppers.WorkingUnits``): with init "random" W is multiplied by c, with the
    others both factors by sqrt(c).
    """
    if is_dask_array(X):
        from . import dask_fit  # needs dask: pip install 'nmf-lib[dask]'
        X = dask_fit.as_dask_data(X)
    else:
        X = as_data(X)
    return _fit(X, rank, n_steps=n_steps, init=init, seed=seed, W0=W0, V0=V0, method=method,
                options=options, kernel=kernel, tol=tol, record_steps=record_steps,
                record_samples=record_samples, callback=callback, progress=progress)


def _fit(X, rank, *, n_steps=256, init="random", seed=None, W0=None, V0=None, method="mu", options=None,
         kernel="auto", tol=None, record_steps=None, record_samples=None, callback=None, progress=False):
    """``fit`` for an X already checked (by ``as_data``, or ``dask_fit.as_dask_data``: the
    rank tools call it once per run); the other arguments are checked here."""
    on_dask = is_dask_array(X)
    m, n = X.shape
    spec = METHODS[check_choice(method, "method", tuple(METHODS))]
    stepper_options = spec.resolve_options(options)
    kernel = check_kernel(kernel)
    n_steps = check_steps(n_steps)
    if tol is not None:
        tol = check_real(tol, "tol", minimum=0.0)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {callback!r} of type {type(callback).__name__}")
    if (W0 is None) != (V0 is None):
        raise ValueError("W0 and V0 must be given together (or neither)")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    bar_class = progress_bar_class() if progress else None  # before any work: a missing tqdm fails fast
    itemsize = X.dtype.itemsize

    def step_bytes(rank):  # W, V, X V^T, W^T X, W^T W and V V^T
        return itemsize * (2 * (m + n) * rank + 2 * rank * rank)

    if on_dask:
        from . import dask_fit
        run = dask_fit.DaskSteps(X, rank, method=method, options=stepper_options, kernel=kernel,
                                 init=init, seed=seed, W0=W0, V0=V0)
        rank, W = run.rank, run.W
        zeros = run.zeros() if not spec.moves_zeros else (0, 0)
        steps = iter(run)
        current_V, columns = (lambda: run.V), run.columns
    else:
        if W0 is not None:
            rank = check_rank(rank)
            check_memory(step_bytes(rank), f"rank={rank}", f"the factors and the products of one step at rank {rank}")
            W = check_factor(W0, "W0", (m, rank), X.dtype)
            V = check_factor(V0, "V0", (rank, n), X.dtype)
        else:
            init = check_choice(init, "init", INITS)
            rank = check_rank(rank, X.shape, need_at_most_min=init.startswith("nndsvd"))
            check_memory(step_bytes(rank), f"rank={rank}", f"the factors and the products of one step at rank {rank}")
            W, V = _initialize(X, rank, init, check_seed(seed))
            W = np.ascontiguousarray(W, dtype=X.dtype)
            V = np.ascontiguousarray(V, dtype=X.dtype)
        if (method != "minvol"  # (minvol projects the columns of W onto the simplex, off zero)
                and float(W.sum(axis=0, dtype=np.float64) @ V.sum(axis=1, dtype=np.float64)) == 0
                and X.max() > 0):
            warnings.warn("the start's W V is zero everywhere (W or V all zeros): no method can move "
                          "from it, the fit stays at W V = 0 (give a start with W V > 0 somewhere)",
                          ZeroLockWarning, stacklevel=2)
        zeros = (int(np.count_nonzero(W == 0)), int(np.count_nonzero(V == 0))) if not spec.moves_zeros else (0, 0)
        steps = select_steps(method, spec.steps, X, rank, kernel)(X, W, V, **stepper_options)
        current_V, columns = (lambda: V), (lambda idx: V[:, idx])
    if any(zeros):
        warnings.warn(
            f"the start has {zeros[0]} zero entries in W and {zeros[1]} in V; multiplicative "
            f"updates never move an exact zero, so these stay 0 (use init='nndsvda' or a "
            f"positive start)", ZeroLockWarning, stacklevel=3)

    wanted, most = _recording_plan(record_steps, n_steps)
    samples = None if record_samples is None else check_indices(record_samples, "record_samples", n)
    if samples is not None and most == 0:
        raise ValueError("record_samples needs record_steps to say when to record")
    # n_steps is only an upper bound when tol or a callback may stop the fit: then the
    # records and the losses grow as the steps happen instead of being reserved up front
    bounded = tol is not None or callback is not None
    if most:
        check_memory(most * m * rank * itemsize, f"record_steps={record_steps!r} with n_steps={n_steps}",
                     f"W_history of {most} x {m} x {rank} {X.dtype}")
    if samples is not None:
        check_memory(most * m * samples.size * itemsize, f"record_samples ({samples.size} samples)",
                     f"reconstructions of {most} x {m} x {samples.size} {X.dtype}")
    if not bounded:
        check_memory(16 * (n_steps + 1), f"n_steps={n_steps}", f"the loss and error of {n_steps + 1} steps")
    first = 64 if bounded else most
    W_hist = _Growing((m, rank), X.dtype, most, first) if most else None
    recon = _Growing((m, samples.size), X.dtype, most, first) if samples is not None else None
    losses = _Growing((), np.float64, n_steps + 1, 1024 if bounded else n_steps + 1)
    errors = _Growing((), np.float64, n_steps + 1, 1024 if bounded else n_steps + 1)  # the MSE, for FitResult.mse
    recorded = []

    def record(step):
        W_hist.append(W)
        if recon is not None:
            recon.append(W @ columns(samples))
        recorded.append(step)

    stop = ToleranceStop(tol, X.dtype, spec.loss, exact=not on_dask)
    stop_reason = "n_steps"
    step = 0
    bar = None if bar_class is None else bar_class(total=n_steps, desc="fit", unit="step")
    try:
        for step, value in zip(range(n_steps + 1), steps):
            value, error = value if isinstance(value, tuple) else (value, value)
            losses.append(value)
            errors.append(error)
            if bar is not None:
                bar.set_postfix(loss=f"{value:.4g}", refresh=False)
                bar.update(step - bar.n)
            if wanted(step):
                record(step)
            if callback is not None:
                Wv = W.view()
                Wv.flags.writeable = False
                Vv = current_V()
                if not on_dask:
                    Vv = Vv.view()
                    Vv.flags.writeable = False
                if callback(step, Wv, Vv, value):
                    stop_reason = "callback"
                    break
            if tol is not None and step > 0 and stop.reached(step, losses.data, X, W, current_V(), errors.data):
                stop_reason = "tol"
                break
    finally:
        if bar is not None:
            if stop_reason != "n_steps":
                bar.set_description(f"stopped ({stop_reason})", refresh=False)
            bar.close()
    if most and (not recorded or recorded[-1] != step):
        record(step)  # stopped early: the final state is recorded too
    return FitResult(
        W=W, V=current_V(), loss=losses.rows().copy(), n_steps=step, stop_reason=stop_reason,
        method=method, mse=None if spec.loss == "kl" else errors.rows().copy(),
        recorded_steps=np.asarray(recorded, dtype=int),
        W_history=None if W_hist is None else W_hist.rows().copy() if bounded else W_hist.rows(),
        reconstructions=None if recon is None else recon.rows().copy() if bounded else recon.rows(),
        sample_indices=samples,
    )

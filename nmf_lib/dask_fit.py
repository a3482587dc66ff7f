"""Fitting a Dask array: one pass over X per step, as a map-reduce over blocks of samples.

``fit(X, ...)`` comes here when X is a ``dask.array.Array`` (m features x n samples)
with one chunk along the features and any chunks along the samples.  A step of each
method needs X only through sums over the samples, so it splits into

* on the driver, from the last pass's sums X V^T and V V^T (m x d and d x d): the W
  half-step, exactly as the in-memory stepper does it;
* on each block X_b (m x n_b) and its V_b (d x n_b), in one task: the V half-step of
  the block (it needs only X_b, V_b and the new W), then, for the updated V_b, the
  block's share of the next step's sums, X_b V_b^T and V_b V_b^T;
* a tree reduction of those shares (``tree_sum``).

So each step reads X once, wherever it lives (in the workers' memory, or a zarr store
read chunk by chunk), and holds only one block per running task.  V stays where it is
computed, as a persisted dask array with X's column chunks; W is a numpy array on the
driver.  The loss is free as in memory: <W^T X, V> = <W, X V^T>, so the MSE
||X||^2 - 2 <W, X V^T> + <W^T W, V V^T> comes from the sums the next step needs anyway.

The blocks run the library's own arithmetic: MU's ``updates.mu_update_V`` (the book's
rule: the stepper's arithmetic to the bit), HALS's ``steppers._hals_rows_in_place``,
KL's ``updates.kl_update_V``; the W half-steps are the steppers' lines.  Each block's
samples are updated independently of the others, so the iterates are those of the
in-memory fit, up to the rounding of sums added in another order (tests/test_dask_fit.py:
1e-10 relative in float64).  Two details keep it at one pass:

* HALS stops its passes over V once a pass changes the whole of V by at most ``delta``
  times the first pass, a sum over all samples known only after the pass.  Each block
  therefore makes all the allowed passes, keeps V_b after each pass that could be the
  last (the second onwards) with its X_b V_b^T, and reports each pass's change; the
  driver then picks the count the in-memory stepper would have made.  This costs one
  wider product (X_b against up to 4 candidate V_b, d columns each) instead of a
  second read of X.
* KL's W half-step needs (X / WV) V^T for the current W and V, which is exactly what a
  block can compute after its V half-step, while X_b is at hand: one pass per step too.

Starts: ``init="random"`` and ``"random_scaled"`` draw the numbers of the in-memory fit
(W first, then V row by row, from one PCG64 stream), each block drawing its own columns
beside X_b (the stream is advanced to them), so V is never gathered; ``random_scaled``
reads X once more for its mean.  The NNDSVD starts need an SVD of X and are refused.
The scheduler is whatever dask uses by default: its threads, or the cluster of the
active ``dask.distributed.Client``; the tasks are plain functions of this module with
small arguments (W and W^T W), so they run on any worker that can import nmf_lib.
"""

from __future__ import annotations

import numbers
import operator

import dask
import dask.array as da
import numpy as np

from ._validate import check_choice, check_factor, check_rank, check_seed, working_dtype
from .fused import passes_needed
from .metrics import mse_from_products, squared_norm, xlogx_sum
from .starts import INITS
from .steppers import _hals_rows_in_place, hals_pass_counts
from .updates import guard, kl_ratio, kl_update_V, mu_update_V

__all__ = ["DaskSteps", "as_dask_data", "tree_sum", "mu_block", "hals_block", "kl_block", "first_block",
           "random_block", "DASK_INITS", "DASK_METHODS"]

#: the starts a Dask fit can make (the NNDSVD starts need an SVD of X)
DASK_INITS = ("random", "random_scaled")
#: the methods it runs
DASK_METHODS = ("mu", "hals", "kl")


# ------------------------------------------------------------------ checks of X

def as_dask_data(X, name: str = "X") -> da.Array:
    """X as a 2-D float dask array chunked along the samples only (lazily: its values are
    checked in the fit's first pass, which reads X anyway)."""
    if not isinstance(X._meta, np.ndarray):
        raise TypeError(f"{name} is a dask array of {type(X._meta).__name__} blocks; nmf_lib works on "
                        f"dense numpy blocks only (convert with {name}.map_blocks(np.asarray))")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (features x samples), got {X.ndim}-D with shape {X.shape}")
    if any(np.isnan(c) for axis in X.chunks for c in axis):
        raise ValueError(f"{name} has chunks of unknown size; call {name}.compute_chunk_sizes() first")
    if X.size == 0:
        raise ValueError(f"{name} is empty: shape {X.shape}")
    if len(X.chunks[0]) != 1:
        raise ValueError(
            f"{name} must have one chunk along the features (axis 0) and be chunked along the samples "
            f"(axis 1); its chunks along the features are {X.chunks[0]}: rechunk it with "
            f"{name}.rechunk({{0: -1}}) (or store it with chunks that span all {X.shape[0]} features)")
    dtype = working_dtype(X.dtype)
    return X if X.dtype == dtype else X.astype(dtype)


def check_dask_values(X: da.Array, lo: float, hi: float, name: str = "X") -> None:
    """``_validate.check_values`` for a dask X from its minimum and maximum (computed in the
    first pass); the counts in the messages cost another pass, on the error path only."""
    if np.isnan(lo) or np.isnan(hi):
        raise ValueError(f"{name} contains {int(da.isnan(X).sum().compute())} NaN entries")
    if np.isinf(lo) or np.isinf(hi):
        raise ValueError(f"{name} contains {int(da.isinf(X).sum().compute())} infinite entries")
    if lo < 0:
        count = int((X < 0).sum().compute())
        raise ValueError(f"{name} has {count} negative entries (smallest {lo:.6g}); NMF needs every entry >= 0")
    limit = np.sqrt(np.finfo(X.dtype).max) / max(X.shape)
    if hi > limit:
        raise ValueError(f"{name}'s largest entry {hi:.6g} is too large for {X.dtype} "
                         f"(products would overflow above about {limit:.3g}); rescale {name}")


# ------------------------------------------------------------------ the reduction

def add_sums(*parts: dict) -> dict:
    """The sum of the blocks' shares (dicts of arrays and numbers): "lo" and "hi" take the
    minimum and maximum, every other entry adds up."""
    total = {}
    for key in parts[0]:
        values = [p[key] for p in parts]
        if key == "lo":
            total[key] = min(values)
        elif key == "hi":
            total[key] = max(values)
        else:
            total[key] = sum(values[1:], values[0])
    return total


def tree_sum(parts: list, split_every: int = 8):
    """Add the delayed shares ``parts`` in a tree of ``add_sums`` tasks, ``split_every`` at a
    time, so no task receives more than a few of them."""
    add = dask.delayed(add_sums, pure=True)
    while len(parts) > 1:
        parts = [add(*parts[i:i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0]


# ------------------------------------------------------------------ the blocks' tasks

def shares(X_b: np.ndarray, V_b: np.ndarray) -> dict:
    """A block's share of the sums the next W half-step needs, in float64."""
    return {"XVt": (X_b @ V_b.T).astype(np.float64), "VVt": (V_b @ V_b.T).astype(np.float64)}


def first_block(method: str, X_b: np.ndarray, V_b: np.ndarray, W: np.ndarray) -> dict:
    """The first pass, at the start: the block's shares of the sums (those of
    ``mu_block``/``kl_block`` for the start's V_b), ||X_b||^2 (or, for KL, sum X log X and
    sum X), and X_b's minimum and maximum for the checks of X."""
    out = {"lo": float(X_b.min()), "hi": float(X_b.max())}
    if method == "kl":
        out.update(kl_shares(X_b, V_b, W))
        out.update(xlogx=xlogx_sum(X_b), sum_X=float(X_b.sum(dtype=np.float64)))
    else:
        out.update(shares(X_b, V_b), norm_X2=squared_norm(X_b))
    return out


def mu_block(X_b: np.ndarray, V_b: np.ndarray, W: np.ndarray):
    """MU's V half-step on one block (``updates.mu_update_V``: V_b * (W^T X_b) / ((W^T W) V_b)),
    and the block's shares of the next sums."""
    V_b = mu_update_V(X_b, W, V_b)
    return V_b[None], {key: value[None] for key, value in shares(X_b, V_b).items()}


def hals_block(X_b: np.ndarray, V_b: np.ndarray, W: np.ndarray, WtW: np.ndarray, passes: int):
    """HALS's passes over the rows of one block's V_b (the stepper's ``_hals_rows_in_place``
    with W^T X_b and W^T W), all ``passes`` of them, each pass's squared change of V_b in
    float64, and, for each count of passes the early stop could choose (the last pass if
    ``passes`` is 1, else the second onwards), V_b and its shares of the next sums, stacked."""
    WtX = W.T @ X_b
    V = V_b.copy()
    before = np.empty_like(V)
    row = np.empty(V.shape[1], V.dtype)
    kept, changes = [], np.zeros(passes)
    for p in range(passes):
        np.copyto(before, V)
        _hals_rows_in_place(V, WtX, WtW, 1, 0.0, row, before)
        np.subtract(V, before, out=before)  # the change, as the stepper measures it
        np.multiply(before, before, out=before)
        changes[p] = float(before.sum(dtype=np.float64))
        if p >= 1 or passes == 1:
            kept.append(V.copy())
    Vs = np.stack(kept)  # (c, d, n_b)
    c, d, n_b = Vs.shape
    XVt = (X_b @ Vs.reshape(c * d, n_b).T).astype(np.float64)  # one product for all candidates
    return Vs, {"XVt": XVt.reshape(-1, c, d).transpose(1, 0, 2),
                "VVt": np.matmul(Vs, Vs.transpose(0, 2, 1)).astype(np.float64), "changes": changes}


def kl_shares(X_b: np.ndarray, V_b: np.ndarray, W: np.ndarray) -> dict:
    """A block's share of KL's next W half-step, (X_b / W V_b) V_b^T and the row sums of V_b,
    and of the loss, sum X_b log(W V_b) (inf_X counts X_ij > 0 where (WV)_ij = 0)."""
    WV = W @ V_b
    zero = WV <= 0
    inf_X = int(np.count_nonzero(X_b[zero] > 0)) if zero.any() else 0
    logWV = np.log(WV, out=np.zeros_like(WV), where=~zero)
    return {"num_W": (kl_ratio(X_b, WV) @ V_b.T).astype(np.float64),
            "sum_V": V_b.sum(axis=1), "sum_V64": V_b.sum(axis=1, dtype=np.float64),
            "x_log_wv": float(np.multiply(logWV, X_b, out=logWV).sum(dtype=np.float64)), "inf_X": inf_X}


def kl_block(X_b: np.ndarray, V_b: np.ndarray, W: np.ndarray):
    """KL's V half-step on one block (``updates.kl_update_V``), and the block's shares of the
    loss and of the next W half-step."""
    V_b = kl_update_V(X_b, W, V_b)
    return V_b[None], {key: np.asarray(value)[None] for key, value in kl_shares(X_b, V_b, W).items()}


def random_block(seed, skip: int, n: int, j0: int, n_b: int, rank: int, scale: float, dtype) -> np.ndarray:
    """Columns j0 .. j0+n_b-1 of the V of ``starts.random_init``: V is drawn row by row after
    W's ``skip`` numbers from one PCG64 stream, so row k of the block is the stream's numbers
    skip + k n + j0 onwards (PCG64 uses one 64-bit draw per uniform double)."""
    V = np.empty((rank, n_b))
    for k in range(rank):
        bits = np.random.PCG64(seed)
        bits.advance(skip + k * n + j0)
        V[k] = np.random.Generator(bits).uniform(0.0, 1.0, size=n_b)
    if scale != 1.0:
        V *= scale
    return V.astype(dtype, copy=False)


# ------------------------------------------------------------------ the driver

def from_blocks(blocks: list, rank: int, widths, dtype, pick: int | None = None) -> da.Array:
    """A (rank x n) dask array from delayed blocks (rank x n_b each, or (c, rank, n_b) stacks
    of which the candidate ``pick`` is taken)."""
    if pick is not None:
        take = dask.delayed(operator.getitem, pure=True)
        blocks = [take(b, pick) for b in blocks]
    meta = np.empty((0, 0), dtype)
    return da.concatenate([da.from_delayed(b, shape=(rank, w), dtype=dtype, meta=meta)
                           for b, w in zip(blocks, widths)], axis=1)


def seed_of_stream(seed):
    """The seed from which ``np.random.default_rng(seed)`` builds its PCG64 stream, fixed now
    (fresh entropy for None); None when ``seed`` already is a generator, whose state only
    the driver can advance."""
    if isinstance(seed, (np.random.Generator, np.random.BitGenerator)):
        return None
    if seed is None:
        return np.random.SeedSequence()
    return seed


class DaskSteps:
    """The start and the steps of a fit on a dask array X (checked by ``as_dask_data``).

    Iterating yields the loss at the start and after each step, like the steppers of
    ``steppers.py``; ``W`` (numpy, m x d) is updated in place and ``V`` (a persisted dask
    array with X's column chunks) replaced after each step.  ``options`` are the
    method's (checked by ``METHODS[method].resolve_options``).
    """

    def __init__(self, X: da.Array, rank, *, method: str, options: dict, kernel: str, init, seed, W0, V0):
        if method not in DASK_METHODS:
            raise ValueError(f"method {method!r} is not available on a dask array; choose one of {DASK_METHODS}")
        if kernel == "fused":
            raise ValueError("kernel='fused' is not available on a dask array: each block runs the numpy "
                             "rules (use kernel='auto' or 'numpy')")
        self.X, self.method, self.options = X, method, options
        m, n = X.shape
        self.widths = X.chunks[1]
        self.dtype = X.dtype
        if W0 is not None:
            self.rank = rank = check_rank(rank)
            self.W = check_factor(W0, "W0", (m, rank), self.dtype)
            self.V = self.start_V(V0)
        else:
            init, seed = check_choice(init, "init", INITS), check_seed(seed)
            if init not in DASK_INITS:
                raise ValueError(f"init={init!r} is not available on a dask array (it needs an SVD of X); "
                                 f"use one of {DASK_INITS}, or pass W0 and V0")
            self.rank = rank = check_rank(rank)
            scale = 1.0
            if init == "random_scaled":  # one more read of X, for its mean
                scale = 2.0 * np.sqrt(float(X.mean(dtype=np.float64).compute()) / rank)
            self.W, self.V = self.random_start(seed, scale)
        self.V = self.V.persist()
        self.X_blocks = X.to_delayed().ravel()

    def start_V(self, V0) -> da.Array:
        """V0 (numpy or dask, rank x n) checked and chunked like X's columns."""
        shape = (self.rank, self.X.shape[1])
        if isinstance(V0, da.Array):
            if V0.shape != shape:
                raise ValueError(f"V0 must have shape {shape}, got {V0.shape}")
            V0 = as_dask_data(V0.rechunk({0: -1}), "V0")
            check_dask_values(V0, *(float(v) for v in dask.compute(V0.min(), V0.max())), "V0")
            return V0.astype(self.dtype).rechunk(((self.rank,), self.widths))
        V = check_factor(V0, "V0", shape, self.dtype)
        return da.from_array(V, chunks=((self.rank,), self.widths))

    def random_start(self, seed, scale: float):
        """``starts.random_init``'s numbers: W on the driver, each block of V beside X's block."""
        m, n = self.X.shape
        rank = self.rank
        stream = seed_of_stream(seed)
        if stream is None:  # a generator given: draw as random_init does, on the driver
            rng = np.random.default_rng(seed)
            W = rng.uniform(0.0, 1.0, size=(m, rank))
            V = rng.uniform(0.0, 1.0, size=(rank, n))
            W *= scale
            V *= scale
            return np.ascontiguousarray(W, self.dtype), da.from_array(V.astype(self.dtype),
                                                                     chunks=((rank,), self.widths))
        W = np.random.Generator(np.random.PCG64(stream)).uniform(0.0, 1.0, size=(m, rank))
        if scale != 1.0:
            W *= scale
        draw = dask.delayed(random_block, pure=True)
        starts = np.cumsum((0,) + self.widths[:-1])
        blocks = [draw(stream, m * rank, n, int(j0), w, rank, scale, self.dtype)
                  for j0, w in zip(starts, self.widths)]
        return np.ascontiguousarray(W, self.dtype), from_blocks(blocks, rank, self.widths, self.dtype)

    def zeros(self) -> tuple[int, int]:
        """The number of exact zeros in W and in V (for ``loop.ZeroLockWarning``)."""
        return int(np.count_nonzero(self.W == 0)), int(da.count_nonzero(self.V == 0).compute())

    def columns(self, samples) -> np.ndarray:
        """V[:, samples], gathered (for ``fit(record_samples=...)``)."""
        return self.V[:, samples].compute()

    def run_pass(self, task, *args, choose=None) -> dict:
        """One pass over X: ``task(X_b, V_b, *args)`` on every block returns a stack of
        candidate V_b (one, or one per count of HALS passes) and the block's shares of the
        sums, stacked likewise.  V becomes the blocks' candidate ``choose(sums)`` (the only
        one if ``choose`` is None) and that candidate's sums are returned, as numpy arrays."""
        args = [dask.delayed(a) if isinstance(a, np.ndarray) else a for a in args]  # once in the graph
        call = dask.delayed(task, nout=2)
        results = [call(x, v, *args) for x, v in zip(self.X_blocks, self.V.to_delayed().ravel())]
        sums = tree_sum([r[1] for r in results])
        if choose is None:
            V, sums = dask.persist(from_blocks([r[0] for r in results], self.rank, self.widths, self.dtype, 0),
                                   sums)
            self.V, sums, pick = V, sums.compute(), 0
        else:
            *candidates, sums = dask.persist(*[r[0] for r in results], sums)
            sums = sums.compute()
            pick = choose(sums)
            self.V = from_blocks(candidates, self.rank, self.widths, self.dtype, pick).persist()
        return {key: value if key == "changes" else value[pick] for key, value in sums.items()}

    def first_pass(self) -> dict:
        """The pass at the start (``first_block``), with the checks of X's values."""
        W = dask.delayed(self.W.copy())
        task = dask.delayed(first_block, pure=True)
        parts = [task(self.method, x, v, W) for x, v in zip(self.X_blocks, self.V.to_delayed().ravel())]
        sums = tree_sum(parts).compute()
        check_dask_values(self.X, sums["lo"], sums["hi"])
        return sums

    def __iter__(self):
        if self.method == "kl":
            return self.kl_steps()
        return self.squared_steps()

    def squared_steps(self):
        """MU or HALS: the W half-step on the driver from the last pass's sums, then one pass."""
        W, dtype = self.W, self.dtype
        m, n = self.X.shape
        d = self.rank
        size = m * n
        sums = self.first_pass()
        norm_X2 = sums["norm_X2"]

        def loss(XVt, VVt, WtW):
            return mse_from_products(norm_X2, float(np.vdot(W.astype(np.float64), XVt)), WtW, VVt, size)

        XVt, VVt = sums["XVt"], sums["VVt"]
        yield loss(XVt, VVt, W.T @ W)
        if self.method == "hals":
            passes_W, passes_V = hals_passes(self.options["passes"], m, n, d)
            delta = self.options["delta"]
            Wt, buf_W, row_W = np.empty((d, m), dtype), np.empty((d, m), dtype), np.empty(m, dtype)

            def choose(sums):  # the candidate of the count of passes over V the stepper makes
                return passes_needed(sums["changes"], passes_V, delta) - 2

            # the start's W scaled to fit X, as steppers.hals_steps (updates.scale_to_fit)
            dot = float(np.vdot(W.astype(np.float64), XVt))
            cross = float(np.vdot((W.T @ W).astype(np.float64), VVt))
            W *= dot / cross if dot > 0 and cross > 0 else 1.0
        while True:
            XVt_w, VVt_w = XVt.astype(dtype), VVt.astype(dtype)
            if self.method == "mu":
                # W <- W * (X V^T) / (W (V V^T)), as steppers.mu_steps
                den_W = W @ VVt_w
                W *= XVt_w
                W /= guard(den_W)
                sums = self.run_pass(mu_block, W.copy())
            else:
                # the columns of W are the rows of W^T, as steppers.hals_steps
                np.copyto(Wt, W.T)
                _hals_rows_in_place(Wt, XVt_w.T, VVt_w, passes_W, delta, row_W, buf_W)
                np.copyto(W, Wt.T)
                sums = self.run_pass(hals_block, W.copy(), W.T @ W, passes_V,
                                     choose=choose if passes_V > 1 else None)
            XVt, VVt = sums["XVt"], sums["VVt"]
            yield loss(XVt, VVt.astype(dtype), W.T @ W)

    def kl_steps(self):
        """KL: W <- W * ((X / WV) V^T) / (row sums of V) on the driver, then one pass."""
        W = self.W
        m, n = self.X.shape
        size = m * n
        sums = self.first_pass()
        xlogx, sum_X = sums["xlogx"], sums["sum_X"]

        def loss(s):
            if s["inf_X"]:
                return float("inf")
            sum_WV = float(W.sum(axis=0, dtype=np.float64) @ s["sum_V64"])
            return max(xlogx - s["x_log_wv"] - sum_X + sum_WV, 0.0) / size

        yield loss(sums)
        while True:
            W *= sums["num_W"].astype(self.dtype)
            W /= guard(sums["sum_V"].astype(self.dtype))[None, :]
            sums = self.run_pass(kl_block, W.copy())
            yield loss(sums)


def hals_passes(passes, m: int, n: int, d: int) -> tuple[int, int]:
    """(passes over W, passes over V) from HALS's option ``passes``, as ``steppers.hals_steps``."""
    if passes is None:
        return hals_pass_counts(m, n, d)
    if isinstance(passes, numbers.Integral):
        return int(passes), int(passes)
    return tuple(int(p) for p in passes)

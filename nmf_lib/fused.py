"""One pass over X per step: the V half-step fused with the next step's X V^T.

A multiplicative (or HALS) step reads X twice, once for X V^T (the W half-step) and once
for W^T X (the V half-step).  The second read can also serve the next step: once W is
updated, each sample j needs only its own column x_j,

    n_j = W^T x_j                       (d numbers)
    v_j <- the rule's update of v_j     (from n_j, v_j and the d x d matrix W^T W)

and then X V^T = sum_j x_j v_j^T and V V^T = sum_j v_j v_j^T for the next W half-step,
and <W^T X, V> for the loss, are sums over the samples that can be accumulated while
x_j is still in the cache.  So a step reads X from memory once.  The kernels below do
that pass; ``mu_fused_steps`` and ``hals_fused_steps`` are the steppers built on them,
twins of ``steppers.mu_steps`` and ``steppers.hals_steps`` with the same iterates to
rounding (tests/test_fused.py).

What holds for HALS: its V half-step updates the rows v_k one after the other
(Gauss-Seidel), but each entry v_kj depends only on column j (n_j, v_j, W^T W), so every
sample is updated independently of the others: all the passes over V are separable
by samples.  What couples the samples is the stopping rule: after each pass, the
change of the whole V (a sum over all samples) decides whether another pass is made.
The kernel therefore runs all the allowed passes on each sample, adds up each pass's
change over the samples, and keeps the column as it was after ``keep`` passes, the
count the previous step needed; if the totals then say a different count, the
stepper restores V and makes the pass again with that count (an extra read of X,
measured rare: on the book's experiment the count is the same from the second step on).
The W half-step does not touch X at all (it uses X V^T and V V^T).

Two memory layouts of X are handled without copying it:

* C order (features-major, rows contiguous): ``pass_features_major`` works on blocks
  of ``block`` samples: W^T X_b, the updates, then X_b V_b^T while X_b is in cache;
* samples contiguous (Fortran order, or ``data.T`` of a samples x features array):
  ``pass_samples_major`` works on X^T, one pair of samples at a time, each of them
  a contiguous vector.

Both compute d in tiles of 4 (W padded with zero columns to a multiple of 4), with
the products unrolled by hand so that their partial sums stay in registers.  Sums
over all samples (X V^T, V V^T, <W^T X, V>, the HALS changes) accumulate in float64;
for float32 X, X V^T is summed over at most ``block`` samples in float32 first.

Numba compiles the kernels on first use (cached on disk, ``cache=True``).  Without
numba the module still imports, ``AVAILABLE`` is False and ``fit`` uses the numpy
steppers; the kernels are then plain Python (correct, far too slow to use).
"""

from __future__ import annotations

import numbers

import numpy as np

from .metrics import _mse_from_products as mse_from_products, _squared_norm as squared_norm  # X is checked by fit
from .steppers import HALS_DELTA, WorkingUnits, _hals_rows_in_place, gram64, hals_pass_counts
from .updates import guard

try:
    import numba
    AVAILABLE = True
except ImportError:  # the optional extra nmf-lib[fast] is not installed
    numba = None
    AVAILABLE = False

__all__ = ["AVAILABLE", "FusedPass", "mu_fused_steps", "hals_fused_steps", "pass_features_major",
           "pass_samples_major", "update_block", "FUSED_MAX_RANK", "FUSED_MAX_FEATURES_C", "fused_pays",
           "select_steps"]

#: the rule a pass applies to each sample: none (only the sums), MU or HALS
KEEP, MU, HALS = 0, 1, 2


def _jit(fn):
    """numba.njit with an on-disk cache; reassociation lets the sums use SIMD lanes."""
    if numba is None:
        return fn
    return numba.njit(cache=True, fastmath={"reassoc", "contract"})(fn)


# ------------------------------------------------------------ the update of a block of V

@_jit
def update_block(rule, num, G, V, j0, B, den, S, VVt, changes, passes, keep):
    """Update the samples j0 .. j0+B-1 of V in place from num = W^T X_b (d4 x B) and
    G = W^T W; add V_b V_b^T to VVt and return <num, V_b> (both in float64).

    MU:   V_b <- V_b * num / G V_b, a zero G V_b raised to the smallest subnormal
    HALS: row k of V_b <- max(0, V_b[k] + (num[k] - G[k] V_b) / G_kk), k = 0 .. d-1 in
          turn (a zero G_kk raised to the smallest subnormal, as ``updates.guard``),
          ``passes`` times on the copy S; V_b takes S after ``keep`` passes, and
          the squared change of pass p is added to ``changes[p]``.
    KEEP: V_b unchanged (only the sums).   ``den``, ``S``: d4 x B buffers.
    Each line works on rows of B samples, like the numpy stepper on all n.
    """
    d = V.shape[0]
    tiny = np.finfo(V.dtype).tiny * np.finfo(V.dtype).eps  # the smallest subnormal
    zero = V.dtype.type(0)
    Vb = V[:, j0:j0 + B]
    if rule == MU:
        for k in range(d):  # den = G V_b, before any row of V_b changes
            dk = den[k, :B]
            for j in range(B):
                dk[j] = G[k, 0] * Vb[0, j]
            for l in range(1, d):
                for j in range(B):
                    dk[j] += G[k, l] * Vb[l, j]
        for k in range(d):
            for j in range(B):
                Vb[k, j] = Vb[k, j] * num[k, j] / max(den[k, j], tiny)
    elif rule == HALS:
        Sb = S[:d, :B]
        Sb[:] = Vb
        row = den[0, :B]
        for p in range(passes):
            change = 0.0
            for k in range(d):
                for j in range(B):
                    row[j] = G[k, 0] * Sb[0, j]
                for l in range(1, d):
                    for j in range(B):
                        row[j] += G[k, l] * Sb[l, j]
                diag = max(G[k, k], tiny)
                for j in range(B):
                    new = max((num[k, j] - row[j]) / diag + Sb[k, j], zero)
                    change += (np.float64(new) - Sb[k, j]) ** 2
                    Sb[k, j] = new
            changes[p] += change
            if p + 1 == keep:
                Vb[:] = Sb
    dot = 0.0
    for k in range(d):
        for j in range(B):
            dot += np.float64(num[k, j]) * Vb[k, j]
        for l in range(k + 1):
            s = 0.0
            for j in range(B):
                s += np.float64(Vb[k, j]) * Vb[l, j]
            VVt[k, l] += s
            if l < k:
                VVt[l, k] += s
    return dot


# ------------------------------------------------- the products, X in C order (m x n)

@_jit
def wtx_rows(X, Wp, num, j0, B):
    """num[:, :B] = Wp^T X[:, j0:j0+B] for C-order X; Wp is W padded to m x d4.

    Four rows of X_b at a time against four columns of Wp: the 16 weights stay in
    registers while the rows stream through."""
    m = X.shape[0]
    d4 = Wp.shape[1]
    zero = X.dtype.type(0)
    num[:, :B] = zero
    for k0 in range(0, d4, 4):
        n0, n1, n2, n3 = num[k0, :B], num[k0 + 1, :B], num[k0 + 2, :B], num[k0 + 3, :B]
        for i0 in range(0, m, 4):
            # a tile of 4 rows; past the end of X its rows repeat the last one, with weight 0
            i1, i2, i3 = min(i0 + 1, m - 1), min(i0 + 2, m - 1), min(i0 + 3, m - 1)
            x0, x1, x2, x3 = X[i0, j0:j0 + B], X[i1, j0:j0 + B], X[i2, j0:j0 + B], X[i3, j0:j0 + B]
            a0, a1, a2, a3 = Wp[i0, k0], Wp[i0, k0 + 1], Wp[i0, k0 + 2], Wp[i0, k0 + 3]
            b0, b1, b2, b3 = Wp[i1, k0], Wp[i1, k0 + 1], Wp[i1, k0 + 2], Wp[i1, k0 + 3]
            c0, c1, c2, c3 = Wp[i2, k0], Wp[i2, k0 + 1], Wp[i2, k0 + 2], Wp[i2, k0 + 3]
            e0, e1, e2, e3 = Wp[i3, k0], Wp[i3, k0 + 1], Wp[i3, k0 + 2], Wp[i3, k0 + 3]
            if i1 == i0:
                b0 = b1 = b2 = b3 = zero
            if i2 == i1:
                c0 = c1 = c2 = c3 = zero
            if i3 == i2:
                e0 = e1 = e2 = e3 = zero
            for j in range(B):
                n0[j] += a0 * x0[j] + b0 * x1[j] + c0 * x2[j] + e0 * x3[j]
                n1[j] += a1 * x0[j] + b1 * x1[j] + c1 * x2[j] + e1 * x3[j]
                n2[j] += a2 * x0[j] + b2 * x1[j] + c2 * x2[j] + e2 * x3[j]
                n3[j] += a3 * x0[j] + b3 * x1[j] + c3 * x2[j] + e3 * x3[j]


@_jit
def xvt_rows(X, V, XVt, j0, B):
    """XVt[:, :d4] += X[:, j0:j0+B] V[:, j0:j0+B]^T for C-order X (XVt float64, m x d4;
    its columns beyond d repeat the last row of V and are ignored).

    Two rows of X_b against four rows of V_b: 8 sums in registers, in X's dtype over
    the block's samples, then added in float64."""
    m = X.shape[0]
    d = V.shape[0]
    d4 = XVt.shape[1]
    zero = X.dtype.type(0)
    for k0 in range(0, d4, 4):
        v0, v1 = V[min(k0, d - 1), j0:j0 + B], V[min(k0 + 1, d - 1), j0:j0 + B]
        v2, v3 = V[min(k0 + 2, d - 1), j0:j0 + B], V[min(k0 + 3, d - 1), j0:j0 + B]
        for i0 in range(0, m, 2):
            i1 = min(i0 + 1, m - 1)  # an odd m: the last tile is one row, counted once
            x0, x1 = X[i0, j0:j0 + B], X[i1, j0:j0 + B]
            s0 = s1 = s2 = s3 = t0 = t1 = t2 = t3 = zero
            for j in range(B):
                s0 += x0[j] * v0[j]
                s1 += x0[j] * v1[j]
                s2 += x0[j] * v2[j]
                s3 += x0[j] * v3[j]
                t0 += x1[j] * v0[j]
                t1 += x1[j] * v1[j]
                t2 += x1[j] * v2[j]
                t3 += x1[j] * v3[j]
            XVt[i0, k0] += s0
            XVt[i0, k0 + 1] += s1
            XVt[i0, k0 + 2] += s2
            XVt[i0, k0 + 3] += s3
            if i1 > i0:
                XVt[i1, k0] += t0
                XVt[i1, k0 + 1] += t1
                XVt[i1, k0 + 2] += t2
                XVt[i1, k0 + 3] += t3


@_jit
def pass_features_major(X, Wp, G, V, XVt, VVt, num, den, S, changes, rule, passes, keep, block):
    """One pass over C-order X (m x n), ``block`` samples at a time; returns <W^T X, V>.

    For each block X_b: num = W^T X_b, the update of V_b, then X_b V_b^T while X_b is
    still in cache.  Leaves X V^T in XVt (m x d4) and V V^T in VVt, for the updated V."""
    n = X.shape[1]
    XVt[:] = 0.0
    VVt[:] = 0.0
    dot = 0.0
    for j0 in range(0, n, block):
        B = min(block, n - j0)
        wtx_rows(X, Wp, num, j0, B)
        dot += update_block(rule, num, G, V, j0, B, den, S, VVt, changes, passes, keep)
        xvt_rows(X, V, XVt, j0, B)
    return dot


# ------------------------------- the products, samples contiguous: X^T given, n x m, C order

@_jit
def wtx_samples(XT, Wt, num, j0, B):
    """num[:, :B] = Wt X^T[j0:j0+B]^T, i.e. W^T x_j for each sample of the block, where
    each x_j = XT[j] is contiguous; Wt is W^T padded to d4 x m.

    Two samples at a time against four rows of Wt: 8 sums in registers."""
    m = XT.shape[1]
    d4 = Wt.shape[0]
    zero = XT.dtype.type(0)
    for j in range(0, B, 2):
        jb = min(j + 1, B - 1)  # an odd block: the last pair is one sample
        x, y = XT[j0 + j], XT[j0 + jb]
        for k0 in range(0, d4, 4):
            w0, w1, w2, w3 = Wt[k0], Wt[k0 + 1], Wt[k0 + 2], Wt[k0 + 3]
            s0 = s1 = s2 = s3 = t0 = t1 = t2 = t3 = zero
            for i in range(m):
                s0 += w0[i] * x[i]
                s1 += w1[i] * x[i]
                s2 += w2[i] * x[i]
                s3 += w3[i] * x[i]
                t0 += w0[i] * y[i]
                t1 += w1[i] * y[i]
                t2 += w2[i] * y[i]
                t3 += w3[i] * y[i]
            num[k0, j], num[k0 + 1, j], num[k0 + 2, j], num[k0 + 3, j] = s0, s1, s2, s3
            num[k0, jb], num[k0 + 1, jb], num[k0 + 2, jb], num[k0 + 3, jb] = t0, t1, t2, t3


@_jit
def xvt_samples(XT, V, acc, j0, B):
    """acc[:d4] += V[:, j0:j0+B] X^T[j0:j0+B], i.e. the rows of (X V^T)^T, for
    samples-contiguous X (acc d4 x m in X's dtype; rows beyond d repeat the last row
    of V and are ignored).  Two samples at a time into four rows of acc."""
    m = XT.shape[1]
    d = V.shape[0]
    d4 = acc.shape[0]
    zero = XT.dtype.type(0)
    for j in range(0, B, 2):
        jb = min(j + 1, B - 1)
        x, y = XT[j0 + j], XT[j0 + jb]
        for k0 in range(0, d4, 4):
            r0, r1, r2, r3 = acc[k0], acc[k0 + 1], acc[k0 + 2], acc[k0 + 3]
            u0, u1 = V[min(k0, d - 1), j0 + j], V[min(k0 + 1, d - 1), j0 + j]
            u2, u3 = V[min(k0 + 2, d - 1), j0 + j], V[min(k0 + 3, d - 1), j0 + j]
            q0, q1 = V[min(k0, d - 1), j0 + jb], V[min(k0 + 1, d - 1), j0 + jb]
            q2, q3 = V[min(k0 + 2, d - 1), j0 + jb], V[min(k0 + 3, d - 1), j0 + jb]
            if jb == j:
                q0 = q1 = q2 = q3 = zero
            for i in range(m):
                r0[i] += u0 * x[i] + q0 * y[i]
                r1[i] += u1 * x[i] + q1 * y[i]
                r2[i] += u2 * x[i] + q2 * y[i]
                r3[i] += u3 * x[i] + q3 * y[i]


@_jit
def pass_samples_major(XT, Wt, G, V, XVtT, VVt, acc, num, den, S, changes, rule, passes, keep, block):
    """One pass over X given as XT = X^T (n x m, C order: each sample contiguous),
    ``block`` samples at a time; returns <W^T X, V>.

    For each block: num = W^T X_b, the update of V_b, then V_b X_b^T into acc (X's
    dtype), added into the float64 XVtT (d4 x m, the transpose of X V^T).  Leaves V V^T
    in VVt, for the updated V."""
    n = XT.shape[0]
    XVtT[:] = 0.0
    VVt[:] = 0.0
    dot = 0.0
    for j0 in range(0, n, block):
        B = min(block, n - j0)
        wtx_samples(XT, Wt, num, j0, B)
        dot += update_block(rule, num, G, V, j0, B, den, S, VVt, changes, passes, keep)
        acc[:] = 0
        xvt_samples(XT, V, acc, j0, B)
        XVtT += acc
    return dot


# ------------------------------------------------------------------------ the pass, driven

def layout(X) -> str | None:
    """"C" (rows contiguous: features-major), "F" (samples contiguous, e.g. ``data.T``) or None."""
    if X.flags.c_contiguous:
        return "C"
    if X.flags.f_contiguous:
        return "F"
    return None


class FusedPass:
    """The buffers of one fused pass over X, allocated once in numpy, and the pass itself.

    ``fp = FusedPass(X, d)``; then ``dot = fp(W, WtW, V, rule, passes, keep)`` updates V
    in place by ``rule`` (``KEEP``: no update, ``MU`` or ``HALS``) and leaves, for the
    updated V, ``fp.XVt`` (X V^T, m x d float64), ``fp.VVt`` (V V^T, d x d float64) and,
    for HALS, ``fp.changes[p]`` (the squared change of V in pass p + 1); it returns
    <W^T X, V> (float64) with the W it was given.  ``scale`` multiplies W where it meets
    X (so W^T X becomes scale W^T X, while X V^T is not scaled): the steppers pass 1/x so
    that the rule sees the products of X~ (``steppers.WorkingUnits``).  X is never
    copied: C-order X is read by ``pass_features_major``, samples-contiguous X as X.T by
    ``pass_samples_major``.
    The sums are over the samples of X only, so the pieces of several blocks of
    samples add up to those of the whole (what a map-reduce over blocks needs).
    """

    def __init__(self, X: np.ndarray, d: int, block: int | None = None, max_passes: int = 1):
        self.layout = layout(X)
        if self.layout is None:
            raise ValueError("the fused kernel needs X contiguous in memory (C or Fortran order); "
                             "got a strided view: pass a contiguous array or kernel='numpy'")
        self.X = X
        m, n = X.shape
        dt = X.dtype
        d4 = -(-d // 4) * 4
        self.block = int(block or default_block(X))
        self.Wpad = np.zeros((m, d4) if self.layout == "C" else (d4, m), dt)
        self._XVt = np.zeros((m, d4) if self.layout == "C" else (d4, m))
        self.XVt = self._XVt[:, :d] if self.layout == "C" else self._XVt[:d].T
        self.VVt = np.zeros((d, d))
        self.num = np.empty((d4, self.block), dt)
        self.den = np.empty((d4, self.block), dt)
        self.S = np.empty((d4, self.block), dt)
        self.acc = np.empty((d4, m) if self.layout == "F" else (0, 0), dt)
        self.changes = np.zeros(max(max_passes, 1))

    def __call__(self, W, WtW, V, rule=KEEP, passes=1, keep=1, scale=1.0) -> float:
        d = W.shape[1]
        self.changes[:] = 0
        if self.layout == "C":
            np.multiply(W, scale, out=self.Wpad[:, :d])
            return pass_features_major(self.X, self.Wpad, WtW, V, self._XVt, self.VVt, self.num, self.den,
                                       self.S, self.changes, rule, passes, keep, self.block)
        np.multiply(W.T, scale, out=self.Wpad[:d])
        return pass_samples_major(self.X.T, self.Wpad, WtW, V, self._XVt, self.VVt, self.acc, self.num,
                                  self.den, self.S, self.changes, rule, passes, keep, self.block)


def default_block(X) -> int:
    """Samples per block.  C order: X_b (m x block) about 2 MiB, a power of two between
    64 and 1024 samples (measured: blocks that fit the 512 KiB L2 lose more to the
    per-row set-up of short loops than they gain from the cache); samples contiguous:
    64 samples (X_b^T stays in L2 between the two products)."""
    if layout(X) == "F":
        return 64
    per_sample = X.shape[0] * X.dtype.itemsize
    return int(min(1024, max(64, 2 ** int(np.log2(max(1, (2 << 20) // per_sample))))))


# ------------------------------------------------------------------------ the steppers

def mu_fused_steps(X: np.ndarray, W: np.ndarray, V: np.ndarray, *, block: int | None = None):
    """``steppers.mu_steps`` reading X once per step: same contract (W, V updated in
    place, the loss yielded after each step, first at the start), same iterates to
    rounding."""
    m, n = X.shape
    d = W.shape[1]
    u = WorkingUnits(X, W, V)
    W, V = u.W, u.V  # from here on W~ and V~, as in steppers.mu_steps
    inv_x = 1.0 / u.x
    fp = FusedPass(X, d, block)
    norm_X2 = squared_norm(X.T if fp.layout == "F" else X) * inv_x * inv_x
    XVt = np.empty((m, d), X.dtype)
    VVt = np.empty((d, d), X.dtype)
    den_W = np.empty((m, d), X.dtype)

    WtW = W.T @ W
    dot = fp(W, WtW, V, KEEP, scale=inv_x)  # <W~^T X~, V~>, and X V~^T, V~ V~^T for the first W step
    yield u.x * u.x * mse_from_products(norm_X2, u.r * dot, u.r * u.r * gram64(W.T), fp.VVt, X.size)
    while True:
        # W <- W * (X V^T) / (W (V V^T)), with X V^T and V V^T from the last pass
        np.multiply(fp.XVt, inv_x, out=XVt, casting="same_kind")
        np.copyto(VVt, fp.VVt, casting="same_kind")
        np.matmul(W, VVt, out=den_W)
        W *= XVt
        W /= guard(den_W)
        # V <- V * (W^T X) / ((W^T W) V), one sample at a time, in the pass over X
        WtW = W.T @ W
        dot = fp(W, WtW, V, MU, scale=inv_x)
        u.to_user()
        yield u.x * u.x * mse_from_products(norm_X2, dot, gram64(W.T), fp.VVt, X.size)


def passes_needed(changes: np.ndarray, passes: int, delta: float) -> int:
    """The number of HALS passes ``steppers.hals_steps`` makes given each pass's squared
    change: it stops after pass p >= 2 once that change is at most delta^2 times the first."""
    for p in range(1, passes):
        if changes[p] <= delta * delta * changes[0]:
            return p + 1
    return passes


def hals_fused_steps(X: np.ndarray, W: np.ndarray, V: np.ndarray, *, passes=None, delta: float = HALS_DELTA,
                     block: int | None = None):
    """``steppers.hals_steps`` reading X once per step (same contract, same iterates to
    rounding).  The V passes are separable by samples; the early stop is not (see the
    module's docstring), so V is kept as it was before the pass, in case the pass must
    be redone with another count (0.8% of X for d = 4, m = 512: d / m of X)."""
    m, n = X.shape
    d = W.shape[1]
    if passes is None:
        passes_W, passes_V = hals_pass_counts(m, n, d)
    elif isinstance(passes, numbers.Integral):
        passes_W = passes_V = int(passes)
    else:
        passes_W, passes_V = (int(p) for p in passes)
    u = WorkingUnits(X, W, V)
    W, V = u.W, u.V  # from here on W~ and V~, as in steppers.hals_steps
    inv_x = 1.0 / u.x
    fp = FusedPass(X, d, block, max_passes=passes_V)
    norm_X2 = squared_norm(X.T if fp.layout == "F" else X) * inv_x * inv_x
    XVt = np.empty((m, d), X.dtype)
    VVt = np.empty((d, d), X.dtype)
    Wt = np.empty((d, m), X.dtype)
    buf_W = np.empty((d, m), X.dtype)
    row_W = np.empty(m, X.dtype)
    V_before = np.empty_like(V) if passes_V > 1 else None
    keep = passes_V  # the count the last step needed: the guess for this one

    WtW = W.T @ W
    dot = fp(W, WtW, V, KEEP, scale=inv_x)
    yield u.x * u.x * mse_from_products(norm_X2, u.r * dot, u.r * u.r * gram64(W.T), fp.VVt, X.size)
    cross = float(np.vdot(WtW.astype(np.float64), fp.VVt))
    W *= dot / cross if dot > 0 and cross > 0 else 1.0  # updates.scale_to_fit, as steppers.hals_steps
    while True:
        # the columns of W, from X V^T and V V^T of the last pass (no read of X)
        np.multiply(fp.XVt, inv_x, out=XVt, casting="same_kind")
        np.copyto(VVt, fp.VVt, casting="same_kind")
        np.copyto(Wt, W.T)
        _hals_rows_in_place(Wt, XVt.T, VVt, passes_W, delta, row_W, buf_W)
        np.copyto(W, Wt.T)
        # the rows of V, sample by sample, in the pass over X
        WtW = W.T @ W
        if V_before is not None:
            np.copyto(V_before, V)
        dot = fp(W, WtW, V, HALS, passes_V, keep, scale=inv_x)
        if V_before is not None:
            needed = passes_needed(fp.changes, passes_V, delta)
            if needed != keep:  # the guess was wrong: redo the pass with the right count
                keep = needed
                np.copyto(V, V_before)
                dot = fp(W, WtW, V, HALS, keep, keep, scale=inv_x)
        u.to_user()
        yield u.x * u.x * mse_from_products(norm_X2, dot, gram64(W.T), fp.VVt, X.size)


# ------------------------------------------------------------------------ when to use it

#: the steppers of this module, by method of ``fit``
FUSED_STEPS = {"mu": mu_fused_steps, "hals": hals_fused_steps}

#: The largest d at which the fused step measured faster than the numpy stepper, by
#: dtype and layout of X ("C": rows contiguous; "F": samples contiguous), one thread
#: (``python benchmarks/bench_fit.py --scaling-only --large``, 2026-12-02, in
#: benchmarks/README.md).  Measured fused/numpy time per step, over m x n = 256 x 16384,
#: 512 x 4096, 512 x 16384, 512 x 65536:
#:
#:   d         4           8           16          32
#:   C f64     0.50-0.65   0.64-0.89   1.1-1.4     1.3-2.2
#:   C f32     0.54-0.75   0.97-1.05   1.3-2.2     1.6-2.4
#:   F f64     0.38-0.42   0.56-0.64   0.74-0.85   0.85-1.4
#:   F f32     0.31-0.54   0.60-0.69   0.86-1.3    1.4-2.1
#:
#: Above these ranks the products are compute-bound and BLAS, which blocks them for
#: registers and cache better than these kernels, wins.  With C order the kernel also
#: lost at m = 2048 (fused/numpy 0.99 in float64, 1.16 in float32 at d = 4: a block of
#: samples that fits the cache is then only 128 samples wide), hence FUSED_MAX_FEATURES_C.
FUSED_MAX_RANK = {
    ("float64", "C"): 8,
    ("float32", "C"): 4,
    ("float64", "F"): 16,
    ("float32", "F"): 16,
}
FUSED_MAX_FEATURES_C = 1024


def fused_pays(X, d: int) -> bool:
    """The rule of ``kernel="auto"``: numba installed, X contiguous (C or F order), d at
    most ``FUSED_MAX_RANK`` for X's dtype and layout, and, in C order, at most
    ``FUSED_MAX_FEATURES_C`` features."""
    key = (X.dtype.name, layout(X))
    if not AVAILABLE or key not in FUSED_MAX_RANK or d > FUSED_MAX_RANK[key]:
        return False
    return key[1] == "F" or X.shape[0] <= FUSED_MAX_FEATURES_C


def select_steps(method: str, numpy_steps, X, d: int, kernel: str):
    """The stepper ``fit`` runs for ``kernel`` ("auto", "numpy" or "fused", checked by
    ``_validate.check_kernel``): the numpy stepper, or this module's fused one."""
    if kernel == "numpy":
        return numpy_steps
    if kernel == "auto":
        return FUSED_STEPS[method] if method in FUSED_STEPS and fused_pays(X, d) else numpy_steps
    if method not in FUSED_STEPS:
        raise ValueError(f"kernel='fused' has no fused step for method {method!r}; it has one for "
                         f"{', '.join(map(repr, FUSED_STEPS))} (use kernel='auto' or 'numpy')")
    if not AVAILABLE:
        raise ImportError("kernel='fused' needs numba, which is not installed: "
                          "pip install 'nmf-lib[fast]' (or use kernel='auto' or 'numpy')")
    if layout(X) is None:
        raise ValueError("kernel='fused' needs X contiguous in memory (C order, or Fortran order such "
                         "as data.T); X is a strided view: pass a contiguous array or kernel='numpy'")
    return FUSED_STEPS[method]

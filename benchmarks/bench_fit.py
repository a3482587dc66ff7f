"""How fast is nmf_lib.fit?  The post's experiment, side by side with its alternatives.

    python benchmarks/bench_fit.py            # full run: 512 x 16384, 256 steps (a few minutes)
    python benchmarks/bench_fit.py --quick    # 512 x 4096, 32 steps (well under a minute)

Every time is the best of ``--repeats`` runs in this one process, and is reported as a
ratio to the *two-pass floor* measured in the same run: ``steps`` times the two
products every multiplicative step needs, X V^T and W^T X, with numpy's BLAS.  The
machine is shared and noisy, so only ratios measured together mean anything.

Variants (all from the same start W0, V0 ~ U(0, 1), the post's experiment):
  post as written     W * (X V^T) / (W V V^T) as ``W @ V @ V.T`` (forms the m x n W V),
                      V likewise, and the MSE from a full reconstruction every step
  ordered + full MSE  nmf_lib.updates (W (V V^T), (W^T W) V), MSE from a reconstruction
  nmf_lib.fit         ordered products, preallocated buffers, loss from products
  single pass         experimental: one pass over X per step (see ``single_pass_steps``)
  scikit-learn MU     NMF(solver="mu", init="custom", tol=0) on X.T (its samples x
                      features layout, a C-contiguous copy made before timing); it
                      records no loss history
Peak extra memory is measured with tracemalloc (numpy reports its allocations to it)
during a short fit that does not record, relative to X.nbytes.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import nmf_lib
from nmf_lib.baselines import best_time, ordered_full_mse, peak_memory, post_as_written, sklearn_nmf
from nmf_lib.baselines import two_pass_floor as floor
from nmf_lib.metrics import mse_from_products, squared_norm
from nmf_lib.updates import guard

try:  # optional: only for the comparison rows
    import sklearn
except ImportError:  # pragma: no cover
    sklearn = None


# --------------------------------------------------------------------------- variants
# Each variant takes (X, W, V, steps) and works on its own copies; the shared ones are in
# nmf_lib/baselines.py (the chapter "Making it fast" times the same functions).

def library_fit(X, W, V, steps):
    return nmf_lib.fit(X, W.shape[1], W0=W, V0=V, n_steps=steps).loss


def single_pass_steps(X, W, V, block=256):
    """Multiplicative updates reading X once per step (same iterates up to rounding).

    The W step needs X V^T and V V^T of the current V.  The V step is then done one block
    of samples (columns) at a time: W^T X_b, update V_b, and, while X_b is still in
    cache, accumulate X_b V_b^T, which is the X V^T of the *next* W step.  The loss uses
    <W^T X, V> = <X V^T, W>.
    """
    m, n = X.shape
    d = W.shape[1]
    norm_X2 = squared_norm(X)
    XVt = X @ V.T
    VVt = V @ V.T
    den_W = np.empty((m, d), X.dtype)
    num_b = np.empty((d, block), X.dtype)
    den_b = np.empty((d, block), X.dtype)
    XVt_b = np.empty((m, d), X.dtype)
    yield mse_from_products(norm_X2, float(np.vdot(XVt, W)), W.T @ W, VVt, X.size)
    while True:
        np.matmul(W, VVt, out=den_W)
        W *= XVt
        W /= guard(den_W)
        WtW = W.T @ W
        XVt.fill(0)
        for j in range(0, n, block):
            Xb, Vb = X[:, j:j + block], V[:, j:j + block]
            k = Xb.shape[1]
            num, den = np.matmul(W.T, Xb, out=num_b[:, :k]), np.matmul(WtW, Vb, out=den_b[:, :k])
            Vb *= num
            Vb /= guard(den)
            XVt += np.matmul(Xb, Vb.T, out=XVt_b)
        VVt = V @ V.T
        yield mse_from_products(norm_X2, float(np.vdot(XVt, W)), WtW, VVt, X.size)


def single_pass(X, W, V, steps):
    W, V = W.copy(), V.copy()
    gen = single_pass_steps(X, W, V)
    return np.array([next(gen) for _ in range(steps + 1)])


def sklearn_mu(XT, W, V, steps):
    """scikit-learn's MU on samples x features (``baselines.sklearn_nmf``); returns the model."""
    return sklearn_nmf(XT, W, V, steps, solver="mu", beta_loss="frobenius")[2]


# --------------------------------------------------------------------------- measuring
def environment() -> str:
    lines = [f"date {time.strftime('%Y-%m-%d %H:%M %Z')}; {platform.machine()} "
             f"{_cpu_model()}; {os.cpu_count()} cores; load average "
             + " ".join(f"{x:.1f}" for x in os.getloadavg()),
             f"python {platform.python_version()}, numpy {np.__version__}"]
    try:
        import sklearn
        lines[-1] += f", scikit-learn {sklearn.__version__}"
    except ImportError:
        pass
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))}
    lines.append("BLAS environment: " + (", ".join(f"{k}={v}" for k, v in sorted(env.items())) or "none set"))
    try:
        from threadpoolctl import threadpool_info
        for info in threadpool_info():
            if info.get("user_api") == "blas":
                lines.append(f"BLAS: {info['internal_api']} {info.get('version')} "
                             f"({info.get('architecture')}, {info['num_threads']} threads) "
                             f"from {os.path.basename(info['filepath'])}")
    except ImportError:
        pass
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def table(rows, header):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    fmt = "  ".join(("{:<%d}" if i == 0 else "{:>%d}") % w for i, w in enumerate(widths))
    out = [fmt.format(*header), "  ".join("-" * w for w in widths)]
    out += [fmt.format(*r) for r in rows]
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes and few steps (< 1 minute)")
    p.add_argument("--steps", type=int, help="steps per fit (default 256, quick 32)")
    p.add_argument("--slow-steps", type=int,
                   help="steps for the slow variants, marked * (default 16, quick 8); "
                        "every time is per step")
    p.add_argument("--repeats", type=int, default=3, help="best of this many runs (default 3)")
    p.add_argument("--no-scaling", action="store_true", help="skip the n and m scaling table")
    p.add_argument("--threads", type=int,
                   help="limit BLAS to this many threads for the whole run (threadpoolctl); "
                        "default: the BLAS default")
    args = p.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads, user_api="blas")
    n = 4096 if args.quick else 16384
    m, d = 512, 4
    steps = args.steps or (32 if args.quick else 256)
    slow_steps = args.slow_steps or (8 if args.quick else 16)
    R = args.repeats

    print(environment())
    print(f"\nThe experiment: X {m} x {n} (float64, {m * n * 8 / 2**20:.0f} MiB), d = {d}, "
          f"{steps} steps (the variants marked * run {slow_steps} steps: all times are per step), "
          f"best of {R}\n")
    mix = nmf_lib.gaussian_mixture(m=m, n=n, seed=0)
    W0, V0 = nmf_lib.random_init((m, n), d, seed=1)

    rows, results = [], {}
    for dtype in (np.float64, np.float32):
        X = mix.X.astype(dtype)
        W, V = W0.astype(dtype), V0.astype(dtype)
        XT = np.ascontiguousarray(X.T)  # scikit-learn's layout, copied before timing
        name = np.dtype(dtype).name
        variants = [("two-pass floor", floor, (X, W, V), steps)]
        if dtype == np.float64:
            variants += [("post as written*", post_as_written, (X, W, V), slow_steps),
                         ("ordered + full MSE*", ordered_full_mse, (X, W, V), slow_steps)]
        variants += [("nmf_lib.fit", library_fit, (X, W, V), steps),
                     ("single pass*", single_pass, (X, W, V), slow_steps)]
        if sklearn is not None:
            variants.append(("scikit-learn MU", sklearn_mu, (XT, W, V), steps))
        # interleave the repeats so that a noisy moment hits every variant alike
        best = {v[0]: np.inf for v in variants}
        for _ in range(R):
            for label, fn, a, s in variants:
                t, out = best_time(fn, a + (s,), 1)
                best[label] = min(best[label], t / s)
                results[(name, label)] = out
        for label, fn, a, s in variants:
            peak = None if label == "two-pass floor" else peak_memory(fn, a + (2,))
            results[(name, label, "time")] = best[label]
            rows.append([f"{label} ({name})", f"{best[label] * 1e3:.2f}",
                         f"{best[label] / best['two-pass floor']:.3f}",
                         "-" if peak is None else f"{100 * peak / X.nbytes:.1f}%"])
    t = {k[:2]: v for k, v in results.items() if len(k) == 3}
    print(table(rows, ["variant", "ms/step", "vs floor", "peak mem / X"]))

    f64, f32 = t[("float64", "nmf_lib.fit")], t[("float32", "nmf_lib.fit")]
    print(f"\nnmf_lib.fit float64 vs its floor: {f64 / t[('float64', 'two-pass floor')]:.3f}"
          f"   float32 speed-up over float64: {f64 / f32:.2f}x")
    if sklearn is not None:
        for name in ("float64", "float32"):
            ratio = t[(name, "scikit-learn MU")] / t[(name, "nmf_lib.fit")]
            print(f"nmf_lib.fit is {ratio:.2f}x as fast as scikit-learn's MU ({name}; "
                  f"nmf_lib records the loss every step, scikit-learn none)")
    sp = t[("float64", "single pass*")] / f64
    print(f"single pass / nmf_lib.fit (float64): {sp:.3f}")

    # sanity: the variants compute the same thing
    L = results[("float64", "nmf_lib.fit")]
    L32 = results[("float32", "nmf_lib.fit")]
    Ls = results[("float64", "single pass*")]
    Lp = results[("float64", "post as written*")][2]  # (W, V, loss)
    print(f"\nchecks: post as written == nmf_lib.fit loss over {slow_steps} steps: "
          f"{np.allclose(Lp, L[:slow_steps + 1], rtol=1e-10)};  single pass == nmf_lib.fit: "
          f"{np.allclose(Ls, L[:slow_steps + 1], rtol=1e-10)};  float32 loss never increases: "
          f"{bool(np.all(np.diff(L32) <= 0))} (largest relative change "
          f"{np.max(np.diff(L32) / L32[:-1]):+.2e});  final MSE float64 {L[-1]:.4e}, float32 {L32[-1]:.4e}")
    if sklearn is not None:
        model = results[("float64", "scikit-learn MU")]
        print(f"scikit-learn's final MSE {model.reconstruction_err_ ** 2 / (m * n):.4e} "
              f"(it updates our V before W, so its iterates differ)")

    if args.no_scaling:
        return
    print("\nScaling: time per step of nmf_lib.fit (float64) and of the floor, "
          f"{8 if args.quick else 16} steps, best of {R}")
    srows = []
    ns = (1024, 4096, 16384) if args.quick else (4096, 16384, 65536)
    s_steps = 8 if args.quick else 16
    for mm in (256, 512):
        for nn in ns:
            X = nmf_lib.gaussian_mixture(m=mm, n=nn, seed=0).X
            W, V = nmf_lib.random_init(X.shape, d, seed=1)
            bf = bl = np.inf
            for _ in range(R):
                bf = min(bf, best_time(floor, (X, W, V, s_steps), 1)[0] / s_steps)
                bl = min(bl, best_time(library_fit, (X, W, V, s_steps), 1)[0] / s_steps)
            srows.append([f"{mm} x {nn}", f"{bf * 1e3:.2f}", f"{bl * 1e3:.2f}", f"{bl / bf:.3f}",
                          f"{bl * 1e9 / (mm * nn):.2f}"])
            del X
    print(table(srows, ["m x n", "floor ms/step", "fit ms/step", "fit / floor", "fit ns per entry"]))


if __name__ == "__main__":
    main()

"""How fast is nmf_lib.fit?  The post's experiment, side by side with its alternatives.

    python benchmarks/bench_fit.py                 # full run: 512 x 16384, 256 steps, scaling table
    python benchmarks/bench_fit.py --quick         # 512 x 4096, 32 steps (about a minute)
    python benchmarks/bench_fit.py --scaling-only  # only the table of sizes and ranks

Every time is the best of ``--repeats`` runs in this one process, and is reported as a
ratio to the *two-pass floor* measured in the same run: ``steps`` times the two
products every multiplicative step needs, X V^T and W^T X, with numpy's BLAS.  The
machine is shared and noisy, so only ratios measured together mean anything.

Variants (all from the same start W0, V0 ~ U(0, 1), the post's experiment):
  post as written     W * (X V^T) / (W V V^T) as ``W @ V @ V.T`` (forms the m x n W V),
                      V likewise, and the MSE from a full reconstruction every step
  ordered + full MSE  nmf_lib.updates (W (V V^T), (W^T W) V), MSE from a reconstruction
  nmf_lib.fit numpy   ordered products, preallocated buffers, loss from products
                      (kernel="numpy", the steppers of nmf_lib/steppers.py)
  nmf_lib.fit fused   the same rules reading X once per step (kernel="fused",
                      nmf_lib/fused.py, compiled by numba)
  streaming read      X.sum() once per step: what reading X once costs
  HALS numpy / fused  method="hals" (default passes) with either kernel
  scikit-learn MU     NMF(solver="mu", init="custom", tol=0) on X.T (its samples x
                      features layout, a C-contiguous copy made before timing); it
                      records no loss history
Each dtype is run on X in C order (features-major, rows contiguous) and on X with the
samples contiguous (Fortran order, what ``data.T`` of a samples x features array is; a
copy made before timing), each layout against its own floor.  The goals of the fused
step (d = 4, one thread): at most 0.6x the floor on C-order X, 0.4x on samples-
contiguous X.  Peak extra memory is measured with tracemalloc (numpy reports its
allocations to it; the fused kernel's buffers are numpy arrays) during a short fit
that does not record, relative to X.nbytes.  The numba compile time is measured in
fresh processes: once with an empty cache, once loading the cache it wrote.
(An earlier numpy version of the single pass, blocks of 256 samples with BLAS on
each, measured 0.96x the floor, no faster than two passes: retired, see the README.)
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from functools import partial

import numpy as np

import nmf_lib
from nmf_lib import fused
from nmf_lib.baselines import (
    best_times, fit_fused, fit_numpy, ordered_full_mse, peak_memory, post_as_written, sklearn_nmf,
    streaming_read,
)
from nmf_lib.baselines import two_pass_floor as floor

try:  # optional: only for the comparison rows
    import sklearn
except ImportError:  # pragma: no cover
    sklearn = None


# --------------------------------------------------------------------------- variants
# Each variant takes (X, W, V, steps) and works on its own copies; the shared ones are in
# nmf_lib/baselines.py (the chapter "Making it fast" times the same functions).

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


COMPILE_SNIPPET = """
import time, numpy as np
t0 = time.perf_counter()
import nmf_lib
X = nmf_lib.gaussian_mixture(m=64, n=256, seed=0).X
out = []
for dtype in (np.float64, np.float32):
    for Xl in (X.astype(dtype), np.asfortranarray(X.astype(dtype))):
        for method in ("mu", "hals"):
            t = time.perf_counter()
            nmf_lib.fit(Xl, 4, seed=1, n_steps=2, method=method, kernel="fused")
            out.append(time.perf_counter() - t)
print(sum(out))
"""


def compile_times() -> tuple[float, float]:
    """Seconds for the first fused fits of each dtype, layout and method in a fresh
    process: with an empty numba cache (compiling) and again (loading that cache)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        times = []
        for _ in range(2):
            res = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, check=True,
                                 capture_output=True, text=True)
            times.append(float(res.stdout.split()[-1]))
    return times[0], times[1]


GOALS = {"C": 0.6, "F": 0.4}
LAYOUT_NAMES = {"C": "C order", "F": "samples contiguous"}


def with_layout(X, lay):
    return np.ascontiguousarray(X) if lay == "C" else np.asfortranarray(X)


def scaling(sizes, ranks, steps, repeats, clock):
    """Time per step of the floor, fit (numpy) and fit (fused), by size, rank, dtype and layout."""
    rows = []
    for m, n in sizes:
        base = nmf_lib.gaussian_mixture(m=m, n=n, seed=0).X
        for d in ranks:
            W0, V0 = nmf_lib.random_init(base.shape, d, seed=1)
            for dtype in (np.float64, np.float32):
                for lay in "CF":
                    X = with_layout(base.astype(dtype), lay)
                    W, V = W0.astype(dtype), V0.astype(dtype)
                    fit_fused(X, W, V, 1)  # compile (or load) outside the timing
                    t, _ = best_times({"floor": (floor, (X, W, V), steps),
                                       "numpy": (fit_numpy, (X, W, V), steps),
                                       "fused": (fit_fused, (X, W, V), steps)}, repeats, clock)
                    auto = "fused" if fused.fused_pays(X, d) else "numpy"
                    rows.append([f"{m} x {n}", str(d), np.dtype(dtype).name, lay,
                                 f"{t['floor'] * 1e3:.2f}", f"{t['numpy'] / t['floor']:.2f}",
                                 f"{t['fused'] / t['floor']:.2f}", f"{t['fused'] / t['numpy']:.2f}", auto])
                    del X
            print(f"  ... {m} x {n}, d = {d} done (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes and few steps (about a minute)")
    p.add_argument("--steps", type=int, help="steps per fit (default 256, quick 32)")
    p.add_argument("--slow-steps", type=int,
                   help="steps for the slow variants, marked * (default 16, quick 8); "
                        "every time is per step")
    p.add_argument("--repeats", type=int, default=3, help="best of this many runs (default 3)")
    p.add_argument("--no-scaling", action="store_true", help="skip the table of sizes and ranks")
    p.add_argument("--scaling-only", action="store_true", help="only the table of sizes and ranks")
    p.add_argument("--large", action="store_true", help="add X 512 x 65536 to the table (256 MiB in float64)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="wall clock (default) or this thread's CPU time (steadier on a busy "
                        "machine; valid with one BLAS thread)")
    p.add_argument("--threads", type=int,
                   help="limit BLAS to this many threads for the whole run (threadpoolctl); "
                        "default: the BLAS default")
    args = p.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads, user_api="blas")
    clock = time.perf_counter if args.clock == "wall" else time.thread_time
    n = 4096 if args.quick else 16384
    m, d = 512, 4
    steps = args.steps or (32 if args.quick else 256)
    slow_steps = args.slow_steps or (8 if args.quick else 16)
    R = args.repeats

    print(environment())
    print(f"clock: {args.clock}; numba {fused.numba.__version__ if fused.AVAILABLE else 'not installed'}")
    if not fused.AVAILABLE:
        print("the fused kernel needs numba: pip install 'nmf-lib[fast]'")
        return
    if not args.scaling_only:
        first, cached = compile_times()
        print(f"numba: first fused fits in a fresh process (2 dtypes x 2 layouts x MU, HALS) "
              f"{first:.1f} s with an empty cache (compiling), {cached:.2f} s loading the cache")
        table_run(m, n, d, steps, slow_steps, R, clock)
    if args.no_scaling:
        return
    sizes = ((512, 1024), (512, 4096)) if args.quick else ((256, 16384), (512, 4096), (512, 16384),
                                                         (2048, 4096))
    if args.large:
        sizes += ((512, 65536),)
    ranks = (4, 8, 16, 32)
    s_steps = 4
    print(f"\nScaling: time per step against the floor of the same X (dtype, layout), "
          f"{s_steps} steps, best of {R}; 'auto' is what kernel='auto' runs (fused.FUSED_MAX_RANK)")
    rows = scaling(sizes, ranks, s_steps, R, clock)
    print(table(rows, ["m x n", "d", "dtype", "layout", "floor ms", "numpy/floor", "fused/floor",
                       "fused/numpy", "auto"]))
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def table_run(m, n, d, steps, slow_steps, R, clock):
    print(f"\nThe experiment: X {m} x {n} (float64, {m * n * 8 / 2**20:.0f} MiB), d = {d}, "
          f"{steps} steps (the variants marked * run {slow_steps} steps: all times are per step), "
          f"best of {R}, runs interleaved\n")
    mix = nmf_lib.gaussian_mixture(m=m, n=n, seed=0)
    W0, V0 = nmf_lib.random_init((m, n), d, seed=1)

    rows, t, out = [], {}, {}
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        W, V = W0.astype(dtype), V0.astype(dtype)
        for lay in "CF":
            X = with_layout(mix.X.astype(dtype), lay)
            fit_fused(X, W, V, 1)  # compile (or load the cache) outside the timing
            variants = {"two-pass floor": (floor, (X, W, V), steps),
                        "streaming read": (streaming_read, (X, W, V), steps)}
            if dtype == np.float64 and lay == "C":
                variants["post as written*"] = (post_as_written, (X, W, V), slow_steps)
                variants["ordered + full MSE*"] = (ordered_full_mse, (X, W, V), slow_steps)
            variants["nmf_lib.fit numpy"] = (fit_numpy, (X, W, V), steps)
            variants["nmf_lib.fit fused"] = (fit_fused, (X, W, V), steps)
            variants["HALS numpy*"] = (partial(fit_numpy, method="hals"), (X, W, V), slow_steps)
            variants["HALS fused*"] = (partial(fit_fused, method="hals"), (X, W, V), slow_steps)
            if sklearn is not None and lay == "C":
                XT = np.ascontiguousarray(X.T)  # scikit-learn's layout, copied before timing
                variants["scikit-learn MU"] = (sklearn_mu, (XT, W, V), steps)
            best, last = best_times(variants, R, clock)
            for label, (fn, a, _) in variants.items():
                key = (name, lay, label)
                t[key], out[key] = best[label], last[label]
                peak = peak_memory(fn, a + (2,)) if label.startswith(("nmf_lib", "post", "ordered", "HALS")) else None
                rows.append([f"{label} ({name}, {lay})", f"{best[label] * 1e3:.2f}",
                             f"{best[label] / best['two-pass floor']:.3f}",
                             f"{best[label] / best['streaming read']:.2f}",
                             "-" if peak is None else f"{100 * peak / X.nbytes:.1f}%"])
            del X
    print(table(rows, ["variant (dtype, layout of X)", "ms/step", "vs floor", "vs read", "peak mem / X"]))

    print("\nThe fused step (d = 4, one pass over X per step) against the floor of the same X:")
    for name in ("float64", "float32"):
        for lay in "CF":
            fz, fl = t[(name, lay, "nmf_lib.fit fused")], t[(name, lay, "two-pass floor")]
            rd, npy = t[(name, lay, "streaming read")], t[(name, lay, "nmf_lib.fit numpy")]
            ratio = fz / fl
            verdict = "met" if ratio <= GOALS[lay] else "missed"
            hals = t[(name, lay, "HALS fused*")] / t[(name, lay, "HALS numpy*")]
            print(f"  {name}, {LAYOUT_NAMES[lay]:>18}: fused/floor {ratio:.3f} (goal <= {GOALS[lay]}: "
                  f"{verdict}), fused/streaming read {fz / rd:.2f}, fused/numpy fit {fz / npy:.3f}; "
                  f"HALS fused/numpy {hals:.3f}")
    if sklearn is not None:
        for name in ("float64", "float32"):
            ratio = t[(name, "C", "scikit-learn MU")] / t[(name, "C", "nmf_lib.fit fused")]
            print(f"nmf_lib.fit (fused) is {ratio:.2f}x as fast as scikit-learn's MU ({name}; "
                  f"nmf_lib records the loss every step, scikit-learn none)")

    # sanity: the variants compute the same thing
    checks = []
    for name in ("float64", "float32"):
        L = out[(name, "C", "nmf_lib.fit numpy")]
        for lay in "CF":
            Lf = out[(name, lay, "nmf_lib.fit fused")]
            checks.append(f"fused == numpy loss ({name}, {lay}): max relative difference "
                          f"{np.max(np.abs(Lf - L) / L):.1e}")
    L = out[("float64", "C", "nmf_lib.fit numpy")]
    Lp = out[("float64", "C", "post as written*")][2]
    L32 = out[("float32", "C", "nmf_lib.fit fused")]
    print("\nchecks: " + ";  ".join(checks))
    print(f"post as written == nmf_lib.fit loss over {slow_steps} steps: "
          f"{np.allclose(Lp, L[:slow_steps + 1], rtol=1e-10)};  float32 fused loss never increases: "
          f"{bool(np.all(np.diff(L32) <= 0))};  final MSE float64 {L[-1]:.4e}, float32 {L32[-1]:.4e}")


if __name__ == "__main__":
    main()

"""HALS in nmf_lib against scikit-learn's coordinate-descent solver, side by side.

Both start from the same random factors on the post's experiment
(``gaussian_mixture()`` defaults: 512 x 16384, d = 4) and run until the MSE
||X - W V||_F^2 / (m n) reaches TARGET.  scikit-learn records no history, so its
iteration count is found first (runs of CHUNK iterations, each continuing from the
last; with tol=0, shuffle=False and no regularisation a run continues the previous one
exactly), then one clean run from the start with exactly that many iterations is timed.

Usage:  python benchmarks/bench_hals.py [--target 1e-5] [--repeat 2] [--no-plain]

The machine is shared: only the ratio measured in one run means anything.
"""

from __future__ import annotations

import argparse
import time

from nmf_lib import fit, gaussian_mixture, initialize, mse
from nmf_lib.baselines import sklearn_nmf

CHUNK = 16


def sklearn_cd(X, W0, V0, n_iter, solver="cd"):
    """n_iter iterations of scikit-learn's solver from (W0, V0); returns our (W, V)."""
    W, V, _ = sklearn_nmf(X.T, W0, V0, n_iter, solver=solver,
                          shuffle=False, alpha_W=0.0, alpha_H=0.0)
    return W, V


def sklearn_iterations_to(X, W0, V0, target, limit):
    """The least number of cd iterations from (W0, V0) whose MSE is <= target."""
    W, V, done = W0, V0, 0
    while True:
        if done >= limit:
            raise RuntimeError(f"scikit-learn's cd did not reach MSE {target:g} in {limit} iterations")
        W1, V1 = sklearn_cd(X, W, V, CHUNK)
        if mse(X, W1, V1) <= target:
            break
        W, V, done = W1, V1, done + CHUNK
    lo, hi = 0, CHUNK  # the crossing lies in (done + lo, done + hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if mse(X, *sklearn_cd(X, W, V, mid)) <= target:
            hi = mid
        else:
            lo = mid
    return done + hi


def time_nmf_lib(X, W0, V0, target, limit, passes=None):
    """Seconds for nmf_lib's HALS to reach target, and the number of steps."""
    options = {} if passes is None else {"passes": passes}
    t0 = time.perf_counter()
    res = fit(X, W0.shape[1], W0=W0, V0=V0, method="hals", n_steps=limit, options=options,
              callback=lambda step, W, V, loss: loss <= target)
    seconds = time.perf_counter() - t0
    if res.loss[-1] > target:
        raise RuntimeError(f"nmf_lib's HALS did not reach MSE {target:g} in {limit} steps")
    assert mse(X, res.W, res.V) <= target * (1 + 1e-6), "the recorded loss disagrees with the direct MSE"
    return seconds, res.n_steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", type=float, default=1e-5, help="the MSE to reach (default 1e-5)")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of each, the best is kept (default 2)")
    ap.add_argument("--limit", type=int, default=4096, help="give up after this many iterations")
    ap.add_argument("--no-plain", action="store_true", help="skip nmf_lib's HALS with a single pass per step")
    args = ap.parse_args(argv)

    mix = gaussian_mixture(seed=0)
    X = mix.X
    W0, V0 = initialize(X, 4, "random", seed=1)
    print(f"X: {X.shape[0]} x {X.shape[1]} float64, d = 4, target MSE {args.target:g}, "
          f"start MSE {mse(X, W0, V0):.3g}")

    n_sk = sklearn_iterations_to(X, W0, V0, args.target, args.limit)
    rows = []
    t_sk = []
    t_ours, steps_ours = [], 0
    t_plain, steps_plain = [], 0
    for _ in range(args.repeat):  # interleaved, so both see the same load
        t0 = time.perf_counter()
        W, V = sklearn_cd(X, W0, V0, n_sk)
        t_sk.append(time.perf_counter() - t0)
        assert mse(X, W, V) <= args.target
        s, steps_ours = time_nmf_lib(X, W0, V0, args.target, args.limit)
        t_ours.append(s)
        if not args.no_plain:
            s, steps_plain = time_nmf_lib(X, W0, V0, args.target, args.limit, passes=(1, 1))
            t_plain.append(s)
    rows.append(("scikit-learn NMF(solver='cd')", n_sk, min(t_sk)))
    rows.append(("nmf_lib fit(method='hals')", steps_ours, min(t_ours)))
    if t_plain:
        rows.append(("nmf_lib HALS, one pass per step", steps_plain, min(t_plain)))
    print(f"{'':34s}{'iterations':>11s}{'seconds':>10s}{'ms/iter':>9s}")
    for name, it, s in rows:
        print(f"{name:34s}{it:11d}{s:10.2f}{1e3 * s / it:9.1f}")
    print(f"speed-up of nmf_lib HALS over scikit-learn cd (time to MSE {args.target:g}): "
          f"{min(t_sk) / min(t_ours):.2f}x  (best of {args.repeat})")
    if t_plain:
        print(f"  one pass per step (the rule scikit-learn's cd applies): "
              f"{min(t_sk) / min(t_plain):.2f}x")


if __name__ == "__main__":
    main()

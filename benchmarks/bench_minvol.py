"""Minimum-volume NMF on the post's data: recovery of the four bumps against the weight.

The post's experiment (``gaussian_mixture()`` defaults: 512 x 16384, d = 4, seed 0).
Part 1, the sweep: for each weight of the log-det penalty (relative to the start, see
``updates.minvol_lambda``), ``fit(method="minvol")`` from several random starts; it
prints the worst correlation of the four bumps with the true ones
(``match_components``), the relative error ||X - W V||_F / ||X||_F and the seconds per
fit.  Part 2: the chosen weight (default: the library's ``MINVOL_WEIGHT``) from 10 random
starts, each beside HALS for the same number of steps from the same start, with the
ratio of their times measured in the same run.

Usage:  python benchmarks/bench_minvol.py [--samples 16384] [--steps 400] [--starts 3]
                                          [--weights 3e-5,1e-4,3e-4,1e-3,3e-3 | none]
                                          [--weight W] [--final-starts 10]
        python benchmarks/bench_minvol.py --quick   (2048 samples, 2 starts, 3 weights)

The machine is shared: only the ratios measured in one run mean anything.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nmf_lib import fit, gaussian_mixture, initialize, match_components
from nmf_lib.steppers import MINVOL_DELTA, MINVOL_WEIGHT


def run(X, G, W0, V0, steps, method, options=None):
    """One fit from (W0, V0): (worst correlation, relative error, seconds, largest rise of the
    loss, worst correlation at each of the steps ``checkpoints(steps)``)."""
    t0 = time.perf_counter()
    res = fit(X, 4, W0=W0, V0=V0, method=method, n_steps=steps, options=options, kernel="numpy",
              record_steps=checkpoints(steps))
    seconds = time.perf_counter() - t0
    relative = float(np.sqrt(res.mse[-1] * X.size) / np.linalg.norm(X))
    rise = float(np.max(np.diff(res.loss), initial=0.0))
    along = [match_components(G, W).worst for W in res.W_history]
    return match_components(G, res.W).worst, relative, seconds, rise, along


def checkpoints(steps):
    """Where part 2 also reports the worst correlation: a quarter, half and three quarters of the way."""
    return [steps // 4, steps // 2, 3 * steps // 4, steps]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=16384)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--starts", type=int, default=3, help="random starts per weight in the sweep")
    parser.add_argument("--weights", default="3e-5,1e-4,3e-4,1e-3,3e-3", help="'none' skips the sweep")
    parser.add_argument("--weight", type=float, default=MINVOL_WEIGHT, help="the weight of part 2")
    parser.add_argument("--final-starts", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2048 samples, 2 starts, 3 weights, 3 final starts")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.starts, args.weights, args.final_starts = 2048, 2, "1e-4,3e-4,1e-3", 3
    weights = [] if args.weights == "none" else [float(w) for w in args.weights.split(",")]
    mix = gaussian_mixture(n=args.samples, seed=0)
    X, G = mix.X, mix.G
    print(f"X {X.shape[0]} x {X.shape[1]}, d = 4, {args.steps} steps per fit, logdet_delta = {MINVOL_DELTA:g}")

    if weights:
        print(f"\n1. sweep: {args.starts} random starts per weight (seeds 0..{args.starts - 1})")
        print(f"{'weight':>8} {'worst corr. (min / max over starts)':>36} {'relative error':>18} {'s / fit':>8}")
    for weight in weights:
        rows = [run(X, G, *initialize(X, 4, "random", seed), args.steps, "minvol", {"weight": weight})
                for seed in range(args.starts)]
        worst, rel, sec, rise, _ = (np.array(c) for c in zip(*rows))
        assert np.all(rise <= 0), "the recorded objective increased"
        print(f"{weight:8.0e} {worst.min():27.5f} / {worst.max():.5f} {rel.min():9.2e}-{rel.max():.2e} "
              f"{sec.mean():8.1f}", flush=True)

    print(f"\n2. weight {args.weight:g} from {args.final_starts} random starts, beside HALS for the same "
          f"{args.steps} steps from the same start")
    along = "/".join(str(s) for s in checkpoints(args.steps))
    print(f"{'seed':>4} {'minvol worst corr.':>19} {'relative error':>15} {'s':>6} "
          f"{'HALS worst corr.':>17} {'relative error':>15} {'time minvol / HALS':>19}   "
          f"minvol worst corr. after {along} steps")
    recovered, ratios, seconds = 0, [], []
    for seed in range(args.final_starts):
        W0, V0 = initialize(X, 4, "random", seed)
        mv = run(X, G, W0, V0, args.steps, "minvol", {"weight": args.weight})
        assert mv[3] <= 0, "the recorded objective increased"
        hals = run(X, G, W0, V0, args.steps, "hals")
        recovered += mv[0] >= 0.99
        ratios.append(mv[2] / hals[2])
        seconds.append(mv[2])
        print(f"{seed:4d} {mv[0]:19.5f} {mv[1]:15.2e} {mv[2]:6.1f} {hals[0]:17.5f} {hals[1]:15.2e} "
              f"{ratios[-1]:19.2f}   {' / '.join(f'{c:.4f}' for c in mv[4])}", flush=True)
    print(f"\nminvol recovered all four bumps at correlation >= 0.99 from {recovered} of {args.final_starts} starts; "
          f"{np.mean(seconds):.1f} s per fit, {np.median(ratios):.2f} times HALS's time (median)")


if __name__ == "__main__":
    main()

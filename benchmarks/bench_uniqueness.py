"""Is the answer unique? MU, HALS and min-vol NMF from the same random starts.

The post's experiment (``gaussian_mixture(n=16384, seed=0)``: X 512 x 16384, d = 4).
Each method runs from the same random starts (``init="random"``, seeds 0, 1, ...): MU
and HALS for ``--steps`` steps (default 3000), min-vol for ``--minvol-steps`` (default
500: on these data its correlations stop changing after about 250); for every fit the script prints the worst correlation of the
four true Gaussians with their matched learned columns (``match_components``), the
relative error ||X - W V||_F / ||X||_F and the seconds the fit took, then per method
the range of the worst correlation across the starts.

The chapter "Is the answer unique?" quotes these figures: its own cells run a smaller
version (fewer samples, steps and starts) that fits in the book's execution budget.

Usage:  python benchmarks/bench_uniqueness.py [--n 16384] [--steps 3000] [--minvol-steps 500]
                                              [--starts 10] [--methods mu,hals,minvol]

This measures what the fits find, not their speed: the seconds are for orientation
only (the machine is shared), compared within one run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nmf_lib


def run(X, G, method, seed, n_steps):
    """One fit from the random start ``seed``: (worst correlation, relative error, seconds)."""
    t0 = time.perf_counter()
    res = nmf_lib.fit(X, G.shape[1], n_steps=n_steps, init="random", seed=seed, method=method)
    seconds = time.perf_counter() - t0
    worst = nmf_lib.match_components(G, res.W).worst
    rel_err = np.linalg.norm(X - res.W @ res.V) / np.linalg.norm(X)
    return worst, float(rel_err), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16384, help="samples (default 16384, as in the post)")
    parser.add_argument("--steps", type=int, default=3000, help="steps per MU or HALS fit (default 3000)")
    parser.add_argument("--minvol-steps", type=int, default=500, help="steps per min-vol fit (default 500)")
    parser.add_argument("--starts", type=int, default=10, help="random starts, seeds 0..starts-1 (default 10)")
    parser.add_argument("--methods", default="mu,hals,minvol",
                        help="comma-separated methods of nmf_lib.fit (default mu,hals,minvol; "
                             "a method the library lacks is skipped)")
    args = parser.parse_args(argv)
    mix = nmf_lib.gaussian_mixture(n=args.n, seed=0)
    print(f"X {mix.X.shape[0]} x {mix.X.shape[1]}, d = 4, {args.steps} steps ({args.minvol_steps} for "
          f"minvol), random starts with seeds 0..{args.starts - 1}")
    summary = {}
    for method in args.methods.split(","):
        if method not in nmf_lib.METHODS:
            print(f"{method}: not a method of this nmf_lib, skipped")
            continue
        rows = []
        n_steps = args.minvol_steps if method == "minvol" else args.steps
        for seed in range(args.starts):
            worst, rel_err, seconds = run(mix.X, mix.G, method, seed, n_steps)
            rows.append((worst, rel_err, seconds))
            print(f"{method:>7} seed {seed}: worst correlation {worst:.4f}, "
                  f"relative error {rel_err:.2e}, {seconds:.1f} s", flush=True)
        summary[method] = np.array(rows)
    print()
    print("method   worst correlation (min - max)   relative error (min - max)   s/fit (median)")
    for method, rows in summary.items():
        w, e, s = rows.T
        print(f"{method:>7}   {w.min():.4f} - {w.max():.4f}"
              f"                 {e.min():.2e} - {e.max():.2e}        {np.median(s):.1f}")


if __name__ == "__main__":
    main()

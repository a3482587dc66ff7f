"""Out of core: nmf_lib.fit on a zarr-stored X larger than the memory its Dask workers may use.

    python benchmarks/bench_dask.py           # 8 GB of float32 X, workers limited to 2 GB in all
    python benchmarks/bench_dask.py --quick   # 0.4 GB, to check that it runs (a minute or two)
    python benchmarks/bench_dask.py --size-gb 16 --memory-gb 2 --workers 2 --steps 3

X (512 x n float32, the post's model: x_j = G nu_j with G the four Gaussian bumps of
``nmf_lib.gaussian_basis`` and nu_j ~ U(0, 1)) is generated block by block (never whole in
memory) into a zarr store in a temporary directory, removed at the end.  A
``dask.distributed.LocalCluster`` of ``--workers`` processes, one thread each, with
``--memory-gb`` split between them as their ``memory_limit`` (the nanny restarts a worker
that passes 95% of it), then runs ``nmf_lib.fit(da.from_zarr(...), 4, seed=1,
n_steps=--steps)``: method "mu", one pass over X per step, each block read from disk.

Printed:
* each worker's peak resident memory (the high-water mark of its process,
  ``getrusage``), against its limit, and whether any worker was restarted; the driver's
  peak resident memory (generation included);
* the time per step (the median of the steps after the start) as GB of X per second,
  and the same for a read of X alone from the store by the same cluster (X.sum(): the
  floor for a pass over X on disk);
* for comparison, on an X that fits in memory (``--in-memory-gb``, same m and model):
  the in-memory fit (kernel "numpy" and "auto") and the same Dask fit on dask's threaded
  scheduler with X's chunks in memory (what Dask itself costs), with the ratios of their
  throughputs to the out-of-core fit's.

The machine is shared and the page cache is not dropped (a benchmark cannot without root
rights that a user may not have): on a machine whose RAM holds the store, "disk" reads may
come from the cache; the workers' memory stays bounded either way, which is the point.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: the products are thin (d = 4)
os.environ.setdefault("OMP_NUM_THREADS", "1")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402
import zarr  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import nmf_lib  # noqa: E402

GB = 1e9
RANK = 4


def peak_rss() -> int:
    """This process's peak resident memory in bytes: VmHWM of /proc/self/status (Linux).
    (Not getrusage's ru_maxrss, which a process started by fork and exec inherits from its
    parent: every worker would report the driver's peak.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def current_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def post_block(G: np.ndarray, j0: int, width: int, seed: int = 0) -> np.ndarray:
    """Columns j0 .. j0+width-1 of the post's X = G Nu (float32), Nu ~ U(0, 1) drawn per block."""
    rng = np.random.default_rng([seed, j0])
    return (G @ rng.uniform(0.0, 1.0, size=(G.shape[1], width))).astype(np.float32)


def write_store(path: str, m: int, n: int, chunk: int) -> zarr.Array:
    """X (m x n float32) into a zarr store, one chunk of samples at a time."""
    _, G = nmf_lib.gaussian_basis(m)
    z = zarr.create_array(store=path, shape=(m, n), chunks=(m, chunk), dtype="float32", compressors=None)
    for j0 in range(0, n, chunk):
        z[:, j0:j0 + chunk] = post_block(G, j0, min(chunk, n - j0))
    return z


def in_memory_X(m: int, n: int, chunk: int) -> np.ndarray:
    _, G = nmf_lib.gaussian_basis(m)
    X = np.empty((m, n), np.float32)
    for j0 in range(0, n, chunk):
        X[:, j0:j0 + chunk] = post_block(G, j0, min(chunk, n - j0))
    return X


def step_seconds(X, steps: int, **kw) -> np.ndarray:
    """Seconds of each step of ``nmf_lib.fit`` (the time between successive callbacks: the
    start, its own pass over X, excluded)."""
    stamps = []
    nmf_lib.fit(X, RANK, seed=1, n_steps=steps, callback=lambda *a: stamps.append(time.perf_counter()), **kw)
    return np.diff(stamps)


def read_seconds(X) -> float:
    """Seconds for one read of X (X.sum()) on the current scheduler."""
    t0 = time.perf_counter()
    X.sum(dtype=np.float64).compute()
    return time.perf_counter() - t0


def machine() -> str:
    """The CPU model and the RAM, from /proc (Linux)."""
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    with open("/proc/meminfo") as f:
        ram = int(next(line.split()[1] for line in f if line.startswith("MemTotal"))) * 1024
    return f"{cpu}, {os.cpu_count()} cores, {ram / 2**30:.1f} GiB RAM"


def worker_peaks(client: Client) -> dict:
    return client.run(peak_rss)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="0.4 GB of X, 0.25 GB in memory: checks that it runs")
    p.add_argument("--size-gb", type=float, default=None, help="size of X on disk (default 8)")
    p.add_argument("--memory-gb", type=float, default=2.0, help="memory limit of all workers together")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--steps", type=int, default=3, help="MU steps (each one pass over X)")
    p.add_argument("--m", type=int, default=512, help="features")
    p.add_argument("--chunk-mb", type=float, default=64.0, help="MB of X per chunk (block of samples)")
    p.add_argument("--in-memory-gb", type=float, default=None, help="size of the in-memory comparison (default 1)")
    p.add_argument("--dir", default=None, help="where to put the temporary zarr store (default: the system's)")
    args = p.parse_args(argv)
    size = args.size_gb if args.size_gb is not None else (0.4 if args.quick else 8.0)
    in_mem = args.in_memory_gb if args.in_memory_gb is not None else (0.25 if args.quick else 1.0)
    m = args.m
    n = int(size * GB / (4 * m))
    chunk = max(1, int(args.chunk_mb * 1e6 / (4 * m)))
    n_mem = int(in_mem * GB / (4 * m))

    print(" ".join(["command: python benchmarks/bench_dask.py", *(sys.argv[1:] if argv is None else argv)]))
    print(f"date {time.strftime('%Y-%m-%d %H:%M %Z')}; {machine()}; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, dask {dask.__version__}, "
          f"zarr {zarr.__version__}; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"X: {m} x {n} float32 = {4 * m * n / GB:.2f} GB on disk (zarr, uncompressed), chunks of "
          f"{chunk} samples ({4 * m * chunk / 1e6:.0f} MB, {-(-n // chunk)} chunks); rank {RANK}, "
          f"{args.steps} MU steps; {args.workers} workers x 1 thread, memory limit "
          f"{args.memory_gb / args.workers:.2f} GB each ({args.memory_gb:.2f} GB in all)")

    tmp = tempfile.mkdtemp(prefix="nmf-bench-dask-", dir=args.dir)
    try:
        path = os.path.join(tmp, "X.zarr")
        t0 = time.perf_counter()
        write_store(path, m, n, chunk)
        print(f"generated block by block in {time.perf_counter() - t0:.1f} s into {tmp}")

        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          memory_limit=f"{args.memory_gb / args.workers}GB", dashboard_address=":0",
                          local_directory=tmp) as cluster, Client(cluster) as client:
            X = da.from_zarr(path)
            client.run(lambda: __import__("nmf_lib"))  # the workers' imports, before any timing
            X[:, :1].sum().compute()
            before = client.run(current_rss)
            reads = [read_seconds(X)]
            steps = step_seconds(X, args.steps)
            reads.append(read_seconds(X))
            after = worker_peaks(client)
            restarted = set(before) != set(after)
            limit = args.memory_gb / args.workers * GB
        driver_peak = peak_rss()

        X_mem = in_memory_X(m, n_mem, chunk)
        mem = {kernel: np.median(step_seconds(X_mem, args.steps, kernel=kernel)) for kernel in ("numpy", "auto")}
        with dask.config.set(scheduler="threads"):
            # contiguous chunks, as a store or a cluster holds them (from_array's are strided views)
            X_chunks = da.from_array(X_mem, chunks=(m, chunk)).map_blocks(np.ascontiguousarray).persist()
            threads = np.median(step_seconds(X_chunks, args.steps))
            del X_chunks
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    size_X, size_mem = 4 * m * n / GB, X_mem.nbytes / GB
    per_step, read = float(np.median(steps)), min(reads)
    rate = size_X / per_step
    print()
    print("memory (peak resident set of each process):")
    for address in sorted(after):
        print(f"  worker {address}: {after[address] / GB:.3f} GB peak (idle before: {before[address] / GB:.3f} GB), "
              f"limit {limit / GB:.2f} GB: {after[address] / limit:.0%} of it")
    print(f"  all workers: {sum(after.values()) / GB:.3f} GB peak in all, for X of {size_X:.2f} GB "
          f"({sum(after.values()) / (size_X * GB):.1%} of X); workers restarted: {'yes' if restarted else 'none'}")
    print(f"  driver: {driver_peak / GB:.3f} GB peak (generation of the store included)")
    print()
    print("throughput (GB of X per second, per step; median step):")
    print("  out-of-core steps: " + ", ".join(f"{t:.2f}" for t in steps) + " s; reads of X alone (before, after "
          "the fit): " + ", ".join(f"{t:.2f}" for t in reads) + " s")
    rows = [
        (f"out of core, LocalCluster, {size_X:.2f} GB on disk", per_step, size_X),
        (f"read X alone from the store (X.sum(), best of 2), {size_X:.2f} GB", read, size_X),
        (f"in memory, kernel='numpy', {size_mem:.2f} GB", mem["numpy"], size_mem),
        (f"in memory, kernel='auto', {size_mem:.2f} GB", mem["auto"], size_mem),
        (f"Dask threads on the in-memory X, {size_mem:.2f} GB", threads, size_mem),
    ]
    print(f"  {'':54s} {'s/step':>8s} {'GB/s':>7s} {'out of core / this':>19s}")
    for label, seconds, gb in rows:
        print(f"  {label:54s} {seconds:8.2f} {gb / seconds:7.3f} {rate / (gb / seconds):19.2f}")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

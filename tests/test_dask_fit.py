"""The fit on a Dask array (nmf_lib/dask_fit.py): the in-memory fit's iterates, one pass per step.

* from the same start (W0, V0 given, or the same init and seed), "mu", "hals" and "kl" on a
  dask X give the in-memory fit's W, V and loss at every step to 1e-10 relative in
  float64, for one chunk, even chunks and uneven chunks, on dask's threaded scheduler
  and on a ``dask.distributed.LocalCluster`` (threads; one small case with processes);
  float32 within its precision;
* each step reads every block of X once; V stays a persisted dask array with X's column
  chunks; the caller's X, W0 and V0 are not modified;
* what a dask X cannot do is refused with an error naming the problem (chunks along the
  features, non-numpy blocks, NNDSVD starts, the fused kernel, bad values);
* ``progress=True`` draws a tqdm bar that closes when the fit stops early, and nothing is
  printed without it.

Without dask these tests are skipped, except in CI (CI set), where dask is part of the
test extra and its absence is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

if not os.environ.get("CI"):
    pytest.importorskip("dask.array", reason="dask is not installed (pip install 'nmf-lib[dask]')")

import dask  # noqa: E402
import dask.array as da  # noqa: E402

from nmf_lib import fit, gaussian_mixture, random_init  # noqa: E402

M, N, D = 48, 600, 4
CHUNKINGS = {"one chunk": N, "even": 150, "uneven": (250, 7, 200, 143)}


def experiment(dtype=np.float64, m=M, n=N):
    X = gaussian_mixture(m=m, n=n, seed=0, dtype=dtype).X
    W0, V0 = random_init(X.shape, D, seed=1, dtype=dtype)
    return X, W0, V0


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def trajectory(X, W0, V0, n_steps, **kw):
    """The fit, with W and V (gathered) at every step."""
    seen = []

    def keep(step, W, V, loss):
        seen.append((W.copy(), np.array(V)))

    res = fit(X, D, W0=W0, V0=V0, n_steps=n_steps, callback=keep, **kw)
    return res, seen


def assert_same_fit(res, ref, tol=1e-10):
    assert res.n_steps == ref.n_steps and res.stop_reason == ref.stop_reason
    assert rel(res.W, ref.W) < tol
    assert rel(res.V.compute(), ref.V) < tol
    np.testing.assert_allclose(res.loss, ref.loss, rtol=tol)


# ------------------------------------------------------------------ the in-memory iterates

@pytest.mark.parametrize("method", ["mu", "hals", "kl"])
@pytest.mark.parametrize("chunking", list(CHUNKINGS))
def test_same_iterates_as_in_memory_threads(method, chunking):
    X, W0, V0 = experiment()
    ref, ref_seen = trajectory(X, W0, V0, 40, method=method, kernel="numpy")
    Xd = da.from_array(X, chunks=(M, CHUNKINGS[chunking]))
    with dask.config.set(scheduler="threads"):
        res, seen = trajectory(Xd, W0, V0, 40, method=method)
    assert_same_fit(res, ref)
    for (W, V), (W_ref, V_ref) in zip(seen, ref_seen, strict=True):  # every step, not only the last
        assert rel(W, W_ref) < 1e-10 and rel(V, V_ref) < 1e-10
    assert isinstance(res.V, da.Array) and res.V.chunks == ((D,), Xd.chunks[1])
    assert isinstance(res.W, np.ndarray)


@pytest.mark.parametrize("init", ["random", "random_scaled"])
@pytest.mark.parametrize("seed", [7, np.random.SeedSequence(3)])
def test_same_start_from_init_and_seed(init, seed):
    """The blocks draw the in-memory start's numbers beside X's blocks."""
    X, _, _ = experiment()
    Xd = da.from_array(X, chunks=(M, CHUNKINGS["uneven"]))
    ref = fit(X, D, init=init, seed=seed, n_steps=0)
    res = fit(Xd, D, init=init, seed=seed, n_steps=0)
    np.testing.assert_array_equal(res.W, ref.W)
    np.testing.assert_array_equal(res.V.compute(), ref.V)
    ref = fit(X, D, init=init, seed=seed, n_steps=10, kernel="numpy")
    assert_same_fit(fit(Xd, D, init=init, seed=seed, n_steps=10), ref)


def test_same_start_from_a_generator():
    """A Generator as the seed: its state advances on the driver exactly as in memory."""
    X, _, _ = experiment()
    ref = fit(X, D, seed=np.random.default_rng(5), n_steps=5, kernel="numpy")
    res = fit(da.from_array(X, chunks=(M, 200)), D, seed=np.random.default_rng(5), n_steps=5)
    assert_same_fit(res, ref)


def test_float32_within_its_precision():
    X, W0, V0 = experiment(np.float32)
    ref = fit(X, D, W0=W0, V0=V0, n_steps=30, kernel="numpy")
    res = fit(da.from_array(X, chunks=(M, CHUNKINGS["uneven"])), D, W0=W0, V0=V0, n_steps=30)
    assert res.W.dtype == np.float32 and res.V.dtype == np.float32
    eps = float(np.finfo(np.float32).eps)
    assert rel(res.W, ref.W) < 1e3 * eps and rel(res.V.compute(), ref.V) < 1e3 * eps
    np.testing.assert_allclose(res.loss, ref.loss, rtol=1e3 * eps)


def test_hals_early_stop_of_the_passes():
    """HALS's passes over V stop on a change summed over all samples: the blocks keep every
    candidate count and the driver picks the stepper's; with delta = 0.5 the count varies."""
    X, W0, V0 = experiment()
    options = {"passes": 4, "delta": 0.5}
    ref = fit(X, D, W0=W0, V0=V0, n_steps=30, method="hals", options=options, kernel="numpy")
    res = fit(da.from_array(X, chunks=(M, 101)), D, W0=W0, V0=V0, n_steps=30, method="hals", options=options)
    assert_same_fit(res, ref)


def test_stops_and_records_as_in_memory():
    X, W0, V0 = experiment()
    kw = dict(W0=W0, V0=V0, n_steps=200, tol=5e-3, record_steps=5, record_samples=[0, 17, -1])
    ref = fit(X, D, kernel="numpy", **kw)
    res = fit(da.from_array(X, chunks=(M, 128)), D, **kw)
    assert ref.stop_reason == "tol" and 20 < ref.n_steps < 200
    assert_same_fit(res, ref)
    np.testing.assert_array_equal(res.recorded_steps, ref.recorded_steps)
    assert rel(res.W_history, ref.W_history) < 1e-10
    assert rel(res.reconstructions, ref.reconstructions) < 1e-10
    stop = fit(da.from_array(X, chunks=(M, 128)), D, W0=W0, V0=V0, n_steps=50,
               callback=lambda step, W, V, loss: step == 3)
    assert stop.stop_reason == "callback" and stop.n_steps == 3 and stop.loss.size == 4


# ------------------------------------------------------------------ one pass, V beside X

def test_one_pass_over_X_per_step():
    """Every block of X is read once at the start and once per step."""
    X, W0, V0 = experiment()
    reads = []
    lock = threading.Lock()

    def counted(block, block_info=None):
        with lock:
            reads.append(block_info[0]["chunk-location"][1])
        return block

    Xd = da.from_array(X, chunks=(M, 100)).map_blocks(counted, dtype=X.dtype)
    fit(Xd, D, W0=W0, V0=V0, n_steps=6)
    assert sorted(reads) == sorted(list(range(6)) * 7)


def test_caller_arrays_not_modified():
    X, W0, V0 = experiment()
    copies = X.copy(), W0.copy(), V0.copy()
    Xd = da.from_array(X, chunks=(M, 128))
    Vd = da.from_array(V0, chunks=(D, 256))
    for V_start in (V0, Vd):
        res = fit(Xd, D, W0=W0, V0=V_start, n_steps=5, method="hals")
    for a, b in zip((X, W0, V0), copies):
        np.testing.assert_array_equal(a, b)
    assert res.V.chunks == ((D,), Xd.chunks[1])  # a dask V0 is rechunked like X


# ------------------------------------------------------------------ refused, clearly

def test_refusals():
    X, W0, V0 = experiment()
    Xd = da.from_array(X, chunks=(M, 128))
    with pytest.raises(ValueError, match=r"one chunk along the features.*rechunk\(\{0: -1\}\)"):
        fit(da.from_array(X, chunks=(16, 128)), D, n_steps=1)
    with pytest.raises(ValueError, match="init='nndsvda' is not available on a dask array"):
        fit(Xd, D, init="nndsvda", n_steps=1)
    with pytest.raises(ValueError, match="method 'minvol' is not available on a dask array"):
        fit(Xd, D, method="minvol", n_steps=1)
    with pytest.raises(ValueError, match="kernel='fused' is not available on a dask array"):
        fit(Xd, D, kernel="fused", n_steps=1)
    with pytest.raises(ValueError, match="must be 2-D"):
        fit(da.from_array(X[0], chunks=100), D)
    with pytest.raises(ValueError, match="unknown size"):
        fit(Xd[:, Xd[0] > 0.1], D)
    with pytest.raises(TypeError, match="real numbers"):
        fit(Xd.astype(complex), D)
    with pytest.raises(ValueError, match="V0 must have shape"):
        fit(Xd, D, W0=W0, V0=V0[:, :10])
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="dense numpy blocks only"):
        fit(Xd.map_blocks(sparse.csr_matrix), D, n_steps=1)
    bad = X.copy()
    bad[3, 5] = -1.0
    with pytest.raises(ValueError, match="1 negative entries"):
        fit(da.from_array(bad, chunks=(M, 128)), D, n_steps=1)
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match="1 NaN entries"):
        fit(da.from_array(bad, chunks=(M, 128)), D, n_steps=1)


def test_integer_data_computes_in_float64():
    X = (10 * experiment()[0]).astype(np.int64)
    ref = fit(X, D, seed=2, n_steps=5, kernel="numpy")
    res = fit(da.from_array(X, chunks=(M, 200)), D, seed=2, n_steps=5)
    assert res.W.dtype == np.float64
    assert_same_fit(res, ref)


# ------------------------------------------------------------------ on a cluster

@pytest.fixture(scope="module")
def cluster_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.mark.parametrize("method", ["mu", "hals", "kl"])
@pytest.mark.parametrize("chunking", ["one chunk", "uneven"])
def test_same_iterates_on_a_local_cluster(cluster_client, method, chunking):
    distributed = pytest.importorskip("distributed")
    X, W0, V0 = experiment()
    ref = fit(X, D, W0=W0, V0=V0, n_steps=12, method=method, kernel="numpy")
    Xd = da.from_array(X, chunks=(M, CHUNKINGS[chunking])).persist()
    res = fit(Xd, D, W0=W0, V0=V0, n_steps=12, method=method)
    assert_same_fit(res, ref)
    assert res.V.chunks == ((D,), Xd.chunks[1])
    # persisted on the cluster: one finished future per block, held by the workers
    blocks = distributed.futures_of(res.V)
    assert len(blocks) == len(Xd.chunks[1]) and all(b.status == "finished" for b in blocks)
    ref = fit(X, D, seed=3, n_steps=4, method=method, kernel="numpy")
    assert_same_fit(fit(Xd, D, seed=3, n_steps=4, method=method), ref)


def test_same_iterates_on_worker_processes():
    distributed = pytest.importorskip("distributed")
    X, W0, V0 = experiment(n=200)
    ref = fit(X, D, W0=W0, V0=V0, n_steps=5, kernel="numpy")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster):
        res = fit(da.from_array(X, chunks=(M, 70)), D, W0=W0, V0=V0, n_steps=5)
        assert_same_fit(res, ref)


# ------------------------------------------------------------------ progress, and without dask

def test_progress_bar_on_dask(capsys):
    pytest.importorskip("tqdm")
    X, W0, V0 = experiment()
    Xd = da.from_array(X, chunks=(M, 128))
    fit(Xd, D, W0=W0, V0=V0, n_steps=3)
    assert capsys.readouterr() == ("", "")
    res = fit(Xd, D, W0=W0, V0=V0, n_steps=40, progress=True, callback=lambda step, W, V, loss: step == 5)
    err = capsys.readouterr().err
    assert res.stop_reason == "callback" and "5/40" in err and "stopped (callback)" in err
    assert err.endswith("\n")


def test_nmf_lib_imports_and_fits_without_dask():
    """dask is imported only when a dask array is passed: nmf_lib works without it."""
    code = ("import sys; sys.modules['dask'] = None; import numpy as np, nmf_lib; "
            "r = nmf_lib.fit(np.ones((5, 6)), 2, n_steps=3); assert r.n_steps == 3; "
            "assert 'dask.array' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})

"""Bad input gets a clear error that names the problem (and the caller's data is untouched).

Every case checks the exception type *and* a message fragment, so an error raised
by accident deep inside numpy (with a message about ufuncs or shapes) does not pass.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import scipy.sparse

import nmf_lib
from nmf_lib import fit, initialize, nndsvd

X_OK = np.arange(1.0, 13.0).reshape(3, 4)  # 3 x 4, all entries > 0


def _with(value, index=(0, 0), base=X_OK):
    X = base.copy()
    X[index] = value
    return X


# --------------------------------------------------------------------------- X itself

def test_negative_entries_message_counts_them_and_gives_the_smallest():
    X = X_OK.copy()
    X[0, 1] = -3.0
    X[2, 2] = -0.5
    X[1, :2] = 0.0  # zeros are fine and are not counted
    before = X.copy()
    with pytest.raises(ValueError, match=r"X has 2 negative entries \(smallest -3\)"):
        fit(X, 2, n_steps=1, seed=0)
    np.testing.assert_array_equal(X, before)


def test_a_single_tiny_negative_entry_is_refused():
    with pytest.raises(ValueError, match=r"X has 1 negative entries \(smallest -1e-300\)"):
        fit(_with(-1e-300), 1, n_steps=1, seed=0)


def test_negative_zero_is_not_negative():
    res = fit(_with(-0.0), 1, n_steps=2, seed=0)
    assert np.all(res.W >= 0) and np.all(np.isfinite(res.loss))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_is_refused(dtype):
    X = _with(np.nan).astype(dtype)
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains 2 NaN entries"):
        fit(X, 1, n_steps=1, seed=0)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_inf_is_refused(value):
    with pytest.raises(ValueError, match=r"X contains 1 infinite entries"):
        fit(_with(value), 1, n_steps=1, seed=0)


def test_nan_is_reported_before_negative_entries():
    X = _with(-1.0)
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(X, 1, n_steps=1, seed=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_entries_too_large_to_square_are_refused(dtype):
    big = np.sqrt(np.finfo(dtype).max)  # its square overflows
    X = _with(big).astype(dtype)
    with pytest.raises(ValueError, match=r"too large for " + np.dtype(dtype).name + r".*rescale X"):
        fit(X, 1, n_steps=1, seed=0)


@pytest.mark.parametrize(
    "X, ndim",
    [(np.ones(5), 1), (np.ones((2, 3, 4)), 3), (np.float64(2.0), 0), ([1.0, 2.0], 1)],
    ids=["1-D", "3-D", "0-D", "list 1-D"],
)
def test_not_2d_is_refused(X, ndim):
    with pytest.raises(ValueError, match=rf"X must be 2-D \(features x samples\), got {ndim}-D"):
        fit(X, 1, n_steps=1, seed=0)


@pytest.mark.parametrize("shape", [(0, 4), (4, 0), (0, 0)])
def test_empty_is_refused(shape):
    with pytest.raises(ValueError, match=re.escape(f"X is empty: shape {shape}")):
        fit(np.ones(shape), 1, n_steps=1, seed=0)


@pytest.mark.parametrize(
    "X, fragment",
    [
        (np.array([["a", "b"], ["c", "d"]]), "not numeric"),
        (np.array([[1, 2], [3, None]], dtype=object), "not numeric"),
        (np.ones((2, 2), dtype="datetime64[s]"), "not numeric"),
        (np.ones((2, 2), dtype=complex), "complex numbers are not allowed"),
        (np.ones((2, 2), dtype=np.complex64), "complex numbers are not allowed"),
    ],
    ids=["str", "object", "datetime", "complex128", "complex64"],
)
def test_non_numeric_or_complex_dtype_is_a_type_error(X, fragment):
    with pytest.raises(TypeError, match=rf"X must hold real numbers, got dtype .*{fragment}"):
        fit(X, 1, n_steps=1, seed=0)


@pytest.mark.parametrize(
    "make", [scipy.sparse.csr_matrix, scipy.sparse.csc_matrix, scipy.sparse.coo_matrix, scipy.sparse.csr_array],
    ids=["csr_matrix", "csc_matrix", "coo_matrix", "csr_array"],
)
def test_sparse_input_is_refused_with_a_hint(make):
    S = make(X_OK)
    with pytest.raises(TypeError, match=r"X is a sparse matrix .*dense arrays only.*toarray\(\)"):
        fit(S, 1, n_steps=1, seed=0)
    with pytest.raises(TypeError, match="sparse"):
        initialize(S, 1)


def test_sparse_starting_factor_is_refused():
    W0 = scipy.sparse.csr_matrix(np.ones((3, 2)))
    with pytest.raises(TypeError, match=r"W0 is a sparse matrix"):
        fit(X_OK, 2, W0=W0, V0=np.ones((2, 4)))


# --------------------------------------------------------------------------- rank

@pytest.mark.parametrize("rank", [0, -1, np.int64(0)])
def test_rank_below_one_is_a_value_error(rank):
    with pytest.raises(ValueError, match=rf"rank must be a positive integer, got {int(rank)}"):
        fit(X_OK, rank, n_steps=1, seed=0)


@pytest.mark.parametrize("rank", [2.5, 2.0, True, "3", None, np.float64(2)])
def test_rank_of_the_wrong_type_is_a_type_error(rank):
    with pytest.raises(TypeError, match=r"rank must be a positive integer, got .* of type"):
        fit(X_OK, rank, n_steps=1, seed=0)


def test_rank_type_is_checked_with_explicit_starts_too():
    with pytest.raises(TypeError, match="rank must be a positive integer"):
        fit(X_OK, True, W0=np.ones((3, 1)), V0=np.ones((1, 4)))


def test_numpy_integer_rank_is_accepted():
    res = fit(X_OK, np.int32(2), n_steps=2, seed=0)
    assert res.W.shape == (3, 2) and res.V.shape == (2, 4)


@pytest.mark.parametrize("init", ["nndsvd", "nndsvda"])
def test_rank_above_min_shape_is_refused_for_nndsvd(init):
    with pytest.raises(ValueError, match=r"rank 4 is larger than min\(m, n\) = 3 for X of shape \(3, 4\)"):
        fit(X_OK, 4, n_steps=1, init=init)
    with pytest.raises(ValueError, match=r"larger than min\(m, n\)"):
        initialize(X_OK, 4, init)
    with pytest.raises(ValueError, match=r"larger than min\(m, n\)"):
        nndsvd(X_OK, 4)


# --------------------------------------------------------------------------- n_steps

@pytest.mark.parametrize("n_steps", [-1, -100])
def test_negative_n_steps_is_refused(n_steps):
    with pytest.raises(ValueError, match=rf"n_steps must be an integer >= 0, got {n_steps}"):
        fit(X_OK, 1, n_steps=n_steps, seed=0)


@pytest.mark.parametrize("n_steps", [2.5, 3.0, "10", True, None])
def test_non_integer_n_steps_is_refused(n_steps):
    with pytest.raises(TypeError, match=r"n_steps must be an integer >= 0, got .* of type"):
        fit(X_OK, 1, n_steps=n_steps, seed=0)


# --------------------------------------------------------------------------- W0 / V0

def test_w0_of_the_wrong_shape():
    with pytest.raises(ValueError, match=re.escape("W0 must have shape (3, 2), got (4, 2)")):
        fit(X_OK, 2, W0=np.ones((4, 2)), V0=np.ones((2, 4)))


def test_v0_of_the_wrong_shape():
    with pytest.raises(ValueError, match=re.escape("V0 must have shape (2, 4), got (4, 2)")):
        fit(X_OK, 2, W0=np.ones((3, 2)), V0=np.ones((4, 2)))


def test_w0_and_v0_that_disagree_with_rank():
    with pytest.raises(ValueError, match=re.escape("W0 must have shape (3, 3), got (3, 2)")):
        fit(X_OK, 3, W0=np.ones((3, 2)), V0=np.ones((2, 4)))


def test_w0_with_negative_entries():
    W0 = np.ones((3, 2))
    W0[1, 0] = -2.0
    with pytest.raises(ValueError, match=r"W0 has 1 negative entries \(smallest -2\)"):
        fit(X_OK, 2, W0=W0, V0=np.ones((2, 4)))


def test_v0_with_nan():
    V0 = np.ones((2, 4))
    V0[0, 3] = np.nan
    with pytest.raises(ValueError, match=r"V0 contains 1 NaN entries"):
        fit(X_OK, 2, W0=np.ones((3, 2)), V0=V0)


def test_w0_with_inf():
    W0 = np.ones((3, 2))
    W0[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"W0 contains 1 infinite entries"):
        fit(X_OK, 2, W0=W0, V0=np.ones((2, 4)))


def test_complex_w0_is_a_type_error():
    with pytest.raises(TypeError, match=r"W0 must hold real numbers"):
        fit(X_OK, 2, W0=np.ones((3, 2), dtype=complex), V0=np.ones((2, 4)))


@pytest.mark.parametrize("which", ["W0", "V0"])
def test_only_one_starting_factor_is_refused(which):
    kwargs = {"W0": np.ones((3, 2))} if which == "W0" else {"V0": np.ones((2, 4))}
    with pytest.raises(ValueError, match=r"W0 and V0 must be given together"):
        fit(X_OK, 2, **kwargs)


# --------------------------------------------------------------------------- options

@pytest.mark.parametrize("init", ["svd", "Random", ""])
def test_unknown_init(init):
    with pytest.raises(ValueError, match=r"unknown init .*choose one of \('random', 'random_scaled', 'nndsvd', 'nndsvda'"):
        fit(X_OK, 1, n_steps=1, init=init)
    with pytest.raises(ValueError, match=r"unknown init"):
        initialize(X_OK, 1, init)


@pytest.mark.parametrize("method", ["als", "MU", ""])
def test_unknown_method(method):
    with pytest.raises(ValueError, match=r"unknown method .*choose one of \(.*'mu'"):
        fit(X_OK, 1, n_steps=1, seed=0, method=method)


@pytest.mark.parametrize("argument", ["init", "method", "kernel"])
@pytest.mark.parametrize("value", [None, 1, ["mu"]])
def test_a_name_that_is_not_a_string_is_a_type_error(argument, value):
    with pytest.raises(TypeError, match=rf"{argument} must be one of \(.*got {re.escape(repr(value))} of type"):
        fit(X_OK, 1, n_steps=1, seed=0, **{argument: value})


@pytest.mark.parametrize("tol", [-1e-3, np.nan, np.inf, -np.inf])
def test_bad_tol_value(tol):
    with pytest.raises(ValueError, match=r"tol must be a finite number >= 0, got"):
        fit(X_OK, 1, n_steps=1, seed=0, tol=tol)


@pytest.mark.parametrize("tol", ["0.1", [0.1], True])
def test_bad_tol_type(tol):
    with pytest.raises(TypeError, match=r"tol must be a real number, got"):
        fit(X_OK, 1, n_steps=1, seed=0, tol=tol)


@pytest.mark.parametrize(
    "record_steps, fragment",
    [
        ("some", r"record_steps must be None, 'all', an int or a list of steps, got 'some'"),
        (0, r"record_steps as an interval must be >= 1, got 0"),
        (-2, r"record_steps as an interval must be >= 1, got -2"),
        ([0, 11], r"record_steps must lie in \[0, n_steps=10\], got \[11\]"),
        ([-1, 3], r"record_steps must lie in \[0, n_steps=10\], got \[-1\]"),
    ],
)
def test_bad_record_steps_values(record_steps, fragment):
    with pytest.raises(ValueError, match=fragment):
        fit(X_OK, 1, n_steps=10, seed=0, record_steps=record_steps)


@pytest.mark.parametrize("record_steps", [2.5, True, [1.5, 3], ["2"], [True]])
def test_bad_record_steps_types(record_steps):
    """Floats, booleans and strings are not steps: refused, never truncated to an int."""
    with pytest.raises((TypeError, ValueError), match=r"record_steps"):
        fit(X_OK, 1, n_steps=10, seed=0, record_steps=record_steps)


@pytest.mark.parametrize("samples", [[4], [0, 99], [-5]])
def test_record_samples_out_of_range(samples):
    with pytest.raises(ValueError, match=r"record_samples must index columns of X \(0 <= i < 4\)"):
        fit(X_OK, 1, n_steps=3, seed=0, record_steps="all", record_samples=samples)


def test_record_samples_without_record_steps():
    with pytest.raises(ValueError, match=r"record_samples needs record_steps"):
        fit(X_OK, 1, n_steps=3, seed=0, record_samples=[0])


# --------------------------------------------------------------------------- other entry points

def test_initialize_validates_x():
    with pytest.raises(ValueError, match=r"X has 1 negative entries"):
        initialize(_with(-1.0), 1)
    with pytest.raises(TypeError, match=r"rank must be a positive integer"):
        initialize(X_OK, 1.5)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(m=1), r"m must be an integer >= 2"),
        (dict(widths=(0.1, 0.0, 0.1, 0.1)), r"every width finite and > 0"),
        (dict(centres=(0.1, np.nan, 0.2, 0.3)), r"centres must be finite"),
        (dict(centres=(0.1, 0.2), widths=(0.1,)), r"centres and widths must be 1-D of the same non-zero length"),
        (dict(centres=(), widths=()), r"centres is empty"),
    ],
)
def test_gaussian_basis_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        nmf_lib.gaussian_basis(**kwargs)


@pytest.mark.parametrize("n", [0, -3])
def test_gaussian_mixture_bad_n(n):
    with pytest.raises(ValueError, match=r"n must be an integer >= 1, got"):
        nmf_lib.gaussian_mixture(n=n, m=8, seed=0)


@pytest.mark.parametrize("size", ["m", "n"])
def test_gaussian_data_sizes_that_are_not_integers_are_type_errors(size):
    with pytest.raises(TypeError, match=rf"{size} must be an integer >= \d, got 10.5 of type float"):
        nmf_lib.gaussian_mixture(**{"m": 8, "n": 8, size: 10.5})


def test_gaussian_mixture_sizes_are_keyword_only():
    """m x n everywhere else: a positional (n, m) call would swap them silently."""
    with pytest.raises(TypeError):
        nmf_lib.gaussian_mixture(16, 8)


def test_no_warning_or_error_on_valid_integer_and_bool_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(np.arange(12).reshape(3, 4) + 1, 2, n_steps=3, seed=0)
        fit(np.eye(3, dtype=bool) | True, 2, n_steps=3, seed=0)


# --------------------------------------------------------------------------- what the library cannot do

def test_masked_arrays_are_refused_until_missing_entries_are_supported():
    X = np.ma.masked_array(X_OK, mask=X_OK > 6)
    for call in (lambda: fit(X, 2, n_steps=1, seed=0), lambda: initialize(X, 2), lambda: nndsvd(X, 2),
                 lambda: nmf_lib.error_by_rank(X, [1], n_steps=1),
                 lambda: nmf_lib.mse(X, np.ones((3, 1)), np.ones((1, 4)))):
        with pytest.raises(TypeError, match=r"X is a masked array: nmf_lib does not support missing entries"):
            call()
    with pytest.raises(TypeError, match=r"W0 is a masked array"):
        fit(X_OK, 2, W0=np.ma.masked_array(np.ones((3, 2))), V0=np.ones((2, 4)))


@pytest.fixture
def one_gib(monkeypatch):
    """A budget of 1 GiB, so the memory checks do not depend on the machine's memory."""
    monkeypatch.setattr(nmf_lib._validate, "memory_budget", lambda: 2**30)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(n_steps=10**8, tol=1e-3, record_steps="all"),
         r"record_steps='all' with n_steps=100000000: W_history of 100000001 x 3 x 2 float64 would need 4\.5 GiB"),
        (dict(n_steps=10**8, tol=1e-3, record_steps=2),
         r"record_steps=2 with n_steps=100000000: W_history of 50000001 x 3 x 2 float64 would need 2\.2 GiB"),
        (dict(n_steps=2 * 10**7, tol=1e-3, record_steps="all", record_samples=[0, 1, 2, 3]),
         r"record_samples \(4 samples\): reconstructions of 20000001 x 3 x 4 float64 would need 1\.8 GiB"),
        (dict(n_steps=2 * 10**8), r"n_steps=200000000: the loss and error of 200000001 steps would need 3\.0 GiB"),
    ],
    ids=["record all", "record interval", "record samples", "losses"],
)
@pytest.mark.filterwarnings("ignore::nmf_lib.MemoryWarning")  # W_history fits, the reconstructions do not
def test_recording_memory_is_refused_before_allocating(one_gib, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment + r", more than the 1\.0 GiB of memory available"):
        fit(X_OK, 2, seed=0, **kwargs)


def test_a_request_for_more_than_half_the_memory_is_announced(one_gib):
    with pytest.warns(nmf_lib.MemoryWarning, match=r"record_steps='all' with n_steps=20000000: W_history of "
                                                   r"20000001 x 3 x 2 float64 will take 0\.9 GiB of the 1\.0 GiB"):
        fit(X_OK, 2, seed=0, n_steps=2 * 10**7, tol=1e-3, record_steps="all")


def test_a_huge_rank_is_refused_before_allocating(one_gib):
    with pytest.raises(ValueError, match=r"rank=100000: the factors and the products of one step at rank "
                                         r"100000 would need 149\.0 GiB"):
        fit(X_OK, 10**5, n_steps=1, seed=0)
    with pytest.raises(ValueError, match=r"rank=100000: .* GiB"):
        fit(X_OK, 10**5, W0=np.ones((3, 1)), V0=np.ones((1, 4)))
    with pytest.raises(ValueError, match=r"rank=10000000000: random factors of 3 x 10000000000 .* GiB"):
        nmf_lib.random_init((3, 4), 10**10)


def test_the_real_budget_refuses_what_no_machine_holds():
    with pytest.raises(ValueError, match=r"n_steps=10000000000000: the loss and error of .* would need 149,011\.6 GiB"):
        fit(X_OK, 1, n_steps=10**13, seed=0)


def _peak_bytes(call):
    import tracemalloc
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_tol_with_a_huge_n_steps_allocates_nothing_proportional_to_it():
    res, peak = _peak_bytes(lambda: fit(X_OK, 2, n_steps=10**9, tol=1e-3, seed=0))
    assert res.stop_reason == "tol" and res.loss.size == res.n_steps + 1
    assert peak < 2**20, peak  # 10**9 float64 losses would be 7.5 GiB


@pytest.mark.parametrize("record_steps", ["all", 1])
def test_recording_with_a_huge_n_steps_stopped_by_a_callback_stays_small(record_steps):
    res, peak = _peak_bytes(lambda: fit(X_OK, 2, n_steps=10**7, seed=0, record_steps=record_steps,
                                        record_samples=[0, 3], callback=lambda step, W, V, loss: step >= 3))
    assert res.stop_reason == "callback" and res.n_steps == 3
    np.testing.assert_array_equal(res.recorded_steps, [0, 1, 2, 3])
    assert res.W_history.shape == (4, 3, 2) and res.reconstructions.shape == (4, 3, 2)
    np.testing.assert_array_equal(res.W_history[-1], res.W)
    assert peak < 2**20, peak  # the plan alone was once a list of 10**7 steps


def test_recording_grows_past_its_first_buffer_and_keeps_every_step():
    res = fit(X_OK, 2, n_steps=300, seed=0, record_steps="all", record_samples=[1],
              callback=lambda step, W, V, loss: step >= 200)
    ref = fit(X_OK, 2, n_steps=200, seed=0, record_steps="all", record_samples=[1])
    np.testing.assert_array_equal(res.recorded_steps, np.arange(201))
    np.testing.assert_array_equal(res.W_history, ref.W_history)
    np.testing.assert_array_equal(res.reconstructions, ref.reconstructions)
    np.testing.assert_array_equal(res.loss, ref.loss)


# --------------------------------------------------------------------------- the cases of issue 12

def test_mse_refuses_shapes_that_only_broadcast():
    with pytest.raises(ValueError, match=r"X \(m x n\), W \(m x d\) and V \(d x n\) do not fit together: "
                                         r"shapes \(3, 4\), \(3, 1\) and \(1, 1\)"):
        nmf_lib.mse(X_OK, np.ones((3, 1)), np.ones((1, 1)))
    with pytest.raises(ValueError, match="do not fit together"):
        nmf_lib.kl_divergence(X_OK, np.ones((3, 1)), np.ones((1, 1)))


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1.0, 1e200, 1e300])
def test_hoyer_sparsity_is_scale_free(scale):
    one_hot, flat = np.eye(4) * scale, np.full((4, 3), scale)
    np.testing.assert_allclose(nmf_lib.hoyer_sparsity(one_hot), 1.0, rtol=1e-15)
    np.testing.assert_allclose(nmf_lib.hoyer_sparsity(flat), 0.0, atol=1e-15)
    a = np.array([[4.0], [1.0], [0.5], [0.0]])
    np.testing.assert_allclose(nmf_lib.hoyer_sparsity(a * scale), nmf_lib.hoyer_sparsity(a), rtol=1e-14)


@pytest.mark.parametrize("samples", [[0.5], [1.0], [True], ["1"]])
def test_record_samples_are_never_truncated(samples):
    with pytest.raises(TypeError, match=r"record_samples must hold integer indices"):
        fit(X_OK, 1, n_steps=3, seed=0, record_steps="all", record_samples=samples)


@pytest.mark.parametrize("scale", [-1, 0, np.nan, np.inf])
def test_random_init_refuses_a_scale_that_is_not_positive(scale):
    with pytest.raises(ValueError, match=r"scale must be a finite number > 0"):
        nmf_lib.random_init((3, 4), 2, scale=scale)


@pytest.mark.parametrize("fill", [-1, np.nan, np.inf])
def test_nndsvd_refuses_a_fill_that_is_not_non_negative(fill):
    with pytest.raises(ValueError, match=r"fill must be a finite number >= 0"):
        nndsvd(X_OK, 2, fill=fill)


@pytest.mark.parametrize("dtype", [int, np.int32, bool, np.float16, complex])
def test_gaussian_mixture_refuses_dtypes_that_round_or_truncate(dtype):
    with pytest.raises(ValueError, match=r"dtype must be float32 or float64"):
        nmf_lib.gaussian_mixture(m=8, n=4, seed=0, dtype=dtype)
    with pytest.raises(TypeError, match=r"dtype must be a numpy float dtype"):
        nmf_lib.gaussian_mixture(m=8, n=4, seed=0, dtype="not a dtype")


# --------------------------------------------------------------------------- one boundary



COUNT_ARGUMENTS = [
    ("fit n_steps", lambda v: fit(X_OK, 1, n_steps=v, seed=0)),
    ("consensus_matrix n_runs", lambda v: nmf_lib.consensus_matrix(X_OK, 1, n_runs=v, n_steps=1)),
    ("error_by_rank n_runs", lambda v: nmf_lib.error_by_rank(X_OK, [1], n_runs=v, n_steps=1)),
    ("consensus_by_rank n_runs", lambda v: nmf_lib.consensus_by_rank(X_OK, [1], n_runs=v, n_steps=1)),
    ("gaussian_mixture n", lambda v: nmf_lib.gaussian_mixture(m=4, n=v, seed=0)),
    ("gaussian_basis m", lambda v: nmf_lib.gaussian_basis(v)),
    ("hals_pass_counts d", lambda v: nmf_lib.hals_pass_counts(4, 4, v)),
    ("squared_norm block", lambda v: nmf_lib.squared_norm(X_OK, block=v)),
]


@pytest.mark.parametrize("name, call", COUNT_ARGUMENTS, ids=[c[0] for c in COUNT_ARGUMENTS])
def test_every_count_fails_the_same_way(name, call):
    """A count that is not an integer is a TypeError everywhere, one below its minimum a ValueError."""
    argument = name.split()[1]
    with pytest.raises(TypeError, match=rf"{argument} must be an integer >= \d, got 2\.5 of type float"):
        call(2.5)
    with pytest.raises(ValueError, match=rf"{argument} must be an integer >= \d, got -1"):
        call(-1)


SEED_USERS = [
    ("fit", lambda s: fit(X_OK, 1, n_steps=1, seed=s).W),
    ("initialize", lambda s: initialize(X_OK, 1, seed=s)[0]),
    ("random_init", lambda s: nmf_lib.random_init((3, 4), 1, seed=s)[0]),
    ("gaussian_mixture", lambda s: nmf_lib.gaussian_mixture(m=4, n=3, seed=s).X),
    ("error_by_rank", lambda s: nmf_lib.error_by_rank(X_OK, [1], n_steps=1, seed=s)),
    ("consensus_matrix", lambda s: nmf_lib.consensus_matrix(X_OK, 1, n_runs=2, n_steps=1, seed=s)),
    ("consensus_by_rank", lambda s: nmf_lib.consensus_by_rank(X_OK, [1], n_runs=2, n_steps=1, seed=s).errors),
]


@pytest.mark.parametrize("name, call", SEED_USERS, ids=[c[0] for c in SEED_USERS])
def test_one_seed_convention_everywhere(name, call):
    """What fit accepts (anything numpy.random.default_rng accepts) every seeded function accepts,
    reproducibly; what it refuses they refuse with the same exception."""
    for seed in (None, 0, 2**70, [1, 2], np.random.SeedSequence(3)):
        call(seed)
    np.testing.assert_array_equal(call(7), call(7))
    np.testing.assert_array_equal(call(np.random.default_rng(5)), call(np.random.default_rng(5)))
    np.testing.assert_array_equal(call(np.random.PCG64(6)), call(np.random.PCG64(6)))
    for seed, error in ((-1, ValueError), ([-1, 2], ValueError), (1.5, TypeError), ("7", TypeError)):
        with pytest.raises(error, match=r"seed must be anything numpy\.random\.default_rng accepts"):
            call(seed)


@pytest.fixture
def data_checks(monkeypatch):
    """Counts the scans of X's entries (every data check ends in _validate.check_values)."""
    seen = []
    original = nmf_lib._validate.check_values

    def counting(arr, name, **kwargs):
        seen.append(name)
        return original(arr, name, **kwargs)

    monkeypatch.setattr(nmf_lib._validate, "check_values", counting)
    return seen


@pytest.mark.parametrize(
    "call",
    [
        lambda X: fit(X, 2, n_steps=2, init="nndsvd", method="hals"),
        lambda X: fit(X, 2, n_steps=2, init="nndsvda"),
        lambda X: fit(X, 2, n_steps=2, init="random_scaled", seed=0),
        lambda X: initialize(X, 2, "nndsvda"),
        lambda X: nndsvd(X, 2, fill=0.5),
        lambda X: nmf_lib.spa_start(X, 2),
        lambda X: nmf_lib.error_by_rank(X, [1, 2, 3], n_runs=3, n_steps=2),
        lambda X: nmf_lib.consensus_matrix(X, 2, n_runs=4, n_steps=2),
        lambda X: nmf_lib.consensus_by_rank(X, [1, 2], n_runs=3, n_steps=2),
    ],
    ids=["fit nndsvd", "fit nndsvda", "fit random_scaled", "initialize", "nndsvd", "spa_start", "error_by_rank",
         "consensus_matrix", "consensus_by_rank"],
)
def test_x_is_checked_once_per_call(data_checks, call):
    call(X_OK)
    assert data_checks == ["X"]


RESULT = fit(X_OK, 2, n_steps=2, seed=0, record_steps="all", record_samples=[0])
G_OK = np.ones((3, 2))
D_OK = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.5], [2.0, 1.5, 0.0]])
Z_OK = nmf_lib.average_linkage(D_OK)


def _anim():
    return nmf_lib.basis_animation(RESULT, G_OK)


# name: (the arguments the two messages name, a call with an argument of the wrong type,
#        a call with a wrong value of the right type)
PUBLIC = {
    "fit": ("n_steps", "n_steps", lambda: fit(X_OK, 2, n_steps="3"), lambda: fit(X_OK, 2, n_steps=-3)),
    "initialize": ("init", "init", lambda: initialize(X_OK, 2, method=3), lambda: initialize(X_OK, 2, method="svd")),
    "random_init": ("scale", "scale", lambda: nmf_lib.random_init((3, 4), 2, scale="1"), lambda: nmf_lib.random_init((3, 4), 2, scale=-1)),
    "nndsvd": ("fill", "fill", lambda: nndsvd(X_OK, 2, fill="mean"), lambda: nndsvd(X_OK, 2, fill=-1)),
    "gaussian_basis": ("m", "width", lambda: nmf_lib.gaussian_basis(8.0), lambda: nmf_lib.gaussian_basis(8, widths=(0.1, 0, 0.1, 0.1))),
    "gaussian_mixture": ("seed", "dtype", lambda: nmf_lib.gaussian_mixture(m=8, n=4, seed="x"),
                         lambda: nmf_lib.gaussian_mixture(m=8, n=4, dtype=int)),
    "hals_pass_counts": ("alpha", "alpha", lambda: nmf_lib.hals_pass_counts(4, 4, 2, alpha="1"), lambda: nmf_lib.hals_pass_counts(4, 4, 2, alpha=-1)),
    "mse": ("X", "W", lambda: nmf_lib.mse(X_OK.astype(complex), np.ones((3, 1)), np.ones((1, 4))),
            lambda: nmf_lib.mse(X_OK, np.ones((3, 1)), np.ones((1, 1)))),
    "kl_divergence": ("X", "X", lambda: nmf_lib.kl_divergence("X", np.ones((3, 1)), np.ones((1, 4))),
                      lambda: nmf_lib.kl_divergence(-X_OK, np.ones((3, 1)), np.ones((1, 4)))),
    "squared_norm": ("X", "X", lambda: nmf_lib.squared_norm(scipy.sparse.csr_matrix(X_OK)), lambda: nmf_lib.squared_norm(_with(np.nan))),
    "mse_from_products": ("norm_X2", "VVt", lambda: nmf_lib.mse_from_products("1", 0.0, np.eye(2), np.eye(2), 4),
                          lambda: nmf_lib.mse_from_products(1.0, 0.0, np.eye(2), np.eye(3), 4)),
    "hoyer_sparsity": ("axis", "axis", lambda: nmf_lib.hoyer_sparsity(X_OK, axis=0.0), lambda: nmf_lib.hoyer_sparsity(X_OK, axis=2)),
    "correlation_matrix": ("A", "B", lambda: nmf_lib.correlation_matrix(X_OK.astype(complex), X_OK),
                           lambda: nmf_lib.correlation_matrix(X_OK, X_OK[:2])),
    "best_assignment": ("score", "score", lambda: nmf_lib.best_assignment(np.array([["a"]])), lambda: nmf_lib.best_assignment(np.ones((3, 2)))),
    "column_scale": ("learned", "learned", lambda: nmf_lib.column_scale(X_OK, np.ma.masked_array(X_OK)), lambda: nmf_lib.column_scale(X_OK, X_OK[:, :2])),
    "match_components": ("learned", "learned", lambda: nmf_lib.match_components(X_OK, "L"), lambda: nmf_lib.match_components(X_OK, X_OK[:, :2])),
    "cluster_labels": ("W", "V", lambda: nmf_lib.cluster_labels(np.ones((3, 2), dtype=complex), np.ones((2, 4))),
                       lambda: nmf_lib.cluster_labels(np.ones((3, 2)), np.ones((3, 4)))),
    "connectivity": ("labels", "labels", lambda: nmf_lib.connectivity(np.array([None, 1])), lambda: nmf_lib.connectivity(np.zeros((2, 2)))),
    "error_by_rank": ("ranks", "ranks", lambda: nmf_lib.error_by_rank(X_OK, 2), lambda: nmf_lib.error_by_rank(X_OK, [])),
    "consensus_matrix": ("seed", "seed", lambda: nmf_lib.consensus_matrix(X_OK, 2, seed=1.5), lambda: nmf_lib.consensus_matrix(X_OK, 2, seed=-1)),
    "consensus_by_rank": ("n_runs", "n_runs", lambda: nmf_lib.consensus_by_rank(X_OK, [2], n_runs=1.0), lambda: nmf_lib.consensus_by_rank(X_OK, [2], n_runs=0)),
    "average_linkage": ("D", "D", lambda: nmf_lib.average_linkage(D_OK.astype(complex)), lambda: nmf_lib.average_linkage(-D_OK)),
    "cophenetic_distances": ("Z", "Z", lambda: nmf_lib.cophenetic_distances(Z_OK.astype(complex)),
                             lambda: nmf_lib.cophenetic_distances(np.zeros((3, 3)))),
    "dendrogram_order": ("Z", "Z", lambda: nmf_lib.dendrogram_order(np.array([["a"] * 4])), lambda: nmf_lib.dendrogram_order(Z_OK[:, :3])),
    "cophenetic_correlation": ("consensus", "consensus", lambda: nmf_lib.cophenetic_correlation(np.eye(3, dtype=complex)),
                               lambda: nmf_lib.cophenetic_correlation(2 * np.eye(3))),
    "logdet_penalty": ("W", "delta", lambda: nmf_lib.logdet_penalty("W", 1e-5), lambda: nmf_lib.logdet_penalty(G_OK, -1.0)),
    "smallest_ratios": ("W", "W", lambda: nmf_lib.smallest_ratios(G_OK.astype(complex)), lambda: nmf_lib.smallest_ratios(-G_OK)),
    "exact_alternative": ("moves", "move", lambda: nmf_lib.exact_alternative(G_OK, np.ones((2, 4)), (0, 1, 0.5)),
                          lambda: nmf_lib.exact_alternative(G_OK, np.ones((2, 4)), [(0, 0, 0.5)])),
    "spa": ("normalize", "rank", lambda: nmf_lib.spa(X_OK, 2, normalize=1), lambda: nmf_lib.spa(X_OK, 4)),
    "spa_start": ("rank", "rank", lambda: nmf_lib.spa_start(X_OK, 2.5), lambda: nmf_lib.spa_start(X_OK, 0)),
    "basis_animation": ("fps", "fps", lambda: nmf_lib.basis_animation(RESULT, G_OK, fps="fast"), lambda: nmf_lib.basis_animation(RESULT, G_OK, fps=-1)),
    "reconstruction_animation": ("ncols", "ncols", lambda: nmf_lib.reconstruction_animation(RESULT, X_OK, ncols=1.5),
                                 lambda: nmf_lib.reconstruction_animation(RESULT, X_OK, ncols=0)),
    "html_video": ("anim", "embed_limit_mb", lambda: nmf_lib.html_video("video"), lambda: nmf_lib.html_video(_anim(), embed_limit_mb=-1)),
}

# the update rules are the formulas the book prints, applied in loops to data fit has checked
RULES = {"guard", "minvol_lambda", "minvol_update_W", "simplex_projection", "mu_update_W", "mu_update_V", "hals_update_W", "hals_update_V", "kl_update_W", "kl_update_V",
         "scale_to_fit"}


def test_the_table_covers_every_public_function():
    import inspect
    functions = {name for name in nmf_lib.__all__
                 if inspect.isfunction(getattr(nmf_lib, name))}
    assert functions - RULES == set(PUBLIC), (functions - RULES) ^ set(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_public_function_refuses_a_wrong_type_and_a_wrong_value(name):
    type_argument, value_argument, wrong_type, wrong_value = PUBLIC[name]
    with pytest.raises(TypeError, match=rf"\b{type_argument}\b"):
        wrong_type()
    with pytest.raises(ValueError, match=rf"\b{value_argument}\b"):
        wrong_value()


def test_the_dask_path_checks_its_arguments_at_the_same_boundary():
    da = pytest.importorskip("dask.array")
    Xd = da.from_array(X_OK, chunks=(3, 2))
    with pytest.raises(TypeError, match=r"init must be one of"):
        fit(Xd, 2, init=None)
    with pytest.raises(ValueError, match=r"seed must be anything numpy\.random\.default_rng accepts"):
        fit(Xd, 2, seed=-1)
    with pytest.raises(TypeError, match=r"n_steps must be an integer >= 0, got 2\.5"):
        fit(Xd, 2, n_steps=2.5)
    with pytest.raises(TypeError, match=r"record_samples must hold integer indices"):
        fit(Xd, 2, n_steps=2, seed=0, record_steps="all", record_samples=[0.5])

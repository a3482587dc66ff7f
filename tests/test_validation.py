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
    with pytest.raises(ValueError, match=rf"n_steps must be >= 0, got {n_steps}"):
        fit(X_OK, 1, n_steps=n_steps, seed=0)


@pytest.mark.parametrize("n_steps", [2.5, 3.0, "10", True, None])
def test_non_integer_n_steps_is_refused(n_steps):
    with pytest.raises(TypeError, match=r"n_steps must be a non-negative integer, got"):
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

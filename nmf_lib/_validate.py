"""Checks at the library's boundary: every public function validates here, once per call.

(The exceptions are the update rules of ``updates.py``: they are the formulas the book
prints, applied step after step to data that ``fit`` has checked.)

A public function checks its arguments with these functions and then calls the
library's unchecked internals (``loop._fit``, ``starts._initialize``, ...), so a fit
started by NNDSVD reads X once, and the fits inside the rank tools do not read it again.

One kind of fault, one exception: a wrong type (a float where a count is needed, a
string where a number is, a masked or sparse array) is a TypeError; a wrong value of
the right type (a negative count, NaN, an unknown name, shapes that do not fit) is a
ValueError.  Each message names the argument and what is wrong with it.
None of the checks modifies or copies the caller's array unless a dtype conversion is needed.
"""

from __future__ import annotations

import numbers
import os
import warnings

import numpy as np

__all__ = [
    "as_data", "as_array", "check_values", "check_rank", "check_steps", "check_count", "check_real",
    "check_choice", "check_seed", "check_dtype", "check_indices", "check_product", "check_factor",
    "check_kernel", "check_memory", "memory_budget", "working_dtype", "KERNELS", "MemoryWarning",
    "check_scale", "smallest_scale",
]

GiB = 2.0**30


def _is_sparse(X) -> bool:
    return hasattr(X, "toarray") and hasattr(X, "nnz")


def _refuse_containers(X, name: str) -> None:
    if _is_sparse(X):
        raise TypeError(
            f"{name} is a sparse matrix ({type(X).__name__}); nmf_lib works on dense "
            f"arrays only: convert it with {name}.toarray() if it fits in memory"
        )
    if isinstance(X, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array: nmf_lib does not support missing entries yet, and "
            f"fitting its data would use the hidden values; pass {name}.filled(value) to "
            f"fit with chosen values, or {name}.data to fit every entry"
        )


def working_dtype(dtype) -> np.dtype:
    """float32 stays float32 (float16 is promoted to it); everything else computes in float64."""
    dtype = np.dtype(dtype)
    if dtype in (np.float16, np.float32):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _real_array(A, name: str) -> np.ndarray:
    _refuse_containers(A, name)
    arr = np.asarray(A)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers, got dtype {arr.dtype} "
            f"({'complex numbers are not allowed' if arr.dtype.kind == 'c' else 'not numeric'})"
        )
    return arr


def as_data(X, name: str = "X") -> np.ndarray:
    """Return X as a non-negative, finite, non-empty 2-D float array.

    No copy is made when X already is a float32 or float64 ndarray; integers and
    booleans become float64.  Sparse and masked arrays are refused with a message.
    """
    arr = _real_array(X, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (features x samples), got {arr.ndim}-D with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: shape {arr.shape}")
    arr = arr.astype(working_dtype(arr.dtype), copy=False)
    check_values(arr, name)
    check_scale(arr, name)
    return arr


def as_array(A, name: str, *, ndim: int | None = 2, nonnegative: bool = False, finite: bool = True,
             dtype=np.float64) -> np.ndarray:
    """A real array of ``ndim`` dimensions (any when None) in ``dtype`` (float64 by
    default; None keeps the working dtype), non-empty, finite, and >= 0 when asked."""
    arr = _real_array(A, name)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {arr.ndim}-D with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: shape {arr.shape}")
    arr = arr.astype(working_dtype(arr.dtype) if dtype is None else dtype, copy=False)
    if finite:
        check_values(arr, name, nonnegative=nonnegative, squares=False)
    return arr


def check_values(arr: np.ndarray, name: str, *, nonnegative: bool = True, squares: bool = True) -> None:
    """Refuse NaN, inf, negative entries and entries too large to square safely.

    min() and max() read the array without allocating a temporary of its size;
    the slower counting passes run only on the error path.
    """
    lo, hi = arr.min(), arr.max()
    if np.isnan(lo) or np.isnan(hi):
        raise ValueError(f"{name} contains {int(np.isnan(arr).sum())} NaN entries")
    if np.isinf(lo) or np.isinf(hi):
        raise ValueError(f"{name} contains {int(np.isinf(arr).sum())} infinite entries")
    if nonnegative and lo < 0:
        count = int((arr < 0).sum())
        raise ValueError(
            f"{name} has {count} negative entries (smallest {lo:.6g}); "
            f"NMF needs every entry >= 0"
        )
    if not squares or arr.ndim != 2:
        return
    limit = np.sqrt(np.finfo(arr.dtype).max) / max(arr.shape)
    if max(hi, -lo) > limit:
        raise ValueError(
            f"{name}'s largest entry {max(hi, -lo):.6g} is too large for {arr.dtype} "
            f"(products would overflow above about {limit:.3g}); rescale {name}"
        )


def smallest_scale(dtype) -> float:
    """The smallest max(X) ``fit`` accepts for X of this dtype (the largest:
    ``check_values``): 1.2e-38 for float32, 6.7e-139 for float64.

    Two limits, whichever is larger: max(X) must be a normal number (a subnormal one
    carries fewer significant digits than the dtype), and (eps max X)^2, the mean
    squared error of a fit exact to the dtype's precision, must be a normal float64
    (the loss is recorded in float64).  Between them and ``check_values``'s limit the
    fit of c X is the fit of X rescaled (tests/test_scale.py).
    """
    info = np.finfo(dtype)
    return max(float(info.tiny), float(np.sqrt(np.finfo(np.float64).tiny) / info.eps))


def check_scale(arr: np.ndarray, name: str) -> None:
    """Refuse X whose largest entry is positive but below ``smallest_scale``."""
    hi, lower = float(arr.max()), smallest_scale(arr.dtype)
    if 0 < hi < lower:
        raise ValueError(
            f"{name}'s largest entry {hi:.6g} is too small for {arr.dtype}: the accepted range "
            f"of max({name}) starts at {lower:.3g}, below which "
            + ("it is subnormal (fewer significant digits than float32 has)" if arr.dtype == np.float32
               else "the MSE of an accurate fit, (eps max X)^2, underflows float64")
            + f"; rescale {name} (e.g. multiply it by 1e{int(np.ceil(-np.log10(hi)))}) and divide the "
            f"fitted W by the same factor")


# ------------------------------------------------------------------ numbers and names

def check_count(value, name: str, minimum: int = 0) -> int:
    """An integer >= minimum (numpy integers too; bools and floats such as 3.0 are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r} of type {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_rank(rank, shape=None, *, need_at_most_min: bool = False) -> int:
    if isinstance(rank, bool) or not isinstance(rank, numbers.Integral):
        raise TypeError(f"rank must be a positive integer, got {rank!r} of type {type(rank).__name__}")
    rank = int(rank)
    if rank < 1:
        raise ValueError(f"rank must be a positive integer, got {rank}")
    if need_at_most_min and shape is not None and rank > min(shape):
        raise ValueError(
            f"rank {rank} is larger than min(m, n) = {min(shape)} for X of shape {shape}; "
            f"this method needs rank <= min(m, n)"
        )
    return rank


def check_steps(n_steps) -> int:
    return check_count(n_steps, "n_steps", 0)


def check_real(value, name: str, *, minimum: float | None = None, strict: bool = False,
               maximum: float | None = None) -> float:
    """A finite real number (not a bool), >= minimum (> minimum when strict), <= maximum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    low_ok = minimum is None or (value > minimum if strict else value >= minimum)
    if not (np.isfinite(value) and low_ok and (maximum is None or value <= maximum)):
        bound = [] if minimum is None else [f"{'>' if strict else '>='} {minimum:g}"]
        bound += [] if maximum is None else [f"<= {maximum:g}"]
        raise ValueError(f"{name} must be a finite number{' ' + ' and '.join(bound) if bound else ''}, got {value!r}")
    return value


def check_choice(value, name: str, choices) -> str:
    """One of the strings ``choices``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {tuple(choices)}, got {value!r} of type {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {tuple(choices)}")
    return value


def check_seed(seed):
    """Anything ``numpy.random.default_rng`` accepts (None, an int >= 0, a sequence of
    them, a SeedSequence, a BitGenerator or a Generator); returned unchanged."""
    try:
        np.random.default_rng(seed)
    except (TypeError, ValueError) as err:
        raise type(err)(
            f"seed must be anything numpy.random.default_rng accepts (None, an integer >= 0, "
            f"a sequence of them, a SeedSequence, a BitGenerator or a Generator), got {seed!r}: {err}"
        ) from None
    return seed


def check_dtype(dtype, name: str = "dtype") -> np.dtype:
    """float32 or float64: the dtypes the library computes in."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a numpy float dtype (float32 or float64), got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {dt}: other dtypes would round or "
                         f"truncate the values")
    return dt


def check_indices(indices, name: str, n: int) -> np.ndarray:
    """Integer indices into an axis of length n (negative ones count from the end)."""
    items = list(np.ravel(indices)) if isinstance(indices, np.ndarray) else indices
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of integer indices, got {indices!r}") from None
    bad = [i for i in items if isinstance(i, (bool, np.bool_)) or not isinstance(i, numbers.Integral)]
    if bad:
        raise TypeError(f"{name} must hold integer indices, got {bad[:3]!r} (floats are not truncated)")
    idx = np.asarray(items, dtype=np.int64)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise ValueError(f"{name} must index columns of X (0 <= i < {n}), got {idx[(idx < -n) | (idx >= n)][:5].tolist()}")
    return idx


def check_product(X, W, V, *, nonnegative: bool = False, dtype=np.float64):
    """X (m x n), W (m x d) and V (d x n) as real, finite arrays whose shapes fit X ~ W V."""
    X, W, V = (as_array(A, name, nonnegative=nonnegative, dtype=dtype) for A, name in ((X, "X"), (W, "W"), (V, "V")))
    if W.shape[1] != V.shape[0] or X.shape != (W.shape[0], V.shape[1]):
        raise ValueError(f"X (m x n), W (m x d) and V (d x n) do not fit together: shapes "
                         f"{X.shape}, {W.shape} and {V.shape}")
    return X, W, V


def check_factor(F, name: str, shape: tuple[int, int], dtype) -> np.ndarray:
    """Validate a starting factor and return a private copy in the working dtype."""
    arr = _real_array(F, name)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    # check in a float dtype (integer and bool starts are allowed; finfo needs a float)
    check_values(arr.astype(working_dtype(arr.dtype), copy=False), name)
    out = np.array(arr, dtype=dtype, order="C", copy=True)
    if out.dtype != working_dtype(arr.dtype):
        check_values(out, name)  # e.g. float64 entries too large for a float32 X
    return out


KERNELS = ("auto", "numpy", "fused")


def check_kernel(kernel) -> str:
    """``fit``'s kernel: "auto" (the fused kernel where it is installed and pays,
    ``fused.fused_pays``), "numpy" (the numpy steppers) or "fused" (the numba kernel)."""
    return check_choice(kernel, "kernel", KERNELS)


# ------------------------------------------------------------------------ memory

def memory_budget() -> int:
    """Bytes the library may ask for at once: the memory available now (Linux's
    MemAvailable), else the machine's physical memory, else no limit."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 1 << 62


class MemoryWarning(UserWarning):
    """A request that fits in memory but takes more than half of what is available."""


def check_memory(nbytes: float, argument: str, what: str) -> None:
    """Refuse, before allocating, a request larger than ``memory_budget()``, and warn
    about one larger than half of it; the message names the argument responsible and
    the size in GiB."""
    budget = memory_budget()
    if nbytes > budget:
        raise ValueError(f"{argument}: {what} would need {nbytes / GiB:,.1f} GiB, more than the "
                         f"{budget / GiB:,.1f} GiB of memory available")
    if nbytes > budget / 2:
        warnings.warn(f"{argument}: {what} will take {nbytes / GiB:,.1f} GiB of the {budget / GiB:,.1f} GiB "
                      f"of memory available", MemoryWarning, stacklevel=4)

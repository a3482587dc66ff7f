"""Checks at the library's boundary: every public function validates here.

Each check names the problem it found, so a reader of the error knows what to fix.
None of them modifies or copies the caller's array unless a dtype conversion is needed.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_data", "check_rank", "check_steps", "check_factor", "check_kernel", "working_dtype", "KERNELS"]


def _is_sparse(X) -> bool:
    return hasattr(X, "toarray") and hasattr(X, "nnz")


def working_dtype(dtype) -> np.dtype:
    """float32 stays float32 (float16 is promoted to it); everything else computes in float64."""
    dtype = np.dtype(dtype)
    if dtype in (np.float16, np.float32):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def as_data(X, name: str = "X") -> np.ndarray:
    """Return X as a non-negative, finite, non-empty 2-D float array.

    No copy is made when X already is a float32 or float64 ndarray; integers and
    booleans become float64.  Sparse matrices are refused with a message.
    """
    if _is_sparse(X):
        raise TypeError(
            f"{name} is a sparse matrix ({type(X).__name__}); nmf_lib works on dense "
            f"arrays only: convert it with {name}.toarray() if it fits in memory"
        )
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers, got dtype {arr.dtype} "
            f"({'complex numbers are not allowed' if arr.dtype.kind == 'c' else 'not numeric'})"
        )
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (features x samples), got {arr.ndim}-D with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: shape {arr.shape}")
    arr = arr.astype(working_dtype(arr.dtype), copy=False)
    check_values(arr, name)
    return arr


def check_values(arr: np.ndarray, name: str) -> None:
    """Refuse NaN, inf, negative entries and entries too large to square safely.

    min() and max() read the array without allocating a temporary of its size;
    the slower counting passes run only on the error path.
    """
    lo, hi = arr.min(), arr.max()
    if np.isnan(lo) or np.isnan(hi):
        raise ValueError(f"{name} contains {int(np.isnan(arr).sum())} NaN entries")
    if np.isinf(lo) or np.isinf(hi):
        raise ValueError(f"{name} contains {int(np.isinf(arr).sum())} infinite entries")
    if lo < 0:
        count = int((arr < 0).sum())
        raise ValueError(
            f"{name} has {count} negative entries (smallest {lo:.6g}); "
            f"NMF needs every entry >= 0"
        )
    limit = np.sqrt(np.finfo(arr.dtype).max) / max(arr.shape)
    if hi > limit:
        raise ValueError(
            f"{name}'s largest entry {hi:.6g} is too large for {arr.dtype} "
            f"(products would overflow above about {limit:.3g}); rescale {name}"
        )


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
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral):
        raise TypeError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, got {n_steps}")
    return int(n_steps)


def check_factor(F, name: str, shape: tuple[int, int], dtype) -> np.ndarray:
    """Validate a starting factor and return a private copy in the working dtype."""
    if _is_sparse(F):
        raise TypeError(f"{name} is a sparse matrix; starting factors must be dense arrays")
    arr = np.asarray(F)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
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
    if not isinstance(kernel, str):
        raise TypeError(f"kernel must be one of {KERNELS}, got {kernel!r} of type {type(kernel).__name__}")
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; choose one of {KERNELS}")
    return kernel

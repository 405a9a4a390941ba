"""Argument checks shared by every public function: clear errors before any arithmetic."""

from __future__ import annotations

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(value, name: str, dtype=None) -> np.ndarray:
    """Return ``value`` as a float32/float64 array, or raise naming ``name``.

    Integers and booleans become float64 (or ``dtype`` if given); float32 and float64
    keep their dtype unless ``dtype`` asks for another; anything else is a ``TypeError``.
    """
    arr = np.asarray(value)
    kind = arr.dtype.kind
    if kind in "biu":
        return arr.astype(np.float64 if dtype is None else dtype)
    if arr.dtype in FLOAT_DTYPES:
        return arr if dtype is None else arr.astype(dtype, copy=False)
    raise TypeError(
        f"{name} must be a float32 or float64 array (integers are converted), got dtype {arr.dtype}"
    )


def check_dtype(dtype) -> np.dtype:
    """Return ``dtype`` as a NumPy dtype if it is float32 or float64, else raise ``TypeError``."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def check_shape(arr: np.ndarray, name: str, expected: tuple, labels: str) -> None:
    """Raise ``ValueError`` unless ``arr.shape`` matches ``expected``.

    ``expected`` holds ints or ``None`` (any size); ``labels`` spells the expected shape
    for the message, e.g. ``"(N, D)"``.
    """
    if arr.ndim != len(expected) or any(
        e is not None and e != s for e, s in zip(expected, arr.shape, strict=True)
    ):
        sizes = ", ".join("?" if e is None else str(e) for e in expected)
        raise ValueError(
            f"{name} must have shape {labels} = ({sizes}{',' if len(expected) == 1 else ''}), "
            f"got {arr.shape}"
        )


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``arr`` holds NaN or infinity."""
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")


def check_sequence(x, D: int, dtype) -> np.ndarray:
    """A batch of sequences as an ``(N, T, D)`` array of ``dtype``, with ``N, T >= 1``."""
    x = as_float_array(x, "x", dtype)
    check_shape(x, "x", (None, None, D), "(N, T, D)")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have at least one sequence and one time step, got {x.shape}")
    return x


def check_state(value, name: str, N: int, H: int, dtype) -> np.ndarray:
    """A state ``h`` or ``c`` (or its gradient) as an ``(N, H)`` array of ``dtype``.

    ``None`` means zeros.
    """
    if value is None:
        return np.zeros((N, H), dtype)
    arr = as_float_array(value, name, dtype)
    check_shape(arr, name, (N, H), "(N, H)")
    return arr


def positive_int(value, name: str) -> int:
    """``value`` as an ``int`` if it is a positive integer (not a bool), else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)

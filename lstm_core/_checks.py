"""Argument checks shared by every public function: clear errors before any arithmetic.

The rule: bad input raises a ``ValueError`` whose message starts with the argument's name,
then says what it must be and what it got. A wrong *type* raises
:class:`ArgumentTypeError`, which is a ``ValueError`` and a ``TypeError`` at once.
"""

from __future__ import annotations

import math
import reprlib
import sys
from collections.abc import Mapping
from contextlib import contextmanager

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type, e.g. a string where an array of numbers belongs.

    The course's rule is that bad input raises a ``ValueError`` naming the argument;
    Python's convention (and this package's first releases) is a ``TypeError`` for a wrong
    type. This exception is both, so ``except ValueError`` and ``except TypeError`` catch it
    alike, as NumPy's ``AxisError(ValueError, IndexError)`` does for a bad axis.
    """


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 6


def describe(value) -> str:
    """A short description of ``value`` for the "got ..." part of a message."""
    if type(value) is np.ndarray:
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):  # a subclass: np.matrix, a masked array, ...
        return f"a {type(value).__name__} of shape {value.shape} and dtype {value.dtype}"
    if value is None or isinstance(value, (bool, int, float, np.generic)):
        return repr(value)
    if isinstance(value, str):
        return _SHORT.repr(value)
    return f"{type(value).__name__} {_SHORT.repr(value)}"


def _is_number(value) -> bool:
    """A real number that is not a bool (NumPy scalars included)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def finite_number(
    value, name: str, *, low=None, high=None, low_open: bool = False, high_open: bool = False
):
    """Return ``value`` unchanged if it is a finite real number within the bounds.

    Bools are not numbers here; NumPy scalars are. ``low_open``/``high_open`` exclude the
    bound itself. The value is returned as given (not converted) so that arithmetic with it
    keeps NumPy's promotion rules for Python and NumPy scalars alike.

    Raises
    ------
    ArgumentTypeError
        If ``value`` is not a real number.
    ValueError
        If it is NaN, infinite or out of bounds.
    """
    if low is not None and high is not None:
        expected = f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    elif low is not None:
        expected = f"a finite number {'>' if low_open else '>='} {low}"
    elif high is not None:
        expected = f"a finite number {'<' if high_open else '<='} {high}"
    else:
        expected = "a finite number"
    if not _is_number(value):
        raise ArgumentTypeError(f"{name} must be {expected}, got {describe(value)}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond float64's range
        finite = False
    if (
        not finite
        or (low is not None and (value <= low if low_open else value < low))
        or (high is not None and (value >= high if high_open else value > high))
    ):
        raise ValueError(f"{name} must be {expected}, got {_SHORT.repr(value)}")
    return value


def is_integer(value) -> bool:
    """An integer that is not a bool (NumPy integers included)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def integer(value, name: str, low: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) ``>= low``.

    Raises
    ------
    ArgumentTypeError
        If ``value`` is not an integer.
    ValueError
        If it is below ``low``.
    """
    names = {0: "a non-negative integer", 1: "a positive integer"}
    expected = names.get(low, f"an integer >= {low}")
    if not is_integer(value):
        raise ArgumentTypeError(f"{name} must be {expected}, got {describe(value)}")
    if value < low:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def positive_int(value, name: str) -> int:
    """``value`` as an ``int`` if it is a positive integer (not a bool), else ``ValueError``."""
    return integer(value, name, 1)


def choice(value, name: str, options: tuple):
    """``value`` if it is one of the strings ``options``.

    Raises
    ------
    ArgumentTypeError
        If ``value`` is not a string.
    ValueError
        If it is not one of ``options``.
    """
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name} must be one of {options}, got {describe(value)}")
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def as_rng(rng, name: str = "rng") -> np.random.Generator:
    """``np.random.default_rng(rng)``, refusing what is not a generator or a seed.

    Accepted: ``None``, a ``numpy.random.Generator`` (returned as is), a ``BitGenerator`` or
    ``SeedSequence``, a non-negative integer, or a non-empty sequence of them.

    Raises
    ------
    ArgumentTypeError
        For bools, floats, strings and other objects.
    ValueError
        For negative seeds.
    """
    expected = "a numpy.random.Generator, a non-negative integer seed (or a list of them) or None"
    kinds = (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence, int, np.integer)
    if rng is None or (isinstance(rng, kinds) and not isinstance(rng, bool)):
        pass
    elif isinstance(rng, (list, tuple, np.ndarray)):
        seeds = np.asarray(rng, dtype=object).ravel()
        if not seeds.size or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seeds
        ):
            raise ArgumentTypeError(f"{name} must be {expected}, got {describe(rng)}")
    else:
        raise ArgumentTypeError(f"{name} must be {expected}, got {describe(rng)}")
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be {expected}, got {describe(rng)}") from exc


def as_array(value, name: str, expected: str) -> np.ndarray:
    """``np.asarray(value)``, refusing what NumPy cannot make one rectangular array of.

    The one conversion of array arguments: a ragged nested list (``[[0], [1, 2]]``) raises
    an :class:`ArgumentTypeError` naming ``name`` and saying it must be ``expected``,
    instead of NumPy's own error. The result is always a plain ``np.ndarray``: a subclass
    such as ``np.matrix`` (whose ``*`` is a matrix product) becomes a plain view of the
    same memory, and a masked array is refused (an :class:`ArgumentTypeError`), since
    nothing here could honour its mask. The dtype is the caller's to check (an object
    array comes back as it is).
    """
    if type(value) is np.ndarray:
        return value
    if isinstance(value, np.ma.MaskedArray):
        raise ArgumentTypeError(
            f"{name} must be {expected}, got {describe(value)}, whose mask cannot be honoured; "
            "pass value.filled(...) or the unmasked entries instead"
        )
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists, objects NumPy refuses
        raise ArgumentTypeError(
            f"{name} must be {expected}, got {describe(value)}, which is not one rectangular "
            "array (nested sequences of different lengths)"
        ) from exc


def plain_array(value, name: str, expected: str) -> np.ndarray:
    """``value`` unchanged if it is a plain ``np.ndarray`` (not a subclass), else refused.

    For arrays that are used as given, not converted: parameters, arrays updated or
    perturbed in place. ``expected`` says what ``name`` must be; a subclass such as
    ``np.matrix`` or a masked array gets a hint to pass ``np.asarray(value)``.

    Raises
    ------
    ArgumentTypeError
        If ``value`` is not a NumPy array, or is an instance of a subclass.
    """
    if type(value) is np.ndarray:
        return value
    hint = " (not a subclass: pass np.asarray(value))" if isinstance(value, np.ndarray) else ""
    raise ArgumentTypeError(f"{name} must be {expected}{hint}, got {describe(value)}")


def as_int_array(value, name: str, expected: str) -> np.ndarray:
    """``value`` as an array of integers (not bools), or an :class:`ArgumentTypeError`.

    ``expected`` says what ``name`` must be, e.g. ``"integer class indices"``.
    """
    arr = as_array(value, name, expected)
    if arr.dtype.kind not in "iu":
        got = describe(value) if arr.dtype == object else f"dtype {arr.dtype}"
        raise ArgumentTypeError(f"{name} must be {expected}, got {got}")
    return arr


def check_index_range(arr: np.ndarray, name: str, size: int, expected: str | None = None) -> None:
    """Raise ``ValueError`` unless every entry of the integer array ``arr`` lies in ``[0, size)``.

    ``expected`` is the message's "must ..." part, ``"lie in [0, size)"`` by default.
    """
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        expected = expected or f"lie in [0, {size})"
        raise ValueError(f"{name} must {expected}, got values in [{arr.min()}, {arr.max()}]")


def number_array(value, name: str) -> np.ndarray:
    """``value`` as a plain array of integers, float32 or float64, not converted.

    The checks of :func:`as_float_array` without its conversion, for a function that keeps
    the caller's dtype (and so copies nothing).

    Raises
    ------
    ArgumentTypeError
        For booleans and other dtypes than integers, float32 and float64.
    """
    expected = "a float32 or float64 array (integers are converted)"
    arr = as_array(value, name, expected)
    kind = arr.dtype.kind
    got = "" if isinstance(value, (np.ndarray, np.generic)) else f"{describe(value)}, "
    if kind == "b":
        expected = "a float32 or float64 array (integers are converted, bools are not)"
        raise ArgumentTypeError(f"{name} must be {expected}, got {got}dtype bool")
    if kind not in "iu" and arr.dtype not in FLOAT_DTYPES:
        raise ArgumentTypeError(f"{name} must be {expected}, got {got}dtype {arr.dtype}")
    return arr


def as_float_array(value, name: str, dtype=None) -> np.ndarray:
    """Return ``value`` as a plain float32/float64 array, or raise naming ``name``.

    Integers become float64 (or ``dtype`` if given); float32 and float64 keep their dtype
    unless ``dtype`` asks for another; booleans (``True``, bool arrays), where a number
    belongs, can only be a mistake and are refused like anything else that is not a number
    (an :class:`ArgumentTypeError`). A subclass of ``np.ndarray`` is taken as a plain array
    and a masked array refused (see :func:`as_array`).

    Raises
    ------
    ArgumentTypeError
        For booleans and other dtypes than integers, float32 and float64.
    ValueError
        If a float64 ``value`` is cast to float32 (``dtype``) and a finite entry lies beyond
        float32's range (it would become infinite).
    """
    arr = number_array(value, name)
    if arr.dtype.kind in "iu":  # even 2**64 - 1 is within float32's range
        return arr.astype(np.float64 if dtype is None else dtype)
    if dtype is None or arr.dtype == dtype:
        return arr
    with np.errstate(over="ignore"):
        out = arr.astype(dtype)
    if arr.dtype.itemsize > out.dtype.itemsize and not np.isfinite(out).all():
        check_range(arr, out, name)
    return out


def check_range(arr: np.ndarray, out: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if a finite entry of ``arr`` became inf when cast to ``out``.

    NaN and infinity in ``arr`` itself are left for :func:`check_finite`.
    """
    finite = np.isfinite(arr)
    if (finite & ~np.isfinite(out)).any():
        info = np.finfo(out.dtype)
        size = float(np.max(np.abs(arr[finite])))
        raise ValueError(
            f"{name} must lie within {out.dtype}'s range (+-{info.max:.3g}) to be converted to "
            f"{out.dtype}, got values up to {size:.3g}"
        )


def allocation_error(sizes: Mapping, nbytes: int, what: str) -> ValueError:
    """The error of :func:`allocating`: the size arguments, and the bytes they need."""

    def joined(items):
        return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"

    got = [f"{k} {v}" if isinstance(v, str) else f"{k}={_SHORT.repr(v)}" for k, v in sizes.items()]
    names, got = joined(list(sizes)), joined(got)
    try:
        need = f"{float(nbytes):.3g}"
    except OverflowError:  # beyond float64: the power of ten is all that matters
        need = f"about 1e+{len(str(nbytes)) - 1}"
    return ValueError(
        f"{names} must be small enough for {what} to fit in memory, got {got}, which need "
        f"{need} bytes"
    )


@contextmanager
def allocating(sizes: Mapping, nbytes: int, what: str):
    """Allocate ``what``, ``nbytes`` in all, or raise a ``ValueError`` naming ``sizes``.

    ``sizes`` maps the caller's size arguments to their checked values (or, for an array
    argument, to a string such as ``"of shape (3,)"``); ``nbytes`` (a Python
    int, exact for any size) is what the arrays of ``what`` take together. More bytes than
    an array can index (``sys.maxsize``) are refused before anything is allocated, and a
    ``MemoryError`` inside the block becomes the same ``ValueError``, instead of NumPy's
    "array is too big" or "Maximum allowed dimension exceeded" and Python's ``MemoryError``.
    """
    if nbytes > sys.maxsize:
        raise allocation_error(sizes, nbytes, what)
    try:
        yield
    except MemoryError as exc:
        raise allocation_error(sizes, nbytes, what) from exc


def check_dtype(dtype) -> np.dtype:
    """Return ``dtype`` as a NumPy dtype if it is float32 or float64.

    ``None``, which NumPy reads as float64, is refused: no function documents it.

    Raises
    ------
    ArgumentTypeError
        For any other dtype, or something that is not a dtype.
    """
    if dtype is None:
        raise ArgumentTypeError("dtype must be float32 or float64, got None")
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if dt not in FLOAT_DTYPES:
        raise ArgumentTypeError(f"dtype must be float32 or float64, got {dt}")
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
    """Raise ``ValueError`` if ``arr`` holds NaN or infinity, saying where."""
    finite = np.isfinite(arr)
    if not finite.all():
        where = tuple(int(k) for k in np.argwhere(~finite)[0])
        raise ValueError(
            f"{name} contains NaN or infinity (got {float(arr[where])!r} at index {where}); "
            "it must be finite"
        )


def check_array(value, name: str, expected: tuple, labels: str, dtype=None) -> np.ndarray:
    """A finite float array of the ``expected`` shape (see :func:`check_shape`)."""
    arr = as_float_array(value, name, dtype)
    check_shape(arr, name, expected, labels)
    check_finite(arr, name)
    return arr


def check_sequence(x, D: int, dtype) -> np.ndarray:
    """A batch of sequences as a finite ``(N, T, D)`` array of ``dtype``, with ``N, T >= 1``."""
    x = as_float_array(x, "x", dtype)
    check_shape(x, "x", (None, None, D), "(N, T, D)")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have at least one sequence and one time step, got {x.shape}")
    check_finite(x, "x")
    return x


def check_step_input(x, D: int, dtype) -> np.ndarray:
    """One step's inputs as a finite ``(N, D)`` array of ``dtype``, with ``N >= 1``."""
    x = check_array(x, "x", (None, D), "(N, D)", dtype)
    if x.shape[0] == 0:
        raise ValueError(f"x must have at least one row (N >= 1), got {x.shape}")
    return x


def check_size(shape: tuple, name: str, axis: int, what: str) -> int:
    """``shape[axis]``, a size read off an array of ``name``; ``ValueError`` if it is 0.

    ``what`` names the size, e.g. ``"hidden size H"``.
    """
    if shape[axis] < 1:
        article = "an" if what[0] in "aeiou" else "a"
        raise ValueError(
            f"{name} must have {article} {what} of at least 1, got shape {shape} "
            f"({what.split()[-1]} = 0)"
        )
    return shape[axis]


def largest(value) -> float:
    """The largest magnitude in an array, a number or a dict of arrays (0 for none).

    Two reductions per array, no copy (it runs on every forward pass).
    """
    parts = value.values() if isinstance(value, Mapping) else (value,)
    result = 0.0
    for part in parts:
        arr = np.asarray(part)
        if arr.size and arr.dtype.kind in "biuf":
            result = max(result, -float(arr.min()), float(arr.max()))
    return result


def check_overflow(inputs: Mapping, dtype, what: str, *results) -> None:
    """Raise ``ValueError`` if a result computed from finite arguments is not finite.

    The rule for overflow: a function whose arguments are finite returns finite results or
    raises this error, never a floating-point warning (compute under
    ``np.errstate(over="ignore", invalid="ignore")``) and never inf or NaN. Inf or NaN in
    one of ``results`` then means that an intermediate overflowed ``dtype`` (``None``: the
    dtype of the first result that is not finite). ``inputs``
    maps the arguments that could have caused it to their values (arrays, numbers, dicts of
    arrays or None); the message names the largest, the one to scale down. ``what`` names
    the results, e.g. ``"the gradients"``. Call it once per call, after the work: it costs
    one pass over the results.
    """
    for result in results:
        if not np.isfinite(result).all():
            raise overflow_error(inputs, np.result_type(result) if dtype is None else dtype, what)


def overflow_error(inputs: Mapping, dtype, what: str) -> ValueError:
    """The error of :func:`check_overflow`, naming the largest of ``inputs``."""
    sizes = {name: largest(value) for name, value in inputs.items() if value is not None}
    name = max(sizes, key=sizes.get)
    dtype = np.dtype(dtype)
    return ValueError(
        f"{name} must be small enough for {what} to stay within {dtype} (largest "
        f"{np.finfo(dtype).max:.3g}), got values up to {sizes[name]:.3g}, which overflow it"
    )


def check_affine(terms, b, dtype, inputs: Mapping, what: str) -> None:
    """Refuse arguments for which ``sum_k z_k @ W_k + b`` could overflow ``dtype``.

    ``terms`` are pairs ``(largest |z_k|, W_k)``. Every partial sum of the products is
    bounded by ``|b| + sum_k largest_k * (column sums of |W_k|)``; if that bound is finite
    in ``dtype``, nothing can overflow (no inf, no inf - inf), so a loop needs no check of
    its own. Otherwise the error names the largest of ``inputs`` (see :func:`overflow_error`).
    Costs one pass over the ``W_k``.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        bound = np.abs(np.asarray(b, np.float64))
        for largest, W in terms:
            bound = bound + float(largest) * np.abs(W).sum(axis=0, dtype=np.float64)
        largest_bound = float(np.max(bound)) if bound.size else 0.0
    if not largest_bound < 0.99 * float(np.finfo(dtype).max):
        raise overflow_error(inputs, dtype, what)


@contextmanager
def overflow_checked(inputs: Mapping, dtype, what: str):
    """Run a loop of checked steps whose arguments were all checked before it.

    A step that overflows raises a ``ValueError`` naming its own arguments (or refuses the
    inf it is handed); here it becomes :func:`overflow_error`'s, naming the caller's
    ``inputs``. Floating-point warnings are silenced inside: each step checks its results.
    """
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            yield
    except ValueError as exc:
        raise overflow_error(inputs, dtype, what) from exc


def check_state(value, name: str, N: int, H: int, dtype) -> np.ndarray:
    """A state ``h`` or ``c`` (or its gradient) as a finite ``(N, H)`` array of ``dtype``.

    ``None`` means zeros.
    """
    if value is None:
        return np.zeros((N, H), dtype)
    return check_array(value, name, (N, H), "(N, H)", dtype)


def array_dict(value, name: str) -> Mapping:
    """``value`` unchanged if it is a dict (any mapping) of arrays of real numbers.

    Raises
    ------
    ArgumentTypeError
        If ``value`` is not a mapping, or one of its values is not an array of numbers
        (float32/float64, or integers).
    """
    if not isinstance(value, Mapping):
        raise ArgumentTypeError(f"{name} must be a dict of arrays, got {describe(value)}")
    for key, arr in value.items():
        as_float_array(arr, f"{name}[{key!r}]")
    return value


def callable_arg(value, name: str, what: str = "a function"):
    """``value`` if it is callable, else :class:`ArgumentTypeError`."""
    if not callable(value):
        raise ArgumentTypeError(f"{name} must be {what}, got {describe(value)}")
    return value

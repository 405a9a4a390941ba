"""Hidden tests of problem set 3: init_params and the fused step ``lstm_step_forward``.

The step's cells share one rule: a cell that grades an aspect other than the values (shapes,
batches, float32, the cache) also wants ``h`` and ``c`` right on ordinary inputs, so a step
that computes wrong values gets no points for self-consistency alone.
"""

from __future__ import annotations

import numpy as np

from ..checks import call_isolated
from . import contract
from .common import array_of, call, close, close_or_named, same, step_cases

NAME = "lstm_step_forward"
ARGS = ("x", "h_prev", "c_prev", "params")


def _run(step, case):
    """The student's step on one case: checks the form (h, c, cache) and the shapes."""
    __tracebackhide__ = True
    label, x, h_prev, c_prev, params = case
    out = call(step, x, h_prev, c_prev, params, name=NAME, names=ARGS, case=label)
    if not (isinstance(out, tuple) and len(out) == 3):
        raise AssertionError(f"{NAME} should return the tuple (h, c, cache) ({label})")
    h, c, cache = out
    N, H = h_prev.shape
    array_of(h, f"h ({label})", (N, H))
    array_of(c, f"c ({label})", (N, H))
    return h, c, cache


SWAPPED = "h and c are swapped: return h, c, cache in this order"


def _close_state(got, ref, other, what: str, dtype=np.float64) -> None:
    """``close(got, ref)``; on failure, says so if ``got`` is the other state (h for c, c for
    h) of the reference: the step returned (c, h, cache)."""
    __tracebackhide__ = True
    close_or_named(got, ref, what, lambda: [(SWAPPED, other)], dtype)


def _values(step, seed: int, dtype=np.float64, extreme: bool = False):
    """Run every case; h and c must agree with the reference. Yields (case, student, ref)."""
    __tracebackhide__ = True
    for case in step_cases(seed, dtype, extreme):
        label = case[0]
        h, c, cache = _run(step, case)
        want = contract.step_forward(*case[1:])
        _close_state(h, want[0], want[1], f"h ({label})", dtype)
        _close_state(c, want[1], want[0], f"c ({label})", dtype)
        yield case, (h, c, cache), want


def check_init_params(init_params) -> None:
    """Shapes, dtype, range, forget bias 1, randomness and seeding, for several sizes."""
    __tracebackhide__ = True
    for D, H, dtype in [
        (1, 1, np.float64),
        (7, 2, np.float32),
        (2, 7, np.float64),
        (4, 16, np.float64),
    ]:
        generator = np.random.default_rng(D * 100 + H)
        fresh = generator.bit_generator.state
        p = call_isolated(init_params, D, H, generator, dtype, name="init_params")
        if generator.bit_generator.state == fresh:
            raise AssertionError(
                f"init_params drew nothing from the Generator passed as rng (D, H = {D}, {H}): "
                "draw every array from it, so that the caller's generator decides the params "
                "(rng = np.random.default_rng(rng) returns a Generator as it is)"
            )
        assert isinstance(p, dict) and sorted(p) == ["Wh", "Wx", "b"], (
            "params should be a dict with the keys Wx, Wh, b"
        )
        for key, shape in [("Wx", (D, 4 * H)), ("Wh", (H, 4 * H)), ("b", (4 * H,))]:
            array_of(p[key], f"params[{key!r}] for D, H = {D}, {H}", shape, dtype)
        bound = 1 / np.sqrt(H)
        b = p["b"].tolist()
        assert b[H : 2 * H] == [1.0] * H, (
            f"the forget gate's bias (b[H:2H]) should be 1 (D, H = {D}, {H})"
        )
        biases = b[:H] + b[2 * H :]  # of the input gate, output gate and candidate
        if len(set(biases)) < len(biases) // 2 + 1:
            raise AssertionError(
                "the biases of the input gate, the output gate and the candidate (b[:H] and "
                "b[2H:]) should be drawn uniformly from [-1/sqrt(H), 1/sqrt(H)] like the "
                f"weights, only the forget gate's set to 1 (D, H = {D}, {H}); here these "
                f"{len(biases)} biases take only {len(set(biases))} distinct value(s)"
            )
        others = p["Wx"].ravel().tolist() + p["Wh"].ravel().tolist() + biases
        assert all(abs(v) <= bound * (1 + 1e-6) for v in others), (
            f"weights should lie in [-1/sqrt(H), 1/sqrt(H)] (D, H = {D}, {H})"
        )
        assert len(set(others)) > len(others) // 2, "the weights should be random"
        # Each weight matrix on its own: one drawn from [0, bound) hides among the rest. With 40
        # uniform draws, missing a half of the range has p < 1e-4. (At every size above with 40
        # weights or more, Wx or Wh alone has 40: the range of all of them together follows.)
        for key in ("Wx", "Wh"):
            w = p[key].ravel().tolist()
            if len(w) >= 40 and not (max(w) > 0.5 * bound and min(w) < -0.5 * bound):
                raise AssertionError(
                    f"params[{key!r}] should fill the range [-1/sqrt(H), 1/sqrt(H)] = "
                    f"[{-bound:.4f}, {bound:.4f}] (D, H = {D}, {H}), its values lie in "
                    f"[{min(w):.4f}, {max(w):.4f}]: draw it uniformly from -bound to bound"
                )
    twins = [
        call_isolated(init_params, 3, 4, np.random.default_rng(77), name="init_params")
        for _ in range(2)
    ]
    if not all(twins[0][k].tolist() == twins[1][k].tolist() for k in twins[0]):
        raise AssertionError(
            "two Generators made from the same seed should give the same params: use the "
            "Generator passed as rng (np.random.default_rng(rng) returns it as it is)"
        )
    D, H = 3, 4
    a = call_isolated(init_params, D, H, 123, name="init_params")
    b = call_isolated(init_params, D, H, 123, name="init_params")
    c = call_isolated(init_params, D, H, 124, name="init_params")
    assert all(a[k].tolist() == b[k].tolist() for k in a), (
        "an int seed should give reproducible params"
    )
    drawn = a["Wx"].ravel().tolist() + a["Wh"].ravel().tolist()
    drawn += a["b"][:H].tolist() + a["b"][2 * H :].tolist()  # all but the forget gate's
    if len(set(drawn)) < len(drawn):
        raise AssertionError(
            f"with an int seed (rng=123, D, H = {D}, {H}) the same random values appear in several "
            "places of Wx, Wh and b: was a new generator made from the seed for each array? Make "
            "the generator once, rng = np.random.default_rng(rng), and draw every array from it"
        )
    assert a["Wh"].tolist() != c["Wh"].tolist(), "different seeds should give different params"


def check_shapes(step) -> None:
    """(h, c, cache): h, c float64 (N, H), the cache a dict with the contract's keys."""
    __tracebackhide__ = True
    for case, (h, _, cache), _ in _values(step, 3001):
        label = case[0]
        N, H = case[2].shape
        array_of(h, f"h ({label})", (N, H), np.float64)
        if not isinstance(cache, dict) or set(cache) != set(contract.CACHE_KEYS):
            got = sorted(cache) if isinstance(cache, dict) else type(cache).__name__
            raise AssertionError(
                f"the cache should be a dict with the keys {list(contract.CACHE_KEYS)}, got {got}"
            )
        for key in ("i", "f", "o", "g", "c", "tanh_c"):
            array_of(cache[key], f'cache["{key}"] ({label})', (N, H))


def _check_block(step, seed: int, keys, what: str) -> None:
    __tracebackhide__ = True
    for case in step_cases(seed, np.float64, extreme=True):
        label = case[0]
        h, c, cache = _run(step, case)
        want = contract.step_forward(*case[1:])
        for key in keys:
            if key == "h":
                _close_state(h, want[0], want[1], f"{what} h ({label})")
            elif key == "c":
                _close_state(c, want[1], want[0], f"{what} c ({label})")
            else:
                if not isinstance(cache, dict) or key not in cache:
                    raise AssertionError(f'the cache should be a dict with the key "{key}"')
                close(cache[key], want[2][key], f"{what} {key} ({label})")


def check_gates(step) -> None:
    """The gates i, f, o, g in the cache, saturated ones too, against the reference."""
    __tracebackhide__ = True
    _check_block(step, 3002, ("i", "f", "o", "g"), "the gate")


def check_c(step) -> None:
    """The new long-term memory c, against the reference, saturated gates too."""
    __tracebackhide__ = True
    _check_block(step, 3003, ("c",), "the new memory")


def check_h(step) -> None:
    """The new short-term memory h, against the reference, large memories too."""
    __tracebackhide__ = True
    _check_block(step, 3004, ("h",), "the output")


def check_batch(step) -> None:
    """Each row alone gives that row of the batch (N = 1); arguments unchanged (in call)."""
    __tracebackhide__ = True
    for case, (h, c, _), _ in _values(step, 3005):
        label, x, h_prev, c_prev, params = case
        for r in range(x.shape[0]):
            row = (
                f"row {r} alone ({label})",
                x[r : r + 1],
                h_prev[r : r + 1],
                c_prev[r : r + 1],
                params,
            )
            h1, c1, _ = _run(step, row)
            close(h1, h[r : r + 1], f"h of {row[0]}")
            close(c1, c[r : r + 1], f"c of {row[0]}")


def check_float32(step) -> None:
    """float32 in, float32 out (h, c, every cache array), values of the float32 reference."""
    __tracebackhide__ = True
    for case in step_cases(3006, np.float32, extreme=True):
        label = case[0]
        N, H = case[2].shape
        h, c, cache = _run(step, case)
        array_of(h, f"h ({label})", (N, H), np.float32)
        array_of(c, f"c ({label})", (N, H), np.float32)
        if isinstance(cache, dict):
            for key in ("i", "f", "o", "g", "c", "tanh_c"):
                if key in cache:
                    array_of(cache[key], f'cache["{key}"] ({label})', (N, H), np.float32)
        want = contract.step_forward(*case[1:])
        _close_state(h, want[0], want[1], f"float32 h ({label})", np.float32)
        _close_state(c, want[1], want[0], f"float32 c ({label})", np.float32)


def check_cache(step) -> None:
    """The cache in full: the step's inputs (the previous states), gates, c, tanh(c), params."""
    __tracebackhide__ = True
    for case, (_, _, cache), want in _values(step, 3007, extreme=True):
        label, x, h_prev, c_prev, params = case
        if not isinstance(cache, dict) or set(cache) != set(contract.CACHE_KEYS):
            raise AssertionError(
                f"the cache should be a dict with the keys {list(contract.CACHE_KEYS)}"
            )
        for key, given in (("x", x), ("h_prev", h_prev), ("c_prev", c_prev)):
            if type(cache[key]) is not np.ndarray or not same(cache[key], given):
                raise AssertionError(
                    f'cache["{key}"] should be the step\'s argument {key} ({label}): the '
                    "backward pass needs the inputs of the step, not its results"
                )
        if not (isinstance(cache["params"], dict) and same(cache["params"], params)):
            raise AssertionError(
                f'cache["params"] should hold the params the step was given, the same arrays '
                f"(the dict itself or a copy of it) ({label})"
            )
        for key in ("i", "f", "o", "g", "c", "tanh_c"):
            close(cache[key], want[2][key], f'cache["{key}"] ({label})')

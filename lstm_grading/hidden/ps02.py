"""Hidden tests of problem set 2: the four gates, the cell update and the hidden update."""

from __future__ import annotations

import numpy as np

from ..checks import reference
from .common import array_of, call, close, close_or_named, random_params, saturating_params

GATE_FUNCTIONS = {
    "f": "forget_gate",
    "i": "input_gate",
    "g": "candidate_memory",
    "o": "output_gate",
}


def _gate_cases(seed: int):
    """``(label, x, h_prev, params, dtype)``: sizes, N = 1, D != H, saturation, float32."""
    rng = np.random.default_rng(seed)
    for dtype in (np.float64, np.float32):
        for N, D, H, scale in [
            (1, 1, 1, 1.0),
            (5, 3, 2, 1.0),
            (2, 4, 7, 1.0),
            (1, 6, 3, 0.5),
            (6, 2, 2, 8.0),
        ]:
            params = random_params(rng, D, H, scale, dtype)
            x = rng.normal(0.0, 2.0, (N, D)).astype(dtype)
            h_prev = rng.normal(0.0, 1.0, (N, H)).astype(dtype)
            yield f"N, D, H = {N}, {D}, {H}, {np.dtype(dtype)}", x, h_prev, params, dtype
        params = saturating_params(rng, 3, 4, dtype)
        x, h_prev = rng.normal(size=(5, 3)).astype(dtype), rng.normal(size=(5, 4)).astype(dtype)
        yield f"saturated gates (sums near +-1000), {np.dtype(dtype)}", x, h_prev, params, dtype


def _mistakes(gate: str, params: dict) -> list[tuple[str, dict]]:
    """``(hint, params)``: the reference on these params gives what a usual mistake gives."""
    H = params["Wh"].shape[0]
    k = "ifog".index(gate)
    cols = slice(k * H, (k + 1) * H)
    transposed = {**params, "Wh": params["Wh"].copy()}
    transposed["Wh"][:, cols] = params["Wh"][:, cols].T
    unbiased = {**params, "b": params["b"].copy()}
    unbiased["b"][cols] = 0
    return [
        (
            f"they equal the result with Wh_{gate} transposed (is Wh_{gate} transposed? "
            f"h_prev @ Wh_{gate} is (N, H) @ (H, H), and row m of Wh_{gate} holds the weights "
            "from unit m of h_prev)",
            transposed,
        ),
        (f"they equal the result without the bias b_{gate} (is the bias missing?)", unbiased),
    ]


def check_gate(fn, gate: str) -> None:
    """One gate function against the reference's, on every case of :func:`_gate_cases`.

    Wrong values that a usual mistake (a transposed ``Wh_k``, no bias) gives are named.
    """
    __tracebackhide__ = True
    name = GATE_FUNCTIONS[gate]
    ref = reference(name)
    seed = 2000 + "ifog".index(gate)
    for label, x, h_prev, params, dtype in _gate_cases(seed):
        got = call(fn, x, h_prev, params, name=name, names=("x", "h_prev", "params"))
        array_of(got, f"{name} ({label})", (x.shape[0], h_prev.shape[1]), dtype)
        close_or_named(
            got,
            ref(x, h_prev, params),
            f"{name} ({label})",
            lambda: ((hint, ref(x, h_prev, p)) for hint, p in _mistakes(gate, params)),  # noqa: B023
            dtype,
        )


def _states(seed: int):
    """``(label, dtype, c_prev, f, i, g, c, o)`` for the two updates, gates in their ranges."""
    rng = np.random.default_rng(seed)
    for dtype in (np.float64, np.float32):
        for N, H in [(1, 1), (4, 3), (2, 6)]:
            f, i, o = (rng.uniform(0.0, 1.0, (N, H)).astype(dtype) for _ in range(3))
            g = rng.uniform(-1.0, 1.0, (N, H)).astype(dtype)
            c_prev = rng.normal(0.0, 3.0, (N, H)).astype(dtype)
            c = rng.normal(0.0, 3.0, (N, H)).astype(dtype)
            c[0, 0] = 1000.0 if N * H > 1 else c[0, 0]  # tanh of a large memory
            yield f"N, H = {N}, {H}, {np.dtype(dtype)}", dtype, c_prev, f, i, g, c, o


def check_cell_update(fn) -> None:
    """cell_update against the reference: values, new array, float32 kept."""
    __tracebackhide__ = True
    ref = reference("cell_update")
    for label, dtype, c_prev, f, i, g, _, _ in _states(2005):
        got = call(fn, c_prev, f, i, g, name="cell_update", names=("c_prev", "f", "i", "g"))
        array_of(got, f"cell_update ({label})", c_prev.shape, dtype)
        close(got, ref(c_prev, f, i, g), f"cell_update ({label})", dtype)


def check_hidden_update(fn) -> None:
    """hidden_update against the reference: values (large memories too), float32 kept."""
    __tracebackhide__ = True
    ref = reference("hidden_update")
    for label, dtype, _, _, _, _, c, o in _states(2006):
        got = call(fn, c, o, name="hidden_update", names=("c", "o"))
        array_of(got, f"hidden_update ({label})", c.shape, dtype)
        close(got, ref(c, o), f"hidden_update ({label})", dtype)

"""Hidden tests of problem set 4: lstm_forward, hand_worked_params, two_companies, predict_day5.

The notebook gives the step (the contract's ``lstm_step_forward``), so the hidden tests grade
the loop: the outputs of every step, the cache of every step (the states each step started
from: an off-by-one in time shows there), default states and unchanged arguments.
"""

from __future__ import annotations

import numpy as np

from ..checks import graders_own, reference
from . import contract
from .common import (
    F64,
    array_of,
    call,
    close,
    in_place_of_the_students,
    names_global_data,
    random_params,
)

NAME = "lstm_forward"


def _sequences(seed: int):
    """``(label, x, params, h0, c0)``: T = 1, N = 1, D != H, long sequences, given states."""
    rng = np.random.default_rng(seed)
    for N, T, D, H in [(1, 1, 1, 1), (3, 1, 2, 5), (2, 9, 3, 4), (4, 5, 6, 2), (1, 20, 1, 1)]:
        params = random_params(rng, D, H)
        x = rng.normal(size=(N, T, D))
        h0, c0 = rng.uniform(-1.0, 1.0, (N, H)), rng.normal(0.0, 2.0, (N, H))
        size = f"N, T, D, H = {N}, {T}, {D}, {H}"
        yield f"{size}, h0 and c0 given", x, params, h0, c0
        yield f"{size}, no h0 or c0", x, params, None, None
        yield f"{size}, h0 only", x, params, h0, None
        yield f"{size}, c0 only", x, params, None, c0


def _run(forward, case):
    __tracebackhide__ = True
    label, x, params, h0, c0 = case
    out = call(forward, x, params, h0, c0, name=NAME, names=("x", "params", "h0", "c0"), case=label)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise AssertionError(f"{NAME} should return the tuple (hs, cache) ({label})")
    hs, cache = out
    N, T, _ = x.shape
    array_of(hs, f"hs ({label})", (N, T, params["Wh"].shape[0]), x.dtype)
    want = contract.forward(x, params, h0, c0)
    close(hs, want[0], f"hs ({label})")
    return hs, cache, want


@names_global_data
def check_shapes(forward) -> None:
    """hs (N, T, H) with the reference's values; cache a list of T step caches; T = 1."""
    __tracebackhide__ = True
    for case in _sequences(2404):
        _, cache, _ = _run(forward, case)
        T = case[1].shape[1]
        if not isinstance(cache, list) or len(cache) != T:
            raise AssertionError(
                f"the cache should be the list of the T = {T} step caches ({case[0]})"
            )


@names_global_data
def check_values(forward) -> None:
    """hs, and every step's cache in full (its inputs: the states of the step before)."""
    __tracebackhide__ = True
    for case in _sequences(2405):
        label = case[0]
        _, cache, (_, want) = _run(forward, case)
        if not isinstance(cache, list) or len(cache) != len(want):
            raise AssertionError(f"the cache should be the list of the T step caches ({label})")
        if len({id(step) for step in cache}) != len(cache):
            raise AssertionError(
                f"some entries of the cache are one and the same dict ({label}): append each "
                "step's own cache (the new dict the step returns), not one dict updated at "
                "every step"
            )
        for t, (got, ref) in enumerate(zip(cache, want, strict=True)):
            if not isinstance(got, dict) or set(got) != set(ref):
                raise AssertionError(f"cache[{t}] should be the cache step {t} returned ({label})")
            for key in contract.CACHE_KEYS:
                if key == "params":
                    continue
                hint = " (the states the step started from)" if key.endswith("_prev") else ""
                close(got[key], ref[key], f'cache[{t}]["{key}"]{hint} ({label})')


def check_hand_worked_params(fn) -> None:
    """The hand-worked unit's weights, exactly, in GATES order."""
    __tracebackhide__ = True
    P = call(fn, name="hand_worked_params")
    want = contract.hand_worked_params()  # after the call: its frame would hand it over
    assert isinstance(P, dict) and set(P) == set(want), (
        "hand_worked_params should return a dict with the keys Wx, Wh and b"
    )
    for key in want:
        array_of(P[key], f"params[{key!r}]", want[key].shape)
        if P[key].dtype != want[key].dtype:
            raise AssertionError(
                f"params[{key!r}] should be {want[key].dtype}, NumPy's default, got "
                f"{P[key].dtype}, which does not hold the table's numbers exactly "
                f"({float(want[key].flat[0])!r} becomes {float(P[key].flat[0])!r}): "
                "leave out the dtype"
            )
        close(P[key], want[key], f"params[{key!r}]", rtol=0.0, atol=1e-12)


def check_two_companies(fn) -> None:
    __tracebackhide__ = True
    out = call(fn, name="two_companies")
    assert isinstance(out, tuple) and len(out) == 2, "two_companies should return (x, y)"
    want_x, want_y = reference("two_companies")()
    array_of(out[0], "x", want_x.shape)
    array_of(out[1], "y", want_y.shape)
    close(out[0], want_x, "x", rtol=0.0, atol=0.0)
    close(out[1], want_y, "y", rtol=0.0, atol=0.0)


def _near(got: np.ndarray, want: np.ndarray) -> bool:
    """Equal to round-off (plain Python on the values; shapes already checked)."""
    return all(
        abs(g - w) <= F64["atol"] + F64["rtol"] * abs(w)
        for g, w in zip(got.ravel().tolist(), want.ravel().tolist(), strict=True)
    )


def _correct_forward(order: tuple[str, ...]):
    """A correct ``lstm_forward`` in plain NumPy (gate blocks in ``order``), to grade
    ``predict_day5`` on its own: the reference package may not run inside a student's call."""

    @graders_own("lstm_forward (the hidden tests' own)")
    def lstm_forward(x, params, h0=None, c0=None):
        N, T, _ = x.shape
        H = params["Wh"].shape[0]
        h = np.zeros((N, H)) if h0 is None else h0
        c = np.zeros((N, H)) if c0 is None else c0
        hs, caches = np.empty((N, T, H)), []
        for t in range(T):
            a = x[:, t] @ params["Wx"] + h @ params["Wh"] + params["b"]
            z = dict(zip(order, np.split(a, 4, axis=1), strict=True))
            i, f, o = (0.5 + 0.5 * np.tanh(0.5 * z[k]) for k in ("i", "f", "o"))
            g = np.tanh(z["g"])
            c_next = f * c + i * g
            tanh_c = np.tanh(c_next)
            step = {"x": x[:, t], "h_prev": h, "c_prev": c, "i": i, "f": f, "o": o, "g": g}
            h, c = o * tanh_c, c_next
            caches.append({**step, "c": c, "tanh_c": tanh_c, "params": params})
            hs[:, t] = h
        return hs, caches

    return lstm_forward


@names_global_data
def check_predict_day5(fn, namespace: dict) -> None:
    """The last h (not c, not the first step's), for the companies and random sequences, with
    a correct ``lstm_forward`` in place of the student's (``namespace`` is the notebook's
    globals): predict_day5 is graded on its own, a wrong lstm_forward costs its own cells."""
    __tracebackhide__ = True
    x, _ = reference("two_companies")()
    cases = [(x, contract.hand_worked_params())]
    rng = np.random.default_rng(2406)
    for N, T, D, H in [(3, 6, 2, 4), (1, 1, 3, 2), (2, 3, 1, 1)]:
        cases.append((rng.normal(size=(N, T, D)), random_params(rng, D, H)))
    with in_place_of_the_students(namespace, "lstm_forward", _correct_forward(contract.gates())):
        for x, params in cases:
            _check_prediction(fn, x, params)


def _check_prediction(fn, x, params) -> None:
    __tracebackhide__ = True
    label = f"x of shape {x.shape}"
    got = call(fn, x, params, name="predict_day5", names=("x", "params"), case=label)
    hs, caches = contract.forward(x, params)
    want = hs[:, -1]
    array_of(got, f"predict_day5 for {label}", want.shape)
    if _near(got, caches[-1]["c"]) and not _near(got, want):
        raise AssertionError(
            f"predict_day5 returned the long-term memory c after the last step for {label}; "
            "the prediction is h, the short-term memory"
        )
    T = x.shape[1]
    for t in range(T - 1):  # h after an earlier step: a hard-coded or off-by-one index
        if _near(got, hs[:, t]) and not _near(got, want):
            raise AssertionError(
                f"predict_day5 returned h after step {t} (hs[:, {t}]) for {label}; the "
                f"prediction is h after the last step, hs[:, T - 1] = hs[:, {T - 1}] here: "
                "take the last step for any T (hs[:, -1])"
            )
    close(got, want, f"predict_day5 for {label}")

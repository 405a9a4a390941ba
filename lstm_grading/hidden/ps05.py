"""Hidden tests of problem set 5: rel_error, numerical_gradient, the backward step, BPTT."""

from __future__ import annotations

import itertools

import numpy as np

from ..checks import call_isolated, graders_own, reference
from . import contract
from .common import (
    array_of,
    call,
    close,
    close_or_named,
    copy_arg,
    in_place_of_the_students,
    names_global_data,
    random_params,
    same,
)


def check_rel_error(fn) -> None:
    """A float, the largest entry's error (not a mean), zeros, signs, any shape."""
    __tracebackhide__ = True
    ref = reference("rel_error")
    rng = np.random.default_rng(2501)
    for shape in [(1,), (7,), (3, 4), (2, 3, 2)]:
        a = rng.normal(size=shape)
        one_off = a.copy()
        one_off.flat[-1] += 0.5  # one entry far off, the others equal: a mean hides it
        for b in (
            a + 1e-6 * rng.normal(size=shape),
            rng.normal(size=shape),
            -a,
            np.zeros(shape),
            one_off,
        ):
            got = call(fn, a, b, name="rel_error", names=("a", "b"))
            assert isinstance(got, float), (
                f"rel_error should return a float, got {type(got).__name__}"
            )
            close(
                np.asarray(got),
                np.asarray(ref(a, b)),
                f"rel_error on arrays of shape {shape}",
                rtol=1e-12,
                atol=0.0,
            )
    got = call(fn, np.zeros((2, 2)), np.zeros((2, 2)), name="rel_error", names=("a", "b"))
    assert got == 0.0, f"two zero arrays should have relative error 0, got {got!r}"


class _Reusing:
    """An f that writes its result into one buffer and returns it every time (as layers
    with preallocated outputs do): a gradient checker must copy what f returns."""

    def __init__(self, A):
        self.A = A
        self.out = None

    def __call__(self, v):
        result = np.tanh(v @ self.A)
        if self.out is None:
            self.out = result
        else:
            self.out[...] = result
        return self.out


def check_numerical_gradient(fn) -> None:
    """Centred differences against the reference and exact gradients; x restored exactly;
    f read from outside; f reusing its output buffer; the step size h used."""
    __tracebackhide__ = True
    ref = reference("numerical_gradient")
    rng = np.random.default_rng(2502)
    A = rng.normal(size=(4, 3))
    B = rng.normal(size=(2, 5))
    v1 = rng.normal(size=3)
    v2, df2 = rng.normal(size=(2, 4)), rng.normal(size=(2, 3))
    closure, df4 = rng.normal(size=(5, 2)), rng.normal(size=(2, 2))
    # (label, f, x, df, h, the exact gradient or None), the gradient computed after the call as
    # the reference's is: a function can read the frames above it, and return what is there.
    cases = [
        (
            "a scalar f of a vector",
            lambda v: float(np.sum(np.exp(0.5 * v) * A[0])),
            v1,
            None,
            1e-5,
            lambda: 0.5 * np.exp(0.5 * v1) * A[0],
        ),
        (
            "an array f with df",
            lambda v: np.tanh(v @ A),
            v2,
            df2,
            1e-5,
            lambda: (df2 * (1 - np.tanh(v2 @ A) ** 2)) @ A.T,
        ),
        (
            "a 3-D x and a large h",
            lambda v: np.sin(v) * 2.0,
            rng.normal(size=(2, 2, 3)),
            rng.normal(size=(2, 2, 3)),
            1e-2,
            None,
        ),
        ("an f that reads x from outside", lambda _: np.cos(B @ closure), closure, df4, 1e-5, None),
        (
            "an f that returns the same buffer every call",
            _Reusing(A),
            v2.copy(),
            df2,
            1e-5,
            lambda: (df2 * (1 - np.tanh(v2 @ A) ** 2)) @ A.T,
        ),
        (
            "x = 0.1 * k, whose entries +- h do not round back",
            lambda v: float(np.sum(v**3)),
            0.1 * np.arange(1.0, 7.0).reshape(2, 3),
            None,
            1e-5,
            None,
        ),
    ]
    for label, f, x, df, h, exact in cases:
        x_before = x.copy()
        got = call_isolated(fn, f, x, df, h, name="numerical_gradient")
        if not same(x, x_before):
            raise AssertionError(f"numerical_gradient did not restore x exactly ({label})")
        # After the call, which could read a result made before it from this frame. The
        # reference copies f's result (the f reusing its buffer).
        want = ref(f, x, df, h)
        array_of(got, f"numerical_gradient on {label}", x.shape, x.dtype)
        try:
            close(got, want, f"numerical_gradient on {label}", rtol=1e-7, atol=1e-9)
            if exact is not None:
                close(got, exact(), f"numerical_gradient on {label}", rtol=1e-6, atol=1e-8)
        except AssertionError as exc:
            if not isinstance(f, _Reusing):
                raise
            raise AssertionError(
                f"{exc}; copy what f returns (np.array(f(x))) before calling f again: f may "
                "reuse its output array, so the array it returned first changes with the next call"
            ) from None
    # Called without h: the default step h=1e-5.
    x, f = rng.normal(size=(2, 3)), lambda v: float(np.sum(np.sin(v) * v))
    got = call_isolated(fn, f, x, name="numerical_gradient")
    array_of(got, "numerical_gradient(f, x)", x.shape, x.dtype)
    close(
        got,
        ref(f, x.copy(), None, 1e-5),
        "numerical_gradient(f, x), called without df and h (the default step is h=1e-5)",
        rtol=1e-7,
        atol=1e-9,
    )


def _step_cases(seed: int):
    rng = np.random.default_rng(seed)
    for N, D, H, scale in [
        (1, 1, 1, 1.0),
        (2, 3, 4, 1.0),
        (5, 2, 3, 3.0),
        (3, 6, 2, 0.3),
        (4, 2, 4, 20.0),
    ]:
        p = random_params(rng, D, H, scale)
        x, h_prev, c_prev = (
            rng.normal(size=(N, D)),
            rng.normal(size=(N, H)),
            rng.normal(size=(N, H)),
        )
        for dh, dc in [
            (rng.normal(size=(N, H)), rng.normal(size=(N, H))),
            (rng.normal(size=(N, H)), np.zeros((N, H))),
            (np.zeros((N, H)), rng.normal(size=(N, H))),
        ]:
            yield f"N, D, H = {N}, {D}, {H}", x, h_prev, c_prev, p, dh, dc


def _backward_step(step_backward, case):
    __tracebackhide__ = True
    _, x, h_prev, c_prev, p, dh, dc = case
    cache = contract.step_forward(x, h_prev, c_prev, p)[2]
    out = call(step_backward, dh, dc, cache, name="lstm_step_backward", names=("dh", "dc", "cache"))
    if not (isinstance(out, tuple) and len(out) == 4):
        raise AssertionError("lstm_step_backward should return (dx, dh_prev, dc_prev, grads)")
    return out, contract.step_backward(dh, dc, x, h_prev, c_prev, p)


def _step_mistakes(case) -> list[tuple[str, tuple]]:
    """``(hint, (dx, dh_prev, dc_prev, grads))``: what usual mistakes of the backward step give
    on ``case``: gate blocks out of order, tanh' as 1 + g**2, the gradient on c without the
    slope of tanh at c, c where c_prev is wanted, tanh(c_prev) where tanh(c) is, dWh from h,
    the output gate's block from dc_total, the input gate's with c_prev where g is wanted,
    the slopes taken at the gates' squashed values (sigmoid(i) * (1 - sigmoid(i))), the square
    of 1 - tanh where 1 - tanh**2 is wanted, dc_prev from dc instead of dc_total."""
    _, x, h_prev, c_prev, p, dh, dc = case
    c = contract.step_forward(x, h_prev, c_prev, p)[2]
    i, f, o, g, tc = c["i"], c["f"], c["o"], c["g"], c["tanh_c"]
    right = {k: c[k] * (1 - c[k]) for k in "ifo"}  # the sigmoid's slope, from its output
    # ... and from the sigmoid of its output (0.5 + 0.5 tanh(z / 2) = sigmoid(z), no overflow)
    again = {
        k: (0.5 + 0.5 * np.tanh(0.5 * c[k])) * (0.5 - 0.5 * np.tanh(0.5 * c[k])) for k in "ifo"
    }

    def step(
        order="ifog",
        slope=1 - g * g,
        dct=None,
        state=h_prev,
        memory=c_prev,
        tanh_c=tc,
        slopes=right,
        o_from_dct=False,
        i_partner=g,
    ):
        if dct is None:
            dct = dc + dh * o * (1 - tanh_c * tanh_c)
        blocks = {
            "i": dct * i_partner * slopes["i"],
            "f": dct * memory * slopes["f"],
            "o": (dct if o_from_dct else dh) * tanh_c * slopes["o"],
            "g": dct * i * slope,
        }
        da = np.concatenate([blocks[k] for k in order], axis=1)
        grads = {"Wx": x.T @ da, "Wh": state.T @ da, "b": da.sum(axis=0)}
        return da @ p["Wx"].T, da @ p["Wh"].T, dct * f, grads

    orders = ["".join(order) for order in itertools.permutations("ifog")][1:]
    named = [
        (
            f"they match da with its gate blocks stacked in the order {', '.join(order)}: stack "
            "them in the order of GATES, i, f, o, g",
            step(order=order),
        )
        for order in orders
    ]
    named += [
        (
            "they match tanh' written 1 + g**2 in the candidate's block of da: the slope of tanh "
            "is 1 - tanh**2",
            step(slope=1 + g * g),
        ),
        (
            "they match a gradient on c of dc + dh * o, without the slope of tanh at c: h = o * "
            "tanh(c), so the gradient reaching c from h is dh * o * (1 - tanh_c**2)",
            step(dct=dc + dh * o),
        ),
        (
            "they match the forget gate's block with c, the new memory, where c_prev is wanted: "
            "c = f * c_prev + i * g, so the forget gate's block is dc_total * c_prev * f * (1 - f)",
            step(memory=c["c"]),
        ),
        (
            "they match tanh(c_prev) where tanh(c) is wanted: h = o * tanh(c) reads the new "
            "memory c, whose tanh the cache holds as tanh_c",
            step(tanh_c=np.tanh(c_prev)),
        ),
        (
            "dWh matches h.T @ da: use h_prev, the state the step started from",
            step(state=o * tc),
        ),
        (
            "they match the output gate's block with dc_total where dh is wanted: o reaches the "
            "loss only through h = o * tanh(c), so its block is dh * tanh_c * o * (1 - o)",
            step(o_from_dct=True),
        ),
        (
            "they match the input gate's block with c_prev where g is wanted: i scales the "
            "candidate in c = f * c_prev + i * g, so its block is dc_total * g * i * (1 - i)",
            step(i_partner=c_prev),
        ),
        (
            "they match (1 - tanh_c)**2 where 1 - tanh_c**2 is wanted: the slope of tanh at c "
            "squares tanh_c, not 1 - tanh_c",
            step(dct=dc + dh * o * (1 - tc) ** 2),
        ),
        (
            "they match (1 - g)**2 where 1 - g**2 is wanted in the candidate's block: the slope "
            "of tanh squares g, not 1 - g",
            step(slope=(1 - g) ** 2),
        ),
    ]
    tanh_again = 1 - np.tanh(g) ** 2
    for what, wrong in [
        ("the sigmoid's slope sigmoid(i) * (1 - sigmoid(i))", {"slopes": again}),
        ("tanh's slope 1 - tanh(g)**2", {"slope": tanh_again}),
        (
            "the slopes sigmoid(i) * (1 - sigmoid(i)) and 1 - tanh(g)**2",
            {"slopes": again, "slope": tanh_again},
        ),
    ]:
        hint = (
            f"they match {what} taken at the squashed value that the cache holds, whose slope "
            "is i * (1 - i) for a sigmoid gate and 1 - g**2 for the candidate"
        )
        named.append((hint, step(**wrong)))
    dx, dh_prev, _, grads = step()
    hint = (
        "dc_prev matches dc * f: f multiplies dc_total, the whole gradient on c (dc from the next "
        "step plus dh * o * (1 - tanh_c**2) from h)"
    )
    named.append((hint, (dx, dh_prev, dc * f, grads)))
    return named


def _close_or_named(got, want, what: str, case, k: int, key: str | None) -> None:
    """``close(got, want, what)``; when they differ and ``got`` is what a mistake of
    :func:`_step_mistakes` gives (output ``k`` of the step, ``key`` of grads), it is named."""
    __tracebackhide__ = True
    close_or_named(
        got,
        want,
        what,
        lambda: ((h, w[k] if key is None else w[k][key]) for h, w in _step_mistakes(case)),
        match={"rtol": 1e-7, "atol": 1e-9},
    )


@names_global_data
def check_step_backward_inputs(step_backward) -> None:
    """dx, dh_prev, dc_prev against the reference; dh, dc and the cache left unchanged."""
    __tracebackhide__ = True
    for case in _step_cases(2503):
        got, want = _backward_step(step_backward, case)
        for k, name in enumerate(("dx", "dh_prev", "dc_prev")):
            array_of(got[k], f"{name} ({case[0]})", want[k].shape, want[k].dtype)
            _close_or_named(got[k], want[k], f"{name} ({case[0]})", case, k, None)


@names_global_data
def check_step_backward_params(step_backward) -> None:
    """grads Wx, Wh, b against the reference (and dx as a prerequisite)."""
    __tracebackhide__ = True
    for case in _step_cases(2504):
        got, want = _backward_step(step_backward, case)
        grads = got[3]
        if not (isinstance(grads, dict) and set(grads) == {"Wx", "Wh", "b"}):
            raise AssertionError("grads should be a dict with the keys Wx, Wh, b")
        for key in ("Wx", "Wh", "b"):
            array_of(
                grads[key], f"grads[{key!r}] ({case[0]})", want[3][key].shape, want[3][key].dtype
            )
            _close_or_named(grads[key], want[3][key], f"grads[{key!r}] ({case[0]})", case, 3, key)


@graders_own("lstm_step_backward (the hidden tests' own)")
def _correct_step(dh, dc, c):
    """A correct backward step on the contract's cache, to grade the loop on its own."""
    i, f, o, g, tc, p = c["i"], c["f"], c["o"], c["g"], c["tanh_c"], c["params"]
    dct = dc + dh * o * (1 - tc * tc)
    da = np.concatenate(
        [
            dct * g * i * (1 - i),
            dct * c["c_prev"] * f * (1 - f),
            dh * tc * o * (1 - o),
            dct * i * (1 - g * g),
        ],
        axis=1,
    )
    grads = {"Wx": c["x"].T @ da, "Wh": c["h_prev"].T @ da, "b": da.sum(axis=0)}
    return da @ p["Wx"].T, da @ p["Wh"].T, dct * f, grads


@names_global_data
def check_lstm_backward(lstm_backward, namespace: dict) -> None:
    """BPTT with a correct step in place of the student's (``namespace`` is the notebook's
    globals): dx, dh0, dc0, grads against the reference, dh_last and dc_last, T = 1, N = 1;
    dhs and the caches unchanged."""
    __tracebackhide__ = True
    rng = np.random.default_rng(2505)
    with in_place_of_the_students(namespace, "lstm_step_backward", _correct_step):
        for N, T, D, H in [(1, 1, 1, 1), (2, 6, 3, 4), (4, 3, 5, 2), (3, 15, 1, 2)]:
            p = random_params(rng, D, H)
            x, h0, c0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
            dhs = rng.normal(size=(N, T, H))
            caches = contract.forward(x, p, h0, c0)[1]
            lasts = [(None, None), (rng.normal(size=(N, H)), rng.normal(size=(N, H)))]
            for dh_last, dc_last in lasts:
                size = f"N, T, D, H = {N}, {T}, {D}, {H}"
                if dh_last is None:
                    got = call(
                        lstm_backward, dhs, caches, name="lstm_backward", names=("dhs", "cache")
                    )
                else:
                    size += ", dh_last and dc_last given"
                    got = call(
                        lstm_backward,
                        dhs,
                        copy_arg(caches),
                        dh_last,
                        dc_last,
                        name="lstm_backward",
                        names=("dhs", "cache", "dh_last", "dc_last"),
                    )
                want = contract.backward(dhs, x, p, h0, c0, dh_last, dc_last)
                if not (isinstance(got, tuple) and len(got) == 4):
                    raise AssertionError("lstm_backward should return (dx, dh0, dc0, grads)")
                for k, name in enumerate(("dx", "dh0", "dc0")):
                    array_of(got[k], f"{name} ({size})", want[k].shape, want[k].dtype)
                    close(got[k], want[k], f"{name} ({size})")
                if not (isinstance(got[3], dict) and set(got[3]) == {"Wx", "Wh", "b"}):
                    raise AssertionError("grads should be a dict with the keys Wx, Wh, b")
                for key in ("Wx", "Wh", "b"):
                    close(got[3][key], want[3][key], f"grads[{key!r}] ({size})")


@names_global_data
def check_gradient_errors(gradient_errors, namespace: dict) -> None:
    """Errors below 1e-7 for a right backward pass; a wrong dc0, and one wrong entry of dWh
    among many, are both reported (``namespace``: the notebook's globals)."""
    __tracebackhide__ = True
    rng = np.random.default_rng(2506)
    N, T, D, H = 3, 3, 2, 3
    p = {k: 0.5 * v for k, v in random_params(rng, D, H).items()}
    x, h0, c0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    dhs = rng.normal(size=(N, T, H))
    keys = ("Wx", "Wh", "b", "x", "h0", "c0")

    def run():
        args = (x, p, h0, c0, dhs)
        before = copy_arg(args)
        try:
            errors = call_isolated(gradient_errors, *args, name="gradient_errors")
        except AssertionError:
            raise
        except Exception as exc:  # raised in one of the parts it runs: say so
            raise AssertionError(
                f"gradient_errors raised {type(exc).__name__}: {exc} (N, T, D, H = {N}, {T}, "
                f"{D}, {H}); it runs your numerical_gradient, rel_error and lstm_backward (with "
                "your lstm_step_backward): the tests of parts 1 to 3 say which one fails"
            ) from exc
        for name, old, new in zip(("x", "params", "h0", "c0", "dhs"), before, args, strict=True):
            if not same(old, new):
                raise AssertionError(
                    f"the argument {name} of gradient_errors was not restored exactly after "
                    "numerical_gradient perturbed it: save each entry's value and put it back "
                    "(x[k] = old), since x[k] += h followed by x[k] -= h, or x[k] -= 2 * h and "
                    "x[k] += h, does not always give back the same float"
                )
        if not (isinstance(errors, dict) and set(errors) == set(keys)):
            raise AssertionError(f"gradient_errors should return a dict with the keys {keys}")
        not_numbers = {k: type(errors[k]).__name__ for k in keys if np.ndim(errors[k]) != 0}
        if not_numbers:
            raise AssertionError(
                "gradient_errors should map every name to one number, the float rel_error "
                f"returns; got {not_numbers}"
            )
        return {k: float(errors[k]) for k in keys}

    errors = run()
    bad = [k for k in keys if not errors[k] < 1e-7]
    assert not bad, (
        f"gradient_errors reports errors above 1e-7 for {bad} when it checks your "
        "lstm_backward with your numerical_gradient and rel_error (correct ones give errors "
        "below 1e-7): the tests of parts 1 to 3 say which piece is wrong"
    )
    yours = namespace["lstm_backward"]

    def off_c0(dhs, cache, *args):
        dx, dh0, dc0, grads = yours(dhs, cache, *args)
        return dx, dh0, 0.5 * dc0, grads

    def off_one_entry(dhs, cache, *args):
        dx, dh0, dc0, grads = yours(dhs, cache, *args)
        wh = grads["Wh"].copy()
        wh[0, 0] = wh[0, 0] * 1.05 + 1e-3  # one entry of 4H * H = 36 off by about 5%
        return dx, dh0, dc0, {**grads, "Wh": wh}

    reports = []
    for wrong, key, what in [
        (off_c0, "c0", "a dc0 half its size"),
        (off_one_entry, "Wh", "one entry of dWh 5% off"),
    ]:
        namespace["lstm_backward"] = wrong
        try:
            errors = run()
        finally:
            namespace["lstm_backward"] = yours
        reports.append((key, what, errors))

    # A checker that compares lstm_backward with a backward pass it saved (its own, bound in a
    # cell) reports all of the above without any numerical gradient: a forward pass whose
    # outputs are 5% off (its caches, and so the backward pass, right) shows only through
    # numerical gradients of the lstm_forward the notebook has at that moment.
    forward = namespace["lstm_forward"]

    def off_outputs(*args, **kwargs):
        hs, caches = forward(*args, **kwargs)
        return 1.05 * hs, caches

    namespace["lstm_forward"] = off_outputs
    try:
        off_forward = run()
    finally:
        namespace["lstm_forward"] = forward

    # The errors the wrong passes have against the true gradients (which the numerical ones
    # are, to round-off): reported as they are, not as numbers that only look large enough.
    # Computed after every call, as the reference's results are: a function can read the
    # frames above it (sys._getframe(1).f_locals) and return what it finds there.
    _, _, dc0, grads = contract.backward(dhs, x, p, h0, c0)
    wh = grads["Wh"].copy()
    wh[0, 0] = wh[0, 0] * 1.05 + 1e-3
    rel_error = reference("rel_error")
    expected = {"c0": rel_error(0.5 * dc0, dc0), "Wh": rel_error(wh, grads["Wh"])}
    for key, what, errors in reports:  # the usual mistakes first: they say more
        assert errors[key] > 1e-2, (
            f"gradient_errors missed {what}: it reports {errors[key]:.1e} for {key}; report "
            "rel_error(analytic, numerical), the largest entry's relative error, not an absolute "
            "error, a mean, or the error of a norm or of the largest values"
        )
        others = [k for k in keys if k != key and not errors[k] < 1e-7]
        assert not others, f"with only {key} wrong, gradient_errors reports errors for {others}"
    for key, what, errors in reports:
        assert abs(errors[key] - expected[key]) <= 1e-3 * expected[key], (
            f"with {what}, gradient_errors reports {errors[key]!r} for {key}, but that "
            f"gradient's largest relative error is {expected[key]:.6g}: report "
            "rel_error(analytic, numerical), the largest entry's relative error, with the "
            "numerical gradient computed by your numerical_gradient on every run, for the "
            "lstm_backward the notebook has at that moment"
        )
    missed = [k for k in keys if not off_forward[k] > 1e-2]
    assert not missed, (
        f"gradient_errors missed a forward pass whose outputs are 5% off: it reports "
        f"{', '.join(f'{k} {off_forward[k]:.1e}' for k in missed)}; compare lstm_backward's "
        "gradients with numerical gradients (your numerical_gradient) of the lstm_forward the "
        "notebook has at that moment, not with a backward pass saved before"
    )

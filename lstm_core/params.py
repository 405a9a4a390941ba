"""The one parameter layout of the course, its initialisation, and conversion to PyTorch.

An LSTM with input size ``D`` and hidden size ``H`` keeps its weights in a dict::

    params = {"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}

The four gates sit side by side in the last axis, in the order given by :data:`GATES`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ._checks import (
    ArgumentTypeError,
    allocating,
    array_dict,
    as_float_array,
    as_rng,
    check_affine,
    check_dtype,
    check_finite,
    check_overflow,
    check_shape,
    check_size,
    choice,
    describe,
    finite_number,
    largest,
    plain_array,
    positive_int,
)

#: Order of the four ``H``-wide blocks along the last axis of ``Wx``, ``Wh`` and ``b``:
#: input gate, forget gate, output gate, candidate memory (cs231n's order). The three
#: sigmoid gates come first so that one contiguous slice ``[:, :3H]`` holds all of them.
GATES = ("i", "f", "o", "g")

#: The gates squashed by the sigmoid into (0, 1); the candidate memory ``g`` uses tanh.
SIGMOID_GATES = ("i", "f", "o")

#: PyTorch's ``nn.LSTM`` stacks the same blocks as input, forget, candidate (g), output.
TORCH_GATES = ("i", "f", "g", "o")

GATE_NAMES = {
    "i": "input gate",
    "f": "forget gate",
    "o": "output gate",
    "g": "candidate memory",
}


def gate_slice(gate: str, hidden_size: int) -> slice:
    """Columns of ``Wx``, ``Wh`` and ``b`` that belong to ``gate`` (one of :data:`GATES`).

    Parameters
    ----------
    gate : {"i", "f", "o", "g"}
    hidden_size : int
        ``H``.

    Returns
    -------
    slice
        ``H`` columns of the ``4H``-wide gate axis.

    Raises
    ------
    ValueError
        If ``gate`` is not one of :data:`GATES` or ``hidden_size`` not a positive integer.
    """
    choice(gate, "gate", GATES)
    hidden_size = positive_int(hidden_size, "hidden_size")
    k = GATES.index(gate)
    return slice(k * hidden_size, (k + 1) * hidden_size)


#: How a refusal of PyTorch's weights, given where lstm_core's are wanted, ends.
FROM_TORCH = "; lstm_core.from_torch converts PyTorch's weights"


def refuse_torch_weights(params, name: str = "params", keys=("Wx", "Wh", "b")) -> None:
    """Refuse PyTorch's weights given where lstm_core's are wanted, naming the conversion.

    An ``nn.Module`` (anything with a ``state_dict``), a dict with PyTorch's names
    (``weight_ih_l0``, ...) instead of ``keys``, or ``Wx (4H, D)`` and ``Wh (4H, H)``:
    PyTorch's layout, transposed (no valid LSTM or RNN has those shapes). Anything else
    passes, for :func:`check_params` to judge.
    """
    if not isinstance(params, dict):
        if hasattr(params, "state_dict"):
            raise ArgumentTypeError(
                f"{name} must be a dict with keys {keys}, got {describe(params)}{FROM_TORCH}"
            )
        return
    torch_names = any(str(k).startswith(("weight_ih", "weight_hh")) for k in params)
    missing = [k for k in keys if k not in params]
    if missing and torch_names:
        raise ValueError(
            f"{name} is missing {missing}; expected keys {list(keys)}, got keys "
            f"{list(params)}, PyTorch's names{FROM_TORCH}"
        )
    Wx, Wh = params.get(keys[0]), params.get(keys[1])
    if not (type(Wx) is type(Wh) is np.ndarray and Wx.ndim == Wh.ndim == 2):
        return
    if Wh.shape[1] >= 1 and Wx.shape[0] == Wh.shape[0] == 4 * Wh.shape[1]:
        raise ValueError(
            f"{name}[{keys[0]!r}] and {name}[{keys[1]!r}] must have shapes (D, 4H) and (H, 4H), "
            f"got {Wx.shape} and {Wh.shape}, PyTorch's layout (weight_ih (4H, D), weight_hh "
            f"(4H, H)){FROM_TORCH}"
        )


def check_params(params, name: str = "params", keys=("Wx", "Wh", "b")):
    """Validate an LSTM or RNN parameter dict and return ``(D, G, dtype)``.

    ``G`` is the width of the gate axis: ``4H`` for an LSTM, ``H`` for a vanilla RNN.
    Raises ``ValueError`` for missing keys, inconsistent shapes, an input size ``D`` or
    hidden size ``H`` of 0, or non-finite values and
    :class:`~lstm_core.ArgumentTypeError` (a ``TypeError`` and a ``ValueError``) for
    something other than a dict of plain NumPy arrays (a subclass such as ``np.matrix``,
    whose ``*`` is a matrix product, is refused), dtypes other than float32/float64 or mixed
    dtypes. PyTorch's weights are refused as such (:func:`refuse_torch_weights`).
    """
    refuse_torch_weights(params, name, keys)
    if not isinstance(params, dict):
        raise ArgumentTypeError(f"{name} must be a dict with keys {keys}, got {describe(params)}")
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(
            f"{name} is missing {missing}; expected keys {list(keys)}, got keys {list(params)}"
        )
    Wx, Wh, b = (params[k] for k in keys)
    for key, arr in zip(keys, (Wx, Wh, b), strict=True):
        plain_array(arr, f"{name}[{key!r}]", "a NumPy array")
        as_float_array(arr, f"{name}[{key!r}]")
        if arr.dtype.kind != "f":
            raise ArgumentTypeError(f"{name}[{key!r}] must be float32 or float64, got {arr.dtype}")
    if Wx.ndim != 2:
        raise ValueError(f"{name}['Wx'] must have shape (D, G) (2-D), got {Wx.shape}")
    D, G = Wx.shape
    check_shape(Wh, f"{name}['Wh']", (None, G), "(H, G)")
    check_size(Wx.shape, f"{name}['Wx']", 0, "input size D")
    H = check_size(Wh.shape, f"{name}['Wh']", 0, "hidden size H")
    if G not in (H, 4 * H):
        raise ValueError(
            f"{name}['Wh'] must have shape (H, 4H) for an LSTM or (H, H) for an RNN, got {Wh.shape}"
        )
    check_shape(b, f"{name}['b']", (G,), "(G,)")
    if not (Wx.dtype == Wh.dtype == b.dtype):
        raise ArgumentTypeError(
            f"{name} arrays must share one dtype, got Wx {Wx.dtype}, Wh {Wh.dtype}, b {b.dtype}"
        )
    for key, arr in zip(keys, (Wx, Wh, b), strict=True):
        check_finite(arr, f"{name}[{key!r}]")
    return D, G, Wx.dtype


def check_preactivations(x, h0, params: dict, T: int, names=("x", "h0")) -> None:
    """Refuse ``x``, ``h0`` and ``params`` whose pre-activations could overflow the dtype.

    For an LSTM or an RNN over ``T`` steps of checked arguments: every step's
    ``x_t @ Wx + h @ Wh + b`` stays below a bound computed once (``|h| <= 1`` after the
    first step), so no step can give inf or NaN, and no loop needs a check. ``names`` are
    the caller's names of ``x`` and ``h0``.
    """
    inputs = {names[0]: x, names[1]: h0, "params": params}
    h = max(largest(h0), 1.0 if T > 1 else 0.0)
    terms = ((largest(x), params["Wx"]), (h, params["Wh"]))
    check_affine(terms, params["b"], params["Wh"].dtype, inputs, "the pre-activations")


def lstm_sizes(params, name: str = "params"):
    """Return ``(D, H, dtype)`` of a validated LSTM parameter dict."""
    D, G, dtype = check_params(params, name)
    H = params["Wh"].shape[0]
    if G != 4 * H:
        raise ValueError(
            f"{name}['Wh'] must have shape (H, 4H) for an LSTM, got {params['Wh'].shape}"
        )
    return D, H, dtype


def init_params(input_size: int, hidden_size: int, rng=None, dtype=np.float64, forget_bias=1.0):
    """Random LSTM parameters in the course's layout.

    Weights are uniform in ``[-1/sqrt(H), 1/sqrt(H)]`` like PyTorch's ``nn.LSTM``; the
    forget-gate bias starts at ``forget_bias`` (1 by default) so that a fresh cell keeps
    most of its memory, which makes long-range learning start from the gradient highway.

    Parameters
    ----------
    input_size : int
        ``D``, the number of input features.
    hidden_size : int
        ``H``, the number of hidden units.
    rng : numpy.random.Generator or int or None
        Source of randomness (an int is used as a seed).
    dtype : float32 or float64
    forget_bias : float
        Finite.

    Returns
    -------
    dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``

    Raises
    ------
    ValueError
        For sizes that are not positive integers or so large that the parameters do not fit
        in memory, a ``forget_bias`` that is not a finite number representable in ``dtype``,
        or an ``rng`` or ``dtype`` of the wrong kind (an ``ArgumentTypeError``, also a
        ``ValueError``, for wrong types).
    """
    D, H = positive_int(input_size, "input_size"), positive_int(hidden_size, "hidden_size")
    dtype = check_dtype(dtype)
    finite_number(forget_bias, "forget_bias")
    with np.errstate(over="ignore"):
        representable = np.isfinite(np.asarray(float(forget_bias)).astype(dtype))
    if not representable:
        raise ValueError(
            f"forget_bias must be a finite number representable in {dtype} (at most "
            f"{np.finfo(dtype).max:.3g} in size), got {forget_bias!r}"
        )
    rng = as_rng(rng)
    nbytes = (D + H + 1) * 4 * H * dtype.itemsize
    with allocating({"input_size": D, "hidden_size": H}, nbytes, "the parameters"):
        bound = 1.0 / math.sqrt(H)
        params = {
            "Wx": rng.uniform(-bound, bound, (D, 4 * H)).astype(dtype),
            "Wh": rng.uniform(-bound, bound, (H, 4 * H)).astype(dtype),
            "b": rng.uniform(-bound, bound, 4 * H).astype(dtype),
        }
    params["b"][gate_slice("f", H)] = forget_bias
    return params


def params_from_gates(gates: dict, dtype=np.float64) -> dict:
    """Build ``params`` from per-gate weights ``{"f": (Wx_f, Wh_f, b_f), ...}``.

    Each ``Wx_*`` has shape ``(D, H)``, ``Wh_*`` ``(H, H)``, ``b_*`` ``(H,)``, the same
    ``D`` and ``H`` for every gate, all finite; scalars are accepted for ``D = H = 1``.

    Parameters
    ----------
    gates : dict
        ``{gate: (Wx (D, H), Wh (H, H), b (H,))}`` for each gate of :data:`GATES`.
    dtype : float32 or float64

    Returns
    -------
    dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``, new arrays.

    Raises
    ------
    ValueError
        For other keys than :data:`GATES`, a gate that is not a triple ``(Wx, Wh, b)``,
        inconsistent shapes, a ``D`` or ``H`` of 0, or non-finite values (an
        ``ArgumentTypeError``, also a ``ValueError``, for wrong types).
    """
    dtype = check_dtype(dtype)
    if not isinstance(gates, Mapping):
        raise ArgumentTypeError(
            f"gates must be a dict {{gate: (Wx, Wh, b)}} with the keys {GATES}, "
            f"got {describe(gates)}"
        )
    if set(gates) != set(GATES):
        raise ValueError(f"gates must have exactly the keys {GATES}, got {list(gates)}")
    blocks = {}
    D = H = None
    for g in GATES:
        triple = gates[g]
        if not isinstance(triple, (tuple, list)):
            raise ArgumentTypeError(
                f"gates[{g!r}] must be a tuple (Wx, Wh, b), got {describe(triple)}"
            )
        if len(triple) != 3:
            raise ValueError(f"gates[{g!r}] must be a tuple (Wx, Wh, b), got {len(triple)} items")
        wx, wh, b = (as_float_array(v, f"gates[{g!r}][{k}]", dtype) for k, v in enumerate(triple))
        wx, wh, b = np.atleast_2d(wx), np.atleast_2d(wh), np.atleast_1d(b)
        if H is None:
            check_shape(wh, f"gates[{g!r}][1]", (None, None), "(H, H)")
            H = check_size(wh.shape, f"gates[{g!r}][1]", 0, "hidden size H")
            check_shape(wx, f"gates[{g!r}][0]", (None, H), "(D, H)")
            D = check_size(wx.shape, f"gates[{g!r}][0]", 0, "input size D")
        for k, (arr, expected, labels) in enumerate(
            ((wx, (D, H), "(D, H)"), (wh, (H, H), "(H, H)"), (b, (H,), "(H,)"))
        ):
            check_shape(arr, f"gates[{g!r}][{k}]", expected, labels)
            check_finite(arr, f"gates[{g!r}][{k}]")
        blocks[g] = (wx, wh, b)
    return {
        "Wx": np.concatenate([blocks[g][0] for g in GATES], axis=1),
        "Wh": np.concatenate([blocks[g][1] for g in GATES], axis=1),
        "b": np.concatenate([blocks[g][2] for g in GATES]),
    }


def gate_params(params, gate: str):
    """The weights of one gate: ``(Wx_g (D, H), Wh_g (H, H), b_g (H,))``, as views.

    Parameters
    ----------
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.
    gate : {"i", "f", "o", "g"}

    Returns
    -------
    Wx_g : array (D, H)
    Wh_g : array (H, H)
    b_g : array (H,)
        Views into ``params``: writing to them changes ``params``.

    Raises
    ------
    ValueError
        For ``params`` that are not an LSTM's or a ``gate`` not in :data:`GATES`.
    """
    choice(gate, "gate", GATES)
    _, H, _ = lstm_sizes(params)
    s = gate_slice(gate, H)
    return params["Wx"][:, s], params["Wh"][:, s], params["b"][s]


#: The single-unit LSTM worked by hand in the course (D = H = 1). Weights per gate as
#: (weight on the input x, weight on the short-term memory h, bias), from the source
#: notes' table: forget 1.63/2.70/1.62, input 1.65/2.00/0.62, candidate 0.94/1.41/-0.32,
#: output -0.19/4.38/0.59.
HAND_WORKED_PARAMS = params_from_gates(
    {
        "f": (1.63, 2.70, 1.62),
        "i": (1.65, 2.00, 0.62),
        "g": (0.94, 1.41, -0.32),
        "o": (-0.19, 4.38, 0.59),
    }
)
for _arr in HAND_WORKED_PARAMS.values():
    _arr.flags.writeable = False  # a shared constant: copy it before training from it
del _arr  # the loop's name, not one of the module's


def copy_params(params) -> dict:
    """A deep copy of a parameter dict (writeable arrays).

    Parameters
    ----------
    params : dict of arrays
        Any keys and shapes, e.g. ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.

    Returns
    -------
    dict of arrays
        The same keys, shapes and dtypes, in new memory.

    Raises
    ------
    ValueError
        If ``params`` is not a dict of arrays of numbers (an ``ArgumentTypeError``).
    """
    array_dict(params, "params")
    return {k: np.array(v, copy=True) for k, v in params.items()}


def _torch_perm(H: int) -> np.ndarray:
    """Row indices turning PyTorch's i, f, g, o blocks into the course's :data:`GATES`."""
    return np.concatenate([np.arange(H) + TORCH_GATES.index(g) * H for g in GATES])


def to_torch(params) -> dict:
    """``nn.LSTM`` (one layer) state-dict entries equal to ``params``, as NumPy arrays.

    Returns ``weight_ih_l0 (4H, D)``, ``weight_hh_l0 (4H, H)``, ``bias_ih_l0 (4H,)`` and
    ``bias_hh_l0 (4H,)`` in PyTorch's i, f, g, o order. The whole bias goes into
    ``bias_ih_l0`` and ``bias_hh_l0`` is zero, so :func:`from_torch` undoes this exactly.
    Load with ``lstm.load_state_dict({k: torch.from_numpy(v) for k, v in ...items()})``.

    Parameters
    ----------
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.

    Returns
    -------
    dict of arrays
        ``{"weight_ih_l0": (4H, D), "weight_hh_l0": (4H, H), "bias_ih_l0": (4H,),
        "bias_hh_l0": (4H,)}`` in ``params``' dtype.

    Raises
    ------
    ValueError
        If ``params`` is not a valid LSTM parameter dict.
    """
    _, H, _ = lstm_sizes(params)
    inv = np.argsort(_torch_perm(H))
    return {
        "weight_ih_l0": np.ascontiguousarray(params["Wx"].T[inv]),
        "weight_hh_l0": np.ascontiguousarray(params["Wh"].T[inv]),
        "bias_ih_l0": params["b"][inv].copy(),
        "bias_hh_l0": np.zeros_like(params["b"]),
    }


def _state_dict_of(source, suffix, grads: bool = False):
    """The state dict and key suffix of an ``nn.LSTM``, an ``nn.LSTMCell`` or a state dict.

    With ``grads``, a module gives its parameters' gradients (``.grad``) instead.
    """
    what = "a dict of its gradients" if grads else "its state dict"
    wanted = f"an nn.LSTM or nn.LSTMCell module or {what}"
    if suffix is not None and not isinstance(suffix, str):
        raise ArgumentTypeError(
            f"suffix must be a str such as '_l0' or '', or None, got {describe(suffix)}"
        )
    if isinstance(source, Mapping):
        if suffix is None:
            suffix = "_l0" if "weight_ih_l0" in source else ""
        return source, suffix
    kind = type(source).__name__
    method = "named_parameters" if grads else "state_dict"
    if not callable(getattr(source, method, None)) or kind not in ("LSTM", "LSTMCell"):
        raise ArgumentTypeError(f"source must be {wanted}, got {kind}")
    if kind == "LSTM":
        extras = {
            "num_layers": (getattr(source, "num_layers", 1), 1),
            "bidirectional": (getattr(source, "bidirectional", False), False),
            "proj_size": (getattr(source, "proj_size", 0), 0),
        }
        for attr, (got, plain) in extras.items():
            if got != plain:
                raise ValueError(
                    f"source must be a one-layer, one-way LSTM ({attr}={plain}), got {attr}={got}"
                )
    suffix = ("_l0" if kind == "LSTM" else "") if suffix is None else suffix
    if not grads:
        return source.state_dict(), suffix
    found = {}
    for key, parameter in source.named_parameters():
        if parameter.grad is None:
            raise ValueError(
                f"source[{key!r}] must have a gradient, got none (its .grad is None): "
                "call backward() on a loss first"
            )
        found[key] = parameter.grad
    return found, suffix


def _to_numpy(value, name: str) -> np.ndarray:
    """A tensor (detached, on the CPU) or an array as a float array, refused by ``name``.

    A tensor NumPy has no dtype for, such as ``torch.bfloat16``, is refused as any other
    dtype than integers, float32 and float64 is.
    """
    if hasattr(value, "detach"):
        try:
            value = value.detach().cpu().numpy()
        except (TypeError, RuntimeError) as exc:  # e.g. "unsupported ScalarType BFloat16"
            raise ArgumentTypeError(
                f"{name} must be a float32 or float64 tensor or array (integers are converted), "
                f"got a {type(value).__name__} of dtype {getattr(value, 'dtype', '?')}"
            ) from exc
    return as_float_array(value, name)


def _read_torch(source, suffix, grads: bool = False):
    """``(names, w_ih, w_hh, b_ih, b_hh)`` of :func:`from_torch`'s ``source``, checked.

    Shapes consistent (``H``, ``D >= 1``), one dtype, finite values.
    """
    state_dict, suffix = _state_dict_of(source, suffix, grads)
    names = [k + suffix for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def get(key):
        if key not in state_dict:
            raise ValueError(
                f"source must hold {names} (suffix {suffix!r}), but its state_dict has no {key!r}; "
                f"keys are {sorted(map(str, state_dict))}"
            )
        return _to_numpy(state_dict[key], f"source[{key!r}]")

    w_ih, w_hh, b_ih, b_hh = (get(k) for k in names)
    check_shape(w_hh, f"source[{names[1]!r}]", (None, None), "(4H, H)")
    H = check_size(w_hh.shape, f"source[{names[1]!r}]", 1, "hidden size H")
    check_shape(w_hh, f"source[{names[1]!r}]", (4 * H, H), "(4H, H)")
    check_shape(w_ih, f"source[{names[0]!r}]", (4 * H, None), "(4H, D)")
    check_size(w_ih.shape, f"source[{names[0]!r}]", 1, "input size D")
    check_shape(b_ih, f"source[{names[2]!r}]", (4 * H,), "(4H,)")
    check_shape(b_hh, f"source[{names[3]!r}]", (4 * H,), "(4H,)")
    if len({a.dtype for a in (w_ih, w_hh, b_ih, b_hh)}) > 1:
        dtypes = [str(a.dtype) for a in (w_ih, w_hh, b_ih, b_hh)]
        raise ArgumentTypeError(f"source arrays must share one dtype, got {dtypes}")
    for key, arr in zip(names, (w_ih, w_hh, b_ih, b_hh), strict=True):
        check_finite(arr, f"source[{key!r}]")
    return names, w_ih, w_hh, b_ih, b_hh


def _course_layout(w_ih, w_hh, b) -> dict:
    """PyTorch's ``(4H, D)``, ``(4H, H)`` and ``(4H,)`` blocks as the course's ``params``."""
    perm = _torch_perm(w_hh.shape[1])
    return {
        "Wx": np.ascontiguousarray(w_ih[perm].T),
        "Wh": np.ascontiguousarray(w_hh[perm].T),
        "b": b[perm],
    }


def from_torch(source, suffix: str | None = None) -> dict:
    """Course ``params`` from an ``nn.LSTM`` or ``nn.LSTMCell``, or from its state dict.

    For the gradients of a module's weights, use :func:`grads_from_torch`.

    Parameters
    ----------
    source : torch.nn.LSTM, torch.nn.LSTMCell or mapping
        A one-layer, one-direction module, or its ``state_dict()`` (float32 or float64
        tensors or arrays).
    suffix : str, optional
        Ending of the key names: ``"_l0"`` for ``nn.LSTM``, ``""`` for ``nn.LSTMCell``.
        Found from the module or the keys if omitted.

    Returns
    -------
    dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}`` with ``b = bias_ih + bias_hh``: the
        two PyTorch biases are always added together. Given a dict of *gradients* instead of
        weights, ``b`` is therefore the sum of the two biases' gradients, which are equal:
        twice the gradient of the course's ``b`` (:func:`grads_from_torch` gives that one).

    Raises
    ------
    ValueError
        If ``source`` is not one of these (an ``ArgumentTypeError``, also a ``ValueError``,
        for another kind of object), is a multi-layer, bidirectional or projected LSTM, or
        lacks a weight, if a weight is not a float32 or float64 tensor or array (``bfloat16``
        and ``float16`` are refused), the weights' shapes or dtypes disagree, ``H`` or ``D``
        is 0, a weight is not finite, or the two biases overflow the dtype when added.
    """
    names, w_ih, w_hh, b_ih, b_hh = _read_torch(source, suffix)
    with np.errstate(over="ignore"):
        b = b_ih + b_hh
    biases = {f"source[{k!r}]": v for k, v in zip(names[2:], (b_ih, b_hh), strict=True)}
    check_overflow(biases, b.dtype, f"{names[2]} + {names[3]}", b)
    return _course_layout(w_ih, w_hh, b)


def grads_from_torch(source, suffix: str | None = None) -> dict:
    """The gradients of an ``nn.LSTM`` or ``nn.LSTMCell`` as those of the course's ``params``.

    ``Wx`` and ``Wh`` get the gradients of ``weight_ih`` and ``weight_hh``, reordered as
    :func:`from_torch` reorders the weights. The course's one bias ``b`` stands for
    PyTorch's two, ``bias_ih + bias_hh``, and both enter every pre-activation the same way,
    so the gradient of ``b`` is the gradient of either PyTorch bias (the two are equal); it
    is computed as their midpoint, exactly either one when they are equal. Compare it with
    ``grads["b"]`` of :func:`lstm_core.lstm_backward` directly, without dividing by 2.

    Parameters
    ----------
    source : torch.nn.LSTM, torch.nn.LSTMCell or mapping
        A one-layer, one-direction module after ``backward()`` (its parameters' ``.grad``
        are read), or a dict of its gradients such as
        ``{k: v.grad for k, v in module.named_parameters()}`` (float32 or float64 tensors
        or arrays).
    suffix : str, optional
        Ending of the key names: ``"_l0"`` for ``nn.LSTM``, ``""`` for ``nn.LSTMCell``.
        Found from the module or the keys if omitted.

    Returns
    -------
    dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``, the gradients of the loss with
        respect to the course's parameters.

    Raises
    ------
    ValueError
        As :func:`from_torch`, and if a parameter of a module has no gradient (``.grad`` is
        None: no ``backward()`` yet), or if the gradients of the two biases are so far apart
        that their midpoint overflows the dtype.
    """
    names, w_ih, w_hh, g_ih, g_hh = _read_torch(source, suffix, grads=True)
    with np.errstate(over="ignore", invalid="ignore"):
        b = g_ih + (g_hh - g_ih) / 2  # exactly g_ih where the two are equal
    biases = {f"source[{k!r}]": v for k, v in zip(names[2:], (g_ih, g_hh), strict=True)}
    check_overflow(biases, b.dtype, f"the midpoint of {names[2]} and {names[3]}", b)
    return _course_layout(w_ih, w_hh, b)

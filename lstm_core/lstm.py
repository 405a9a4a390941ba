"""A whole sequence through one LSTM layer, and backpropagation through time.

Fast where it matters:

- each step is one matrix product ``W @ z`` with the stacked input ``z = [h; x; 1]``, so
  the input projection, the bias and the recurrence come out of the same call (and the
  bias gradient out of the weight-gradient product);
- the loops run over feature-major contiguous blocks, with in-place arithmetic in the
  parameters' dtype, in buffers reused from call to call;
- in float64 every sigmoid and tanh is computed from ``exp`` (NumPy's float64 ``tanh`` is
  the slowest elementwise function the loop would call);
- the backward pass takes each gate's local slope for a whole chunk of steps at once, so
  the per-step loop only scales them by the incoming gradients;
- the weight gradients and ``dx`` are one product per chunk of :data:`CHUNK` steps, taken
  while the chunk is still in cache.

:mod:`lstm_core.reference` states the same algorithm as plain loops over the equations;
the tests hold this module equal to it. ``benchmarks/bench_lstm.py`` times this against
``torch.nn.LSTM``, a per-gate loop and its own matrix products.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _workspace
from ._checks import (
    ArgumentTypeError,
    check_array,
    check_overflow,
    check_sequence,
    check_state,
    describe,
)
from .params import GATES, SIGMOID_GATES, check_preactivations, lstm_sizes

#: Order of the gate blocks inside the loop: :data:`GATES` with the output gate moved to
#: the front (o, i, f, g). The sigmoid gates stay contiguous (blocks 0-2), and so do the
#: three gates whose gradient is scaled by the cell's (i, f, g: blocks 1-3); the output
#: gate's alone is scaled by the hidden state's.
_ORDER = ("o", *(k for k in GATES if k != "o"))
_O, _I, _F, _G = (_ORDER.index(k) for k in ("o", "i", "f", "g"))
if {_ORDER[k] for k in range(3)} != set(SIGMOID_GATES) or _O != 0:
    raise ImportError(f"lstm.py's loop needs o first and the sigmoid gates first, got {_ORDER}")
_FROM_PUBLIC = np.array([GATES.index(k) for k in _ORDER])  # internal block -> public block
_TO_PUBLIC = np.array([_ORDER.index(k) for k in GATES])  # public block -> internal block


def _block(k: int, H: int) -> slice:
    """Rows of the ``k``-th gate block in the loop's order."""
    return slice(k * H, (k + 1) * H)


#: Time steps per weight-gradient product in the backward pass.
CHUNK = 10


def _reorder(a: np.ndarray, order: np.ndarray, axis: int = -1) -> np.ndarray:
    """Copy of ``a`` with its ``4H``-wide gate axis reordered block by block.

    Four block slices concatenated rather than fancy indexing with a ``4H`` index array
    (``benchmarks/bench_choices.py``, choice ``reorder``, times both; README.md gives its
    figures).
    """
    H = a.shape[axis] // 4
    index = [slice(None)] * a.ndim
    blocks = []
    for k in order:
        index[axis] = slice(k * H, (k + 1) * H)
        blocks.append(a[tuple(index)])
    return np.concatenate(blocks, axis=axis)


class SequenceCache(NamedTuple):
    """What :func:`lstm_backward` needs.

    Internally feature-major with the gates in the loop's own order (o, i, f, g): every
    step keeps its ``(4H, N)`` gates and ``(H, N)`` states as contiguous blocks, so each
    gate's slice is contiguous too: NumPy's elementwise operations take less time on
    contiguous blocks than on strided column slices (``benchmarks/bench_choices.py``, choice
    ``contiguous``, times both; README.md gives its figures). Read the public properties
    rather than the fields.

    Attributes
    ----------
    cs : array (N, T, H)
        Cell state at every step.
    gate_values : array (N, T, 4H)
        Gate values at every step, in :data:`lstm_core.GATES` order.
    c_last, h_last : array (N, H)
        Final cell and hidden states.
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``, as given to :func:`lstm_forward`.
    """

    z: np.ndarray  # (T + 1, H + D + 1, N): [h; x; 1], the input of every step's product
    c: np.ndarray  # (T + 1, H, N): c0 then every step's c
    gates: np.ndarray  # (T, 4H, N): in the loop's order _ORDER, after their squashing
    tanh_c: np.ndarray  # (T, H, N)
    params: dict

    @property
    def cs(self) -> np.ndarray:
        """Cell states of every step, ``(N, T, H)``."""
        return self.c[1:].transpose(2, 0, 1)

    @property
    def gate_values(self) -> np.ndarray:
        """Gate values of every step, ``(N, T, 4H)`` in :data:`lstm_core.GATES` order."""
        return _reorder(self.gates, _TO_PUBLIC, axis=1).transpose(2, 0, 1)

    @property
    def c_last(self) -> np.ndarray:
        """Final cell state ``(N, H)``."""
        return self.c[-1].T

    @property
    def h_last(self) -> np.ndarray:
        """Final hidden state ``(N, H)``."""
        return self.z[-1, : self.c.shape[1]].T


def _step_weights(params: dict, H: int, D: int, dtype) -> np.ndarray:
    """``W (4H, H + D + 1)`` with ``W @ [h; x; 1]`` giving the gates' pre-activations.

    The rows follow the loop's gate order and are pre-scaled, exactly (by powers of two),
    for :func:`_squash`: in float64 the sigmoid rows by -1 and the candidate's by -2, so
    that one ``exp`` call serves all four gates; in float32 the sigmoid rows by 1/2, so
    that one ``tanh`` call does, through ``sigmoid(z) = (1 + tanh(z / 2)) / 2``.
    """
    W = np.empty((4 * H, H + D + 1), dtype)
    W[:, :H] = _reorder(params["Wh"], _FROM_PUBLIC).T
    W[:, H : H + D] = _reorder(params["Wx"], _FROM_PUBLIC).T
    W[:, -1] = _reorder(params["b"], _FROM_PUBLIC)
    if dtype == np.float64:
        W[: 3 * H] *= -1.0
        W[3 * H :] *= -2.0
    else:
        W[: 3 * H] *= 0.5
    return W


def _squash(a: np.ndarray, H: int) -> None:
    """Turn the pre-scaled pre-activations ``a (4H, N)`` into gate values, in place.

    One transcendental call for all four gates. In float64 it is ``exp``, which took a
    third to a half of the time of ``tanh`` on the machine the course was first developed
    on: ``sigmoid(z) = 1 / (1 + exp(-z))`` and ``tanh(z) = 2 sigmoid(2z) - 1``, with ``-z``
    and ``-2z`` already in ``a`` (overflow gives ``exp = inf`` and so a gate of exactly 0 or
    -1). In float32 it is ``tanh``, ``sigmoid(z) = (1 + tanh(z / 2)) / 2``: there the
    ``exp`` route measured no faster. How the two routes compare depends on the processor
    and NumPy's build: ``benchmarks/bench_choices.py`` (choices ``squash`` and
    ``cell-tanh``) times both on yours, and README.md gives its figures on the course's.
    """
    if a.dtype == np.float64:
        np.exp(a, out=a)
        a += 1.0
        np.reciprocal(a, out=a)
        g = a[3 * H :]
        g *= 2.0
        g -= 1.0
    else:
        np.tanh(a, out=a)
        sig = a[: 3 * H]
        sig *= 0.5
        sig += 0.5


def _tanh(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``tanh(x)`` into ``out``; in float64 as ``2 / (1 + exp(-2x)) - 1`` (see :func:`_squash`).

    Exact to a few units in the last place of 1 (an absolute error, like the gates'); for
    ``x`` far below 0, ``exp`` overflows to inf and the result is exactly -1.
    """
    if x.dtype != np.float64:
        return np.tanh(x, out=out)
    np.multiply(x, -2.0, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.divide(2.0, out, out=out)
    out -= 1.0
    return out


def lstm_forward(x, params, h0=None, c0=None):
    """Run an LSTM over a batch of sequences.

    Parameters
    ----------
    x : array (N, T, D)
        Input sequences.
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.
    h0, c0 : array (N, H), optional
        Initial hidden and cell states; zeros if omitted.

    Returns
    -------
    hs : array (N, T, H)
        Hidden state at every step.
    cache : SequenceCache
        For :func:`lstm_backward`; ``cache.cs`` holds the cell states ``(N, T, H)``,
        ``cache.gate_values`` the gates ``(N, T, 4H)`` and ``cache.c_last``/``cache.h_last``
        the final states ``(N, H)``.

    Raises
    ------
    ValueError
        If ``params`` is not an LSTM's, an array is not finite or of the shape above, or
        ``x``, ``h0`` and ``params`` are so large that the gates' pre-activations could
        overflow the dtype (a bound checked once, before the loop).
    """
    D, H, dtype = lstm_sizes(params)
    x = check_sequence(x, D, dtype)
    N, T, _ = x.shape
    h0 = check_state(h0, "h0", N, H, dtype)
    c0 = check_state(c0, "c0", N, H, dtype)
    check_preactivations(x, h0, params, T)
    W = _step_weights(params, H, D, dtype)

    empty = _workspace.empty
    z = empty((T + 1, H + D + 1, N), dtype)
    z[:T, H : H + D] = x.transpose(1, 2, 0)
    z[:, -1] = 1.0
    z[T, H : H + D] = 0.0  # never read, but never garbage either
    z[0, :H] = h0.T
    c = empty((T + 1, H, N), dtype)
    c[0] = c0.T
    gates = empty((T, 4 * H, N), dtype)
    tanh_c = empty((T, H, N), dtype)
    ig = empty((H, N), dtype)
    hs = empty((N, T, H), dtype)
    so, si, sf, sg = (_block(k, H) for k in (_O, _I, _F, _G))
    with np.errstate(over="ignore", under="ignore"):
        for t in range(T):
            a = gates[t]
            np.matmul(W, z[t], out=a)
            _squash(a, H)
            o, i, f, g = a[so], a[si], a[sf], a[sg]
            np.multiply(f, c[t], out=c[t + 1])
            np.multiply(i, g, out=ig)
            c[t + 1] += ig
            _tanh(c[t + 1], out=tanh_c[t])
            h = np.multiply(o, tanh_c[t], out=z[t + 1, :H])
            hs[:, t] = h.T  # while it is in cache (bench_choices.py, choice hs-copy)
    return hs, SequenceCache(z, c, gates, tanh_c, params)


def check_sequence_cache(cache, name: str = "cache") -> tuple:
    """``(N, T, D, H)`` of a :class:`SequenceCache` whose arrays fit its params.

    Cheap (shapes and dtypes, and :func:`lstm_core.params.lstm_sizes` on the params), once
    per call of :func:`lstm_backward`: a hand-built or altered cache gets a clear error
    instead of a ``KeyError`` or a broadcasting error in the loop.
    """
    wanted = f"{name} must be the SequenceCache from lstm_forward"
    if not isinstance(cache, SequenceCache):
        raise ArgumentTypeError(f"{wanted}, got {describe(cache)}")
    D, H, dtype = lstm_sizes(cache.params, f"{name}.params")
    if not isinstance(cache.tanh_c, np.ndarray) or cache.tanh_c.ndim != 3:
        raise ValueError(f"{wanted}, got one whose tanh_c is {describe(cache.tanh_c)}")
    T, _, N = cache.tanh_c.shape
    expected = {
        "z": (T + 1, H + D + 1, N),
        "c": (T + 1, H, N),
        "gates": (T, 4 * H, N),
        "tanh_c": (T, H, N),
    }
    for field, shape in expected.items():
        arr = getattr(cache, field)
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.shape != shape:
            raise ValueError(
                f"{wanted}, got one whose {field} is {describe(arr)}; its params "
                f"(D = {D}, H = {H}, {dtype}) and T = {T}, N = {N} need shape {shape}"
            )
    if T == 0 or N == 0:
        raise ValueError(f"{wanted}, got one of T = {T} steps and N = {N} sequences")
    return N, T, D, H


def _local_slopes(gates, c_prev, tanh_c, out) -> None:
    """Each gate's local derivative, for a run of steps, into ``out (m, 4H, N)``.

    In the loop's gate order: ``tanh(c) o (1 - o)``, ``g i (1 - i)``,
    ``c_prev f (1 - f)`` and ``i (1 - g^2)``; the backward loop scales the first by
    ``h``'s gradient and the other three by ``c``'s.
    """
    H = tanh_c.shape[1]
    so, si, sf, sg = (_block(k, H) for k in (_O, _I, _F, _G))
    sig, out_sig = gates[:, : 3 * H], out[:, : 3 * H]
    np.subtract(1.0, sig, out=out_sig)  # the sigmoid gates' slopes s (1 - s)
    out_sig *= sig
    out[:, so] *= tanh_c  # h = o * tanh(c)
    g = gates[:, sg]
    out[:, si] *= g  # c = f * c_prev + i * g
    out[:, sf] *= c_prev
    out_g = out[:, sg]
    np.multiply(g, g, out=out_g)  # tanh's slope 1 - g^2
    np.subtract(1.0, out_g, out=out_g)
    out_g *= gates[:, si]


def _chunk_products(da, z, Wx, dW, dx) -> None:
    """Add a run of ``m`` steps' share to the weight gradients, and write their ``dx``.

    ``da (m, 4H, N)`` and ``z (m, H + D + 1, N)`` are the steps' pre-activation gradients
    and product inputs; ``dW (H + D + 1, 4H)`` is accumulated in place, and
    ``dx (N, m, D)`` (a view into the whole ``dx``) written.
    """
    m, G, N = da.shape
    K, D, n = z.shape[1], Wx.shape[0], m * N
    empty = _workspace.empty
    da2 = empty((G, m, N), da.dtype)
    da2[...] = da.transpose(1, 0, 2)
    da2 = da2.reshape(G, n)
    z2 = empty((K, m, N), da.dtype)
    z2[...] = z.transpose(1, 0, 2)
    dW += z2.reshape(K, n) @ da2.T  # the bias row too: z's last row is ones
    dx2 = empty((D, m, N), da.dtype)
    np.matmul(Wx, da2, out=dx2.reshape(D, n))
    dx[...] = dx2.transpose(2, 1, 0)


def lstm_backward(dhs, cache: SequenceCache, dh_last=None, dc_last=None):
    """Backpropagation through time for :func:`lstm_forward`.

    Parameters
    ----------
    dhs : array (N, T, H)
        Gradient of the loss on every hidden state.
    cache : SequenceCache
        From :func:`lstm_forward`.
    dh_last : array (N, H), optional
        Extra gradient on the final hidden state, added to ``dhs[:, -1]``.
    dc_last : array (N, H), optional
        Gradient on the final cell state ``cache.c_last`` (e.g. from a later chunk).

    Returns
    -------
    dx : array (N, T, D)
    dh0 : array (N, H)
    dc0 : array (N, H)
    grads : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``

    Raises
    ------
    ValueError
        If ``cache`` is not a :class:`SequenceCache` (an ``ArgumentTypeError``) or its
        arrays do not fit its params, if a gradient is not a finite array of the shape
        above, or if the gradients are so large that the results overflow the dtype.
    """
    N, T, _, H = check_sequence_cache(cache)
    dtype = cache.gates.dtype
    dhs = check_array(dhs, "dhs", (N, T, H), "(N, T, H)", dtype)
    dc = check_state(dc_last, "dc_last", N, H, dtype)
    dh = check_state(dh_last, "dh_last", N, H, dtype)
    return backward_checked(dhs, cache, dh, dc, {"dhs": dhs, "dh_last": dh, "dc_last": dc})


def backward_checked(dhs, cache: SequenceCache, dh, dc, given: dict):
    """:func:`lstm_backward` on arguments already checked, ``dh`` and ``dc`` ``(N, H)``.

    ``given`` maps the caller's gradient arguments to their values, for the message if the
    gradients overflow.
    """
    H = cache.tanh_c.shape[1]
    D = cache.z.shape[1] - H - 1
    dc = dc.T.copy()  # (H, N), never aliasing
    dh = dh.T.copy()
    params = cache.params
    Wh = _reorder(params["Wh"], _FROM_PUBLIC)  # (H, 4H), gate columns in the loop's order
    Wx = _reorder(params["Wx"], _FROM_PUBLIC)  # (D, 4H)
    with np.errstate(over="ignore", invalid="ignore"):  # checked once, after the loop
        dx, dh, dc, dW = _backward_loop(dhs, cache, dh, dc, Wh, Wx)
    dW = _reorder(dW, _TO_PUBLIC)  # rows h, x and the bias, now in the public gate order
    grads = {"Wx": dW[H : H + D], "Wh": dW[:H], "b": dW[-1]}
    check_overflow(given, dW.dtype, "the gradients", dx, dh, dc, dW)
    return dx, np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T), grads


def _backward_loop(dhs, cache: SequenceCache, dh, dc, Wh, Wx):
    """The loop of :func:`lstm_backward`: ``dx (N, T, D)``, ``dh, dc (H, N)`` and ``dW``.

    ``dh`` and ``dc`` (the gradients on the last states, ``(H, N)``) are updated in place;
    ``dW (H + D + 1, 4H)`` has its gate columns in the loop's order.
    """
    T, H, N = cache.tanh_c.shape
    D = cache.z.shape[1] - H - 1
    dtype = cache.gates.dtype
    gates, c, tanh_c, z = cache.gates, cache.c, cache.tanh_c, cache.z
    so, sf = _block(_O, H), _block(_F, H)
    empty = _workspace.empty
    C = min(T, CHUNK)
    da = empty((C, 4 * H, N), dtype)  # one chunk's gradients on the pre-activations
    dc_per_dh = empty((C, H, N), dtype)  # how c's gradient takes h's: o (1 - tanh(c)^2)
    dct = empty((H, N), dtype)
    dx = empty((N, T, D), dtype)
    dW = np.zeros((H + D + 1, 4 * H), dtype)  # gate columns in the loop's order
    for t0 in range((T - 1) // CHUNK * CHUNK, -1, -CHUNK):
        t1 = min(t0 + CHUNK, T)
        m = t1 - t0
        # what does not depend on the gradient arriving from later steps, for the whole
        # chunk at once: each gate's local slope, and o (1 - tanh(c)^2) = o - h tanh(c)
        _local_slopes(gates[t0:t1], c[t0:t1], tanh_c[t0:t1], da[:m])
        np.multiply(z[t0 + 1 : t1 + 1, :H], tanh_c[t0:t1], out=dc_per_dh[:m])
        np.subtract(gates[t0:t1, so], dc_per_dh[:m], out=dc_per_dh[:m])
        for k in range(m - 1, -1, -1):
            t = t0 + k
            dh += dhs[:, t].T
            np.multiply(dc_per_dh[k], dh, out=dct)  # the gradient reaching c: through h ...
            dct += dc  # ... and from the next step
            out = da[k]
            out[so] *= dh  # o
            ifg = out[H:].reshape(3, H, N)  # the blocks after o's
            ifg *= dct  # i, f and g all scale with c's gradient
            np.multiply(dct, gates[t, sf], out=dc)  # c = f * c_prev + i * g
            np.matmul(Wh, out, out=dh)
        _chunk_products(da[:m], z[t0:t1], Wx, dW, dx[:, t0:t1])
    return dx, dh, dc, dW

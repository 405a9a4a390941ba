"""The buffer pool of lstm_core's fast code: reused arrays, and a bound on the bytes held."""

import numpy as np
import pytest

import lstm_core as lc
from lstm_core import _workspace
from lstm_core import reference as ref


@pytest.fixture
def fresh_pool():
    """An empty pool with the default bound, restored afterwards."""
    _workspace.clear()
    _workspace.set_limit(_workspace.DEFAULT_LIMIT)
    yield
    _workspace.clear()
    _workspace.set_limit(_workspace.DEFAULT_LIMIT)


SWEEPS = [
    # a scaled-down sweep with a bound to match: the same allocation pattern, 16x less work
    pytest.param(16, 8, 32, 2 << 20, id="small"),
    # the case: T = 1..100 at N=64, D=32, H=128 once held 2.7 GiB in 526 shapes; about
    # 15 CPU-seconds of matrix products, so it runs with the slow tests
    pytest.param(64, 32, 128, _workspace.DEFAULT_LIMIT, id="issue", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("N", "D", "H", "limit"), SWEEPS)
def test_a_sweep_over_lengths_stays_within_the_bound_and_stays_right(
    rng, monkeypatch, fresh_pool, N, D, H, limit
):
    """Forward and backward for T = 1..100: every allocation leaves the pool within its bound."""
    assert _workspace.limit() == 64 << 20  # the documented default, 64 MiB
    lc.set_workspace_limit(limit)
    held, original = [], _workspace.empty

    def watched(shape, dtype):
        arr = original(shape, dtype)
        held.append(_workspace.held_bytes())
        return arr

    monkeypatch.setattr(_workspace, "empty", watched)
    p = lc.init_params(D, H, rng=rng)
    x_all = rng.standard_normal((N, 100, D))
    dhs_all = rng.standard_normal((N, 100, H))
    requested = 0
    for T in range(1, 101):
        hs, cache = lc.lstm_forward(x_all[:, :T], p)
        dx, _, _, grads = lc.lstm_backward(dhs_all[:, :T], cache)
        requested += sum(a.nbytes for a in (cache.z, cache.c, cache.gates, cache.tanh_c, hs, dx))
        if T in (1, 2, 37, 100):  # results stay right while the pool evicts and reuses
            want_hs, want_cache = ref.lstm_forward(x_all[:, :T], p)
            want = ref.lstm_backward(dhs_all[:, :T], want_cache)
            np.testing.assert_allclose(hs, want_hs, rtol=0, atol=1e-12)
            np.testing.assert_allclose(dx, want[0], rtol=0, atol=1e-12)
            np.testing.assert_allclose(grads["Wh"], want[3]["Wh"], rtol=0, atol=1e-11)
        del hs, cache, dx
    assert requested > 10 * limit  # the sweep asked for far more than the bound ...
    assert max(held) <= limit  # ... and the pool never held more
    assert max(held) > limit // 2  # it did fill up: the bound, not the sizes, limited it


def test_the_limit_is_configurable_and_checked(fresh_pool):
    a = _workspace.empty((256, 1024), np.float64)  # 2 MiB, kept by the pool
    assert _workspace.held_bytes() == a.nbytes
    lc.set_workspace_limit(1 << 20)  # below what it holds: the excess is forgotten
    assert _workspace.held_bytes() == 0
    b = _workspace.empty((256, 1024), np.float64)  # larger than the bound: never kept
    assert _workspace.held_bytes() == 0 and not np.shares_memory(a, b)
    lc.set_workspace_limit(0)  # no reuse at all
    del a
    c = _workspace.empty((64, 1024), np.float64)
    assert _workspace.held_bytes() == 0 and c.shape == (64, 1024)
    for bad in (-1, 1.5, True, "64M"):
        with pytest.raises(ValueError, match="nbytes must be a non-negative integer"):
            lc.set_workspace_limit(bad)


def test_least_recently_used_shapes_go_first(fresh_pool):
    mib = 1 << 20
    lc.set_workspace_limit(3 * mib + 1024)  # room for three of the arrays below, not four
    first = _workspace.empty((mib // 8,), np.float64)
    second = _workspace.empty((mib // 8 + 8,), np.float64)
    del first
    again = _workspace.empty((mib // 8,), np.float64)  # reused, and now the most recent
    del second, again
    _workspace.empty((mib // 8 + 16,), np.float64)
    _workspace.empty((mib // 8 + 24,), np.float64)  # the fourth MiB: one must go
    keys = [shape for shape, _ in _workspace._pool.buffers]
    assert keys == [(mib // 8,), (mib // 8 + 16,), (mib // 8 + 24,)]
    assert _workspace.held_bytes() <= 3 * mib + 1024


def test_the_pool_keeps_at_most_max_per_key_arrays_of_one_shape(fresh_pool):
    """Arrays of one shape beyond MAX_PER_KEY, all in use, are handed out but not kept: a
    burst of live arrays of one shape cannot fill the pool with that shape alone."""
    shape = (64, 1024)  # 512 KiB, above MIN_BYTES
    live = [_workspace.empty(shape, np.float64) for _ in range(8)]  # 4 MiB, within the limit
    assert len({id(a) for a in live}) == len(live)  # all distinct: each is in use
    assert _workspace.MAX_PER_KEY < len(live)  # a few per shape, so this burst is capped
    assert _workspace.held_bytes() == _workspace.MAX_PER_KEY * live[0].nbytes


def test_an_array_larger_than_the_limit_leaves_the_pool_alone(fresh_pool):
    """An array too big to keep is allocated outside the pool, without evicting what the pool
    holds (keeping it and then evicting down to the limit would forget everything)."""
    lc.set_workspace_limit(1 << 20)  # 1 MiB
    kept = _workspace.empty((64, 1024), np.float64)  # 512 KiB: kept
    assert _workspace.held_bytes() == kept.nbytes
    big = _workspace.empty((256, 1024), np.float64)  # 2 MiB, above the limit: not kept
    assert big.nbytes > _workspace.limit()
    assert _workspace.held_bytes() == kept.nbytes
    del kept
    again = _workspace.empty((64, 1024), np.float64)  # the kept array, reused: no new one
    assert _workspace.held_bytes() == again.nbytes
    assert not np.shares_memory(again, big)

import math

import numpy as np
import pytest

import lstm_core as lc

EXTREMES = np.array(
    [-np.inf, -1e308, -1000.0, -745.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0, 1e308, np.inf]
)


def exact_sigmoid(v: float) -> float:
    """Reference from Python's math module, evaluated in the form that cannot overflow."""
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


@pytest.fixture(autouse=True)
def fp_errors_raise():
    """Any overflow, invalid operation or division by zero fails the test."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        yield


def test_sigmoid_examples_from_the_source():
    # sigmoid(10) = 1 / (1 + e^-10) = 0.999954602...; the source rounds it to 0.99995
    assert lc.sigmoid(10.0) == pytest.approx(0.9999546021312976, rel=1e-15)
    # sigmoid(-5) = 0.006692850924...; the source shows "about 0.01"
    assert lc.sigmoid(-5.0) == pytest.approx(0.0066928509242848554, rel=1e-15)


def test_tanh_examples_from_the_source():
    # tanh(2) = 0.964027580...; the source shows 0.96
    assert lc.tanh(2.0) == pytest.approx(math.tanh(2.0), rel=1e-15)
    assert round(float(lc.tanh(2.0)), 2) == 0.96
    # tanh(-5) = -0.999909204...; the source shows -0.99991
    assert round(float(lc.tanh(-5.0)), 5) == -0.99991


def test_sigmoid_is_exact_in_the_limits_and_accurate_everywhere():
    s = lc.sigmoid(EXTREMES)
    assert s[0] == 0.0 and s[1] == 0.0 and s[2] == 0.0
    assert s[-1] == 1.0 and s[-2] == 1.0 and s[-3] == 1.0
    assert s[6] == 0.5
    expected = np.array([exact_sigmoid(v) for v in EXTREMES[1:-1]])
    np.testing.assert_allclose(s[1:-1], expected, rtol=1e-15, atol=0)
    # tiny outputs keep relative precision: sigmoid(-30) = e^-30 / (1 + e^-30)
    # = 9.357622968839299e-14 (Python's decimal at 40 digits); e^-30 alone is
    # 9.357622968840175e-14, 9e-14 higher. abs=0, as approx's default absolute tolerance
    # (1e-12) would accept any value below 1e-12, zero included.
    assert lc.sigmoid(-30.0) == pytest.approx(9.357622968839299e-14, rel=1e-14, abs=0)


def test_tanh_limits():
    t = lc.tanh(EXTREMES)
    assert list(t[:3]) == [-1.0, -1.0, -1.0] and list(t[-3:]) == [1.0, 1.0, 1.0]
    assert t[6] == 0.0


def test_derivatives_match_closed_forms_and_limits():
    x = np.linspace(-8, 8, 101)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(lc.sigmoid_grad(x), s * (1 - s), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(lc.tanh_grad(x), 1 - np.tanh(x) ** 2, rtol=1e-9, atol=1e-300)
    assert lc.sigmoid_grad(0.0) == 0.25 and lc.tanh_grad(0.0) == 1.0
    for g in (lc.sigmoid_grad(EXTREMES), lc.tanh_grad(EXTREMES)):
        assert np.all(g >= 0) and g[0] == 0.0 and g[-1] == 0.0 and g[1] == 0.0 and g[-2] == 0.0


def test_derivatives_match_finite_differences():
    # |x| <= 4 keeps the derivatives >= 1e-3, so the differences' round-off (~1e-16 / h)
    # stays far below the 1e-7 threshold
    x = np.linspace(-4, 4, 49)
    h = 1e-5
    for f, df in ((lc.sigmoid, lc.sigmoid_grad), (lc.tanh, lc.tanh_grad)):
        numeric = (f(x + h) - f(x - h)) / (2 * h)
        assert lc.rel_error(df(x), numeric) < 1e-7


def test_derivatives_keep_relative_precision_far_out():
    # 1 - tanh(20)**2 cancels to 0 in float64, the true value is 4 e^-40 / (1 + e^-40)^2;
    # likewise sigmoid(40) rounds to 1.0, so s * (1 - s) gives 0, the true value ~ e^-40.
    # abs=0: approx's default absolute tolerance of 1e-12 would accept those zeros.
    assert lc.tanh_grad(20.0) == pytest.approx(4 * math.exp(-40), rel=1e-14, abs=0)
    assert lc.sigmoid_grad(40.0) == pytest.approx(math.exp(-40), rel=1e-14, abs=0)
    assert lc.sigmoid_grad(-40.0) == pytest.approx(math.exp(-40), rel=1e-14, abs=0)


@pytest.mark.parametrize("f", [lc.sigmoid, lc.tanh, lc.sigmoid_grad, lc.tanh_grad])
def test_dtype_and_shape_are_kept(f):
    x32 = np.linspace(-100, 100, 24, dtype=np.float32).reshape(2, 3, 4)
    out = f(x32)
    assert out.dtype == np.float32 and out.shape == (2, 3, 4)
    assert f(np.arange(3)).dtype == np.float64  # integers become float64
    assert f(np.float32(1e30)).dtype == np.float32


@pytest.mark.parametrize("f", [lc.sigmoid, lc.tanh, lc.sigmoid_grad, lc.tanh_grad])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint64])
def test_integers_give_the_values_of_the_same_floats(f, dtype):
    # negating an unsigned (or int8's -128) before converting to float would wrap around:
    # -uint8(1) is 255, and sigmoid(255) is not sigmoid(-1)
    ints = np.array([0, 1, 2, 127], dtype)
    np.testing.assert_array_equal(f(ints), f(ints.astype(np.float64)))
    if np.issubdtype(dtype, np.signedinteger):
        lowest = np.array([np.iinfo(dtype).min], dtype)
        np.testing.assert_array_equal(f(lowest), f(lowest.astype(np.float64)))


@pytest.mark.parametrize("f", [lc.sigmoid, lc.tanh, lc.sigmoid_grad, lc.tanh_grad])
@pytest.mark.parametrize("bad", [np.array([1 + 2j]), np.array(["a"]), np.array([1.0], np.float16)])
def test_unsupported_dtypes_raise(f, bad):
    with pytest.raises(TypeError, match="x must be a float32 or float64"):
        f(bad)


def test_nan_propagates():
    with np.errstate(invalid="ignore"):
        assert np.isnan(lc.sigmoid(np.nan)) and np.isnan(lc.tanh_grad(np.nan))

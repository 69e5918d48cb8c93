"""The kernels' activations (netgraph/kernels/fastmath.py) over the whole float32 range, against
float64 numpy rounded to float32, as compiled into a kernel (fastmath, SIMD body and scalar
remainder)."""

import numpy as np
import pytest
from numba import njit
from scipy.special import expit

from netgraph.kernels.fastmath import FAST, fexp, sigmoid, tanh

# The bound on the float32 activations, in units in the last place of the float64 value
# rounded to float32, wherever that value is a normal float; below the smallest normal float
# (sigmoid(x) for x < −87.3) the result is within that float of the truth (flushed to zero).
ULP = 4
TINY = np.finfo(np.float32).tiny  # the smallest normal float32, 2⁻¹²⁶
FUNCTIONS = {"sigmoid": (sigmoid, expit), "tanh": (tanh, np.tanh), "fexp": (fexp, np.exp)}
# fexp is exp up to 88.37 (2¹²⁷ is the largest power of two it builds), exp(88.37) above it
EXP_TOP = np.float32(88.37)


def rows_of(f):
    """A kernel applying ``f`` along each row of a 2-D array, compiled like the recurrent
    kernels: each row's loop has a SIMD body and a scalar remainder."""

    @njit(**{**FAST, "cache": False})
    def apply(X, Y):
        for r in range(X.shape[0]):
            x, y = X[r], Y[r]
            for j in range(x.shape[0]):
                y[j] = f(x[j])

    return apply


KERNELS = {name: rows_of(f) for name, (f, _) in FUNCTIONS.items()}


def run(name, x, width=67, every_position=True):
    """``name`` applied to every value of ``x`` in rows of ``width`` (a SIMD body and a
    remainder loop each): each value at every position of its own row, (len(x), width), or
    (``every_position`` False) the values in turn along the rows, (len(x), 1)."""
    x = np.asarray(x, np.float32)
    if every_position:
        X = np.repeat(x[:, None], width, axis=1)
    else:
        X = np.resize(x, (-(-x.size // width), width))
    Y = np.empty_like(X)
    KERNELS[name](X, Y)
    return Y if every_position else Y.reshape(-1)[: x.size, None]


def reference(name, x):
    """float64 numpy at the float32 inputs (exp with its top as in fexp)."""
    x = np.asarray(x, np.float32).astype(np.float64)
    if name == "fexp":
        x = np.minimum(x, EXP_TOP)
    return FUNCTIONS[name][1](x)


def ulps(got, want):
    """|got − want| in ulps of ``want`` rounded to float32; inf where a float32 is not finite."""
    got = np.asarray(got, np.float64)
    unit = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    with np.errstate(invalid="ignore"):
        err = np.abs(got - want[:, None]) / unit[:, None]
    return np.where(np.isfinite(got), err, np.inf)


def check(name, x, every_position=True):
    x = np.asarray(x, np.float32)
    got, want = run(name, x, every_position=every_position), reference(name, x)
    normal = np.abs(want) >= TINY
    err = ulps(got[normal], want[normal])
    worst = int(np.argmax(err.max(axis=1))) if err.size else 0
    assert err.size == 0 or err.max() <= ULP, (
        f"{name}({x[normal][worst]!r}) = {got[normal][worst][:3]}…, float64 gives "
        f"{want[normal][worst]!r}: {err.max():.2f} ulp"
    )
    low = got[~normal]  # results under the smallest normal float: within it of the truth
    assert np.all(np.isfinite(low)) and np.all(np.abs(low - want[~normal, None]) <= TINY)
    return err


def every_magnitude(step=251):
    """Every ``step``-th float32 bit pattern from 0 to the largest finite float, both signs:
    subnormals, tiny and huge values alike (about 17 million values)."""
    pos = np.arange(0, 0x7F800000, step, dtype=np.uint32).view(np.float32)
    return np.concatenate([pos, -pos, [np.finfo(np.float32).max, -np.finfo(np.float32).max]])


def edges():
    """The values where the old kernels broke and their float32 neighbours."""
    f32 = np.finfo(np.float32)
    points = [0.0, f32.smallest_subnormal, TINY, 1e-30, 1e-8, 1e-4, 0.5, 0.625, 1.0, 9.0]
    points += [9.01, 10.0, 17.0, 44.3, 44.36, 44.4, 50.0, 87.3, 87.34, 88.37, 88.38, 88.7]
    points += [88.73, 89.0, 103.9, 104.0, 1e4, 1e30, f32.max]
    x = np.array(points, np.float32)
    near = np.concatenate([np.nextafter(x, np.float32(-np.inf)), x, np.nextafter(x, f32.max)])
    return np.concatenate([near, -near])


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_activations_within_the_bound_at_the_edges_in_every_position(name):
    check(name, edges())


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_activations_within_the_bound_over_every_magnitude(name):
    check(name, every_magnitude(), every_position=False)


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_activations_within_the_bound_where_they_bend(name):
    check(name, np.linspace(-120, 120, 2_000_003, dtype=np.float32), every_position=False)


@pytest.mark.parametrize(
    ("name", "x", "y"),
    [
        ("tanh", 9.1, 1.0),
        ("tanh", 44.4, 1.0),
        ("tanh", 1e30, 1.0),
        ("tanh", -1e30, -1.0),
        ("sigmoid", 17.4, 1.0),
        ("sigmoid", 89.0, 1.0),
        ("sigmoid", -89.0, 0.0),
        ("sigmoid", -1e30, 0.0),
        ("tanh", 1e-30, 1e-30),
        ("sigmoid", 0.0, 0.5),
    ],
)
def test_activations_saturate_like_float64(name, x, y):
    got = run(name, [x])[0]
    np.testing.assert_array_equal(got, np.float32(y))


def test_fexp_is_exp_where_it_is_a_normal_float_and_finite_everywhere():
    x = np.concatenate([every_magnitude(4099), edges(), np.linspace(-90, 90, 100_003)])
    check("fexp", x[x <= EXP_TOP], every_position=False)
    assert np.all(np.isfinite(run("fexp", x[x > EXP_TOP], width=19)))


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_float64_activations_are_numpys(name):
    x = np.concatenate([np.linspace(-800, 800, 10_001), [1e-300, -1e-300, 1e300, -1e300]])
    got = np.empty((1, x.size))
    KERNELS[name](x[None, :], got)
    np.testing.assert_allclose(got[0], FUNCTIONS[name][1](x), rtol=4e-16, atol=np.finfo(float).tiny)
    assert np.all(np.isfinite(got))

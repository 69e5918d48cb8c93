"""The kernels' matrix product (netgraph/kernels/gemm.py) against numpy's, for every operand
layout the recurrent kernels pass (rows, row slices, column blocks, transposed views), in
float32 and float64, and that a first evaluation compiles only the kernels it runs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from numba import njit

from netgraph.kernels.gemm import gemm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@njit(cache=True)
def _product(a, b, c, accumulate):
    gemm(a, b, c, accumulate)


def _operands(rng, dtype, m, k, n):
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    return a, b


def _close(dtype):
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-13, "atol": 1e-13}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("m", "k", "n"), [(5, 7, 12), (1, 3, 4), (6, 1, 2), (3, 4, 1)])
def test_row_major_and_transposed_operands(dtype, m, k, n):
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a, b = _operands(rng, dtype, m, k, n)
    for y in (b, np.ascontiguousarray(b.T).T):  # rows, and a transposed view
        c = np.full((m, n), np.nan, dtype)
        _product(a, y, c, False)
        np.testing.assert_allclose(c, a @ b, **_close(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_slices_and_column_blocks(dtype):
    rng = np.random.default_rng(1)
    a, b = _operands(rng, dtype, 8, 5, 6)
    G = np.zeros((8, 18), dtype)
    _product(a[:3], b, G[:3, 6:12], False)  # rows of a, a column block of G
    np.testing.assert_allclose(G[:3, 6:12], a[:3] @ b, **_close(dtype))
    assert not G[:3, :6].any() and not G[:3, 12:].any() and not G[3:].any()
    D = rng.standard_normal((8, 15)).astype(dtype)
    out = np.zeros((4, 6), dtype)
    _product(D[:4, 5:10], b, out, False)  # a column block as the left operand
    np.testing.assert_allclose(out, D[:4, 5:10] @ b, **_close(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accumulate_adds_to_c(dtype):
    rng = np.random.default_rng(2)
    a, b = _operands(rng, dtype, 4, 3, 5)
    c0 = rng.standard_normal((4, 5)).astype(dtype)
    c = c0.copy()
    _product(a, b, c, True)
    np.testing.assert_allclose(c, c0 + a @ b, **_close(dtype))


def test_empty_inner_dimension_gives_zeros_or_leaves_c():
    a, b = np.ones((3, 0), np.float32), np.ones((0, 2), np.float32)
    c = np.full((3, 2), 7.0, np.float32)
    _product(a, b, c, True)
    assert (c == 7).all()
    _product(a, b, c, False)
    assert (c == 0).all()


def test_strided_operand_is_refused():
    a = np.ones((6, 6), np.float32)[::2, ::2]  # neither rows nor columns contiguous
    with pytest.raises(ValueError, match="contiguous"):
        _product(a, np.ones((3, 2), np.float32), np.empty((3, 2), np.float32), False)


CHILD = """
import json, numpy as np
from netgraph import LongShortTermMemoryLayer, NetInitialize
from netgraph.kernels import gemm, lstm_kernels, rnn_kernels
net = NetInitialize(LongShortTermMemoryLayer(3, input=("Varying", 2)), random_seed=0)
net(np.ones((4, 2)))
kernels = {name: getattr(lstm_kernels, name) for name in ("lstm_forward", "lstm_backward")}
helpers = {name: getattr(rnn_kernels, name) for name in ("block", "state_product")}
helpers["gemm"] = gemm.gemm
print(json.dumps({name: [str(s) for s in f.signatures]
                  for name, f in {**kernels, **helpers}.items()}))
"""


def test_first_evaluation_compiles_only_its_kernel(tmp_path):
    """A float32 evaluation needs the float32 forward kernel only: no backward, no float64
    (in a fresh process on an empty numba cache, a fresh install, where every helper
    compiles too: from a filled cache a kernel loads without compiling its helpers)."""
    env = dict(os.environ, PYTHONPATH=ROOT, NUMBA_CACHE_DIR=str(tmp_path))
    run = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    compiled = json.loads(run.stdout.strip().splitlines()[-1])
    assert compiled["lstm_backward"] == []
    assert len(compiled["lstm_forward"]) == 1
    assert "float32" in compiled["lstm_forward"][0]
    assert "float64" not in compiled["lstm_forward"][0]
    # a helper compiles once per argument types: the gate blocks and the inputs' and states'
    # products are not literals of their own (each compiled the helper again, seconds of a
    # cold start); run on BLAS, the one thread and per-gate products share one compile too
    assert len(compiled["block"]) == 1, compiled["block"]
    assert len(compiled["state_product"]) == 1, compiled["state_product"]
    assert len(compiled["gemm"]) == 1, compiled["gemm"]

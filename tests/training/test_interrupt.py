"""Ctrl-C during NetTrain, wherever it lands (in numpy, in a numba kernel, between batches),
returns the net trained so far: SIGINT is sent to a training process at random moments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from netgraph import LongShortTermMemoryLayer, NetChain, NetTrain, SequenceLastLayer, LinearLayer
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(rng.integers(5, 40), 8)) for _ in range(256)]
    Y = rng.normal(size=(256, 2))
    net = NetChain([LongShortTermMemoryLayer(32), SequenceLastLayer(), LinearLayer(2)], input=("Varying", 8))
    # the kernels compiled (or loaded) first: the Ctrl-C lands in training, not in numba's
    # compiler on a cold cache (where Python may end with a SIGINT status after NetTrain
    # has returned its ManualStop)
    NetTrain(net, (X, Y), batch_size=16, max_training_rounds=1,
             training_progress_reporting=None, random_seed=0)
    print("ready", flush=True)
    r = NetTrain(net, (X, Y), "All", batch_size=16, max_training_rounds=10000,
                 training_progress_reporting=None, random_seed=0)
    finite = all(np.all(np.isfinite(a)) for a in
                 (a for layer in r["FinalNet"].layers.values() for a in layer.arrays.values()))
    print(r["ReasonTrainingStopped"], r["TotalBatches"], finite, flush=True)
    """
)


def _default_sigint():
    """In the child before it runs Python: SIGINT at its default, whatever the test runner's
    process does with it (pytest-xdist's workers ignore it, and a child inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to a subprocess (POSIX)")
def test_ctrl_c_at_random_moments_returns_the_net_so_far():
    rng = np.random.default_rng(1)
    for delay in rng.uniform(0.3, 1.6, size=10):
        p = subprocess.Popen(
            [sys.executable, "-c", SCRIPT],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_default_sigint,
        )
        try:
            assert p.stdout.readline().strip() == "ready"
            time.sleep(delay)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=120)
        finally:
            if p.poll() is None:  # a failed check leaves no 10,000-round run behind
                p.kill()
                p.communicate()
        assert p.returncode == 0, f"after {delay:.2f} s: {err[-800:]}"
        reason, batches, finite = out.split()
        assert reason == "ManualStop" and finite == "True", out


SWALLOWED = textwrap.dedent(
    """
    import signal
    import numpy as np
    from netgraph import LinearLayer, NetTrain
    calls = []
    def data(batch_size, round):
        calls.append(round)
        if len(calls) == 3:
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                pass  # swallowed, as in a ctypes callback
        x = np.random.default_rng(len(calls)).normal(size=(batch_size, 2))
        return (x, x.sum(1, keepdims=True))
    res = NetTrain(LinearLayer(1, input=2), data, "All", batch_size=4, round_length=8,
                   max_training_rounds=50, training_progress_reporting=None, random_seed=0)
    print(res["ReasonTrainingStopped"], len(calls))
    """
)


@pytest.mark.skipif(os.name != "posix", reason="raises SIGINT in a subprocess (POSIX)")
def test_a_ctrl_c_that_something_swallows_still_stops_training():
    """A Ctrl-C whose KeyboardInterrupt is swallowed where it lands (as a ctypes callback
    swallows it: llvmlite's, while numba compiles a kernel) still stops NetTrain at the next
    batch, with the net trained so far (in a fresh process, whose SIGINT handler is Python's)."""
    p = subprocess.run(
        [sys.executable, "-c", SWALLOWED],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_default_sigint,
    )
    assert p.returncode == 0, p.stderr[-800:]
    reason, calls = p.stdout.split()
    assert reason == "ManualStop"
    assert int(calls) <= 4  # the batch being read when it came, then no more

"""Data-parallel NetTrain on MPI (target_device="MPI"): two ranks started by mpiexec train
the net that one process trains, to float64 round-off; every rank ends with the same
arrays; rank 0 alone returns results and writes checkpoints; a failing rank ends them all.
The runs are tests/training/mpi_runs.py, launched in subprocesses with a timeout."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from netgraph import LinearLayer, NetTrain
from netgraph.distributed.mpi import Reduced, share_of_cores

pytest.importorskip("mpi4py", reason="needs mpi4py and an MPI library: pip install 'netgraph[mpi]'")

ROOT = Path(__file__).resolve().parents[2]
MPIEXEC = shutil.which(
    "mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
)
if MPIEXEC is None:
    pytest.skip(
        "needs mpiexec (the mpich package: pip install 'netgraph[mpi]')", allow_module_level=True
    )

TIMEOUT = 120  # seconds: a hung run fails the test instead of the suite


@pytest.fixture(scope="module", autouse=True)
def own_numba_cache(tmp_path_factory):
    """The ranks compile into a numba cache of their own: several processes rewriting the
    shared cache's index while another test's process loads from it slow that one down
    (tests/training/test_interrupt.py times its Ctrl-C after the kernels are loaded)."""
    ENV["NUMBA_CACHE_DIR"] = str(tmp_path_factory.mktemp("numba-cache"))
    yield
    ENV.pop("NUMBA_CACHE_DIR", None)


ENV = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def launch(case, out, ranks=2, extra=(), check=True):
    """Run mpi_runs.py's ``case`` on ``ranks`` MPI processes (0: one plain process on the
    CPU); returns the finished process."""
    script = ["-m", "tests.training.mpi_runs", case, "MPI" if ranks else "CPU", str(out), *extra]
    env = {**os.environ, **ENV}
    cmd = [sys.executable, *script]
    if ranks:
        cmd = [MPIEXEC, "-n", str(ranks), *cmd]
    # a session of its own: mpiexec passes signals to its process group, which would reach
    # the other tests' processes
    done = subprocess.run(
        cmd,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        start_new_session=True,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{case} on {ranks} ranks failed:\n{done.stdout}\n{done.stderr}")
    return done


def arrays(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def assert_same_arrays(a, b, atol):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=0, atol=atol, err_msg=k)


def lists(path):
    return json.loads(Path(path).read_text())


def test_two_ranks_train_the_net_one_process_trains(tmp_path):
    """Ragged sequences, a validation set and a measurement, float64: the arrays agree to
    round-off (only the order of the sums differs), every rank holds the same arrays, and
    rank 0's results hold the same losses and accuracies as one process's."""
    launch("memory", tmp_path / "one", ranks=0)
    launch("memory", tmp_path / "two")
    one, two0, two1 = (arrays(tmp_path / f) for f in ("one.0.npz", "two.0.npz", "two.1.npz"))
    assert_same_arrays(one, two0, atol=1e-12)
    assert_same_arrays(two0, two1, atol=0)  # the same update on every rank
    a, b = lists(tmp_path / "one.0.json"), lists(tmp_path / "two.0.json")
    for k in ("RoundLossList", "ValidationLossList", "BatchLossList"):
        np.testing.assert_allclose(b[k], a[k], rtol=1e-12, err_msg=k)
    assert b["Accuracy"] == a["Accuracy"] and b["RoundAccuracy"] == a["RoundAccuracy"]
    assert b["ExamplesProcessed"] == a["ExamplesProcessed"] == 3 * 40
    assert not (tmp_path / "two.1.json").exists()  # the other ranks return the net only
    assert max(abs(w).max() for w in one.values()) > 0.1  # trained arrays, not zeros


def test_rank_0_alone_reports(tmp_path):
    done = launch("printed", tmp_path / "p")
    rounds = [line for line in done.stdout.splitlines() if line.startswith("round ")]
    assert [r.split()[1] for r in rounds] == ["1/3", "2/3", "3/3"], done.stdout


def test_a_generator_whole_or_sharded_by_rank(tmp_path):
    """A generator that knows nothing of ranks gives every rank the whole batch, which
    NetTrain shares out; one that takes rank= and ranks= gives each rank its own share.
    Both train the net that one process trains on the whole batches."""
    launch("generator", tmp_path / "one", ranks=0)
    launch("generator", tmp_path / "whole")
    launch("sharded", tmp_path / "shared")
    one = arrays(tmp_path / "one.0.npz")
    assert_same_arrays(one, arrays(tmp_path / "whole.0.npz"), atol=1e-12)
    assert_same_arrays(one, arrays(tmp_path / "shared.0.npz"), atol=1e-12)
    a, b = lists(tmp_path / "one.0.json"), lists(tmp_path / "shared.0.json")
    np.testing.assert_allclose(b["BatchLossList"], a["BatchLossList"], rtol=1e-12)
    assert b["ExamplesProcessed"] == a["ExamplesProcessed"] == 2 * 24


def test_every_rank_uses_rank_0s_seed(tmp_path):
    """A seed that differs by rank (random_seed=base + rank) would deal each rank its share
    of another batch: rank 0's is the run's, and the net is the one of that seed."""
    launch("memory", tmp_path / "same")
    launch("seed_by_rank", tmp_path / "by_rank")
    assert_same_arrays(arrays(tmp_path / "same.0.npz"), arrays(tmp_path / "by_rank.0.npz"), atol=0)


def test_ranks_given_different_data_are_refused_not_left_waiting(tmp_path):
    done = launch("unequal", tmp_path / "u", check=False)
    assert done.returncode != 0
    assert "were given different training data (rank 0: 40 examples" in done.stderr


def test_statistics_fitted_on_a_share_are_rank_0s_on_every_rank(tmp_path):
    """Input normalization fitted from a sharded generator's first batch (each rank has its
    own share of it): every rank trains with rank 0's statistics, and ends with its net."""
    launch("normalized", tmp_path / "n")
    a, b = arrays(tmp_path / "n.0.npz"), arrays(tmp_path / "n.1.npz")
    assert_same_arrays(a, b, atol=0)
    means = [v for k, v in a.items() if k.endswith("/Mean")]
    assert means and np.abs(means[0]).max() > 1e-3  # fitted, not the identity


def test_dropout_masks_are_reproducible(tmp_path):
    """Each rank draws its own rows' masks from the run's seed and its rank: the same seed
    and number of ranks train the same net."""
    launch("dropout", tmp_path / "a")
    launch("dropout", tmp_path / "b")
    assert_same_arrays(arrays(tmp_path / "a.0.npz"), arrays(tmp_path / "b.0.npz"), atol=0)
    assert_same_arrays(arrays(tmp_path / "a.0.npz"), arrays(tmp_path / "a.1.npz"), atol=0)


def test_divergence_stops_every_rank_together(tmp_path):
    """A gradient that overflows is in every rank's sum: all stop at the same batch and
    return the same net, the one of the last whole round, as one process does."""
    launch("diverge", tmp_path / "one", ranks=0)
    done = launch("diverge", tmp_path / "two")
    assert "NetTrainDivergenceWarning" in done.stderr
    assert lists(tmp_path / "two.0.json")["ReasonTrainingStopped"] == "Divergence"
    one, two0, two1 = (arrays(tmp_path / f) for f in ("one.0.npz", "two.0.npz", "two.1.npz"))
    assert_same_arrays(two0, two1, atol=0)
    assert_same_arrays(one, two0, atol=1e-12)
    a, b = lists(tmp_path / "one.0.json"), lists(tmp_path / "two.0.json")
    assert len(a["BatchLossList"]) == len(b["BatchLossList"])


def test_moving_statistics_are_the_same_on_every_rank(tmp_path):
    """A batch normalization's moving statistics (set without gradients) are averaged over
    the ranks' shares by examples: every rank ends with the same, and they follow the data
    (not the initial zeros and ones)."""
    launch("batchnorm", tmp_path / "bn")
    two0, two1 = arrays(tmp_path / "bn.0.npz"), arrays(tmp_path / "bn.1.npz")
    assert_same_arrays(two0, two1, atol=0)
    means = [v for k, v in two0.items() if k.endswith("MovingMean")]
    assert means and np.abs(means[0]).max() > 1e-3


def test_a_failing_rank_ends_every_rank(tmp_path):
    """An exception on one rank (its data cannot be read, in round 2) ends the run on every
    rank, with the error shown and the rank named, instead of leaving the others waiting."""
    done = launch("failing", tmp_path / "f", check=False)
    assert done.returncode != 0
    assert "rank 1 of 2 failed" in done.stderr
    assert "the data of rank 1 cannot be read" in done.stderr
    assert not (tmp_path / "f.0.npz").exists()


def test_ctrl_c_stops_every_rank(tmp_path):
    """A Ctrl-C (mpiexec passes it to every rank) stops every rank, soon, saying so."""
    marker = tmp_path / "training"
    cmd = [MPIEXEC, "-n", "2", sys.executable, "-m", "tests.training.mpi_runs", "long", "MPI"]
    env = {**os.environ, **ENV}
    p = subprocess.Popen(
        [*cmd, str(tmp_path / "l"), str(marker)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # see launch
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not marker.exists() and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.1)
        assert marker.exists(), p.communicate()[1] if p.poll() is not None else "no training"
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode != 0
    assert "stopped by Ctrl-C on rank" in err


def test_checkpoints_rank_0_writes_and_resume_needs_as_many_ranks(tmp_path):
    """Rank 0 alone writes checkpoints; resuming them on as many ranks continues the run
    exactly; resuming on another number of processes is refused, naming it."""
    d = tmp_path / "ck"
    launch("checkpoints", tmp_path / "part", extra=(str(d), "2"))
    assert sorted(p.name for p in d.iterdir()) == [
        "checkpoint-round0001.ngnet",
        "checkpoint-round0002.ngnet",
    ]
    assert (tmp_path / "writers").read_text().split() == ["0", "0"]  # rank 0 alone
    launch("checkpoints", tmp_path / "resumed", extra=(str(d), "3", "resume"))
    launch("checkpoints", tmp_path / "whole", extra=(str(tmp_path / "ck2"), "3"))
    assert_same_arrays(arrays(tmp_path / "resumed.0.npz"), arrays(tmp_path / "whole.0.npz"), atol=0)
    done = launch(
        "checkpoints", tmp_path / "one", ranks=0, extra=(str(d), "3", "resume"), check=False
    )
    assert done.returncode != 0
    assert "processes (target_device): 2 there, 1 here" in done.stderr


def test_one_process_and_the_device_option():
    """target_device="MPI" in a process that mpiexec did not start (one rank) trains as
    without it; an unknown device is refused with the choices."""
    x = np.linspace(-1, 1, 16)[:, None]
    kw = dict(max_training_rounds=3, batch_size=4, random_seed=0, training_progress_reporting=None)
    a = NetTrain(LinearLayer(1, input=1), (x, 2 * x), **kw)
    b = NetTrain(LinearLayer(1, input=1), (x, 2 * x), target_device="MPI", **kw)
    np.testing.assert_array_equal(a.arrays["Weights"], b.arrays["Weights"])
    with pytest.raises(ValueError, match='target_device must be "CPU", "MPI"'):
        NetTrain(LinearLayer(1, input=1), (x, 2 * x), target_device="GPU", **kw)


# -- the pieces, without MPI: two ranks' buffers summed by hand -----------------------------


def test_the_summed_buffer_is_the_whole_batchs_mean():
    """Gradients and losses weighted by each rank's examples, a gradient one rank lacks
    (absent on both stays absent), moving statistics averaged by examples, an empty share,
    and an overflow on one rank reaching every rank."""
    params = {"w": np.zeros((2, 3)), "b": np.zeros(3), "none": np.zeros(1), "stat": np.zeros(3)}
    r = Reduced(params, ["w", "b", "none"], ["stat"], np.float64)
    g0 = {"w": np.full((2, 3), 1.0), "b": np.arange(3.0)}
    g1 = {"w": np.full((2, 3), 4.0)}
    s0, s1 = {"stat": np.full(3, 2.0)}, {"stat": np.full(3, 8.0)}
    buf = r.pack(0.5, 3, 7.0, g0, s0) + r.pack(2.0, 1, 0.0, g1, s1) + r.pack(9.0, 0, 0, {}, {})
    loss, elapsed, grads, stats = r.unpack(buf)
    assert loss == (0.5 * 3 + 2.0) / 4 and elapsed == 7.0  # rank 0's clock
    np.testing.assert_allclose(grads["w"], (3 * 1.0 + 1 * 4.0) / 4)
    np.testing.assert_allclose(grads["b"], 3 * np.arange(3.0) / 4)  # rank 1 had none
    assert "none" not in grads
    np.testing.assert_allclose(stats["stat"], (3 * 2.0 + 1 * 8.0) / 4)
    g1["w"][0, 0] = np.inf
    _, _, grads, _ = r.unpack(r.pack(0.5, 3, 0, g0, {}) + r.pack(2.0, 1, 0, g1, {}))
    assert not np.isfinite(grads["w"]).all()  # every rank sees the divergence


def test_tallies_merge_into_the_whole_sets():
    """Counts and confusion matrices add up; means and sums of squares merge as one pass
    over both parts would give them."""
    from netgraph.measurements.measures import Tally

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(7), rng.standard_normal(5)

    def tally(t, kind="Regression"):
        x = Tally.__new__(Tally)
        x.n, x.loss, x.count, x.sse, x.sae, x.mean, x.m2 = 0, 0.0, 0, 0.0, 0.0, 0.0, 0.0
        x._errors(t, np.zeros_like(t))
        x.n, x.loss = len(t), float(np.sum(t))
        return x

    whole, part = tally(np.concatenate([a, b])), tally(a)
    part.merge([tally(a).counts(), tally(b).counts()])
    for f in ("n", "loss", "count", "sse", "sae", "mean", "m2"):
        assert np.isclose(getattr(part, f), getattr(whole, f)), f


def test_each_rank_gets_its_share_of_the_cores():
    two = frozenset({0, 1})
    assert share_of_cores(two, [two, two]) == 1  # two ranks on the same two cores
    assert share_of_cores(frozenset(range(4)), [frozenset(range(4))]) == 4
    own = [frozenset({0, 1}), frozenset({2, 3})]  # bound by the launcher to cores of their own
    assert share_of_cores(own[0], own) == 2

"""The training runs of tests/training/test_distributed.py, as a script that each MPI rank
(or one plain process) runs: ``python -m tests.training.mpi_runs CASE DEVICE OUT [...]``.
Each process writes its trained arrays to OUT.<rank>.npz, and the rank that got a results
object its lists to OUT.<rank>.json."""

import json
import os
import sys

import numpy as np

from netgraph import (
    BatchNormalizationLayer,
    DropoutLayer,
    InputNormalizationLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetDecoder,
    NetTrain,
    SequenceLastLayer,
    SoftmaxLayer,
)
from netgraph.training.checkpoint import Checkpoints
from netgraph.walk import flatten

LISTS = ("RoundLossList", "ValidationLossList", "BatchLossList")


def data(n, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((int(L), 3)) for L in rng.integers(2, 9, n)]
    return xs, rng.integers(0, 3, n)


def net(dropout=False, normalized=False):
    layers = [LongShortTermMemoryLayer(5), SequenceLastLayer(), LinearLayer(3), SoftmaxLayer()]
    if dropout:
        layers.insert(2, DropoutLayer(0.3))
    if normalized:
        layers.insert(0, InputNormalizationLayer("zscore"))
    return NetChain(layers, input=("Varying", 3), output=NetDecoder("Class", [0, 1, 2]))


def generator(batch_size, round):
    """A whole batch, the same in every process: drawn from the round and the batch count."""
    generator.calls = getattr(generator, "calls", 0) + 1
    xs, ys = data(batch_size, 1000 + generator.calls)
    return xs, ys


def sharded(batch_size, round, rank, ranks):
    """This rank's share of generator's batch (rank and ranks given: NetTrain shares out
    nothing more)."""
    xs, ys = generator(batch_size, round)
    return xs[rank::ranks], ys[rank::ranks]


def failing(batch_size, round, rank, ranks):
    if rank == ranks - 1 and round == 2:
        raise RuntimeError(f"the data of rank {rank} cannot be read")
    return sharded(batch_size, round, rank, ranks)


def run(case, device, extra):
    """NetTrain of ``case`` (a function of CASES) on ``device``, float64, seed 1, batch 8."""
    common = dict(
        batch_size=8,
        random_seed=1,
        working_precision="Real64",
        training_progress_reporting=None,
        target_device=device,
    )
    return CASES[case](common, extra)


def rank():
    from mpi4py import MPI

    return MPI.COMM_WORLD.Get_rank()


def unequal(common, extra):
    """Each rank given other data: refused on every rank, not a hang."""
    return NetTrain(net(), data(40 + 8 * rank(), 0), "All", max_training_rounds=1, **common)


def seed_by_rank(common, extra):
    """``memory`` with a seed that differs by rank: rank 0's (1) is the run's."""
    return memory({**common, "random_seed": 1 + 7 * rank()}, extra)


def normalized(common, extra):
    """Input normalization fitted from a sharded generator's first share."""
    return NetTrain(
        net(normalized=True), sharded, "All", max_training_rounds=2, round_length=24, **common
    )


def printed(common, extra):
    """``memory``, reporting each round on standard output."""
    return memory({**common, "training_progress_reporting": "Print"}, extra)


def memory(common, extra):
    return NetTrain(
        net(),
        data(40, 0),
        "All",
        max_training_rounds=3,
        validation_set=data(11, 1),
        training_progress_measurements=["Accuracy"],
        **common,
    )


def diverge(common, extra):
    """A learning rate that overflows the arrays in the first round."""
    sgd = ("SGD", {"learning_rate": 1e308})
    return NetTrain(net(), data(40, 0), "All", max_training_rounds=4, method=sgd, **common)


def batchnorm(common, extra):
    chain = NetChain(
        [LinearLayer(6), BatchNormalizationLayer(), LinearLayer(3), SoftmaxLayer()],
        input=4,
        output=NetDecoder("Class", [0, 1, 2]),
    )
    rng = np.random.default_rng(5)
    xy = (rng.standard_normal((48, 4)), rng.integers(0, 3, 48))
    return NetTrain(chain, xy, "All", max_training_rounds=2, **common)


def dropout(common, extra):
    return NetTrain(net(dropout=True), data(40, 0), "All", max_training_rounds=2, **common)


def drawn(f):
    def case(common, extra):
        return NetTrain(net(), f, "All", max_training_rounds=2, round_length=24, **common)

    return case


def long(common, extra):
    """Rounds without end, a file made once training runs (extra[0]): stopped by Ctrl-C."""

    def marking(batch_size, round):
        if round == 2:
            open(extra[0], "w").close()
        return generator(batch_size, round)

    return NetTrain(net(), marking, max_training_rounds=10**6, round_length=8, **common)


def checkpoints(common, extra):
    """extra: the directory, the rounds, and "resume" to resume from the directory. Each
    process that writes a checkpoint notes its rank in the directory's "writers" file."""
    rounds, resume = int(extra[1]), extra[2:] == ["resume"]
    save = Checkpoints.save

    def noted(self, rnd, trainer):
        who = 0 if trainer.team is None else trainer.team.rank
        with open(os.path.join(extra[0], "..", "writers"), "a") as f:
            f.write(f"{who}\n")
        return save(self, rnd, trainer)

    Checkpoints.save = noted
    return NetTrain(
        net(),
        data(40, 0),
        "All",
        max_training_rounds=rounds,
        training_progress_checkpointing=extra[0],
        resume_from=extra[0] if resume else None,
        **common,
    )


CASES = {
    "memory": memory,
    "diverge": diverge,
    "batchnorm": batchnorm,
    "dropout": dropout,
    "generator": drawn(generator),
    "sharded": drawn(sharded),
    "failing": drawn(failing),
    "long": long,
    "checkpoints": checkpoints,
    "unequal": unequal,
    "seed_by_rank": seed_by_rank,
    "normalized": normalized,
    "printed": printed,
}


def arrays(trained) -> dict:
    return {
        "/".join(map(str, path)) + "/" + k: np.asarray(a)
        for path, leaf in flatten(trained).leaves.items()
        for k, a in leaf.arrays.items()
        if a is not None
    }


def main(argv):
    case, device, out, *extra = argv
    rank = 0
    if device == "MPI":
        from mpi4py import MPI

        rank = MPI.COMM_WORLD.Get_rank()
    r = run(case, device, extra)
    if hasattr(r, "properties"):
        trained = r["TrainedNet"]
        lists = {k: r[k] for k in LISTS}
        lists["Accuracy"] = [m.get("Accuracy") for m in r["ValidationMeasurementsLists"]]
        lists["RoundAccuracy"] = [m.get("Accuracy") for m in r["RoundMeasurementsLists"]]
        lists["ExamplesProcessed"] = r["ExamplesProcessed"]
        lists["ReasonTrainingStopped"] = r["ReasonTrainingStopped"]
        with open(f"{out}.{rank}.json", "w") as f:
            json.dump(lists, f)
    else:
        trained = r
    np.savez(f"{out}.{rank}.npz", **arrays(trained))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Data-parallel NetTrain on MPI: ``target_device="MPI"`` in a script started as
``mpiexec -n N python train.py``.

Horovod's design. Every rank runs the same NetTrain call on the same data: the arrays are
broadcast from rank 0 before the first batch, every rank draws the same batches (the seed is
rank 0's), and each computes the gradient of its share of every batch (``Team.share``: the
batch's sequences dealt by length, so that the padded work is about even). The gradients,
the loss and what training sets without gradients (moving statistics) go into one buffer,
summed by one Allreduce per batch, so every rank makes the same update. Rank 0
alone reports progress and writes checkpoints; validation and the round's measurements are
sharded and their counts summed. ``batch_size`` stays the global batch.

A rank that raises ends every rank: it prints its error, naming its rank, and calls
``MPI_Abort`` (a rank that left the loop would leave the others waiting in the next
Allreduce). A Ctrl-C, which mpiexec passes to every rank, does the same. While training,
each rank runs its kernels and BLAS on its share of the cores of its machine.
"""

from __future__ import annotations

import os
import sys
import traceback
from contextlib import contextmanager

import numpy as np

from ..kernels.settings import KernelOptions

INSTALL = 'pip install "netgraph[mpi]" (mpi4py and the mpich MPI library)'


def team_for(device) -> Team | None:
    """The team of processes for NetTrain's ``target_device``: None for "CPU" (and for an MPI
    run of one process: nothing changes then), else the ranks of MPI_COMM_WORLD ("MPI") or
    of the mpi4py communicator given."""
    if device == "CPU":
        return None
    if device == "MPI":
        try:
            import mpi4py
        except ImportError as e:
            raise ImportError(
                f'NetTrain: target_device="MPI" needs mpi4py, which is not installed: {INSTALL}.'
            ) from e
        try:
            from mpi4py import MPI
        except (ImportError, RuntimeError) as e:
            raise ImportError(
                f"NetTrain: mpi4py {mpi4py.__version__} could not load an MPI library ({e}); "
                f"install one: {INSTALL}."
            ) from e
        comm = MPI.COMM_WORLD
    else:
        comm = device  # a communicator (options.py checked it)
    return Team(comm) if comm.Get_size() > 1 else None


def is_communicator(x) -> bool:
    """Whether ``x`` is an mpi4py communicator (without importing mpi4py for other values)."""
    mpi = sys.modules.get("mpi4py.MPI")
    return mpi is not None and isinstance(x, mpi.Comm)


class Team:
    """The ranks of one data-parallel NetTrain call."""

    def __init__(self, comm):
        from mpi4py import MPI

        self.MPI, self.comm = MPI, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        local = comm.Split_type(MPI.COMM_TYPE_SHARED)  # the ranks on this machine
        mine = _my_cores()
        self.cores = share_of_cores(mine, local.allgather(mine))
        local.Free()

    # -- before training ------------------------------------------------------------------
    def seed(self, seed: int | None) -> int:
        """The run's random seed, the same on every rank: rank 0's (one it draws when none
        is given). Every rank must draw the same batches; a seed that differs by rank (as
        ``base + rank``) would deal each rank its share of another batch."""
        if self.rank == 0 and seed is None:
            seed = int(np.random.SeedSequence().entropy % 2**63)
        return self.comm.bcast(seed if self.rank == 0 else None, root=0)

    def same_arrays(self, params: dict) -> None:
        """Rank 0's arrays on every rank, in place (the same order on every rank: the
        arrays of one net, collected alike)."""
        for w in params.values():
            self.comm.Bcast(w, root=0)

    def same_data(self, examples: int, batches: int) -> None:
        """Refuse a run whose ranks were given different data (``examples`` in memory) or
        draw different numbers of ``batches`` in a round: their sums would pair up wrongly
        and wait for each other for ever."""
        seen = self.comm.allgather((examples, batches))
        if len(set(seen)) > 1:
            shown = "; ".join(
                f"rank {r}: {n} examples, {b} batches" for r, (n, b) in enumerate(seen)
            )
            raise ValueError(
                f"NetTrain: the ranks of this MPI run were given different training data ({shown}). "
                "Give every rank the same data (each trains on its share of every batch), or a "
                "generator taking rank= and ranks= that returns each rank's share."
            )

    @contextmanager
    def threads(self):
        """Kernels and BLAS pools at this rank's share of its machine's cores, so that the
        ranks on one machine do not oversubscribe it."""
        from threadpoolctl import threadpool_limits

        with KernelOptions(threads=self.cores), threadpool_limits(self.cores):
            yield

    # -- each batch -----------------------------------------------------------------------
    def share(self, idx: np.ndarray, lengths) -> np.ndarray:
        """This rank's examples of a batch: the batch sorted by decreasing sequence length
        and dealt to the ranks in turn, so that each pads about as much as the others."""
        if lengths is not None:
            idx = idx[np.argsort(-lengths[idx], kind="stable")]
        return idx[self.rank :: self.size]

    def step_seed(self, seed: int) -> int:
        """A batch's seed for this rank's dropout masks (its rows differ from the others')."""
        return int(np.random.SeedSequence([seed, self.rank]).generate_state(1, np.uint64)[0])

    def sum(self, buf: np.ndarray) -> np.ndarray:
        """The sum over the ranks of ``buf``, in place: one Allreduce."""
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        return buf

    def gather(self, obj) -> list:
        """Every rank's ``obj``, in rank order."""
        return self.comm.allgather(obj)

    # -- faults ---------------------------------------------------------------------------
    def fail(self, error: BaseException) -> None:
        """End every rank: print this rank's error, then MPI_Abort."""
        if isinstance(error, KeyboardInterrupt):
            print(
                f"NetTrain: stopped by Ctrl-C on rank {self.rank} of {self.size}.", file=sys.stderr
            )
        else:
            print(f"NetTrain: rank {self.rank} of {self.size} failed:", file=sys.stderr)
            traceback.print_exception(error, file=sys.stderr)
        sys.stderr.flush()
        self.comm.Abort(1)


def _my_cores() -> frozenset:
    """The cores this process may run on (all of them where affinity is unknown: macOS)."""
    try:
        return frozenset(os.sched_getaffinity(0))
    except AttributeError:
        return frozenset(range(os.cpu_count() or 1))


def share_of_cores(mine: frozenset, on_machine: list) -> int:
    """This rank's threads: its cores, over the ranks of its machine that may run on the
    same ones (a launcher that binds each rank to cores of its own leaves them all to it)."""
    sharing = sum(1 for other in on_machine if other & mine)
    return max(1, len(mine) // max(1, sharing))


class Reduced:
    """One batch's loss, gradients and new values of the arrays set without gradients,
    summed over the ranks in one buffer of the working precision (float32: half the bytes
    of float64 to send). Layout: the loss summed over the rank's
    examples, its examples, rank 0's elapsed seconds (0 elsewhere); then for each trained
    array whether the rank has its gradient (1 or 0) and the gradient; then for each array
    set without gradients (moving statistics) the rank's weight (its examples, or 0 without
    a new value) and the value times the weight, so that the sum gives their mean weighted
    by examples."""

    def __init__(self, params: dict, trained: list, updated: list, dtype):
        self.trained, self.updated, self.dtype = trained, updated, dtype
        self.params = {k: (params[k].shape, params[k].dtype, params[k].size) for k in params}
        keys = (*trained, *updated)
        sizes = [1 + self.params[k][2] for k in keys]
        self.at = dict(zip(keys, (3 + np.concatenate([[0], np.cumsum(sizes)[:-1]])).tolist()))
        self.size = 3 + sum(sizes)

    def pack(self, loss: float, n: int, elapsed: float, grads: dict, updates: dict):
        """A rank's buffer: ``loss`` and ``grads`` the means over its ``n`` examples (none
        when n is 0), ``updates`` the new values of arrays set without gradients."""
        buf = np.zeros(self.size, self.dtype)
        buf[:3] = loss * n, n, elapsed
        if n:
            for k in self.trained:
                if k in grads:
                    self._put(buf, k, 1.0, grads[k] * float(n))
            for k in self.updated:
                if k in updates:
                    self._put(buf, k, float(n), updates[k] * float(n))
        return buf

    def _put(self, buf, k, flag, value) -> None:
        o = self.at[k]
        buf[o] = flag
        buf[o + 1 : o + 1 + value.size] = np.ravel(value)

    def unpack(self, buf: np.ndarray):
        """(loss, rank 0's elapsed seconds, gradients, new values of the arrays set without
        gradients) of the whole batch, from the summed buffer: the means over all the
        ranks' examples."""
        n = buf[1]
        grads = {k: self._mean(buf, k, n) for k in self.trained if buf[self.at[k]]}
        updates = {k: self._mean(buf, k, buf[self.at[k]]) for k in self.updated if buf[self.at[k]]}
        return float(buf[0] / n), float(buf[2]), grads, updates

    def _mean(self, buf, k, weight):
        """The array ``k``'s values in ``buf`` over ``weight``, in its shape and dtype."""
        shape, dtype, size = self.params[k]
        o = self.at[k]
        return (buf[o + 1 : o + 1 + size] / weight).reshape(shape).astype(dtype)

"""Training beyond one process: data-parallel NetTrain on MPI (mpi.py, docs/distributed.md)."""

from .mpi import Reduced, Team, is_communicator, team_for

__all__ = ["Reduced", "Team", "is_communicator", "team_for"]

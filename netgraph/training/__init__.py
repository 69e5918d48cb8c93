"""NetTrain and its results."""

from .results import NetTrainResultsObject
from .train import NetTrain, NetTrainDivergenceWarning

__all__ = ["NetTrain", "NetTrainDivergenceWarning", "NetTrainResultsObject"]

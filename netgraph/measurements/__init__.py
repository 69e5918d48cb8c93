"""NetMeasurements: how well a net does on data (accuracy, a confusion matrix, mean squared
error, …). ``measures.py`` says what each measurement means and gathers them batch by batch
(NetTrain uses it too); ``net_measurements.py`` runs a net over a data set."""

from .net_measurements import NetMeasurements

__all__ = ["NetMeasurements"]

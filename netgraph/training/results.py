"""NetTrainResultsObject: what NetTrain returns for prop="All"."""

from __future__ import annotations

import html

from ..display import picture_of, section, values_html
from ..graphics import loss_figure, need_matplotlib
from ..text import closest, html_box, html_table

PROPERTIES = (
    "TrainedNet",
    "TrainedNetRound",
    "FinalNet",
    "RoundLossList",
    "BatchLossList",
    "ValidationLossList",
    "RoundMeasurements",
    "RoundMeasurementsLists",
    "ValidationMeasurements",
    "ValidationMeasurementsLists",
    "BestValidationRound",
    "TotalTrainingTime",
    "MeanExamplesPerSecond",
    "ReasonTrainingStopped",
    "LossPlot",
    "TotalRounds",
    "TotalBatches",
    "ExamplesProcessed",
    "Method",
    "BatchSize",
    "Properties",
)


class NetTrainResultsObject:
    """The results of a training run: ``results["RoundLossList"]``, ``results.properties``.

    "TrainedNet" is the net of the best validation round when there is a validation set,
    else the final net ("FinalNet"); "TrainedNetRound" is its round in every case (after a
    divergence, the last whole round; 0 for the net before training). "ReasonTrainingStopped" is one of "MaxTrainingRounds",
    "TimeGoalReached", "StoppingCriterion", "Divergence", "ManualStop". "LossPlot" is a
    matplotlib figure (install the ``[plot]`` extra).

    >>> import numpy as np
    >>> from netgraph import NetChain, LinearLayer, NetTrain
    >>> x = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> results = NetTrain(NetChain([LinearLayer(1)], input=1), (x, 3 * x), "All",
    ...                    max_training_rounds=5, random_seed=0, training_progress_reporting=None)
    >>> results["TotalRounds"], results["ReasonTrainingStopped"], len(results["RoundLossList"])
    (5, 'MaxTrainingRounds', 5)
    >>> results["RoundLossList"][-1] < results["RoundLossList"][0]
    True
    >>> results.properties[:3]
    ['TrainedNet', 'TrainedNetRound', 'FinalNet']
    """

    def __init__(self, values: dict):
        self._values = dict(values)

    @property
    def properties(self) -> list[str]:
        return list(PROPERTIES)

    def __getitem__(self, name: str):
        if name == "Properties":
            return self.properties
        if name == "LossPlot":
            return self.loss_plot()
        if name not in PROPERTIES:
            raise KeyError(
                f'NetTrainResultsObject has no property "{name}"{closest(name, PROPERTIES)}. '
                f"Properties: {', '.join(PROPERTIES)}."
            )
        return self._values[name]

    def loss_plot(self):
        need_matplotlib('The "LossPlot" property')
        return loss_figure(self._values["RoundLossList"], self._values["ValidationLossList"])

    def __repr__(self) -> str:
        v = self._values
        last, validated = _last(v["RoundLossList"]), _last(v["ValidationLossList"])
        last = float("nan") if last is None else last
        val = "" if validated is None else f", validation loss {validated:.4g}"
        return (
            f"NetTrainResultsObject[{v['TotalRounds']} rounds, {v['TotalBatches']} batches, "
            f"final round loss {last:.4g}{val}, {v['TotalTrainingTime']:.2f} s, "
            f"stopped: {v['ReasonTrainingStopped']}]"
        )

    def _repr_html_(self) -> str:
        """A summary box: the loss plot, the run's figures, the last round's measurements and
        the properties."""
        v = self._values
        figures = [
            ("rounds", v["TotalRounds"]),
            ("batches", v["TotalBatches"]),
            ("examples", v["ExamplesProcessed"]),
            ("final round loss", _number(_last(v["RoundLossList"]))),
            ("final validation loss", _number(_last(v["ValidationLossList"]))),
            ("trained net", f"round {v['TrainedNetRound']}"),
            ("time", f"{v['TotalTrainingTime']:.2f} s"),
            ("examples per second", f"{v['MeanExamplesPerSecond']:,.0f}"),
            ("stopped", v["ReasonTrainingStopped"]),
        ]
        rows = [(html.escape(k), html.escape(str(x))) for k, x in figures if x is not None]
        parts = [picture_of(self.loss_plot) if v["RoundLossList"] else ""]
        parts.append(section("run", html_table(rows)))
        for name, key in (("round", "RoundMeasurements"), ("validation", "ValidationMeasurements")):
            if v.get(key):
                m = [(html.escape(k), values_html(x)) for k, x in v[key].items()]
                parts.append(section(f"{name} measurements", html_table(m)))
        names = ", ".join(f"<code>{p}</code>" for p in PROPERTIES)
        parts.append(
            section("properties", f'<div style="max-width:40em">{names}</div>', shown=False)
        )
        return html_box("NetTrainResultsObject", *parts)


def _last(values: list):
    return values[-1] if values else None


def _number(x) -> str | None:
    return None if x is None else f"{x:.5g}"

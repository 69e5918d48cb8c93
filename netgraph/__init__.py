"""netgraph: symbolic neural nets in the style of the Wolfram Language."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("netgraph")
except PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "0.1.0+source"

from . import editing, information
from .coders import NetDecoder, NetEncoder
from .containers import (
    NetBidirectionalOperator,
    NetChain,
    NetFoldOperator,
    NetGraph,
    NetMapOperator,
    NetNestOperator,
)
from .editing import *
from .information import *
from .initialization import NetInitialize
from .io import Export, Import, interop
from .io.interop import *
from .kernels.settings import KernelOptions
from .layers import *
from .layers import __all__ as _layers
from .measurements import NetMeasurements
from .state import NetStateObject
from .symbols import All, Automatic, NetPort, NetPortGradient, Restricted, Scaled
from .training import NetTrain, NetTrainDivergenceWarning, NetTrainResultsObject

__all__ = [  # noqa: PLE0604
    *_layers,
    "NetChain",
    "NetMapOperator",
    "NetBidirectionalOperator",
    "NetFoldOperator",
    "NetNestOperator",
    "NetDecoder",
    "NetEncoder",
    "NetTrain",
    "NetTrainDivergenceWarning",
    "NetTrainResultsObject",
    "NetGraph",
    "NetInitialize",
    "KernelOptions",
    "NetMeasurements",
    "NetStateObject",
    *information.__all__,
    *editing.__all__,
    *interop.__all__,
    "All",
    "Automatic",
    "NetPort",
    "NetPortGradient",
    "Restricted",
    "Scaled",
    "Export",
    "Import",
]

"""netgraph: symbolic neural nets in the style of the Wolfram Language."""

from .containers import NetChain, NetGraph
from .initialization import NetInitialize
from .layers import *
from .layers import __all__ as _layers
from .symbols import All, Automatic, NetPort, NetPortGradient, Restricted, Scaled

__all__ = [
    *_layers,
    "NetChain",
    "NetGraph",
    "NetInitialize",
    "All",
    "Automatic",
    "NetPort",
    "NetPortGradient",
    "Restricted",
    "Scaled",
]

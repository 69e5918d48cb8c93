from .chain import NetChain
from .graph import Container, NetGraph

__all__ = ["NetChain", "NetGraph"]

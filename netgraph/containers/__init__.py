from .chain import NetChain
from .graph import Container, NetGraph  # noqa: F401

__all__ = ["NetChain", "NetGraph"]

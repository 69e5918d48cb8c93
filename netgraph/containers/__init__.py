from .chain import NetChain
from .graph import Container, NetGraph  # noqa: F401
from .operators import NetBidirectionalOperator, NetFoldOperator, NetMapOperator, NetNestOperator

__all__ = [
    "NetChain",
    "NetGraph",
    "NetMapOperator",
    "NetBidirectionalOperator",
    "NetFoldOperator",
    "NetNestOperator",
]

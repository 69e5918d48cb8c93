"""Layer specs, one family per module."""

from .base import Layer
from .elementwise import ElementwiseLayer
from .linear import LinearLayer
from .softmax import SoftmaxLayer

__all__ = ["ElementwiseLayer", "Layer", "LinearLayer", "SoftmaxLayer"]

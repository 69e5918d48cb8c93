"""Layer specs, one family per module."""

from . import (
    aggregation,
    combine,
    convolution,
    dropout,
    elementwise,
    embedding,
    linear,
    loss,
    normalization,
    recurrent,
    sequence,
    shape,
    softmax,
)
from .base import Layer

_families = (
    linear,
    elementwise,
    softmax,
    normalization,
    convolution,
    dropout,
    embedding,
    sequence,
    combine,
    shape,
    aggregation,
    loss,
    recurrent,
)
for _m in _families:
    globals().update({_n: getattr(_m, _n) for _n in _m.__all__})

__all__ = ["Layer"] + [_n for _m in _families for _n in _m.__all__]

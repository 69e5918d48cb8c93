"""Weights from and to other frameworks, exact or refused, never approximated: PyTorch
modules and state dicts (pytorch.py), MATLAB's and Keras's recurrent layouts (layouts.py)."""

from . import layouts, pytorch
from .layouts import *  # noqa: F403
from .pytorch import *  # noqa: F403

__all__ = [*pytorch.__all__, *layouts.__all__]  # noqa: PLE0604

"""Reading an ONNX file as data: the model parsed and checked, its tensors read only after
their declared shapes have been checked against the bytes the file holds.

Nothing outside the file is read (external data is refused), and no op is run.
"""

from __future__ import annotations

import math

import numpy as np

from .onnx_graph import TensorProto, numpy_helper, onnx

MAX_ELEMENTS = 1 << 30  # per tensor: 4 GiB of float32, past what one ONNX file can hold
# element type (TensorProto.DataType: FLOAT 1, INT32 6, INT64 7, BOOL 9, DOUBLE 11) → the
# numpy type and the repeated field that holds the values when they are not raw bytes
FIELDS = {
    1: (np.float32, "float_data"),
    11: (np.float64, "double_data"),
    7: (np.int64, "int64_data"),
    6: (np.int32, "int32_data"),
    9: (np.bool_, "int32_data"),
}


def _external(model) -> str | None:
    """The name of a tensor stored outside the file, if any."""
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        tensors += [a.t for a in node.attribute if a.type == onnx.AttributeProto.TENSOR]
    for t in tensors:
        if t.data_location == TensorProto.EXTERNAL or t.external_data:
            return t.name or "(a constant)"
    return None


def read_model(path: str):
    """The parsed and checked model; a file that is not one is a ValueError naming it."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        model = onnx.load_from_string(data)
    except OSError:
        raise
    except Exception as e:  # protobuf's DecodeError and what a damaged message raises
        raise ValueError(
            f"import_onnx: {path} is not an ONNX model ({type(e).__name__}: {e})."
        ) from None
    outside = _external(model)
    if outside is not None:
        raise ValueError(
            f'import_onnx: {path} keeps the tensor "{outside}" in an external file; netgraph '
            "reads only what the model file itself holds."
        )
    if model.functions:
        raise ValueError(
            f"import_onnx: {path} defines functions ({model.functions[0].name}, …), which "
            "netgraph does not read."
        )
    try:
        onnx.checker.check_model(model)
    except Exception as e:  # onnx.checker.ValidationError, and errors of a damaged model
        raise ValueError(f"import_onnx: {path} is not a valid ONNX model: {e}") from None
    return model


def to_array(t, path: str) -> np.ndarray:
    """A tensor's values, after checking its type and that its data fill its shape."""
    where = f'import_onnx: {path}: the tensor "{t.name}"'
    if t.data_type not in FIELDS:
        known = t.data_type in TensorProto.DataType.values()
        name = TensorProto.DataType.Name(t.data_type) if known else str(t.data_type)
        raise ValueError(f"{where} has the element type {name}, which netgraph does not read.")
    dims = list(t.dims)
    if any(d < 0 for d in dims) or math.prod(dims) > MAX_ELEMENTS:
        raise ValueError(f"{where} declares the shape {dims}, which netgraph refuses.")
    dtype, field = FIELDS[t.data_type]
    held = len(t.raw_data) / np.dtype(dtype).itemsize if t.raw_data else len(getattr(t, field))
    if held != math.prod(dims):
        raise ValueError(
            f"{where} declares the shape {dims} ({math.prod(dims)} elements) but holds {held:g}."
        )
    return numpy_helper.to_array(t)


def tensors_of(graph, path: str) -> dict:
    """Every initializer of the graph by name."""
    return {t.name: to_array(t, path) for t in graph.initializer}

"""ONNX export and import: ``export_onnx(path, net)`` and ``import_onnx(path)``.

Export writes a fully initialized net as an ONNX model (opset 17, onnx_graph.py says why):
every layer as standard ONNX ops, ragged batches carried by ``sequence_lens``
(onnx_export.py describes the model's inputs and outputs), and netgraph's description of the
net in the model's metadata, from which import rebuilds an equal net.

Import reads a file without running anything from it: no external data, no custom ops or
functions, tensors checked against their declared shapes before they are read. A file that
carries netgraph's description is rebuilt from it (onnx_spec.py); any other graph is read op
by op (onnx_import.py): recurrent ops, Gemm/MatMul, activations, softmax, and what PyTorch's
exporter puts around them. Anything netgraph cannot compute exactly is refused by name.
"""

from __future__ import annotations

import os

from .onnx_export import EMITTERS, export_model
from .onnx_graph import onnx, require_onnx
from .onnx_import import import_graph
from .onnx_import_ops import HANDLERS
from .onnx_read import read_model, tensors_of
from .onnx_spec import Malformed, rebuild

LAYER_TYPES = {cls.__name__: cls for cls in EMITTERS}


def export_onnx(
    path, net, *, working_precision: str = "Real32", losses: bool = False, states: bool = True
) -> str:
    """Write ``net`` to ``path`` as an ONNX model; returns the path.

    The net must be fully initialized (``NetInitialize``) with every port shape known.
    Options: ``working_precision`` "Real32" (default: float32 arrays and tensors) or
    "Real64" (float64; onnxruntime's CPU recurrent ops take float32 only); ``losses``
    (default False): write loss layers too (their "Loss" output (B,) becomes an output of
    the model); without it a net with a loss layer is refused; ``states`` (default True):
    each recurrent layer's unconnected initial states are optional inputs
    "<layer>/<State>/initial" (zero when not fed) and its final states are outputs
    "<layer>/<State>/final"; False leaves them out. docs/onnx.md describes the
    model's inputs and outputs, with an example.
    """
    require_onnx("export_onnx")
    model = export_model(net, working_precision=working_precision, losses=losses, states=states)
    onnx.checker.check_model(model)
    onnx.save(model, os.fspath(path))
    return os.fspath(path)


def import_onnx(path):
    """The net stored in the ONNX file ``path``.

    A model that netgraph wrote gives back the net that was exported (``==``-equal, arrays
    in the precision of the file; encoders and decoders are not kept). Any other model is
    read op by op into a ``NetChain`` or ``NetGraph``; ops and attributes netgraph cannot
    compute exactly are refused with a ValueError that names them. A file that is not a
    valid ONNX model is a ValueError that names the file. docs/onnx.md has an
    example, and the tables of what is written and read.
    """
    require_onnx("import_onnx")
    name = os.fspath(path)
    model = read_model(name)
    meta = {p.key: p.value for p in model.metadata_props}
    if "netgraph" not in meta:
        return import_graph(model, name, HANDLERS)
    tensors = tensors_of(model.graph, name)
    try:
        return rebuild(meta["netgraph"], LAYER_TYPES, tensors)
    except Malformed as e:
        raise ValueError(f"import_onnx: {name}: {e}.") from None
    except (LookupError, TypeError, ValueError, RecursionError) as e:
        raise ValueError(f"import_onnx: {name}: its netgraph description is refused: {e}") from None

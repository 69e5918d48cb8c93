"""Export and Import: nets to and from files, the format chosen by the file's suffix; and
weights from and to other frameworks (``interop``: PyTorch, MATLAB and Keras layouts).

- ".ngnet": netgraph's own file, a safetensors file (``ngnet.py``).
- ".onnx": ONNX, through ``netgraph.io.onnx`` (``export_onnx(path, net)``,
  ``import_onnx(path)``; the ``[onnx]`` extra).
"""

from __future__ import annotations

import os
import warnings

from ..net import Net
from ..text import closest
from ..walk import all_arrays, flatten, replace_leaves
from .ngnet import export_ngnet, import_ngnet

ELEMENTS = ("Net", "UninitializedNet", "ArrayAssociation")


def _export_ngnet(path, net, **options):
    if options:
        raise TypeError(
            f"Export: a .ngnet file keeps the whole net and takes no options; received "
            f"{', '.join(options)}."
        )
    export_ngnet(path, net)


def _export_onnx(path, net, **options):
    if net.coders:
        warnings.warn(
            f"Export: ONNX has no place for encoders and decoders; the net is written without "
            f"those of its ports {', '.join(net.coders)} (Import gives a net that takes and "
            'returns arrays). A ".ngnet" file keeps them.',
            stacklevel=3,
        )
    from .onnx import export_onnx  # imported at the first call: onnx takes a while to import

    export_onnx(path, net, **options)


def _import_onnx(path):
    from .onnx import import_onnx  # imported at the first call: onnx takes a while to import

    return import_onnx(path)


FORMATS = {  # suffix → (export(path, net, **options), import(path))
    ".ngnet": (_export_ngnet, import_ngnet),
    ".onnx": (_export_onnx, _import_onnx),
}


def _format(path, fn: str) -> tuple:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{fn}: the path must be a str or a path; received {type(path).__name__}.")
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{fn}: cannot tell the format of {os.fspath(path)!r} from its suffix "
            f"{suffix!r}{closest(suffix, FORMATS)}. Supported suffixes: {', '.join(FORMATS)}."
        )
    return FORMATS[suffix]


def Export(path, net: Net, **options) -> str:
    """Write ``net`` to the file ``path`` in the format its suffix names; returns the path.

    ".ngnet" (netgraph's own file) keeps everything: the architecture, the port shapes,
    encoders and decoders, and the arrays in their dtype; an uninitialized net is written
    too. ".onnx" takes the ``options`` of ``netgraph.io.onnx.export_onnx``
    (``working_precision``, ``losses``, ``states``) and keeps no encoders or decoders (a
    warning says so). See docs/interop.md and docs/onnx.md.

    >>> import os, tempfile
    >>> from netgraph import Export, Import, LinearLayer, NetInitialize
    >>> net = NetInitialize(LinearLayer(2, input=3), random_seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "linear.ngnet")
    >>> Export(path, net) == path
    True
    >>> Import(path) == net
    True
    """
    write, _ = _format(path, "Export")
    if not isinstance(net, Net):
        raise TypeError(
            f"Export: the second argument must be a net; received {type(net).__name__}."
        )
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise OSError(
            f"Export: cannot write {os.fspath(path)!r}: the folder {folder!r} does not exist."
        )
    write(path, net, **options)
    return os.fspath(path)


def Import(path, element: str | None = None):
    """Read the net in the file ``path``, in the format its suffix names.

    ``element`` (Wolfram's): "Net" (the default: the net with its arrays),
    "UninitializedNet" (the same net without its arrays), or "ArrayAssociation" (a dict
    from each initialized array's position, a tuple ``(layer, …, array name)`` as
    ``NetExtract`` takes it, to the array). A file that is damaged or not what its suffix
    says is a ValueError that names the file; nothing in a file is ever run.

    >>> import os, tempfile
    >>> from netgraph import Export, Import, LinearLayer, NetChain, NetInitialize
    >>> net = NetInitialize(NetChain({"lin": LinearLayer(2)}, input=3), random_seed=0)
    >>> path = Export(os.path.join(tempfile.mkdtemp(), "chain.ngnet"), net)
    >>> sorted(Import(path, "ArrayAssociation"))
    [('lin', 'Biases'), ('lin', 'Weights')]
    >>> Import(path, "UninitializedNet").layers["lin"].arrays["Weights"] is None
    True
    """
    element = "Net" if element is None else element
    if element not in ELEMENTS:
        raise ValueError(
            f"Import: unknown element {element!r}{closest(str(element), ELEMENTS)}. "
            f"Elements: {', '.join(ELEMENTS)}."
        )
    _, read = _format(path, "Import")
    if not os.path.exists(os.fspath(path)):
        raise ValueError(f"Import: the file {os.fspath(path)!r} does not exist.")
    net = read(path)
    if element == "UninitializedNet":
        return _without_arrays(net)
    if element == "ArrayAssociation":
        return {k: a for k, a in all_arrays(net).items() if a is not None}
    return net


def _without_arrays(net: Net) -> Net:
    """The net with every array uninitialized; its port shapes stay."""
    leaves = flatten(net).leaves
    return replace_leaves(
        net,
        {p: leaf._replace(arrays=dict.fromkeys(leaf.arrays)) for p, leaf in leaves.items()},
    )


__all__ = ["Export", "Import"]

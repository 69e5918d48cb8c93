"""netgraph's own file format, .ngnet: a safetensors file holding a net.

- Tensors: every initialized array, keyed by its layer path and Wolfram name
  ("lstm/InputGateInputWeights", "1/Weights"; a bare layer's just "Weights"), in its own
  dtype (float32 or float64).
- Header metadata (strings): "format" "ngnet", "version" (``VERSION``), and "net", the
  architecture as JSON (``architecture.py``: layer types, options, port types, coders,
  names, edges, and which arrays are present). Other sections ride along under other names:
  NetTrain's checkpoints add "training".

Reading is data only (``tensorfile.py`` checks every declared size first; ``architecture``
builds the net through its constructors from an allowlist of types). Tensors the
architecture does not name, such as a checkpoint's optimizer state, are not read here.
"""

from __future__ import annotations

import json
import re

import numpy as np

from ..net import Net
from ..walk import flatten
from .architecture import architecture, array_key, build
from .tensorfile import TensorFile, parse_json, write

FORMAT = "ngnet"
VERSION = 1
ARRAY_DTYPES = ("F32", "F64")


def net_tensors(net: Net) -> dict:
    """The net's initialized arrays by tensor key."""
    return {
        array_key(path, k): a
        for path, leaf in flatten(net).leaves.items()
        for k, a in leaf.arrays.items()
        if a is not None
    }


def write_ngnet(path, arch: dict, tensors: dict, sections: dict | None = None) -> None:
    """Write a .ngnet file: the architecture ``arch`` (see ``architecture``), its arrays
    ``tensors`` (by key) and any further metadata ``sections`` (name → JSON value), whose
    tensors join ``tensors`` under keys of their own."""
    metadata = {"format": FORMAT, "version": str(VERSION), "net": json.dumps(arch, allow_nan=False)}
    for name, value in (sections or {}).items():
        metadata[name] = json.dumps(value)
    write(path, tensors, metadata)


def export_ngnet(path, net: Net) -> None:
    write_ngnet(path, architecture(net), net_tensors(net))


class NgnetFile(TensorFile):
    """An open .ngnet file, its header checked: ``architecture`` (the JSON of the net),
    ``section(name)``, ``array(key, where)`` and ``net()``. Use it in a ``with`` block."""

    def __init__(self, path, owner: str):
        super().__init__(path, owner)
        meta = self.metadata
        if meta.get("format") != FORMAT:
            raise self.error(
                'is a safetensors file but not a .ngnet file (its metadata has no "format": '
                '"ngnet")'
            )
        version = meta.get("version", "")
        if not re.fullmatch(r"[0-9]{1,9}", version) or int(version) < 1:
            raise self.error(f"has an unreadable format version {version!r:.20}")
        if int(version) > VERSION:
            raise self.error(
                f"was written by a newer netgraph (format version {int(version)}); this "
                f"netgraph reads version {VERSION}: update netgraph to read it"
            )
        self.architecture = self.section("net")
        if self.architecture is None:
            raise self.error('holds no net (its metadata has no "net")')

    def section(self, name: str):
        """The JSON metadata section ``name``, or None when the file has none."""
        text = self.metadata.get(name)
        if text is None:
            return None
        try:
            return parse_json(text, f'its "{name}" metadata')
        except ValueError as e:
            raise self.error(f"is damaged: {e}") from None

    def array(self, key, where: str) -> np.ndarray:
        """The net array stored under ``key``: float32 or float64, as the header says."""
        if not isinstance(key, str) or key not in self.entries:
            raise ValueError(f"{where}: no tensor {key!r:.60} in the file")
        dtype, _ = self.entries[key]
        if dtype not in ARRAY_DTYPES:
            raise ValueError(f'{where}: tensor "{key}" has dtype {dtype}; arrays are F32 or F64')
        try:
            return self.read(key)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None

    def net(self) -> Net:
        """The net the file holds, built and checked (see ``architecture.build``)."""
        try:
            return build(self.architecture, self.array)
        except ValueError as e:
            raise self.error(f"holds a net that cannot be read: {e}") from None


def import_ngnet(path) -> Net:
    with NgnetFile(path, "Import") as f:
        return f.net()

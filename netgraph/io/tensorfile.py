"""safetensors files, read with every declared size checked before any data is read.

A safetensors file is an 8-byte little-endian header length N, a JSON header of N bytes
(string metadata under "__metadata__", and per tensor its dtype, shape and byte range in the
data that follows), then the data. ``TensorFile`` reads the header itself, bounded and
checked (the header fits in the file and in ``MAX_HEADER``; every tensor's byte range matches
its dtype and shape, lies in the file, and the ranges tile the data without gaps or
overlaps), and only then lets safetensors read tensors, one at a time, when asked. Every
problem is a ValueError; safetensors' own errors become one too.
"""

from __future__ import annotations

import json
import math
import os
import struct

import numpy as np
import safetensors
import safetensors.numpy

MAX_HEADER = 16 * 2**20  # bytes of JSON header: a net's architecture, never its arrays
MAX_RANK = 32
DTYPES = {"F32": np.float32, "F64": np.float64, "U8": np.uint8}
ENTRY = {"dtype", "shape", "data_offsets"}


def _unique_keys(pairs: list) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f'the header names "{dup:.60}" twice')
    return dict(pairs)


def parse_json(text: str, what: str):
    """JSON from a file: a ValueError (never a RecursionError) for text that is not JSON, too
    deeply nested, or with a key given twice."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ValueError(f"{what} is JSON nested too deeply") from None
    except ValueError as e:  # json.JSONDecodeError, a repeated key, a number too long
        raise ValueError(f"{what} is not valid JSON ({e})") from None


def _naturals(v) -> bool:
    """A JSON list of ints ≥ 0."""
    return isinstance(v, list) and all(
        isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v
    )


def _entry(name: str, e, data_size: int) -> tuple[str, tuple, int, int]:
    """(dtype, shape, start, end) of a header entry, checked against its bytes."""
    if not isinstance(e, dict) or set(e) != ENTRY:
        raise ValueError(f'tensor "{name:.60}": an entry holds exactly {sorted(ENTRY)}')
    dtype, shape, offsets = e["dtype"], e["shape"], e["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ValueError(
            f'tensor "{name:.60}" has dtype {dtype!r:.20}; a .ngnet file holds {", ".join(DTYPES)}'
        )
    if not (
        _naturals(shape) and len(shape) <= MAX_RANK and _naturals(offsets) and len(offsets) == 2
    ):
        raise ValueError(f'tensor "{name:.60}": shape and data_offsets must be lists of ints ≥ 0')
    start, end = offsets
    nbytes = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize
    if end - start != nbytes:
        raise ValueError(
            f'tensor "{name:.60}" of shape {tuple(shape)} and dtype {dtype} needs {nbytes} bytes, '
            f"but its data_offsets {offsets} give {end - start}"
        )
    if end > data_size:
        raise ValueError(
            f'tensor "{name:.60}" lies at bytes {start}…{end} of the data, past its end: the data '
            f"holds {data_size} bytes (a truncated file?)"
        )
    return dtype, tuple(shape), start, end


def _check_tiling(spans: list, data_size: int) -> None:
    """The tensors' byte ranges cover the data exactly, one after another."""
    at = 0
    for start, end, name in sorted(spans):
        if start != at:
            raise ValueError(
                f'tensor "{name:.60}" starts at byte {start} of the data; the one before it '
                f"ends at byte {at} (ranges must follow each other without gap or overlap)"
            )
        at = end
    if at != data_size:
        raise ValueError(f"the tensors end at byte {at} of the data, which holds {data_size}")


class TensorFile:
    """A checked safetensors file: ``metadata`` (str → str), ``entries`` (tensor name →
    (dtype, shape)) and ``read(name)``. Use it in a ``with`` block."""

    def __init__(self, path, owner: str):
        self.path, self.owner = os.fspath(path), owner
        try:
            self._check()
        except OSError as e:
            raise self.error(f"cannot be read ({e.strerror or e})") from None
        self._handle = None

    def error(self, why: str) -> ValueError:
        """A ValueError that names the owner (the function reading) and the file."""
        return ValueError(f"{self.owner}: the file {self.path!r} {why.rstrip('.')}.")

    def _check(self) -> None:
        if not os.path.exists(self.path):
            raise self.error("does not exist")
        if not os.path.isfile(self.path):
            raise self.error("is not a file")
        size = os.path.getsize(self.path)
        with open(self.path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise self.error(f"is too short ({size} bytes) to be a safetensors file")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER:
                raise self.error(
                    f"is not a .ngnet file: it declares a header of {n} bytes, and a .ngnet "
                    f"header has at most {MAX_HEADER}"
                )
            if 8 + n > size:
                raise self.error(
                    f"is truncated or not a .ngnet file: it declares a header of {n} bytes, "
                    f"but only {size - 8} bytes follow"
                )
            text = f.read(n)
        try:
            header = parse_json(text.decode("utf-8"), "its header")
            self._read_header(header, size - 8 - n)
        except (UnicodeDecodeError, ValueError) as e:
            raise self.error(f"is damaged or not a .ngnet file: {e}") from None

    def _read_header(self, header, data_size: int) -> None:
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
        meta = header.get("__metadata__", {})
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise ValueError('"__metadata__" must map names to strings')
        entries, spans = {}, []
        for name, e in header.items():
            if name != "__metadata__":
                dtype, shape, start, end = _entry(name, e, data_size)
                entries[name] = (dtype, shape)
                spans.append((start, end, name))
        _check_tiling(spans, data_size)
        self.metadata, self.entries = meta, entries

    def __enter__(self) -> TensorFile:
        try:
            self._opened = safetensors.safe_open(self.path, framework="numpy")
            self._handle = self._opened.__enter__()
        except (safetensors.SafetensorError, OSError) as e:
            raise self.error(f"cannot be opened as a safetensors file ({e})") from None
        return self

    def __exit__(self, *exc) -> None:
        self._handle = None
        self._opened.__exit__(*exc)

    def read(self, name: str) -> np.ndarray:
        """The tensor ``name`` (its size already checked against the file); a ValueError
        that says why (callers name the file) when safetensors cannot read it."""
        try:
            return self._handle.get_tensor(name)
        except (safetensors.SafetensorError, OSError) as e:
            raise ValueError(f'tensor "{name}" cannot be read ({e})') from None


def write(path, tensors: dict, metadata: dict) -> None:
    """Write a safetensors file in one step: into a temporary file beside ``path``, then
    renamed over it, so that an interrupted write leaves no partial file."""
    path = os.fspath(path)
    tmp = path + ".tmp"
    arrays = {k: np.asarray(a, order="C") for k, a in tensors.items()}
    try:
        safetensors.numpy.save_file(arrays, tmp, metadata=metadata)
        os.replace(tmp, path)
    except safetensors.SafetensorError as e:  # an I/O error, in safetensors' words
        raise OSError(f"cannot write the file {path!r}: {e}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)

"""netgraph imports without the onnx package, and says what to install when it is needed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from netgraph import NetChain, SoftmaxLayer
from netgraph.io import onnx_graph
from netgraph.io.onnx import export_onnx, import_onnx


def test_the_module_imports_without_onnx():
    code = (
        "import sys; sys.modules['onnx'] = None\n"
        "import netgraph.io.onnx\n"
        "try:\n"
        "    netgraph.io.onnx.import_onnx('model.onnx')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "import_onnx needs the onnx package" in out.stdout


def test_export_and_import_name_the_missing_package(monkeypatch, tmp_path):
    monkeypatch.setattr(onnx_graph, "onnx", None)
    with pytest.raises(ImportError, match=r"export_onnx needs the onnx package.*netgraph\[onnx\]"):
        export_onnx(tmp_path / "n.onnx", NetChain([SoftmaxLayer()], input=2))
    with pytest.raises(ImportError, match=r"import_onnx needs the onnx package"):
        import_onnx(tmp_path / "n.onnx")

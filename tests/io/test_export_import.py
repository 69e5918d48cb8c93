"""Export and Import as a user calls them, whatever the format: options, missing files and
folders, and what ONNX cannot keep."""

import importlib.util

import numpy as np
import pytest

from netgraph import (
    Export,
    Import,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetInitialize,
    NetTrain,
    SoftmaxLayer,
)

ONNX = importlib.util.find_spec("onnx") and importlib.util.find_spec("onnxruntime")
needs_onnx = pytest.mark.skipif(not ONNX, reason="needs onnx and onnxruntime (netgraph[onnx])")


def linear():
    return NetInitialize(NetChain([LinearLayer(2), SoftmaxLayer()], input=3), random_seed=0)


@needs_onnx
def test_export_passes_onnx_options_on(tmp_path):
    net = linear()
    net = NetInitialize(net, random_seed=0)
    path = Export(tmp_path / "net.onnx", net, working_precision="Real64")
    back = Import(path)
    assert back.layers["1"].arrays["Weights"].dtype == np.float64  # written in float64


def test_ngnet_takes_no_options(tmp_path):
    with pytest.raises(TypeError, match="takes no options; received losses"):
        Export(tmp_path / "net.ngnet", linear(), losses=True)


@needs_onnx
def test_onnx_export_warns_that_coders_are_not_kept(tmp_path):
    net = NetChain(
        [LinearLayer(2), SoftmaxLayer()], input=3, output=NetDecoder("Class", ["a", "b"])
    )
    with pytest.warns(UserWarning, match="without those of its ports Output"):
        Export(tmp_path / "net.onnx", NetInitialize(net, random_seed=0))


@pytest.mark.parametrize("suffix", [".ngnet", ".onnx"])
def test_a_missing_file_is_the_same_error_in_every_format(tmp_path, suffix):
    with pytest.raises(ValueError, match="does not exist"):
        Import(tmp_path / f"nope{suffix}")


def test_export_into_a_missing_folder_names_the_folder(tmp_path):
    with pytest.raises(OSError, match=r"the folder .*nodir.* does not exist"):
        Export(tmp_path / "nodir" / "net.ngnet", linear())


def test_a_checkpoint_directory_that_is_a_file_is_refused(tmp_path):
    file = tmp_path / "taken"
    file.write_text("")
    X, Y = np.ones((4, 3)), [0, 1, 0, 1]
    with pytest.raises(ValueError, match="checkpoint directory .* is a file"):
        NetTrain(
            linear(),
            (X, Y),
            max_training_rounds=1,
            training_progress_checkpointing=("Directory", str(file)),
            training_progress_reporting=None,
        )

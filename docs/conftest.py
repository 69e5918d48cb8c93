"""The pages of docs/ are run as doctests; the ONNX page needs the [onnx] extra (onnx and
onnxruntime), and is left out, as the ONNX tests are skipped, where they are not installed.
The site's griffe extension (tools/) needs the [docs] extra."""

import importlib.util

collect_ignore = [
    page
    for page, needs in {
        "onnx.md": ("onnx", "onnxruntime"),
        "tools/doctest_blocks.py": ("griffe",),
    }.items()
    if not all(importlib.util.find_spec(m) for m in needs)
]

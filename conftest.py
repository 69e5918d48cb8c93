"""The doctests of names that need an optional package skip, naming it, where it is absent
(the test suite's own tests do the same with ``pytest.importorskip``)."""

import importlib.util

import pytest

NEEDS = {"netgraph.io.pytorch.from_pytorch": ("torch", "bench")}


def pytest_collection_modifyitems(config, items):
    for item in items:
        package, extra = NEEDS.get(item.name, (None, None))
        if package and importlib.util.find_spec(package) is None:
            reason = f"needs {package}, which is not installed: pip install 'netgraph[{extra}]'"
            item.add_marker(pytest.mark.skip(reason=reason))

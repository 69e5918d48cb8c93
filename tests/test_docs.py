"""The API reference of the documentation site (docs/reference/) lists every public name of
netgraph once, and each entry has an example that runs. The site renders docstrings as griffe
reads them from the source (mkdocstrings), so the examples are taken the same way; the
examples that pytest's doctest run does not see (those of module attributes, such as All)
are run here."""

import doctest
import importlib
import pathlib
import re

import pytest

import netgraph

ROOT = pathlib.Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"


def entries() -> dict[str, str]:
    """Name → the dotted path of each ``::: path`` entry on the reference pages."""
    found = {}
    for page in sorted(REFERENCE.glob("*.md")):
        for path in re.findall(r"^::: ([\w.]+)$", page.read_text(), flags=re.M):
            name = path.rsplit(".", 1)[1]
            assert name not in found, f"{name} has two entries: {found[name]} and {path}"
            found[name] = path
    return found


def test_every_public_name_has_one_entry_that_is_the_object():
    found = entries()
    assert sorted(found) == sorted(netgraph.__all__)
    for name, path in found.items():
        module, attr = path.rsplit(".", 1)
        assert getattr(importlib.import_module(module), attr) is getattr(netgraph, name), path


def test_nav_lists_every_reference_page():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in REFERENCE.glob("*.md"):
        assert f"reference/{page.name}" in nav, page.name


@pytest.fixture(scope="module")
def docstrings() -> dict[str, str]:
    griffe = pytest.importorskip("griffe", reason="needs griffe: pip install 'netgraph[docs]'")
    package = griffe.load("netgraph", search_paths=[str(ROOT)])
    return {
        name: (package[path.removeprefix("netgraph.")].docstring or griffe.Docstring("")).value
        for name, path in entries().items()
    }


def test_every_entry_has_an_example(docstrings):
    missing = [name for name, text in docstrings.items() if ">>>" not in text]
    assert not missing, f"reference entries without a >>> example: {missing}"


def test_examples_that_doctest_modules_does_not_run(docstrings):
    parser = doctest.DocTestParser()
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    ran = 0
    for name, text in docstrings.items():
        obj = getattr(netgraph, name)
        if isinstance(obj, type) or callable(obj):
            continue  # a class's or function's docstring is pytest's doctest item
        test = parser.get_doctest(text, {}, name, None, 0)
        runner = doctest.DocTestRunner(optionflags=flags)
        runner.run(test)
        assert runner.failures == 0, f"the example of {name} fails"
        ran += 1
    assert ran == 2  # All and Automatic


def test_the_examples_page_includes_every_example_script():
    page = (ROOT / "docs" / "examples.md").read_text()
    included = re.findall(r'^--8<-- "examples/(\w+\.py)"$', page, flags=re.M)
    assert sorted(included) == sorted(p.name for p in (ROOT / "examples").glob("*.py"))

"""The package is a one-way stack of stages (DESIGN §1, docs/architecture.md): every import,
at module level or inside a function, points down the stack or stays in its stage; the one
upward step is Net.__call__/__repr__ reaching evaluation and display; no module imports
another stage's private names; and there is no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1] / "netgraph"

# Stage of each module (a package's modules share its stage unless listed).
STAGES = {
    "text": 0,
    "symbols": 0,
    "types": 0,
    "walk": 1,
    "inference": 1,
    "kernels": 2,
    "net": 3,
    "coders": 3,
    "layers": 3,
    "containers": 3,
    "plan": 4,
    "plan_operators": 4,
    "batching": 5,
    "evaluation": 5,
    "state": 5,
    "display": 5,
    "graphics": 5,
    "information": 5,
    "editing": 5,
    "initialization": 5,
    "measurements": 5,
    "training": 5,
    "io": 5,
    "distributed": 5,  # data-parallel NetTrain on MPI
    "": 6,  # netgraph/__init__.py: the public surface
}
UPWARD = {("net", "evaluation"), ("net", "display")}  # Net.__call__, __repr__, _repr_html_


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports():
    """(importing module, imported module, imported names) for every import in the package:
    relative (``from .x import y``, ``from . import x``) and absolute (``from netgraph.x
    import y``, ``from netgraph import x``, ``import netgraph.x``), at any depth."""
    for path in ROOT.rglob("*.py"):
        mod = _module(path)
        parts = mod.split(".") if mod else []
        package = parts if path.name == "__init__.py" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("netgraph."):
                        yield mod, a.name[len("netgraph.") :], []
            elif isinstance(node, ast.ImportFrom):
                yield from _from_import(mod, package, node)


def _from_import(mod: str, package: list, node: ast.ImportFrom):
    if node.level:
        base, inner = package[: len(package) - node.level + 1], node.module
    elif node.module == "netgraph" or (node.module or "").startswith("netgraph."):
        base, inner = [], node.module[len("netgraph") :].lstrip(".")
    else:
        return  # another package
    names = [a.name for a in node.names]
    if inner:
        yield mod, ".".join(base + [inner]), names
        return
    for name in names:  # from . import x, from netgraph import x: the submodules x, if any
        target = ".".join(base + [name])
        yield mod, target if _exists(target) else ".".join(base), []


def _exists(mod: str) -> bool:
    p = ROOT.joinpath(*mod.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def _stage(mod: str) -> int:
    top = mod.split(".")[0]
    assert top in STAGES, (
        f'module "{mod}" has no stage: add it to STAGES and to docs/architecture.md'
    )
    return STAGES[top]


IMPORTS = list(_imports())


def test_the_walk_finds_the_imports():
    assert ("net", "walk", ["all_arrays"]) in IMPORTS
    assert any(a == "state" and b == "evaluation" for a, b, _ in IMPORTS)
    assert ("net", "evaluation", ["evaluate"]) in IMPORTS  # inside a method
    assert ("", "editing", []) in IMPORTS  # from . import editing, in __init__.py
    assert len(IMPORTS) > 100


def test_every_form_of_import_is_seen(tmp_path, monkeypatch):
    code = (
        "def f():\n"
        "    from netgraph import evaluation\n"
        "    import netgraph.plan\n"
        "    from netgraph.state import NetStateObject\n"
        "    from ..batching import _private\n"
    )
    (tmp_path / "netgraph" / "kernels").mkdir(parents=True)
    for name in ("evaluation", "plan", "state", "batching"):
        (tmp_path / "netgraph" / f"{name}.py").write_text("")
    (tmp_path / "netgraph" / "kernels" / "probe.py").write_text(code)
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path / "netgraph")
    seen = {(t, tuple(n)) for m, t, n in _imports() if m == "kernels.probe"}
    assert seen == {
        ("evaluation", ()),
        ("plan", ()),
        ("state", ("NetStateObject",)),
        ("batching", ("_private",)),
    }


def test_imports_point_down_the_stack():
    upward = [
        f"{mod} (stage {_stage(mod)}) imports {target} (stage {_stage(target)})"
        for mod, target, _ in IMPORTS
        if (mod.split(".")[0], target.split(".")[0]) not in UPWARD and _stage(target) > _stage(mod)
    ]
    assert not upward, "imports must point down the stack of docs/architecture.md: " + "; ".join(
        upward
    )


def test_no_private_names_across_packages():
    """A package's modules may share its private helpers; other packages may not use them."""
    private = [
        f"{mod} imports {n} from {target}"
        for mod, target, names in IMPORTS
        if mod.split(".")[0] != target.split(".")[0]
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert not private, "; ".join(private)


def test_no_import_cycle():
    g = nx.DiGraph()
    for mod, target, _ in IMPORTS:
        if target != mod:
            g.add_edge(mod, target)
    cycles = [c for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"

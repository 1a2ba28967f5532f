"""Layers point one way: collectors -> records <- graph <- queries <- stores / reports / app / cli.

The table below is the documentation. A module belongs to the first layer whose prefix matches its
dotted name (most specific prefixes first); a module may import only from the layers its own layer
lists. Every import counts: top level, inside functions, and `importlib.import_module("...")`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# layer -> (modules, layers it may import). "pkg.*" is every module under pkg; a plain name is that
# module (or package) itself. The most specific entry wins: a plain name, then the longest "pkg.*".
LAYERS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    # The contract between collectors and the graph: vocabulary, records, coverage, timestamps, and the
    # technique catalogue every source registers into.
    "records": (("graph", "graph.schema", "graph.records", "graph.coverage", "graph.times", "graph.techniques"),
                frozenset({"records"})),
    # Sources -> records. Never the graph builder, the engine or the stores.
    "collectors": (("collectors", "collectors.*"), frozenset({"records", "collectors"})),
    # Records -> one networkx graph, snapshot files.
    "graph": (("graph.*",), frozenset({"records", "graph"})),
    # Path engine, policy, findings, drift, reports, Cypher library.
    "queries": (("queries", "queries.*"), frozenset({"records", "graph", "queries"})),
    # Graph stores sit above the path engine: they read its judgement (public methods only).
    "stores": (("graph.stores", "graph.stores.*"), frozenset({"records", "graph", "queries", "stores"})),
    # The CLI, the scan pipeline and the dashboard wire everything together.
    "top": (("crosspath", "crosspath.*", "dashboard", "dashboard.*", "app"),
            frozenset({"records", "collectors", "graph", "queries", "stores", "top"})),
}
PACKAGES = ("collectors", "graph", "queries", "crosspath", "dashboard")
TOP_FILES = ("app.py",)


def layer_of(module: str) -> str | None:
    """The layer of a project module, or None for anything outside the project (stdlib, third party)."""
    best: tuple[int, str] | None = None
    for layer, (patterns, _) in LAYERS.items():
        for pattern in patterns:
            if pattern.endswith(".*"):
                prefix = pattern[:-1]
                score = len(prefix) if module.startswith(prefix) else -1
            else:
                score = 1_000 if module == pattern else -1
            if score >= 0 and (best is None or score > best[0]):
                best = (score, layer)
    return best[1] if best else None


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    target: str

    def __str__(self) -> str:
        return (f"{self.module}:{self.line}: {self.module} ({layer_of(self.module)}) -> {self.target} "
                f"({layer_of(self.target)}) runs backwards")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, module) for every import in `source`, wherever it sits in the file."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node.level, node.module)
            # `from graph import coverage` imports the module graph.coverage; other names come from target
            submodules = [f"{target}.{alias.name}" for alias in node.names]
            submodules = [name for name in submodules if _is_project_module(name)]
            if len(submodules) < len(node.names):
                found.append((node.lineno, target))
            found += [(node.lineno, name) for name in submodules]
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((node.lineno, first.value))
    return found


def _is_import_module(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id in ("import_module", "__import__")


def _is_project_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def violations(source: str, module: str, is_package: bool = False) -> list[Violation]:
    """Imports of `source` (the module `module`) that reach a layer its own layer may not import."""
    own = layer_of(module)
    if own is None:
        return []
    allowed = LAYERS[own][1]
    return [Violation(module, line, target) for line, target in imported_modules(source, module, is_package)
            if (layer := layer_of(target)) is not None and layer not in allowed]


def project_modules() -> list[Path]:
    files = [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]
    return files + [ROOT / name for name in TOP_FILES]


def test_every_module_has_a_layer() -> None:
    assert [module_name(p) for p in project_modules() if layer_of(module_name(p)) is None] == []


def test_no_import_runs_backwards() -> None:
    found = []
    for path in project_modules():
        found += violations(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")
    assert not found, "imports against the layers:\n" + "\n".join(map(str, found))


@pytest.mark.parametrize(("module", "source", "line", "target"), [
    ("graph.builder", "from collectors.base import read_json\n", 1, "collectors.base"),
    ("queries.paths", "import os\n\ndef f():\n    from graph.stores import rows\n", 4, "graph.stores.rows"),
    ("collectors.aws.transform", "import importlib\nimportlib.import_module('graph.builder')\n", 2,
     "graph.builder"),
    ("graph.records", "from graph import snapshot\n", 1, "graph.snapshot"),
    ("graph.stores.rows", "from collectors import SOURCES\n", 1, "collectors"),
    ("collectors.gcp.transform", "from ..live import LOG_NAME\nfrom queries.policy import Policy\n", 2,
     "queries.policy"),
])
def test_the_checker_catches_a_backwards_import(module: str, source: str, line: int, target: str) -> None:
    assert [(v.line, v.target) for v in violations(source, module)] == [(line, target)]
    assert "runs backwards" in str(violations(source, module)[0])


def test_the_checker_lets_forward_imports_through() -> None:
    source = ("from graph.records import Record\nfrom graph.coverage import CollectResult\n"
              "from collectors.base import read_json\nfrom .exports import SOURCE\nimport networkx\n")
    assert violations(source, "collectors.aws.transform") == []
    assert violations("from queries.paths import PathEngine\nfrom graph.snapshot import read_snapshot\n",
                      "graph.stores.rows") == []
    assert violations("from collectors import SOURCES\nfrom graph.stores import run_read_query\n",
                      "crosspath.cli") == []


def test_no_module_reaches_into_another_objects_private_names() -> None:
    """Other packages use the path engine (and everything else) through public names only."""
    found = []
    for path in project_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                found.append(f"{module_name(path)}:{node.lineno}: .{node.attr}")
    assert not found, "private names used from outside their object:\n" + "\n".join(found)

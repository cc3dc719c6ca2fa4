"""The project's import graph, read from the source (every ``import``, those inside functions included).

A module is named by its dotted path (``core.corpus.tiers``, ``pages._lib.routing``, ``app``); an
import of a name inside a module (``from core import access``) points at that module
(``core.access``), an import of a function or class at the module that defines it. A package is
the folder a module sits in, with everything below a domain package counted as that package
(``core.equal.extract.rules`` is in ``core.equal``) and ``pages._lib`` its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = ("core", "pages")  # the source read; app.py too


def module_name(path: Path, root: Path) -> str:
    """The dotted name of the module at ``path``.

    >>> module_name(Path("/r/core/corpus/__init__.py"), Path("/r"))
    'core.corpus'
    """
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    """The project module ``name`` is (or lies in); ``None`` for a third-party or standard module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def module_imports(source: str, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The project modules that ``source`` (the module ``module``) imports anywhere in its body.

    >>> sorted(module_imports("def f():\\n    from core import access\\n", "core.x", False, {"core", "core.access"}))
    ['core.access']
    """
    here = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(r for a in node.names if (r := _resolve(a.name, modules)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = here.split(".")[:len(here.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in modules else _resolve(base, modules) or "")
    found.discard("")
    found.discard(module)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """``{module: modules it imports}`` over ``core/``, ``pages/`` and ``app.py``."""
    paths = {module_name(p, root): p for folder in PACKAGES for p in (root / folder).rglob("*.py")}
    paths["app"] = root / "app.py"
    modules = set(paths)
    return {m: module_imports(p.read_text(encoding="utf-8"), m, p.name == "__init__.py", modules)
            for m, p in paths.items()}


def package_of(module: str, root: Path) -> str:
    """``core`` for core's root modules, ``core.<domain>`` below a domain package, ``pages._lib``, ``pages``."""
    parts = module.split(".")
    if parts[0] == "core" and len(parts) > 1 and (root / "core" / parts[1]).is_dir():
        return f"core.{parts[1]}"
    if parts[:2] == ["pages", "_lib"]:
        return "pages._lib"
    return parts[0]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` with more than one node (Tarjan), each sorted.

    >>> cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
    [['a', 'b']]
    >>> cycles({"a": {"b"}, "b": set()})
    []
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def package_graph(graph: dict[str, set[str]], root: Path, skip: set[str] = frozenset()) -> dict[str, set[str]]:
    """The packages' arrows: ``{package: packages its modules import}``, leaving out the modules in ``skip``."""
    out: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if module in skip:
            continue
        a = package_of(module, root)
        out.setdefault(a, set()).update(package_of(t, root) for t in targets if t not in skip)
        out[a].discard(a)
    return out

"""The shape of the house: core/ never imports streamlit, pages stay thin."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit():
    files = sorted((ROOT / "core").rglob("*.py"))
    assert len(files) > 5, "core/ should hold the product's logic"
    offenders = [str(p.relative_to(ROOT)) for p in files if "streamlit" in _imported_modules(p)]
    assert offenders == [], f"core/ must not import streamlit: {offenders}"


def test_core_import_does_not_pull_streamlit():
    import subprocess
    import sys

    code = (
        "import sys, pkgutil, importlib, core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


# Pages are widgets -> core call -> figure. The rule, checked on every file in pages/ by its AST:
# 1. no loop over data: no ``while``, no comprehension, and a ``for`` only to lay out a FIXED set of
#    widgets (the one allowance), i.e. over a literal tuple/list of constants, names or tuples of those
#    (``for col, shape in ((d1, "messages"), (d2, "alpaca"))``), over an UPPER_CASE module constant or
#    its ``.items()/.keys()/.values()`` (``for group, names in PARAMETER_GROUPS.items()``), or over a
#    name bound by such an enclosing loop (``for name in names``); or a ``for`` whose body only lays
#    widgets out: nothing but calls (``for col, (label, value) in zip(cols, story.items()): col.metric(label, value)``);
# 2. no arithmetic on data: no arithmetic operator (+ - * / // % ** @) with a subscripted operand
#    (``df["x"] / n``, ``job["next"] / total``), nor an augmented assignment to a subscript;
# 3. no frame manipulation: no access to pandas' reshaping and filtering API (FRAME_API) in pages.
FRAME_API = {"sort_values", "groupby", "merge", "assign", "isin", "loc", "iloc", "query", "apply", "concat",
             "pivot", "pivot_table", "dropna", "fillna", "agg", "aggregate", "drop_duplicates", "value_counts",
             "set_index", "reset_index", "nunique", "head", "tail", "drop", "itertuples", "iterrows"}  # not str.join
ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult)


def _layout_literal(node: ast.AST) -> bool:
    if isinstance(node, (ast.Constant, ast.Name)):
        return True
    return isinstance(node, (ast.Tuple, ast.List)) and all(_layout_literal(e) for e in node.elts)


def _fixed(node: ast.AST, bound: set[str]) -> bool:
    """Whether a ``for`` iterates over a fixed set of widgets (rule 1's allowance)."""
    if isinstance(node, (ast.Tuple, ast.List)):
        return _layout_literal(node)
    if isinstance(node, ast.Name):
        return node.id.isupper() or node.id in bound
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args
            and node.func.attr in ("items", "keys", "values") and isinstance(node.func.value, ast.Name)
            and node.func.value.id.isupper())


def _layout_only(body: list[ast.stmt]) -> bool:
    """A loop body that only calls (widgets): no assignment, no condition, no nested loop."""
    return all(isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) for stmt in body)


def _targets(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def page_logic(source: str, filename: str = "<page>") -> list[str]:
    """Where ``source`` breaks the pages rule above: ``"line N: what"`` for each offence."""
    found: list[str] = []

    def visit(node: ast.AST, bound: set[str]) -> None:
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.While):
            found.append(f"line {line}: while loop")
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            found.append(f"line {line}: comprehension over data")
        elif isinstance(node, ast.For):
            if _fixed(node.iter, bound) or _layout_only(node.body):
                bound = bound | _targets(node.target)
            else:
                found.append(f"line {line}: for loop over data")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ARITHMETIC) and (
                isinstance(node.left, ast.Subscript) or isinstance(node.right, ast.Subscript)):
            found.append(f"line {line}: arithmetic on subscripted data")
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            found.append(f"line {line}: arithmetic on subscripted data")
        elif isinstance(node, ast.Attribute) and node.attr in FRAME_API:
            found.append(f"line {line}: frame manipulation .{node.attr}")
        for child in ast.iter_child_nodes(node):
            visit(child, bound)

    visit(ast.parse(source, filename=filename), set())
    return found


def test_page_rule_catches_logic_and_allows_widget_layout():
    assert page_logic("for r in frame.itertuples():\n    st.write(r)\n")  # a loop over data
    assert page_logic("x = [int(r.sum()) for r in rows]")
    assert page_logic("share = form['share'] / 100")
    assert page_logic("top = arms.sort_values('score').head(30)")
    assert page_logic("while job.running:\n    job.advance()")
    assert page_logic("for col, shape in ((d1, 'messages'), (d2, 'alpaca')):\n    col.button(shape)") == []
    assert page_logic("st.metric('Round', run.round)\nx = a + b") == []
    assert page_logic("for group, names in GROUPS.items():\n    for name in names:\n        "
                      "st.number_input(name)") == []
    assert page_logic("for name in frame.columns:\n    n = len(name)\n    st.write(n)")  # computes: not layout
    assert page_logic("for col, (k, v) in zip(cols, story.items()):\n    col.metric(k, v)") == []  # layout only
    assert page_logic("for g, names in GROUPS.items():\n    pass\nfor n in names:\n    pass")  # bound only inside


def test_pages_hold_no_logic():
    offences = {p.name: page_logic(p.read_text(encoding="utf-8"),
                                   str(p)) for p in sorted((ROOT / "pages").glob("*.py"))}
    offences = {k: v for k, v in offences.items() if v}
    assert offences == {}, f"pages are widgets -> core -> figure; move this logic into core/: {offences}"


def test_corpus_map_never_imports_the_bandit():
    """``core.corpus`` is the map alone: the bandit (``core.equal``) builds on it, never back."""
    files = sorted((ROOT / "core" / "corpus").rglob("*.py"))
    assert len(files) >= 8, "core/corpus/ should hold the corpus map's modules"
    offenders = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mods = [node.module]
            offenders += [f"{path.name}: {m}" for m in mods if m.startswith(("core.equal", "core.debias", "core.ctar"))]
    assert offenders == [], f"core/corpus must not import the bandit or the causal packages: {offenders}"


def test_test_files_have_unique_names():
    """The test folders have no ``__init__.py``: two test files with one name stop pytest's collection."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []


@pytest.mark.slow
def test_two_test_folders_with_their_own_conftest_collect_together():
    """``pytest tests/ctar tests/engine``: both conftests are module ``conftest`` (no ``__init__.py``); pytest loads
    the second over the first, and ``--doctest-modules`` then collected the first as a module again: "import file
    mismatch". tests/conftest.py keeps conftest files out of the collection (they are never test modules)."""
    import subprocess
    import sys

    folders = [str(p.parent.relative_to(ROOT)) for p in sorted((ROOT / "tests").glob("*/conftest.py"))]
    assert len(folders) >= 2, "the case needs two test folders with a conftest each"
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          *folders[:2]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "mismatch" not in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]


# The whole import order, every import read (those inside functions too: a lazy import is still an arrow).
# Layers, bottom up: core's root (base utilities) < core's domain packages < core.viz < pages._lib < pages < app.
# A ``__main__`` module is a command, like app.py: it sits on top, may import any package, and nothing imports
# it but another command (``python -m core.equal extract-all`` drives core.engine, which builds on
# core.equal.extract).
DOMAIN_PACKAGES = ("core.corpus", "core.ctar", "core.debias", "core.engine", "core.equal", "core.viz")

def _graph():
    from tests._imports import import_graph

    return import_graph(ROOT)


def _commands(graph) -> set[str]:
    return {m for m in graph if m.endswith(".__main__")}


def test_core_never_imports_pages_or_the_app():
    from tests._imports import package_of

    graph = _graph()
    offenders = sorted(f"{m} -> {t}" for m, ts in graph.items() if m.startswith("core")
                       for t in ts if package_of(t, ROOT) in ("pages", "pages._lib", "app"))
    assert offenders == [], f"core/ is the logic under the pages; it never imports them: {offenders}"


def test_core_root_imports_no_domain_package():
    """core's root keeps base utilities (paths, access, errors, jobs, text); the domains build on it, never back."""
    from tests._imports import package_of

    graph = _graph()
    offenders = sorted(f"{m} -> {t}" for m, ts in graph.items() if package_of(m, ROOT) == "core"
                       for t in ts if package_of(t, ROOT) != "core")
    assert offenders == [], f"core's root modules must not import a domain package: {offenders}"


def test_only_commands_import_a_command():
    """``python -m core.equal index --stream`` hands over to ``core.corpus``'s command; a library module never does."""
    graph = _graph()
    commands = _commands(graph) | {"app"}
    offenders = sorted(f"{m} -> {t}" for m, ts in graph.items() if m not in commands for t in ts if t in commands)
    assert offenders == [], f"a command (__main__, app.py) is imported by no library module: {offenders}"


def test_no_import_cycles_between_modules():
    from tests._imports import cycles

    assert cycles(_graph()) == [], "modules that import each other (one of them should own the shared part)"


def test_no_import_cycles_between_packages():
    from tests._imports import cycles, package_graph

    graph = _graph()
    packages = package_graph(graph, ROOT, skip=_commands(graph))
    assert set(DOMAIN_PACKAGES) <= set(packages), "the graph should see every domain package"
    assert cycles(packages) == [], f"packages that import each other: {packages}"


def test_import_rules_catch_a_cycle_and_a_hidden_import(tmp_path):
    from tests._imports import cycles, import_graph, package_graph

    for folder in ("core/corpus", "core/equal", "pages"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "app.py").write_text("from pages import common\n")
    (tmp_path / "pages" / "common.py").write_text("import core.corpus.a\n")
    (tmp_path / "core" / "corpus" / "a.py").write_text("def f():\n    from core.equal.b import g\n")
    (tmp_path / "core" / "equal" / "b.py").write_text("from ..corpus import a\n")
    graph = import_graph(tmp_path)
    assert graph["core.corpus.a"] == {"core.equal.b"} and graph["core.equal.b"] == {"core.corpus.a"}
    assert cycles(graph) == [["core.corpus.a", "core.equal.b"]]
    assert cycles(package_graph(graph, tmp_path)) == [["core.corpus", "core.equal"]]

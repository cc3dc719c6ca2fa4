"""No function in core/ over 60 lines, no class over 200, unless a ``# long: <why>`` comment says so.

Lines are counted from the ``def``/``class`` line to the last line, every line included:
docstrings, comments and blank lines count, for functions and classes alike (a class counts its
methods' docstrings too). That is what a reader scrolls through, and what the review counts;
a function that is long only for its numpydoc says so in its ``# long:`` reason. ``ALLOWED``
lists the offenders that existed when the rule came in, in files whose owners shrink them; it may
only shrink: an entry that is no longer too long fails the test, so that it is removed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION = 60
MAX_CLASS = 200
# (path, qualified name): offenders allowed while their owners split them; empty since #12 and #13 split the last
ALLOWED: set[tuple[str, str]] = set()


def _has_reason(lines: list[str], node: ast.AST) -> bool:
    """A ``# long: <why>`` comment in the block of comment lines right above the definition (or its decorators)."""
    i = node.lineno - 2 - len(getattr(node, "decorator_list", []))
    while i >= 0 and lines[i].strip().startswith("#"):
        if lines[i].strip().startswith("# long:"):
            return True
        i -= 1
    return False


def measure(root: Path = ROOT) -> dict[tuple[str, str], tuple[str, int]]:
    """``{(path, qualified name): (kind, lines)}`` for every function and class over its limit without a reason."""
    out: dict[tuple[str, str], tuple[str, int]] = {}
    for path in sorted((root / "core").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        rel = str(path.relative_to(root))

        def visit(node: ast.AST, prefix: str, lines: list[str] = lines, rel: str = rel) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{prefix}{child.name}"
                    size = child.end_lineno - child.lineno + 1
                    is_class = isinstance(child, ast.ClassDef)
                    limit = MAX_CLASS if is_class else MAX_FUNCTION
                    if size > limit and not _has_reason(lines, child):
                        out[(rel, name)] = ("class" if is_class else "function", size)
                    visit(child, f"{name}.")

        visit(ast.parse(text), "")
    return out


def test_no_long_functions_or_classes_in_core():
    found = measure()
    new = {k: v for k, v in found.items() if k not in ALLOWED}
    assert new == {}, ("over the limit (60 lines per function, 200 per class, docstrings included); split it, or put "
                       f"a '# long: <why>' comment above it: {new}")
    shrunk = sorted(k for k in ALLOWED if k not in found)
    assert shrunk == [], f"no longer too long: remove from ALLOWED: {shrunk}"


def _function(name: str, doc_lines: int, body_lines: int, indent: str = "") -> str:
    """A function of ``1 + doc_lines + body_lines`` lines, then two blank lines."""
    lines = [f"def {name}():"]
    if doc_lines:
        lines += ['    """Doc.', *([""] * (doc_lines - 2)), '    """']
    lines += [f"    x{i} = {i}" for i in range(body_lines)]
    return "".join(f"{indent}{line}\n" for line in lines) + "\n\n"


def test_the_rule_counts_docstrings_and_honours_a_reason(tmp_path):
    methods = "".join(_function(f"m{i}", 3, 5, indent="    ") for i in range(22))  # 22 x 9 lines, 3 of them doc
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "m.py").write_text(
        _function("long_code", 0, MAX_FUNCTION)  # 61 lines
        + _function("long_doc", 10, MAX_FUNCTION - 10)  # 61 lines, 10 of them its docstring
        + "# long: a table\n" + _function("reasoned", 0, MAX_FUNCTION)
        + _function("at_limit", 10, MAX_FUNCTION - 11)  # 60 lines
        + "class Big:\n" + methods)  # 241 lines; 175 without its methods' docstrings
    assert measure(tmp_path) == {("core/m.py", "long_code"): ("function", MAX_FUNCTION + 1),
                                 ("core/m.py", "long_doc"): ("function", MAX_FUNCTION + 1),
                                 ("core/m.py", "Big"): ("class", 1 + 22 * 11 - 2)}

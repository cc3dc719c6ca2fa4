"""No function in core/ over 60 lines, no class over 200, unless a ``# long: <why>`` comment says so.

Lines are counted from the ``def``/``class`` line to the last line, docstrings excluded (numpy
docstrings are long on purpose; a class's count excludes its methods' docstrings too).
``ALLOWED`` lists the offenders that existed when the rule came in, in files whose owners shrink
them; it may only shrink: an entry that is no longer too long fails the test, so that it is removed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION = 60
MAX_CLASS = 200
# (path, qualified name): offenders allowed while their owners split them; empty since #12 and #13 split the last
ALLOWED: set[tuple[str, str]] = set()


def _docstring_lines(node: ast.AST) -> int:
    """Lines of the docstrings of ``node`` and of every function and class inside it."""
    total = 0
    for sub in ast.walk(node):
        body = getattr(sub, "body", None)
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            total += body[0].end_lineno - body[0].lineno + 1
    return total


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
                    size = child.end_lineno - child.lineno + 1 - _docstring_lines(child)
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
    assert new == {}, ("over the limit (60 lines per function, 200 per class, docstrings excluded); split it, or put "
                       f"a '# long: <why>' comment above it: {new}")
    shrunk = sorted(k for k in ALLOWED if k not in found)
    assert shrunk == [], f"no longer too long: remove from ALLOWED: {shrunk}"


def test_the_rule_sees_a_long_function_and_honours_a_reason(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION))
    (tmp_path / "core").mkdir()
    short = body[: -len("    x59 = 59")]
    (tmp_path / "core" / "m.py").write_text(f'def f():\n    """Doc."""\n{body}\n\n\n# long: a table\ndef g():\n{body}\n'
                                            f'\n\ndef short():\n    """Doc\n\n    more."""\n{short}\n')
    assert measure(tmp_path) == {("core/m.py", "f"): ("function", MAX_FUNCTION + 1)}

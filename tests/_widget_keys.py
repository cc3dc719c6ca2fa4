"""Every widget call in ``app.py`` and ``pages/``, read from the source, with the key it is drawn under.

A key is read as the page wrote it: a literal (``key="dl_seeds"``), or a literal inside
``kept_key(...)`` (``key=common.kept_key("dl_seeds")``: the widget is declared kept, see
``pages/_lib/routing.py``); any other expression (``key=spec.key``, ``f"tl_values_{name}"``) is not
a literal and reads as ``None``. ``common.path_input(label, key)`` is a text box whose key is its
second argument; the one text box inside ``path_input`` itself is left out (its callers are the boxes).
Used by ``tests/test_widget_keys.py`` and ``tests/faults/test_path_gate.py``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEPT_MARK = "kept_key"


@dataclass(frozen=True)
class WidgetCall:
    """One call of a widget function: where, which, under what key."""

    file: str  # relative to the repository root
    line: int
    function: str | None  # the enclosing function, None at a script's top level
    kind: str  # the widget function's name: selectbox, path_input, ...
    key: str | None  # the literal key, else None
    has_key: bool  # a key argument was given at all
    kept: bool  # drawn with key=kept_key(...)
    in_form: bool  # inside ``with st.form(...)``: a draft until submitted

    def where(self) -> str:
        return f"{self.file}:{self.line} {self.kind}(key={self.key!r})"


def _name(func: ast.expr) -> str | None:
    """The called function's name; for ``(st.toggle if ... else st.checkbox)(...)``, the first branch's."""
    if isinstance(func, ast.IfExp):
        return _name(func.body)
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _key_argument(call: ast.Call, kind: str) -> ast.expr | None:
    if kind == "path_input" and len(call.args) > 1:
        return call.args[1]
    return next((kw.value for kw in call.keywords if kw.arg == "key"), None)


def read_key(expr: ast.expr | None) -> tuple[str | None, bool]:
    """``(literal key or None, drawn with kept_key)`` for a key argument.

    >>> read_key(ast.parse('common.kept_key("bd_speed")', mode="eval").body)
    ('bd_speed', True)
    >>> read_key(ast.parse('"bd_pick"', mode="eval").body), read_key(ast.parse("spec.key", mode="eval").body)
    (('bd_pick', False), (None, False))
    """
    kept = False
    if isinstance(expr, ast.Call) and _name(expr.func) == KEPT_MARK:
        expr, kept = (expr.args[0] if expr.args else None), True
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value, kept
    return None, kept


def _visit(node: ast.AST, file: str, kinds: set[str], function: str | None, in_form: bool,
           out: list[WidgetCall]) -> None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        function = node.name
        if function == "path_input":  # the box it draws is its callers' box
            return
    if isinstance(node, ast.With) and any(isinstance(i.context_expr, ast.Call) and _name(i.context_expr.func) == "form"
                                          for i in node.items):
        in_form = True
    if isinstance(node, ast.Call) and _name(node.func) in kinds:
        kind = str(_name(node.func))
        arg = _key_argument(node, kind)
        key, kept = read_key(arg)
        out.append(WidgetCall(file, node.lineno, function, kind, key, arg is not None, kept, in_form))
    for child in ast.iter_child_nodes(node):
        _visit(child, file, kinds, function, in_form, out)


def calls_in(source: str, file: str, kinds: set[str]) -> list[WidgetCall]:
    """Every call of a function named in ``kinds`` (``st.x``, ``col.x`` or ``x``) in ``source``."""
    out: list[WidgetCall] = []
    _visit(ast.parse(source, filename=file), file, kinds, None, False, out)
    return out


def widget_calls(kinds: set[str]) -> list[WidgetCall]:
    """:func:`calls_in` over ``app.py`` and every module of ``pages/``."""
    paths = [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))]
    return [c for p in paths for c in calls_in(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)), kinds)]

"""SECURITY.md lists each promise beside the test that keeps it: every test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _named_tests(text: str) -> list[tuple[str, str]]:
    """``(file, test)`` for each ``file::test`` in the text; a bare ``::test`` belongs to the file named before it."""
    found, current = [], None
    for file, test in re.findall(r"`(?:([\w/]+\.py))?(?:::(\w+))?`", text):
        current = file or current
        if test:
            found.append((current, test))
    return found


def test_every_test_security_md_names_exists() -> None:
    named = _named_tests((ROOT / "SECURITY.md").read_text(encoding="utf-8"))
    assert len(named) >= 40, "SECURITY.md should name the test of every promise"
    missing = []
    for file, test in named:
        path = ROOT / "tests" / file
        defined = {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)} \
            if path.exists() else set()
        if test not in defined:
            missing.append(f"{file}::{test}")
    assert missing == [], f"SECURITY.md names tests that do not exist: {missing}"


def test_the_reader_of_the_map_follows_files() -> None:
    assert _named_tests("`a.py::t1`, `::t2` and `b.py::t3`") == [("a.py", "t1"), ("a.py", "t2"), ("b.py", "t3")]

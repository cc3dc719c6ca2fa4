"""The shape of the house: core/ never imports streamlit, pages stay thin."""

from __future__ import annotations

import ast
from pathlib import Path

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


def test_pages_are_thin():
    big = [p.name for p in (ROOT / "pages").glob("*.py") if p.stat().st_size > 12_000]
    assert big == [], f"pages should stay thin (widgets -> core -> figure): {big}"


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

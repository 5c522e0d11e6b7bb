"""Issue 13: the loyalty study's layers. Analysis modules import no matplotlib and never display;
no module is over ~500 lines; the old flat modules are gone."""

from __future__ import annotations

import ast
from pathlib import Path

import engagement
from engagement.studies import loyalty

PACKAGE = Path(loyalty.__file__).parent
DRAWING = {"figures.py", "__init__.py"}  # __init__ re-exports figures for the notebook


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


def test_analysis_modules_import_no_matplotlib_and_do_not_display():
    for path in PACKAGE.glob("*.py"):
        if path.name in DRAWING:
            continue
        imports = _imports(path)
        assert not any(m.startswith("matplotlib") for m in imports), path.name
        assert not any(m.startswith("IPython") for m in imports), path.name
        assert "print(" not in path.read_text(), path.name


def test_modules_are_small_and_the_flat_modules_are_gone():
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 500, path.name
    root = Path(engagement.__file__).parent
    assert not (root / "loyalty.py").exists() and not (root / "loyalty_models.py").exists()

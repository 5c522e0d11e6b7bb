"""Write a notebook from a compact cell list (used to author the pipeline's notebooks without outputs).

Usage from a script: `write_notebook(path, [("md", "..."), ("code", "..."), ("params", "..."),
("appendix", "...")])`. "params" is the papermill `parameters` cell; "appendix" is a code cell tagged
`appendix`: its output belongs in the stakeholder report's appendix, not its body.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

TAGS = {"params": ["parameters"], "appendix": ["appendix"]}


def write_notebook(path: str | Path, cells: list[tuple[str, str]]) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, src in cells:
        src = src.strip("\n")
        if kind == "md":
            nb.cells.append(new_markdown_cell(src))
        elif kind in TAGS:
            nb.cells.append(new_code_cell(src, metadata={"tags": TAGS[kind]}))
        else:
            nb.cells.append(new_code_cell(src))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:02d}"
    nbformat.write(nb, str(path))

"""Warm kernels (engagement.pipeline_kernels): a notebook run in a kernel started and warmed
beforehand gives the same executed notebook as a fresh kernel (outputs, execution counts from 1),
notebooks run side by side only where NOTEBOOK_NEEDS allows, and no kernel outlives the run."""

from __future__ import annotations

import logging
import threading
import time

import nbformat
import pytest

from engagement.pipeline_exec import _execute, _in_workers, _kernels, _RUNTIME_DIR
from engagement.pipeline_kernels import KernelPool, import_code


def _notebook(path, first="import json\nfrom pathlib import Path\nx = 1"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(first),
                nbformat.v4.new_code_cell("value = 2", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(json.dumps({'v': value, 'x': x, 'cwd': Path.cwd().name}))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_import_code_takes_only_the_imports(tmp_path):
    assert import_code(_notebook(tmp_path / "a.ipynb")) == "import json\nfrom pathlib import Path"


def test_warm_kernel_gives_the_same_executed_notebook(tmp_path, monkeypatch):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    _RUNTIME_DIR.append(str(runtime))
    try:
        (tmp_path / "nbs").mkdir()
        src = _notebook(tmp_path / "nbs" / "a.ipynb")
        log = logging.getLogger("test-warm")
        pool = KernelPool({"a": src, "b": src}, ahead=2)
        _execute(src, tmp_path / "warm.ipynb", {"value": 3}, log, km=pool.take("a"))
        _execute(src, tmp_path / "fresh.ipynb", {"value": 3}, log)
        pool.close()
        warm, fresh = (nbformat.read(tmp_path / f"{n}.ipynb", as_version=4) for n in ("warm", "fresh"))
        code = lambda nb: [(c.execution_count, [o.get("text") for o in c.outputs]) for c in nb.cells if c.cell_type == "code"]
        assert code(warm) == code(fresh)
        assert code(warm)[-1] == (4, ['{"v": 3, "x": 1, "cwd": "nbs"}\n'])  # injected parameters cell is 3
        deadline = time.monotonic() + 10
        while _kernels() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _kernels()  # the taken kernel was shut down by the engine, the other by close()
    finally:
        _RUNTIME_DIR.remove(str(runtime))


def test_side_by_side_only_where_allowed():
    names = ["a", "b", "c", "d"]
    needs = {"b": ("a",), "c": ("a",), "d": ("b", "c")}
    running, peak, log = set(), [0], []
    lock = threading.Lock()

    def work(name):
        with lock:
            assert all(d in log for d in needs.get(name, ())), name
            running.add(name)
            peak[0] = max(peak[0], len(running))
        time.sleep(0.2)
        with lock:
            running.discard(name)
            log.append(name)

    _in_workers(names, needs, work, workers=2)
    assert log[0] == "a" and log[-1] == "d" and peak[0] == 2


def test_first_failure_is_raised():
    def work(name):
        if name == "b":
            raise ValueError("b failed")

    with pytest.raises(ValueError, match="b failed"):
        _in_workers(["a", "b", "c"], {"b": ("a",), "c": ("b",)}, work, workers=2)


def test_a_file_need_starts_the_reader_before_the_writer_ends(tmp_path):
    """NOTEBOOK_NEEDS as {notebook: file}: the reader starts once the file is in the run folder,
    while its writer is still running; a need without a file waits for the end."""
    events, lock = [], threading.Lock()

    def work(name):
        with lock:
            events.append(f"start {name}")
        if name == "a":
            (tmp_path / "early.txt").write_text("done")
            time.sleep(1.0)
        with lock:
            events.append(f"end {name}")

    _in_workers(["a", "b", "c"], {"b": {"a": "early.txt"}, "c": {"a": None}}, work, workers=2, folder=tmp_path)
    assert events.index("start b") < events.index("end a") < events.index("start c")


def test_pipeline_needs_name_files_the_notebooks_write():
    """Every early need names a file its notebook writes before it ends (the notebook's source says so)."""
    from engagement import config
    from engagement.pipeline_checks import NOTEBOOK_NEEDS, NOTEBOOKS

    for reader, needs in NOTEBOOK_NEEDS.items():
        for writer, file in needs.items():
            assert writer in NOTEBOOKS and NOTEBOOKS.index(writer) < NOTEBOOKS.index(reader)
            if file is not None:
                source = (config.NOTEBOOKS_DIR / f"{writer}.ipynb").read_text()
                assert ("save_clean(" if file == "clean.source" else "save_assignments(") in source

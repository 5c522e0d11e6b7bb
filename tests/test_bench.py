"""`make bench` machinery (engagement.bench) on small inputs: the process-tree memory sampler, the
bare execution of notebook cells and the BENCHMARKS.md rendering. The full bench is run by hand."""

from __future__ import annotations

import subprocess
import sys

import nbformat

from engagement import bench


def test_tree_sampler_sees_the_children_of_a_process():
    code = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
            "'x = bytearray(200 * 2**20); import time; time.sleep(1.0)'])")
    proc = subprocess.Popen([sys.executable, "-c", code])
    with bench.TreeMemorySampler(proc.pid, interval=0.05) as sampler:
        proc.wait()
    assert sampler.peak_bytes > 200 * 2**20  # the grandchild's 200 MiB counted in the tree


def test_code_cells_split_parameters_and_strip_magics(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title"),
                nbformat.v4.new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("%matplotlib inline\ny = n + 1")]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    params, cells = bench._code_cells(path)
    assert params == "n = 1" and len(cells) == 1
    namespace: dict = {}
    for source in (params, "n = 41", *cells):
        exec(bench._strip_magics(source), namespace)
    assert namespace["y"] == 42


def test_render_writes_every_step_ratio_and_memory():
    row = {"pipeline": {"wall": 30.0, "timings": {"00-data-quality": 5.0, "report": 9.0}, "peak_mib": 900.0},
           "bare": {"wall": 12.0, "timings": {"00-data-quality": 3.0, "total": 12.0}, "peak_mib": 400.0}}
    text = bench.render([("default survey (5,000)", row)],
                        [("5,000", {"python_s": 0.1, "r_s": 1.0, "relative_se_difference": 1e-14})],
                        None, "(skipped)")
    assert "| 00-data-quality | 5.0 s (bare 3.0 s) |" in text
    assert "| report | 9.0 s |" in text
    assert "2.50×" in text and "900 MiB" in text and "| 5,000 | 0.10 | 1.00 | 0.100 | 1.0e-14 |" in text

"""`make bench`: time the pipeline, and the bare computation of the same notebook cells, at several sizes.

For each size (default 5,000 = the default survey, and 100,000 simulated respondents; ``--sizes`` to
change, ``--large`` adds 1,000,000):

- the pipeline: a fresh `engagement run` process (kernel start-up included, as a scheduler sees it);
  wall time, and the time of each step from the run's manifest (each notebook, the report);
- the bare computation: the code cells of the same notebooks, with the same parameters, executed in
  order in ONE plain Python process (no kernel, no papermill, no report); per-notebook times;
- the overhead ratio pipeline wall / bare wall, both from this one bench run;
- the process-tree peak memory of each: the summed resident set of the process and all its
  descendants (the CLI and every kernel), sampled every 0.1 s with psutil;
- raking beside R `survey` (``benchmarks/bench_raking.R``) when ``Rscript`` with the survey package is
  installed: the same raking variables and margins, rake to convergence + a raked mean and SE;
- with ``--outofcore N``: the DuckDB out-of-core path (`engagement.outofcore`) on N simulated
  respondents (generated in chunks beforehand), wall time and sampled peak memory.

The machine and date go into BENCHMARKS.md. A hand-written part after the line
``<!-- make bench keeps everything below this line -->`` is kept when the file is rewritten.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from . import config
from .simulate import SimulationParams, write_survey

KEEP_MARKER = "<!-- make bench keeps everything below this line -->"


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, "
            f"Python {platform.python_version()}")


class TreeMemorySampler:
    """Peak of the summed RSS of a process and all its descendants, sampled on a thread."""

    def __init__(self, pid: int, interval: float = 0.1):
        import psutil

        self._root = psutil.Process(pid)
        self._interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self._root, *self._root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self._interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _run_sampled(cmd: list[str]) -> tuple[float, float, str]:
    """Run a command; (wall seconds, process-tree peak MiB, stdout). Raises on failure."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeMemorySampler(proc.pid) as sampler:
        out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} … failed ({proc.returncode}): {err[-2000:]}")
    return wall, sampler.peak_bytes / 2**20, out


def time_pipeline(data: Path, codebook: Path, out: Path, jobs: int | None = None) -> dict:
    """One `engagement run` in a child process: wall time, per-step times, process-tree peak.
    `jobs`: notebooks side by side (default: the pipeline's own default)."""
    wall, peak, _ = _run_sampled([sys.executable, "-m", "engagement.cli", "run", "--data", str(data),
                                  "--codebook", str(codebook), "--out", str(out),
                                  *(["--jobs", str(jobs)] if jobs else [])])
    manifest = json.loads((out / "manifest.json").read_text())
    return {"wall": wall, "timings": manifest["timings_seconds"], "timeline": manifest.get("timeline_seconds", {}),
            "peak_mib": peak}


def time_bare(data: Path, codebook: Path, out: Path) -> dict:
    """The notebooks' cells in one plain process (`bare` sub-command); same measurements."""
    wall, peak, stdout = _run_sampled([sys.executable, "-m", "engagement.bench", "bare", "--data", str(data),
                                       "--codebook", str(codebook), "--out", str(out)])
    return {"wall": wall, "timings": json.loads(stdout.strip().splitlines()[-1]), "peak_mib": peak}


def _code_cells(path: Path) -> tuple[str, list[str]]:
    """(parameters cell source, the other code cells' sources) of a notebook."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    params, cells = "", []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "parameters" in cell.metadata.get("tags", []) and not params:
            params = cell.source
        else:
            cells.append(cell.source)
    return params, cells


def run_bare(data: Path, codebook: Path, out: Path) -> dict:
    """Execute every notebook's code cells in this process, parameters injected as papermill would;
    returns seconds per notebook (display output is discarded)."""
    import matplotlib

    matplotlib.use("Agg")
    from .pipeline import NOTEBOOKS, notebook_parameters

    out.mkdir(parents=True, exist_ok=True)
    base = {"data_path": str(data), "codebook_path": str(codebook), "output_dir": str(out),
            "seed": config.DEFAULT_SEED, "wave": "", "previous_results": ""}
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    for name in NOTEBOOKS:
        src = config.NOTEBOOKS_DIR / f"{name}.ipynb"
        accepted = notebook_parameters(src)
        params_src, cells = _code_cells(src)
        injected = "\n".join(f"{k} = {v!r}" for k, v in base.items() if k in accepted)
        namespace: dict = {"__name__": "__main__"}
        t0 = time.perf_counter()
        cwd = os.getcwd()
        os.chdir(src.parent)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                for source in (params_src, injected, *cells):
                    exec(compile(_strip_magics(source), f"{name}.ipynb", "exec"), namespace)
        finally:
            os.chdir(cwd)
            import matplotlib.pyplot as plt

            plt.close("all")
        timings[name] = round(time.perf_counter() - t0, 2)
    timings["total"] = round(time.perf_counter() - t_all, 2)
    return timings


def _strip_magics(source: str) -> str:
    """IPython line magics and shell escapes have no meaning in a plain process."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def time_raking(n: int, tmp: Path, data: Path, codebook: Path) -> dict | None:
    """Raking + a raked mean with its SE, in Python and (when installed) in R `survey`."""
    import numpy as np

    from .codebook import load_codebook
    from .prepare import prepare_survey
    from .survey_stats import Design, weighted_mean
    from .weighting import rake_weights

    cb = load_codebook(codebook)
    if not cb.margins:
        return None
    df = prepare_survey(data, cb).data
    y = cb.scale("csat").column if cb.scale("csat") else None
    if y is None:
        return None
    frame = df[[*cb.margins, y]].copy()
    t0 = time.perf_counter()
    design = Design.from_rake(rake_weights(frame, cb.margins))
    est = weighted_mean(frame[y].astype(float), design)
    python_s = time.perf_counter() - t0
    result = {"python_s": python_s, "python_se": est["se"], "r_s": None, "r_se": None}
    rscript = shutil.which("Rscript")
    if rscript:
        csv = tmp / f"raking{n}.csv"
        frame.rename(columns={y: "y"}).to_csv(csv, index=False)
        margins = tmp / f"margins{n}.csv"
        import pandas as pd

        pd.DataFrame([{"variable": v, "level": str(level), "share": share}
                      for v, shares in cb.margins.items() for level, share in shares.items()]).to_csv(margins, index=False)
        proc = subprocess.run([rscript, str(config.PROJ_ROOT / "benchmarks" / "bench_raking.R"), str(csv), str(margins)],
                              capture_output=True, text=True)
        if proc.returncode == 0:
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            result.update(r_s=r["seconds"], r_se=r["se"])
            result["relative_se_difference"] = abs(r["se"] - est["se"]) / est["se"] if np.isfinite(r["se"]) else None
        else:
            result["r_error"] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "R failed"
    return result


def time_outofcore(n: int, tmp: Path) -> dict:
    """The out-of-core path on n simulated respondents (generated first, not timed)."""
    from .outofcore import write_large_survey

    t0 = time.perf_counter()
    paths = write_large_survey(tmp / f"ooc{n}", n)
    generate = time.perf_counter() - t0
    wall, peak, stdout = _run_sampled([sys.executable, "-m", "engagement.outofcore", "--n", str(n), "--data",
                                       str(paths["survey"]), "--codebook", str(paths["codebook"]),
                                       "--workdir", str(tmp)])
    info = json.loads(stdout.strip().splitlines()[0])
    shutil.rmtree(tmp / f"ooc{n}", ignore_errors=True)
    return {"generate_s": generate, "wall": wall, "peak_mib": peak, **info}


def _fmt(x, unit=" s", digits=1) -> str:
    return "–" if x is None else f"{x:.{digits}f}{unit}"


def render(rows: list[tuple[str, dict]], raking: list[tuple[str, dict]], ooc: dict | None, loyalty: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {date.today().isoformat()} with `make bench` on: {_machine()}.",
        "",
        "**Pipeline**: a fresh `engagement run` process with the notebooks' default parameters (kernel start-up "
        "and the PDF included). **Bare**: the code cells of the same notebooks with the same parameters, run in "
        "order in one plain Python process (no kernels, no papermill, no report). Overhead ratio = pipeline wall "
        "/ bare wall, from the same bench run. Peak memory: summed resident set of the process tree (CLI and "
        "every kernel), sampled every 0.1 s (psutil). The pipeline runs notebooks side by side where one does "
        "not read another's output (`--jobs`, default 2 on 2 cores) and warms each kernel ahead; the row "
        "`--jobs 1` is the same pipeline one notebook at a time, the like-for-like comparison with the "
        "one-process bare run. `validation`: the CLI reading and validating the inputs once; "
        "\"ran +a–b s\": when the notebook started and ended, counted from the first notebook's start "
        "(a notebook starts as soon as the files it reads are written).",
        "",
        "| step | " + " | ".join(label for label, _ in rows) + " |",
        "|---|" + "---|" * len(rows),
    ]
    steps = list(dict.fromkeys(k for _, r in rows for k in r["pipeline"]["timings"]))
    def cell(r: dict, step: str) -> str:
        text = _fmt(r["pipeline"]["timings"].get(step))
        if step in r["bare"]["timings"]:
            text += f" (bare {_fmt(r['bare']['timings'].get(step))})"
        span = r["pipeline"].get("timeline", {}).get(step)
        return text + (f", ran +{span[0]:.1f}–{span[1]:.1f} s" if span and len(span) == 2 else "")

    for step in steps:
        lines.append(f"| {step} | " + " | ".join(cell(r, step) for _, r in rows) + " |")
    lines.append("| **pipeline wall** | " + " | ".join(f"**{_fmt(r['pipeline']['wall'])}**" for _, r in rows) + " |")
    if any("jobs1" in r for _, r in rows):
        lines.append("| pipeline wall, `--jobs 1` | " + " | ".join(
            _fmt(r["jobs1"]["wall"]) if "jobs1" in r else "–" for _, r in rows) + " |")
    lines.append("| **bare computation wall** | " + " | ".join(f"**{_fmt(r['bare']['wall'])}**" for _, r in rows) + " |")
    lines.append("| overhead ratio (pipeline / bare) | " + " | ".join(
        f"{r['pipeline']['wall'] / r['bare']['wall']:.2f}×" for _, r in rows) + " |")
    if any("jobs1" in r for _, r in rows):
        lines.append("| overhead ratio, `--jobs 1` / bare | " + " | ".join(
            f"{r['jobs1']['wall'] / r['bare']['wall']:.2f}×" if "jobs1" in r else "–" for _, r in rows) + " |")
    lines.append("| peak memory, pipeline process tree | " + " | ".join(
        _fmt(r["pipeline"]["peak_mib"], " MiB", 0) for _, r in rows) + " |")
    lines.append("| peak memory, bare process | " + " | ".join(_fmt(r["bare"]["peak_mib"], " MiB", 0) for _, r in rows) + " |")
    if raking:
        lines += ["", "## Raking beside R `survey`", "",
                  "Screened data at each size; raking to the codebook's margins to convergence plus a raked mean "
                  "(CSAT) with its linearisation SE: `weighting.rake_weights` + `survey_stats` against "
                  "`rake(..., control = list(epsilon = 1e-12, maxit = 1000))` + `svymean` "
                  "(`benchmarks/bench_raking.R`; R is optional, `–` when not installed).", "",
                  "| respondents | Python (s) | R survey (s) | Python / R | SE relative difference |", "|---|---|---|---|---|"]
        for label, r in raking:
            ratio = f"{r['python_s'] / r['r_s']:.3f}" if r.get("r_s") else "–"
            diff = f"{r['relative_se_difference']:.1e}" if r.get("relative_se_difference") is not None else "–"
            lines.append(f"| {label} | {r['python_s']:.2f} | {_fmt(r.get('r_s'), '', 2)} | {ratio} | {diff} |")
    if ooc:
        lines += ["", "## Out of core (DuckDB)", "",
                  f"`engagement.outofcore` on {ooc['n']:,} simulated respondents (Parquet, written in chunks "
                  f"beforehand in {ooc['generate_s']:.0f} s): read, screen, rake, headline metrics with intervals, "
                  f"DuckDB memory_limit {ooc['memory_limit']}.", "",
                  "| read | screen | rake | metrics | wall (process) | process-tree peak |", "|---|---|---|---|---|---|",
                  f"| {ooc['read']:.1f} s | {ooc['screen']:.1f} s | {ooc['rake']:.1f} s | {ooc['metrics']:.1f} s | "
                  f"{ooc['wall']:.1f} s | {ooc['peak_mib']:.0f} MiB |"]
    lines += ["", "## Loyalty study at the default size", "",
              "Repeated cross-validation (10 × 5 folds, every model and outcome), the dominance bootstrap "
              "and the simulated power check, each timed on its own (`benchmarks/bench_loyalty.py`).", "", loyalty]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "bare":
        ap = argparse.ArgumentParser(prog="engagement.bench bare")
        ap.add_argument("--data", required=True)
        ap.add_argument("--codebook", required=True)
        ap.add_argument("--out", required=True)
        a = ap.parse_args(argv[1:])
        print(json.dumps(run_bare(Path(a.data), Path(a.codebook), Path(a.out))))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="BENCHMARKS.md")
    ap.add_argument("--sizes", default="5000,100000", help="respondent counts to time (5000 = the default survey)")
    ap.add_argument("--large", action="store_true", help="add 1,000,000 respondents (about 10 minutes or more)")
    ap.add_argument("--outofcore", type=int, default=0, help="also time the out-of-core path at this size")
    ap.add_argument("--no-r", action="store_true", help="skip the raking comparison with R")
    ap.add_argument("--no-jobs1", action="store_true", help="skip the one-notebook-at-a-time pipeline run")
    ap.add_argument("--no-loyalty", action="store_true", help="skip benchmarks/bench_loyalty.py")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.large and 1_000_000 not in sizes:
        sizes.append(1_000_000)
    rows, raking = [], []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for n in sizes:
            if n == config.DEFAULT_N:
                data, codebook, label = config.DEFAULT_SURVEY, config.DEFAULT_CODEBOOK, f"default survey ({n:,})"
            else:
                paths = write_survey(tmp / f"n{n}", SimulationParams(n=n))
                data, codebook, label = paths["survey"], paths["codebook"], f"simulated, {n:,}"
            print(f"timing the pipeline on {label} …", flush=True)
            pipe = time_pipeline(Path(data), Path(codebook), tmp / f"run{n}")
            shutil.rmtree(tmp / f"run{n}", ignore_errors=True)
            print(f"  {pipe['wall']:.1f} s wall, process-tree peak {pipe['peak_mib']:.0f} MiB", flush=True)
            jobs1 = None
            if n < 1_000_000 and not args.no_jobs1:
                print(f"timing the pipeline one notebook at a time (--jobs 1) on {label} …", flush=True)
                jobs1 = time_pipeline(Path(data), Path(codebook), tmp / f"run{n}-1", jobs=1)
                shutil.rmtree(tmp / f"run{n}-1", ignore_errors=True)
                print(f"  {jobs1['wall']:.1f} s wall", flush=True)
            print(f"timing the bare computation on {label} …", flush=True)
            bare = time_bare(Path(data), Path(codebook), tmp / f"bare{n}")
            shutil.rmtree(tmp / f"bare{n}", ignore_errors=True)
            print(f"  {bare['wall']:.1f} s wall ({pipe['wall'] / bare['wall']:.2f}× overhead), peak "
                  f"{bare['peak_mib']:.0f} MiB", flush=True)
            rows.append((label, {"pipeline": pipe, "bare": bare, **({"jobs1": jobs1} if jobs1 else {})}))
            if not args.no_r:
                r = time_raking(n, tmp, Path(data), Path(codebook))
                if r:
                    raking.append((f"{n:,}", r))
                    print(f"  raking: Python {r['python_s']:.2f} s, R {_fmt(r.get('r_s'), ' s', 2)}", flush=True)
        ooc = None
        if args.outofcore:
            print(f"timing the out-of-core path on {args.outofcore:,} …", flush=True)
            ooc = time_outofcore(args.outofcore, tmp)
            print(f"  {ooc['wall']:.1f} s, peak {ooc['peak_mib']:.0f} MiB", flush=True)
    loyalty = "(skipped)"
    if not args.no_loyalty:
        print("timing the loyalty study's cross-validation and bootstrap …", flush=True)
        loyalty = subprocess.run([sys.executable, str(config.PROJ_ROOT / "benchmarks" / "bench_loyalty.py"), "--header"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    text = render(rows, raking, ooc, loyalty)
    out = Path(args.out)
    if out.exists() and KEEP_MARKER in out.read_text():
        text += "\n" + KEEP_MARKER + out.read_text().split(KEEP_MARKER, 1)[1]
    out.write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""`make bench`: time `engagement run` on the default survey and on 100,000 respondents.

Each run is a fresh `engagement run` process (kernel start-up included, as a scheduler sees it).
Wall time per notebook comes from the run's manifest; peak memory is the largest resident set of
any process of the run (the CLI or a notebook kernel), from getrusage(RUSAGE_CHILDREN).
Results and the machine are written to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from . import config
from .simulate import SimulationParams, write_survey


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
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def time_run(data: Path, codebook: Path, out: Path) -> dict:
    """One `engagement run` in a child process: wall time, per-notebook times, peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "engagement.cli", "run", "--data", str(data),
                           "--codebook", str(codebook), "--out", str(out)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    peak_kib = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    manifest = json.loads((out / "manifest.json").read_text())
    return {"wall": wall, "timings": manifest["timings_seconds"], "peak_mib": peak_kib / 1024}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="BENCHMARKS.md")
    ap.add_argument("--sizes", default="5000,100000", help="respondent counts to time")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            if n == config.DEFAULT_N:
                data, codebook, label = config.DEFAULT_SURVEY, config.DEFAULT_CODEBOOK, f"default survey ({n:,})"
            else:
                paths = write_survey(Path(tmp) / f"n{n}", SimulationParams(n=n))
                data, codebook, label = paths["survey"], paths["codebook"], f"simulated, {n:,} respondents"
            print(f"timing {label} …", flush=True)
            res = time_run(data, codebook, Path(tmp) / f"run{n}")
            rows.append((label, res))
            print(f"  {res['wall']:.1f} s wall, peak {res['peak_mib']:.0f} MiB", flush=True)
    steps = list(rows[0][1]["timings"])
    lines = [
        "# Benchmarks",
        "",
        f"Measured {date.today().isoformat()} with `make bench` on: {_machine()}.",
        "",
        "Each run is a fresh `engagement run` process with the notebooks' default parameters (kernel "
        "start-up included). Target: the default run under 60 s wall on a 2-core machine.",
        "",
        "| step | " + " | ".join(label for label, _ in rows) + " |",
        "|---|" + "---|" * len(rows),
    ]
    for step in steps:
        lines.append(f"| {step} | " + " | ".join(f"{r['timings'].get(step, float('nan')):.1f} s" for _, r in rows) + " |")
    lines.append("| **total wall** | " + " | ".join(f"**{r['wall']:.1f} s**" for _, r in rows) + " |")
    lines.append("| peak memory (largest process) | " + " | ".join(f"{r['peak_mib']:.0f} MiB" for _, r in rows) + " |")
    print("timing the loyalty study's cross-validation and bootstrap …", flush=True)
    loyalty = subprocess.run([sys.executable, str(config.PROJ_ROOT / "benchmarks" / "bench_loyalty.py"), "--header"],
                             capture_output=True, text=True, check=True).stdout.strip()
    lines += ["", "## Loyalty study at the default size", "",
              "Repeated cross-validation (10 × 5 folds, every model and outcome), the dominance bootstrap "
              "and the simulated power check, each timed on its own (`benchmarks/bench_loyalty.py`).", "", loyalty]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""The slow C13 coverage study (issue 10) with its per-seed records kept: for each planted world and
seed, the same survey and checks as tests/test_loyalty_truth.py::test_c13_intervals_cover_the_population_values,
one CSV row per statistic appended as soon as the seed is done (so a long run can be stopped and
resumed: seeds already in the file are skipped).

    nice -n 19 .venv/bin/python tools/coverage_study.py --world equal --out docs/validation/c13_coverage_equal.csv
    .venv/bin/python tools/coverage_study.py --summary docs/validation/c13_coverage_*.csv   # the tables of docs/validation.md
"""

from __future__ import annotations

import argparse
import csv
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.*

from tests.test_loyalty_truth import (COVERAGE_N, COVERAGE_SEEDS, WORLDS, coverage_records,  # noqa: E402
                                      right_better, right_claim_verdicts)

#: the facts of each seed; whether its verdict is right is derived from them by the test's rules (`summary`)
FIELDS = ["world", "seed", "n", "statistic", "estimate", "low", "high", "population", "covered", "better",
          "verdict", "cpu_s", "wall_s"]


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95% interval of a proportion k/n (for the coverage rate itself)."""
    p, d = k / n, 1 + z**2 / n
    centre, half = (p + z**2 / (2 * n)) / d, z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / d
    return centre - half, centre + half


def summary(paths: list[Path]) -> str:
    """Per world and statistic: seeds, coverage (Wilson 95%), misses by side, mean population
    value, mean estimate − population, the estimates' spread across seeds against the mean bootstrap
    SE (interval width / 3.92); per world: verdicts right, verdict counts, CPU seconds per seed."""
    df = pd.concat([pd.read_csv(p) for p in paths])
    out = ["| world | statistic | seeds | covered | coverage (Wilson 95%) | population below / above the interval | population (mean) "
           "| bias (mean est − pop) | SD of estimates | mean bootstrap SE |", "|" + "---|" * 10]
    for (world, stat), g in df.groupby(["world", "statistic"], sort=False):
        k, n = int(g["covered"].sum()), len(g)
        lo, hi = wilson(k, n)
        out.append(f"| {world} | {stat} | {n} | {k} | {k / n:.0%} ({lo:.0%}–{hi:.0%}) | "
                   f"{int((g['population'] < g['low']).sum())} / {int((g['population'] > g['high']).sum())} | "
                   f"{g['population'].mean():.3f} | {(g['estimate'] - g['population']).mean():+.3f} | "
                   f"{g['estimate'].std(ddof=1):.3f} | {((g['high'] - g['low']) / 3.92).mean():.3f} |")
    out += ["", "| world | seeds | better (which scale) | C13 vs 1.40 | verdict right (Wilson 95%) | "
            "right if only the planted word counts | CPU s per seed (mean) |", "|" + "---|" * 7]
    for world, g in df[df["statistic"] == "somers_d"].groupby("world", sort=False):
        claim = [v in right_claim_verdicts(r, lo, hi, pop) for v, r, lo, hi, pop in
                 zip(g["verdict"], g["estimate"], g["low"], g["high"], g["population"])]
        better = [b in right_better(lo, hi, pop) for b, lo, hi, pop in zip(g["better"], g["low"], g["high"], g["population"])]
        k, n = sum(c and b for c, b in zip(claim, better)), len(g)
        planted = sum(c and b == WORLDS[world] for c, b in zip(claim, g["better"]))
        lo, hi = wilson(k, n)
        out.append(f"| {world} | {n} | {', '.join(f'{v} {c}' for v, c in g['better'].value_counts().items())} | "
                   f"{', '.join(f'{v} {c}' for v, c in g['verdict'].value_counts().items())} | "
                   f"{k} ({k / n:.0%}, {lo:.0%}–{hi:.0%}) | {planted} ({planted / n:.0%}) | {g['cpu_s'].mean():.1f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--summary", type=Path, nargs="+", help="print the summary tables of these CSVs and stop")
    ap.add_argument("--world", choices=list(WORLDS))
    ap.add_argument("--out", type=Path)
    ap.add_argument("--seeds", type=int, nargs=2, default=(COVERAGE_SEEDS.start, COVERAGE_SEEDS.stop),
                    metavar=("FIRST", "STOP"), help="seeds FIRST..STOP-1 (default: the test's)")
    ap.add_argument("--n", type=int, default=COVERAGE_N)
    args = ap.parse_args(argv)
    if args.summary:
        print(summary(args.summary))
        return
    if not (args.world and args.out):
        ap.error("--world and --out are needed to run the study")
    done, fields = set(), FIELDS
    if args.out.exists():
        with args.out.open() as f:
            reader = csv.DictReader(f)
            done, fields = {(r["world"], int(r["seed"])) for r in reader}, reader.fieldnames
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", newline="") as f:
            csv.DictWriter(f, FIELDS, lineterminator="\n").writeheader()
    for seed in range(*args.seeds):
        if (args.world, seed) in done:
            continue
        tmp = Path(tempfile.mkdtemp(prefix=f"coverage-{args.world}-{seed}-"))
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            records = coverage_records(tmp, args.world, seed, n=args.n)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        with args.out.open("a", newline="") as f:
            w = csv.DictWriter(f, fields, extrasaction="ignore", lineterminator="\n")
            for r in records:
                w.writerow({**r, "estimate": f"{r['estimate']:.5f}", "low": f"{r['low']:.5f}",
                            "high": f"{r['high']:.5f}", "population": f"{r['population']:.5f}",
                            "cpu_s": f"{cpu:.1f}", "wall_s": f"{wall:.1f}"})
        print(f"{args.world} seed {seed}: covered {sum(r['covered'] for r in records)}/4, "
              f"verdict {records[0]['verdict']} ({'right' if records[0]['verdict_right'] else 'WRONG'}), "
              f"cpu {cpu:.1f} s, wall {wall:.1f} s", flush=True)


if __name__ == "__main__":
    main()

"""The slow C13 coverage study (issue 10) with its per-seed records kept: for each planted world and
seed, the same survey and checks as tests/test_loyalty_truth.py::test_c13_intervals_cover_the_population_values,
one CSV row per statistic appended as soon as the seed is done (so a long run can be stopped and
resumed: seeds already in the file are skipped).

    nice -n 19 .venv/bin/python tools/coverage_study.py --world equal --out docs/validation/c13_coverage_equal.csv
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.*

from tests.test_loyalty_truth import COVERAGE_N, COVERAGE_SEEDS, WORLDS, coverage_records  # noqa: E402

FIELDS = ["world", "seed", "n", "statistic", "estimate", "low", "high", "population", "covered", "better",
          "verdict", "verdict_right", "cpu_s", "wall_s"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", choices=list(WORLDS), required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seeds", type=int, nargs=2, default=(COVERAGE_SEEDS.start, COVERAGE_SEEDS.stop),
                    metavar=("FIRST", "STOP"), help="seeds FIRST..STOP-1 (default: the test's)")
    ap.add_argument("--n", type=int, default=COVERAGE_N)
    args = ap.parse_args(argv)
    done = set()
    if args.out.exists():
        with args.out.open() as f:
            done = {(r["world"], int(r["seed"])) for r in csv.DictReader(f)}
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
            w = csv.DictWriter(f, FIELDS, lineterminator="\n")
            for r in records:
                w.writerow({**r, "estimate": f"{r['estimate']:.5f}", "low": f"{r['low']:.5f}",
                            "high": f"{r['high']:.5f}", "population": f"{r['population']:.5f}",
                            "cpu_s": f"{cpu:.1f}", "wall_s": f"{wall:.1f}"})
        print(f"{args.world} seed {seed}: covered {sum(r['covered'] for r in records)}/4, "
              f"verdict {records[0]['verdict']} ({'right' if records[0]['verdict_right'] else 'WRONG'}), "
              f"cpu {cpu:.1f} s, wall {wall:.1f} s", flush=True)


if __name__ == "__main__":
    main()

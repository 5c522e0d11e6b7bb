"""Time the expensive parts of the loyalty study (notebook 20) at the default size.

Draws the default survey (or `--n` respondents) with the simulator, prepares it the way the notebook
does (screening, raking), then times, each on its own: the repeated cross-validation of every model
of the multi-parameter models for every outcome, the dominance-analysis bootstrap, the C13 paired
bootstrap table, and the a priori power plan. Prints one
markdown table row (`--header` adds the header), for `make bench` to collect:

    python benchmarks/bench_loyalty.py --header
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from engagement.studies import loyalty
from engagement.studies.loyalty import comparison as m
from engagement.codebook import load_codebook
from engagement.config import DEFAULT_N, DEFAULT_SEED
from engagement.prepare import analysis_data, design_for
from engagement.simulate import SimulationParams, write_survey

HEADER = ("| respondents | CV folds × repeats | models fitted | CV (s) | dominance bootstrap (s) | "
          "C13 bootstrap (s) | power plan (s) | total (s) |\n|---:|---|---:|---:|---:|---:|---:|---:|")


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=DEFAULT_N, help="respondents to simulate")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--boot", type=int, default=200, help="dominance bootstrap replicates")
    ap.add_argument("--header", action="store_true", help="print the table header first")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_survey(Path(tmp) / "data", SimulationParams(n=args.n, seed=DEFAULT_SEED))
        cb = load_codebook(paths["codebook"])
        df = analysis_data(paths["survey"], paths["codebook"], Path(tmp) / "run")
        study = loyalty.prepare(df, cb, design=design_for(df, cb), seed=DEFAULT_SEED)
        comparison, t_cv = _timed(lambda: loyalty.compare_predictors(study, n_splits=args.folds, n_repeats=args.repeats))
        _, t_dom = _timed(lambda: loyalty.scale_dominance(study, n_boot=args.boot))
        _, t_c13 = _timed(lambda: loyalty.compare_c13(study, n_boot=args.boot))
        _, t_pow = _timed(lambda: loyalty.planned_sample_size(study))
    fits = sum(len(m.cv_models(study, o)) for o in study.inputs.outcomes) * args.folds * args.repeats
    if args.header:
        print(HEADER)
    print(f"| {len(df):,} | {args.folds} × {args.repeats} | {fits:,} | {t_cv:.2f} | {t_dom:.2f} ({args.boot} reps) | "
          f"{t_c13:.2f} ({args.boot} reps) | {t_pow:.2f} | {t_cv + t_dom + t_c13 + t_pow:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

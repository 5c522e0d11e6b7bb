"""Time the design-based estimators at a given size: building the raked design, weighted proportions,
one crosstab (Rao–Scott F + column-proportion letters), the channel study's `segment_tests` (the
computation behind `who_differs`, without its charts) and a weighted mean.

    python benchmarks/bench_design.py --n 100000 [--repeat 3] [--json out.json]

Data: the simulator's survey at that size (seed fixed), unscreened; the design is raked to the
default codebook's margins, as in the pipeline. Medians of --repeat calls; the first call of an
estimator on a fresh design is reported separately (it pays the one-off factorisation).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np


def _timed(fn, repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, times


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    from engagement.codebook import Codebook
    from engagement.prepare import design_for
    from engagement.simulate import SimulationParams, default_codebook, simulate_survey
    from engagement.survey_stats import column_proportion_tests, rao_scott_chisq, weighted_mean, weighted_proportions
    try:
        from engagement.studies.channels import segment_tests  # after the studies move
    except ImportError:
        from engagement.channels import segment_tests

    params = SimulationParams(n=args.n)
    df, _, _ = simulate_survey(params)
    cb = Codebook.model_validate(default_codebook(params))
    usage = list(cb.channels.usage.values())
    seg = cb.segments[0].column
    t0 = time.perf_counter()
    design = design_for(df, cb)
    out = {"n": args.n, "design_s": time.perf_counter() - t0}

    t0 = time.perf_counter()
    weighted_proportions(df[seg], design)
    out["first_proportions_s"] = time.perf_counter() - t0
    _, t = _timed(lambda: [weighted_proportions(df[c], design) for c in usage], args.repeat)
    out["proportions_per_call_s"] = statistics.median(t) / len(usage)
    _, t = _timed(lambda: weighted_mean(df[cb.scale("csat").column].astype(float), design), args.repeat)
    out["mean_s"] = statistics.median(t)
    _, t = _timed(lambda: (rao_scott_chisq(df[usage[0]], df[seg], design),
                           column_proportion_tests(df[usage[0]], df[seg], design)), args.repeat)
    out["crosstab_s"] = statistics.median(t)
    _, t = _timed(lambda: segment_tests(df, cb, design), max(1, args.repeat - 2))
    out["who_differs_tests_s"] = statistics.median(t)
    print(json.dumps(out))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh)
    return out


if __name__ == "__main__":
    main()

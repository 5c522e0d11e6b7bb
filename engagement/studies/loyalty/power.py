"""How many respondents are needed to tell CES and CSAT apart (analytic and simulated power)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ...degrade import CannotEstimate
from ...survey_stats import single_threaded
from .comparison import Comparison
from .inputs import LoyaltyData, _zscore, merge_sparse_levels
from .models import FAMILY_OF_KIND
from .text import nice
from .validation import concordance, cross_validate


@dataclass(frozen=True)
class Power:
    """`table`: power by sample size (analytic, and simulated with a Wilson 95% CI); `info`: the
    difference, its SE and n it rests on, the analytic n for 80% power and the simulation settings."""

    table: pd.DataFrame
    info: dict
    cv_repeats: int = 2  # cross-validation repeats of each simulated test

    def to_frame(self) -> pd.DataFrame:
        return self.table


@single_threaded()
def power(data: LoyaltyData, comparison: Comparison, *, sizes: list[int] | None = None, reps: int = 20, cv_repeats: int = 2, n_splits: int = 5,
          max_n: int = 20_000, population_n: int = 10_000) -> Power:
    """How many respondents to tell CES and CSAT apart at the observed difference (80% power)?

    1. Analytic: the observed CES − CSAT Gini difference d and its corrected SE s at n give
       n80 = n·((z₀.₉₇₅ + z₀.₈)·s/d)² (the SE shrinks as 1/√n); `sizes` default to 0.5, 1 and 2 ×
       n80 (capped at `max_n`).
    2. Simulated (engagement.simulate): the simulator's loadings on CES and CSAT are split, keeping
       their sum, so that its population Gini difference on the outcome of the same kind equals
       d (secant steps on simulated populations of `population_n`, or 2.5 × the largest size,
       drawn with common random numbers). From the last population, `reps` samples of each size
       are drawn with replacement and the study's own test is run on each (CES-only vs CSAT-only
       CV, `cv_repeats` × `n_splits` folds; significant when the corrected 95% interval of the
       difference excludes 0 on the observed side). Power = share significant, Wilson 95% CI.
    """
    from ...simulate import SimulationParams, default_codebook, simulate_survey

    data.require_inputs()
    if not isinstance(comparison, Comparison) or not len(comparison.differences):
        raise CannotEstimate(data.comparison_skip_reason or "no comparison ran")
    o = data.primary
    pair = data.pair()
    cv = comparison.cv.get(o.name) if o else None
    if pair is None or cv is None:
        raise CannotEstimate("CES and CSAT were not both compared")
    diff = cv.difference(*pair, "gini")
    d_obs, se_obs, n_obs = diff["estimate"], diff["se"], cv.n
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.80)
    n80 = float(n_obs * (z * se_obs / d_obs) ** 2) if d_obs != 0 else float("inf")
    info = {"difference": d_obs, "se": se_obs, "n": n_obs, "n80_analytic": n80, "outcome": o.name}
    if sizes is None or len(sizes) == 0:
        base = n80 if np.isfinite(n80) else 4 * max_n
        sizes = sorted({int(min(max(nice(base * f), 100), max_n)) for f in (0.5, 1.0, 2.0)})
    sizes = [int(n) for n in sizes]
    sim_col = {oc["kind"]: oc["column"] for oc in reversed(default_codebook()["outcomes"])}.get(o.kind)
    table = pd.DataFrame({"n": sizes, "power_analytic": [_analytic_power(d_obs, se_obs, n_obs, n) for n in sizes]})
    if reps <= 0 or sim_col is None:
        info |= {"simulated": False, "reason": "power_reps = 0" if reps <= 0 else
                 f"the simulator has no {o.kind} outcome"}
        return Power(table, info, cv_repeats)
    fam = FAMILY_OF_KIND[o.kind]
    defaults = SimulationParams()
    total = defaults.effect_effort + defaults.effect_satisfaction
    n_pop = int(max(population_n, 2.5 * max(sizes)))
    clean = dict(n=n_pop, seed=data.seed + 9, speeder_rate=0, straightliner_rate=0, attention_fail_rate=0,
                 duplicate_rate=0, item_missing_rate=0, skew_sample=False)

    def population(delta: float):
        sim, _, _ = simulate_survey(SimulationParams(effect_effort=total / 2 + delta,
                                                     effect_satisfaction=total / 2 - delta, **clean))
        y = sim[sim_col].to_numpy(float)
        ces, csat = sim["ces"].to_numpy(float), sim["csat"].to_numpy(float)
        d = (2 * concordance(ces, y) - 1) - (2 * concordance(csat, y) - 1)
        return d, y, ces, csat

    points = [(0.0, population(0.0)), ((defaults.effect_effort - defaults.effect_satisfaction) / 2, None)]
    points[1] = (points[1][0], population(points[1][0]))
    for _ in range(3):  # secant steps; the last population drawn is the one sampled
        (x0, p0), (x1, p1) = points[-2], points[-1]
        if abs(p1[0] - d_obs) < 0.25 * se_obs or p1[0] == p0[0]:
            break
        x2 = float(np.clip(x1 + (d_obs - p1[0]) * (x1 - x0) / (p1[0] - p0[0]), -total / 2, total / 2))
        points.append((x2, population(x2)))
    delta, (d_sim, y_pop, ces_pop, csat_pop) = points[-1]
    info |= {"simulated": True, "effect_effort": total / 2 + delta, "effect_satisfaction": total / 2 - delta,
             "simulated_difference": d_sim, "population_n": n_pop, "outcome_simulated": sim_col}
    rng = np.random.default_rng(data.seed + 11)
    sign = 1.0 if d_obs >= 0 else -1.0
    rows = []
    for n in sizes:
        hits = 0
        for r in range(reps):
            idx = rng.integers(0, n_pop, n)
            y = y_pop[idx]
            if fam == "ordinal":
                y, _, _ = merge_sparse_levels(y, data.min_level_n)
            ones = np.ones(n)
            designs = {"ces": _zscore(ces_pop[idx], ones)[:, None], "csat": _zscore(csat_pop[idx], ones)[:, None]}
            res = cross_validate(y, designs, fam, n_splits=n_splits, n_repeats=cv_repeats,
                                 seed=data.seed + r).difference("ces", "csat", "gini")
            hits += bool(res["ci_low"] > 0) if sign > 0 else bool(res["ci_high"] < 0)
        lo_ci, hi_ci = wilson(hits, reps)
        rows.append({"n": n, "power_simulated": hits / reps, "ci_low": lo_ci, "ci_high": hi_ci, "reps": reps})
    return Power(table.merge(pd.DataFrame(rows), on="n"), info, cv_repeats)


def _analytic_power(d: float, se: float, n_obs: int, n: int) -> float:
    if not np.isfinite(se) or se <= 0:
        return float("nan")
    se_n = se * np.sqrt(n_obs / n)
    z = stats.norm.ppf(0.975)
    return float(stats.norm.cdf(abs(d) / se_n - z) + stats.norm.cdf(-abs(d) / se_n - z))


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    z = stats.norm.ppf((1 + level) / 2)
    p = k / n
    den = 1 + z**2 / n
    mid = (p + z**2 / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return float(max(mid - half, 0.0)), float(min(mid + half, 1.0))

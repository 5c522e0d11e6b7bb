"""Loyalty at each level of each scale, the "96% vs 9%" worst- vs best-box comparison, and rank
correlations: descriptive tables of the loyalty study (weighted, with 95% intervals and bases)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...survey_stats import (adjust_pvalues, correlation_with_ci, difference_in_proportions, single_threaded,
                             weighted_mean, weighted_proportion)
from ...degrade import CannotEstimate
from .inputs import LoyaltyData, LoyaltyOutcome, oriented_points, scale_levels


@single_threaded()
def loyalty_by_level(data: LoyaltyData, outcome: LoyaltyOutcome | None = None) -> pd.DataFrame:
    """Loyalty at each level of each compared predictor: weighted share loyal and disloyal (logit
    95% CI) — or the weighted mean for counts and continuous outcomes — with base n."""
    data.require_inputs()
    outcome = outcome or data.primary
    y = outcome.values(data.df)
    flags = outcome.loyal_flags(y)
    rows = []
    for p in data.comparison_predictors():
        lv = scale_levels(data.scores[p.name], p.scale)
        for level in sorted(lv.dropna().unique()):
            dom = (lv == level).to_numpy() & y.notna().to_numpy()
            if dom.sum() < 2:
                continue
            row = {"outcome": outcome.name, "predictor": p.label, "level": level, "n": int(dom.sum())}
            if flags is not None:
                for key, flag in zip(("loyal", "disloyal"), flags):
                    r = weighted_proportion(flag.fillna(0).to_numpy(), data.design, domain=dom)
                    row |= {key: r["estimate"], f"{key}_low": r["ci_low"], f"{key}_high": r["ci_high"]}
            m = weighted_mean(y.to_numpy(), data.design, domain=dom)
            row |= {"mean": m["estimate"], "mean_low": m["ci_low"], "mean_high": m["ci_high"]}
            rows.append(row)
    if not rows:
        raise CannotEstimate("no level of the compared scales has two or more respondents with the outcome.")
    return pd.DataFrame(rows)


@single_threaded()
def worst_vs_best(data: LoyaltyData) -> pd.DataFrame:
    """The "96% vs 9%" comparison: share disloyal (and loyal) among customers in the worst and in
    the best box of each compared predictor (CES: high vs low effort), for every outcome with a
    loyal/disloyal definition; weighted shares with logit 95% CIs and the design-based difference."""
    data.require_inputs()
    rows = []
    for p in data.comparison_predictors():
        s = data.scores[p.name]
        worst, best = (p.worst_box(s) == 1).to_numpy(), (p.best_box(s) == 1).to_numpy()
        group = pd.Series(pd.Categorical(np.where(worst, "worst", np.where(best, "best", None)),
                                         categories=["worst", "best"]))  # compared by code, not per string
        words = (("high effort", "low effort") if p is data.inputs.ces else
                 ("dissatisfied", "satisfied") if p is data.inputs.csat else ("worst", "best"))
        lo_pts = f"{p.scale.min:g}–{p.scale.min + p.box_size - 1:g}"
        hi_pts = f"{p.scale.max - p.box_size + 1:g}–{p.scale.max:g}"
        for o in data.inputs.outcomes:
            flags = o.loyal_flags(o.values(data.df))
            if flags is None:
                continue
            (loyal, disloyal), (ldef, ddef) = flags, o.loyal_definition()
            for key, flag, definition in (("disloyal", disloyal, ddef), ("loyal", loyal, ldef)):
                vals = flag.to_numpy()
                ok = ~np.isnan(vals)
                if (worst & ok).sum() < 2 or (best & ok).sum() < 2:
                    continue
                d = difference_in_proportions(vals, group, "worst", "best", data.design)
                cw = weighted_proportion(np.nan_to_num(vals), data.design, domain=worst & ok)
                cb_ = weighted_proportion(np.nan_to_num(vals), data.design, domain=best & ok)
                rows.append({"predictor": p.label, "outcome": o.label, "share": key, "definition": definition,
                             "worst_box": f"{p.label} {oriented_points(p, lo_pts)} ({words[0]})",
                             "best_box": f"{p.label} {oriented_points(p, hi_pts)} ({words[1]})",
                             "worst": cw["estimate"], "worst_low": cw["ci_low"], "worst_high": cw["ci_high"],
                             "n_worst": cw["n"], "best": cb_["estimate"], "best_low": cb_["ci_low"],
                             "best_high": cb_["ci_high"], "n_best": cb_["n"], "difference": d["estimate"],
                             "diff_low": d["ci_low"], "diff_high": d["ci_high"], "p_value": d["p_value"]})
    return pd.DataFrame(rows)


@single_threaded()
def correlations(data: LoyaltyData) -> pd.DataFrame:
    """Spearman correlation of every predictor with every outcome, Fisher-z 95% CI (unweighted,
    `survey_stats.correlation_with_ci`), Holm-adjusted p across the table."""
    data.require_inputs()
    rows = []
    for o in data.inputs.outcomes:
        y = o.values(data.df).to_numpy()
        for p in data.inputs.predictors_for(o):
            r = correlation_with_ci(data.scores[p.name].to_numpy(), y, method="spearman")
            rows.append({"outcome": o.label, "predictor": p.label, "rho": r["estimate"], "ci_low": r["ci_low"],
                         "ci_high": r["ci_high"], "n": r["n"], "p_value": r["p_value"]})
    out = pd.DataFrame(rows)
    if len(out):
        out["p_holm"] = adjust_pvalues(out["p_value"].to_numpy(), "holm")
    return out

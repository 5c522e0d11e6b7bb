"""Incremental validity (does each scale add to the others?), dominance analysis of the scales, and
key-driver importance × performance for declared driver items."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ...survey_stats import adjust_pvalues, single_threaded, weighted_mean
from ...degrade import CannotEstimate
from .dominance import dominance_analysis, exact_is_cheap, relative_weights
from .inputs import LoyaltyData, _zscore, merge_sparse_levels
from .models import collapse, fit_model, nested_test
from .sample import fitting_data


@single_threaded()
def incremental_validity(data: LoyaltyData) -> pd.DataFrame:
    """Full-sample unique contribution of each scale: ΔR² (OLS) or Δ McFadden pseudo-R² when it is
    added to the model with the other scales, with a likelihood-ratio test (Wald test with a
    sandwich covariance when the data are weighted). Holm-adjusted across the table."""
    data.require_inputs()
    rows = []
    for o in data.inputs.outcomes:
        if data.unusable(o):
            continue
        d = data.outcome_data(o)
        base = data.models_for(o).get("both", (None,))[0]
        if not base or len(base) < 2:
            continue
        full = fit_model(o.family, d.y, d.design(base), d.w, names=base, cov_type=data.cov_type)
        for p in base:
            others = [q for q in base if q != p]
            small = fit_model(o.family, d.y, d.design(others), d.w, names=others, cov_type=data.cov_type)
            t = nested_test(small, full, added=[base.index(p)])
            rows.append({"outcome": o.label, "added": data.inputs.predictor(p).label,
                         "to model with": " + ".join(data.inputs.predictor(q).label for q in others),
                         "R² without": small.r2, "R² with": full.r2, "ΔR²": t["delta_r2"], "test": t["test"],
                         "statistic": t["statistic"], "df": t["df"], "p_value": t["p_value"], "n": d.n})
    out = pd.DataFrame(rows)
    if not len(out):
        raise CannotEstimate("fewer than two scales to compare.")
    if len(out):
        out["p_holm"] = adjust_pvalues(out["p_value"].to_numpy(), "holm")
    return out


@single_threaded()
def scale_dominance(data: LoyaltyData, n_boot: int = 200) -> pd.DataFrame:
    """General dominance (Shapley/LMG share of R² / McFadden pseudo-R²) of the declared scales for
    every outcome with two or more of them, percentile bootstrap 95% CIs."""
    data.require_inputs()
    data = fitting_data(data)  # a stratified sample of a very large survey (`sample`)
    rows = []
    for i, o in enumerate(data.inputs.outcomes):
        preds = [p.name for p in data.drivers_for(o)]
        if len(preds) < 2 or len(preds) > 8 or data.unusable(o):
            continue
        d = data.outcome_data(o)
        res = dominance_analysis(o.family, d.y, d.design(preds), preds, d.w, n_boot=n_boot,
                                 seed=data.seed + 100 + i)
        res.insert(0, "outcome", o.label)
        res["predictor"] = [data.inputs.predictor(p).label for p in preds]
        res["n"] = d.n
        rows.append(res)
    if not rows:
        raise CannotEstimate("fewer than two scales (or more than eight) to split the explained loyalty among.")
    return pd.concat(rows, ignore_index=True)


@single_threaded()
def driver_importance(data: LoyaltyData, drivers: list[str], n_boot: int = 0) -> pd.DataFrame:
    """Key-driver quad map table for declared driver items on the primary outcome: importance =
    general-dominance share of pseudo-R² (exact while cheap, else Johnson's relative weights; the
    `method` column says which), performance = weighted mean on a 0–100 scale. Outcomes are never drivers."""
    data.require_inputs()
    if not drivers:
        raise CannotEstimate("the codebook declares no driver items (attribute ratings such as delivery speed or "
                             "ease of navigation) to place on an importance × performance map.")
    # an outcome (NPS, repurchase intention …) is never a driver of another outcome
    drivers = [c for c in drivers if c not in data.outcome_columns]
    if not drivers:
        raise CannotEstimate("every declared driver item is a loyalty outcome; outcomes are not drivers.")
    o = data.primary
    X = data.df[drivers].apply(pd.to_numeric, errors="coerce")
    fit = fitting_data(data)  # importance (fits, bootstrap) on the stratified sample of a very large survey
    Xf = X if fit is data else fit.df[drivers].apply(pd.to_numeric, errors="coerce")
    y_all = o.values(fit.df)
    ok = (y_all.notna() & Xf.notna().all(axis=1)).to_numpy()
    min_n = max(30, 5 * len(drivers))
    if ok.sum() < min_n:
        raise CannotEstimate(f"only {int(ok.sum())} respondents answered the outcome and every driver item; "
                             f"{min_n} are needed for {len(drivers)} drivers.")
    w = fit.weights[ok]
    y = y_all.to_numpy()[ok]
    if o.family == "ordinal":
        y, _, _ = merge_sparse_levels(y, data.min_level_n)
    if len(np.unique(y)) < 2:
        raise CannotEstimate(f"every respondent gave the same answer to {o.label}; nothing to explain.")
    Z = np.column_stack([_zscore(Xf[c].to_numpy(float)[ok], w) for c in drivers])
    n_cells = len(collapse([y, *Z.T], w)[0])
    if exact_is_cheap(n_cells, len(drivers)):
        dom = dominance_analysis(o.family, y, Z, drivers, w, n_boot=n_boot, seed=data.seed + 7)
        dom["method"] = "general dominance (exact, all subsets)"
    else:
        dom = relative_weights(y, Z, drivers, w, n_boot=n_boot, seed=data.seed + 7)
        dom["method"] = "relative weights (Johnson 2000; approximates general dominance)"
    perf = []
    for c in drivers:
        spec = data.cb.columns.get(c)
        lo = spec.min if spec and spec.min is not None else float(X[c].min())
        hi = spec.max if spec and spec.max is not None else float(X[c].max())
        m = weighted_mean(((X[c] - lo) / (hi - lo) * 100).to_numpy(), data.design)
        perf.append((m["estimate"], m["ci_low"], m["ci_high"]))
    dom["performance"], dom["performance_ci_low"], dom["performance_ci_high"] = map(list, zip(*perf))
    # the codebook's wording of each item, shortened for the chart ("Rating: X (1-5)" -> "X")
    dom["label"] = [re.sub(r"^Rating:\s*|\s*\([^)]*\)$", "", data.cb.columns[c].label) if c in data.cb.columns
                    and data.cb.columns[c].label else c for c in drivers]
    imp_mid, perf_mid = dom["share"].mean(), float(np.mean(perf))
    dom["quadrant"] = [
        ("fix first" if p < perf_mid else "keep up") if s >= imp_mid else ("low priority" if p < perf_mid else
                                                                           "possible overkill")
        for s, p in zip(dom["share"], dom["performance"])]
    dom["n"] = int(ok.sum())
    return dom

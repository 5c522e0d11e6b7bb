"""Report sections of the loyalty study: analysis results -> the text (markdown strings) and the
display tables (DataFrames with formatted cells) that notebook 20 and the report show. Nothing here
computes a statistic, draws or displays."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .comparison import Comparison
from .inputs import (GARTNER_DISLOYAL_HIGH_EFFORT, GARTNER_DISLOYAL_LOW_EFFORT, GARTNER_REPURCHASE_LOW_EFFORT,
                     LoyaltyData)
from .models import FAMILY_LABEL
from .c13 import STATISTICS, C13Comparison
from .power import PowerPlan
from .sample import fitting_data
from .shape import Heterogeneity
from .text import fmt_ci, fmt_p, unless_not_estimated


def inputs_table(data: LoyaltyData) -> pd.DataFrame:
    """What the study compares: predictors (with reversals), outcomes and their models, controls."""
    rows = [{"role": "predictor", "name": p.label, "columns": ", ".join(p.columns),
             "scale": f"{p.scale.min:g}–{p.scale.max:g}", "note": "reversed (higher was worse)" if p.reversed else ""}
            for p in data.inputs.predictors]
    rows += [{"role": "outcome" + (" (primary)" if o is data.primary else ""), "name": o.label,
              "columns": o.outcome.column, "scale": o.kind, "note": FAMILY_LABEL[o.family]}
             for o in data.inputs.outcomes]
    rows += [{"role": "control", "name": c.column, "columns": c.column, "scale": "categorical" if c.categorical
              else "numeric", "note": ""} for c in data.inputs.controls]
    return pd.DataFrame(rows)


def inputs_notes(data: LoyaltyData) -> str:
    """Reversals, composites, a missing CES or CSAT and the weighting, as a markdown list."""
    notes = list(data.inputs.notes)
    if data.comparison_skip_reason:
        notes.append(data.comparison_skip_reason[0].upper() + data.comparison_skip_reason[1:])
    if data.weighted:
        notes.append("Estimates are weighted by the survey weights; model tests use sandwich (robust) covariances.")
    fit = fitting_data(data)
    if fit.fit_sample is not None:
        notes.append(fit.fit_sample.note())
    return "\n".join(f"- {note}" for note in notes)


@unless_not_estimated
def answer(c13: C13Comparison) -> str:
    """The C13 verdict sentence (it names its statistic) and how to read the table and chart."""
    return (c13.verdict["sentence"] + "\n\n" +
            "*How to read it.* Somers' D (the Gini, 2·AUC − 1 for a yes/no outcome) and Kendall's τ-b measure how "
            "well one score ranks customers from least to most loyal; pseudo-R² how much of the outcome's "
            "uncertainty a model on the score removes (it is roughly the square of a rank statistic, so its ratios "
            "look about twice as large); log-loss is that model's average surprise (lower is better). Each ratio is "
            "CES ÷ CSAT on the same respondents; its 95% interval comes from "
            f"{c13.n_boot} paired bootstrap replicates that redraw respondents and recalibrate the weights. "
            "\"Top-2 box\" recodes each scale to its two best points, as de Haan, Verhoef & Wiesel (2015) did.")


@unless_not_estimated
def c13_table(c13: C13Comparison) -> pd.DataFrame:
    """One row per outcome and coding: Somers' D of each scale, and the CES ÷ CSAT ratio of every
    statistic with its 95% interval; the primary statistic's row is marked."""
    t = c13.table
    rows = []
    for (o, coding), g in t.groupby(["outcome_label", "coding"], sort=False):
        by = {r.statistic: r for r in g.itertuples()}
        sd = by.get("somers_d")
        row = {"outcome": o, "scales": coding,
               "Somers' D: CES · CSAT": f"{sd.ces:.3f} · {sd.csat:.3f}" if sd is not None else "–"}
        for stat in STATISTICS:
            r = by.get(stat)
            label = {"somers_d": "Somers' D", "kendall_tau_b": "Kendall τ-b", "pseudo_r2": "pseudo-R²",
                     "log_loss": "log-loss"}[stat]
            row[f"{label} ratio"] = (fmt_ci(r.ratio, r.ratio_low, r.ratio_high, 2) + (" ◆" if r.primary else "")
                                     if r is not None else "–")
        row["n"] = int(g["n"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows)


def c13_caption(data: LoyaltyData) -> str:
    if data is None or getattr(data, "inputs", None) is None or data.inputs.ces is None or data.inputs.csat is None:
        return ""  # nothing to compare: the table cell shows the reason instead
    return (f"{data.inputs.ces.label} ÷ {data.inputs.csat.label} for every outcome, as asked and as top-2 boxes "
            "(95% paired bootstrap intervals; ◆ the primary statistic, declared before the data; log-loss: below 1 "
            "favours CES)")


@unless_not_estimated
def worst_vs_best_table(groups: pd.DataFrame, data: LoyaltyData) -> pd.DataFrame:
    """One row per outcome and share (disloyal, loyal); one column per box of each compared scale
    ("CES 1–3"), cells "53.0% (49.7–56.3), n = 1,159"; Gartner's figures beside CES."""
    if not len(groups):
        return groups
    kinds = {o.label: o.kind for o in data.inputs.outcomes}
    ces = data.inputs.ces.label if data.inputs.ces else None
    rows = []
    for (outcome, share), g in groups.groupby(["outcome", "share"], sort=False):
        row = {"outcome": outcome, "share of": g["definition"].iloc[0]}
        for r in g.itertuples():
            for box in ("worst", "best"):
                row[getattr(r, f"{box}_box")] = (f"{fmt_ci(getattr(r, box), getattr(r, f'{box}_low'), getattr(r, f'{box}_high'), 2, True)}"
                                                 f", n = {getattr(r, f'n_{box}'):,}")
        if ces and share == "disloyal":
            row["Gartner's figure"] = (f"{GARTNER_DISLOYAL_HIGH_EFFORT:.0%} vs {GARTNER_DISLOYAL_LOW_EFFORT:.0%} "
                                       "\"more disloyal\" (high vs low effort)")
        elif ces and kinds.get(outcome) == "likert":
            row["Gartner's figure"] = f"{GARTNER_REPURCHASE_LOW_EFFORT:.0%} of low-effort customers intend to repurchase"
        else:
            row["Gartner's figure"] = ""
        rows.append(row)
    return pd.DataFrame(rows)


WORST_VS_BEST_CAPTION = ("Disloyal and loyal customers in the worst and the best answers of each scale "
                         "(weighted %, 95% CI, base n)")


@unless_not_estimated
def correlations_table(corr: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "outcome": corr["outcome"], "scale": corr["predictor"],
        "Spearman ρ (95% CI)": [fmt_ci(r, lo, hi) for r, lo, hi in zip(corr["rho"], corr["ci_low"], corr["ci_high"])],
        "n": corr["n"], "p (Holm)": [fmt_p(p) for p in corr["p_holm"]]})


CORRELATIONS_CAPTION = "Rank correlation with each loyalty outcome (unweighted, Fisher-z interval)"


@unless_not_estimated
def accuracy_table(comparison: Comparison, data: LoyaltyData) -> pd.DataFrame:
    """One row per outcome × model: Gini, pseudo-R², log-loss / Brier (or RMSE), 95% CIs."""
    rows = []
    labels = {o.name: o.label for o in data.inputs.outcomes}
    for (o, m), g in comparison.summary.groupby(["outcome", "model"], sort=False):
        get = {r.metric: r for r in g.itertuples()}
        row = {"outcome": labels[o], "model": g["label"].iloc[0]}
        for metric, lab in (("gini", "Gini"), ("r2", "R² / pseudo-R²")):
            r = get.get(metric)
            row[lab] = fmt_ci(r.estimate, r.ci_low, r.ci_high, 3) if r is not None else "–"
        for metric, lab in (("log_loss", "log-loss"), ("brier", "Brier"), ("rmse", "RMSE")):
            r = get.get(metric)
            row[lab] = f"{r.estimate:.3f}" if r is not None else "–"
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.loc[:, [c for c in out.columns if not (out[c] == "–").all()]]


@unless_not_estimated
def comparison_notes(comparison: Comparison, data: LoyaltyData) -> str:
    """Why only multi-parameter models are cross-validated; outcomes left out; levels merged."""
    text = (f"Cross-validated ({comparison.n_repeats} × {comparison.n_splits} folds) are the models with more than "
            "one parameter to learn; a model on one score only learns a sign, so its out-of-sample Gini equals its "
            "full-sample Somers' D and the single scores are compared in the table above instead. \"R² / "
            "pseudo-R²\" is R² for OLS outcomes and McFadden's pseudo-R² for logit models (1 − out-of-sample "
            "log-likelihood ÷ that of the training shares); intervals allow for the overlap between folds "
            "(Nadeau–Bengio correction).")
    notes = [f"- {o.label}: {n}" for o in data.inputs.outcomes if o.name in comparison.cv
             for n in fitting_data(data).outcome_data(o).notes]  # the data the models were fitted on
    notes += [f"- {data.outcome(name).label} not modelled: {why}." for name, why in comparison.excluded.items()]
    return "\n\n".join([text, *(["\n".join(notes)] if notes else [])])


@unless_not_estimated
def incremental_table(inc: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "outcome": inc["outcome"], "adding": inc["added"], "to": inc["to model with"],
        "R² / pseudo-R² without → with": [f"{a:.3f} → {b:.3f}" for a, b in zip(inc["R² without"], inc["R² with"])],
        "Δ": inc["ΔR²"].round(4), "test": inc["test"],
        "statistic (df)": [f"{s:.1f} ({d})" for s, d in zip(inc["statistic"], inc["df"])],
        "p (Holm)": [fmt_p(p) for p in inc["p_holm"]], "n": inc["n"]})


INCREMENTAL_CAPTION = "Incremental validity: does each scale add to the other? (full sample)"


@unless_not_estimated
def dominance_table(dom: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "outcome": dom["outcome"], "scale": dom["predictor"],
        "share of explained (95% CI)": [fmt_ci(a, b, c, 2, True) for a, b, c in
                                        zip(dom["share"], dom["share_ci_low"], dom["share_ci_high"])],
        "R² units (95% CI)": [fmt_ci(a, b, c, 3) for a, b, c in zip(dom["dominance"], dom["ci_low"], dom["ci_high"])],
        "n": dom["n"]})


@unless_not_estimated
def drivers_table(kd: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "driver": kd["label"],
        "importance: share of explained loyalty (95% CI)": [
            fmt_ci(a, b, c, 2, percent=True) for a, b, c in zip(kd["share"], kd["share_ci_low"], kd["share_ci_high"])],
        "performance 0–100 (95% CI)": [
            fmt_ci(a, b, c, 1) for a, b, c in zip(kd["performance"], kd["performance_ci_low"], kd["performance_ci_high"])],
        "quadrant": kd["quadrant"], "n": kd["n"]})


def drivers_caption(kd, n_boot: int) -> str:
    method = kd["method"].iloc[0] if hasattr(kd, "columns") and "method" in kd else "general dominance"
    return f"Key drivers: importance ({method}; bootstrap {n_boot} replicates) × performance (weighted mean)"


@unless_not_estimated
def shape_table(shp: pd.DataFrame, data: LoyaltyData) -> pd.DataFrame:
    share = data.primary.loyal_flags(data.primary.values(data.df)) is not None
    unit = "pts" if share else ""
    k = 100 if share else 1
    return pd.DataFrame({
        "scale": shp["predictor"], "outcome": shp["outcome"],
        "levels vs straight line": [f"{t}: {s:.1f} on {d} df" for t, s, d in zip(shp["test"], shp["statistic"], shp["df"])],
        "p (Holm)": [fmt_p(p) for p in shp["p_holm"]], "largest step": shp["largest_step"],
        f"rise {unit} (95% CI)": [fmt_ci(k * a, k * b, k * c, 1) for a, b, c in
                                   zip(shp["step"], shp["step_low"], shp["step_high"])], "n": shp["n"]})


SHAPE_CAPTION = "Does loyalty rise in a straight line with each scale point, or jump at a threshold?"


@unless_not_estimated
def shape_text(shp: pd.DataFrame, data: LoyaltyData) -> str:
    nonlinear = shp[shp["p_holm"] < 0.05]["predictor"].tolist()
    if nonlinear:
        return (f"The straight line is rejected for {', '.join(nonlinear)}: the levels chart above shows where the "
                "curve bends.")
    return (f"For every scale a straight line{'' if data.primary.family == 'linear' else ' on the logit scale'} fits "
            "the levels (no significant departure): loyalty rises steadily, with no single threshold, although the "
            "largest step is shown.")


@unless_not_estimated
def heterogeneity_tests_table(het: Heterogeneity) -> pd.DataFrame:
    t = het.tests
    if not len(t):  # no group large enough: nothing was tested (the text says so)
        return pd.DataFrame(columns=["interaction", "test", "statistic (df)", "p (Holm)", "groups", "n"])
    return pd.DataFrame({
        "interaction": t["interaction"], "test": t["test"],
        "statistic (df)": [f"{s:.1f} ({d})" for s, d in zip(t["statistic"], t["df"])],
        "p (Holm)": [fmt_p(p) for p in t["p_holm"]], "groups": t["groups"], "n": t["n"]})


@unless_not_estimated
def heterogeneity_caption(het: Heterogeneity) -> str:
    return f"Does the effect of each scale differ by {het.what}? (groups with ≥ {het.min_n} respondents)"


@unless_not_estimated
def heterogeneity_text(het: Heterogeneity) -> str:
    if not len(het.tests):
        return ""
    sig = het.tests[het.tests["p_holm"] < 0.05]["interaction"].tolist()
    return (f"Significant after Holm correction: {', '.join(sig)}." if sig else
            f"No effect differs significantly by {het.what} after Holm correction.")


@unless_not_estimated
def power_text(plan: PowerPlan) -> str:
    enough = plan.n_survey >= plan.n_needed
    return (f"Planned before looking at the outcomes: to tell a CES ÷ CSAT ratio of {plan.ratio_null:.1f} from "
            f"{plan.ratio_alternative:.1f} (two-sided test at {plan.alpha:g}, {plan.power:.0%} power) a simple random "
            f"sample needs about **{plan.n_srs:,}** respondents; at this survey's design effect ({plan.design_effect:.2f}, "
            f"from its weights) about **{plan.n_needed:,}**. This survey has {plan.n_survey:,} respondents with both "
            f"scales, {'enough' if enough else 'too few'} for that comparison. The spread of the statistic comes from "
            f"a {plan.planning}; no observed effect enters (power at the observed effect says nothing new).")


POWER_CAPTION = "A priori sample size for the primary C13 comparison"

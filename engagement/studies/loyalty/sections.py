"""Report sections of the loyalty study: analysis results -> the text (markdown strings) and the
display tables (DataFrames with formatted cells) that notebook 20 and the report show. Nothing here
computes a statistic, draws or displays."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...degrade import NotEstimated
from .comparison import Comparison
from .inputs import (GARTNER_DISLOYAL_HIGH_EFFORT, GARTNER_DISLOYAL_LOW_EFFORT, GARTNER_REPURCHASE_LOW_EFFORT,
                     LoyaltyData)
from .models import FAMILY_LABEL
from .power import Power
from .shape import Heterogeneity
from .text import fmt_ci, fmt_p, nice, unless_not_estimated


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
    return "\n".join(f"- {note}" for note in notes)


@unless_not_estimated
def answer(comparison: Comparison, data: LoyaltyData) -> str | NotEstimated:
    """The verdict sentence and how to read the ratio chart."""
    v = comparison.verdict
    if not v:
        why = (data.comparison_skip_reason or comparison.excluded.get(data.primary.name)
               or "CES and CSAT were not both compared.")
        return NotEstimated("loyalty.answer", why[0].upper() + why[1:])
    k, r = comparison.n_splits, comparison.n_repeats
    return (v.get("sentence", v.get("text", "")) + "\n\n" +
            f"*How to read it.* Each model is fitted on {k - 1}/{k} of the respondents and scored on the "
            f"other 1/{k}, for each of the {k} parts and {r} times over with different splits. The Gini (2·AUC − 1; "
            "for ordered outcomes Somers' D, 2·Harrell's C − 1) measures how well a model ranks customers from least "
            "to most loyal. The ratio CES ÷ CSAT is the \"X times as accurate\" figure; 1.40 is the claim. Intervals "
            "allow for the overlap between cross-validation folds (Nadeau–Bengio correction); an interval computed "
            "as if the folds were independent would be about four times too narrow.")


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
def differences_table(comparison: Comparison) -> pd.DataFrame:
    """CES − CSAT paired differences per outcome, with the Gini and pseudo-R² ratios."""
    diffs = comparison.differences
    if not len(diffs):
        return diffs
    rows = []
    for o, g in diffs.groupby("label", sort=False):
        row = {"outcome": o}
        for r in g.itertuples():
            lab = {"gini": "Δ Gini", "r2": "Δ R² / pseudo-R²", "log_loss": "Δ log-loss", "brier": "Δ Brier",
                   "rmse": "Δ RMSE"}[r.metric]
            row[lab] = fmt_ci(r.estimate, r.ci_low, r.ci_high, 3)
            if r.metric == "gini":
                row["Gini ratio"] = fmt_ci(r.ratio, r.ratio_low, r.ratio_high, 2)
                row["p (Holm)"] = fmt_p(r.p_holm)
            if r.metric == "r2":
                row["R² ratio"] = fmt_ci(r.ratio, r.ratio_low, r.ratio_high, 2)
        rows.append(row)
    return pd.DataFrame(rows)


def differences_caption(data: LoyaltyData) -> str:
    return (f"{data.inputs.ces.label} − {data.inputs.csat.label}: paired differences over the same folds (95% CI); "
            "ratios of fold-mean Gini and pseudo-R²; p Holm-adjusted across outcomes")


@unless_not_estimated
def comparison_notes(comparison: Comparison, data: LoyaltyData) -> str:
    """How to read the differences, and the levels merged for each outcome."""
    text = ("Positive Δ Gini / Δ R² and negative Δ log-loss / Δ Brier / Δ RMSE favour CES. The R² ratio is "
            "roughly the square of the Gini ratio, so it makes any gap look about twice as large: the Gini ratio "
            "is the statistic judged against the claim. \"R² / pseudo-R²\" is R² for OLS outcomes and McFadden's "
            "pseudo-R² for logit models (1 − out-of-sample log-likelihood ÷ that of the training shares).")
    notes = [f"- {o.label}: {n}" for o in data.inputs.outcomes if o.name in comparison.cv
             for n in data.outcome_data(o).notes]
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
def power_text(pw: Power, data: LoyaltyData, comparison: Comparison) -> str:
    info = pw.info
    n80 = info["n80_analytic"]
    n80_text = f"about {nice(n80):,.0f}" if np.isfinite(n80) and n80 < 1e7 else "far more than any survey"
    text = (f"Observed {data.inputs.ces.label} − {data.inputs.csat.label} Gini difference on "
            f"{data.primary.label.lower()}: {info['difference']:+.3f} (SE {info['se']:.3f}, n = {info['n']:,}). "
            f"Respondents needed for 80% power to detect a difference of this size: **{n80_text}** "
            "(analytic: the corrected SE shrinks as 1/√n).")
    if info.get("simulated"):
        cv = comparison.cv[data.primary.name]
        reps = int(pw.table["reps"].iloc[0])
        cv_repeats = pw.cv_repeats
        text += ("\n\n" +
                 f"Simulated check with `engagement.simulate`: loyalty loadings set to effort {info['effect_effort']:.3f} / "
                 f"satisfaction {info['effect_satisfaction']:.3f}, which give a population difference of "
                 f"{info['simulated_difference']:+.3f} on the simulated {info['outcome_simulated']} outcome; {reps} samples "
                 f"per size, each tested like the survey but with {cv_repeats} × 5-fold instead of the survey's "
                 f"{cv.n_repeats} × {cv.n_splits}-fold CV (a slightly less powerful test, so the simulated power errs low).")
    else:
        text += f"\n\n_Simulated power not run ({info.get('reason', '')})._"
    return text


@unless_not_estimated
def power_table(pw: Power) -> pd.DataFrame:
    table = pw.table
    disp = table.copy()
    if pw.info.get("simulated"):
        disp["power (simulated, 95% CI)"] = [fmt_ci(a, b, c, 2, True) for a, b, c in
                                             zip(table["power_simulated"], table["ci_low"], table["ci_high"])]
        disp = disp.drop(columns=["power_simulated", "ci_low", "ci_high", "reps"])
    return disp.rename(columns={"n": "respondents", "power_analytic": "power (analytic)"})


POWER_CAPTION = "Power to distinguish CES from CSAT (two-sided 5% test)"

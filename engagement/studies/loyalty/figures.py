"""Charts of the loyalty study: each takes analysis results and returns a matplotlib `Figure`."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import plots
from .c13 import C13Comparison
from .inputs import CLAIMED_RATIO, LoyaltyData
from .shape import Heterogeneity
from .text import unless_not_estimated


def _fig(height: float):
    fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, height))
    return fig, ax


def _done(fig, ax, title: str, n: float, note: str | None = None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.tight_layout()
    plots.finish(ax, title, n, note)
    plt.close(fig)
    return fig


@unless_not_estimated
def ratio_forest(c13: C13Comparison, data: LoyaltyData) -> plt.Figure:
    """The chart that answers the question: the primary statistic's CES ÷ CSAT ratio (Somers' D) for
    every outcome, as asked and as top-2 boxes, 95% CIs, against 1 (equal) and 1.40 (the claim)."""
    g = c13.table[c13.table["statistic"] == "somers_d"].reset_index(drop=True)
    fig, ax = _fig(1.2 + 0.45 * len(g))
    colors = [plots.PALETTE[0] if p else plots.PALETTE[7] for p in g["primary"]]
    for i, r in g.iterrows():
        ax.errorbar([r["ratio"]], [i], xerr=[[r["ratio"] - r["ratio_low"]], [r["ratio_high"] - r["ratio"]]],
                    fmt="o" if r["coding"] == "as asked" else "s", color=colors[i], capsize=3, lw=1.6, ms=6)
    ax.axvline(1.0, color="#444444", lw=1, ls="--")
    ax.axvline(CLAIMED_RATIO, color=plots.PALETTE[1], lw=1.4)
    ax.text(1.0, -0.75, " equally accurate", fontsize=8, color="#444444", va="center")
    ax.text(CLAIMED_RATIO, -0.75, " claim: 40% more accurate", fontsize=8, color=plots.PALETTE[1], va="center")
    ax.set_yticks(np.arange(len(g)), [f"{lab} — {c}{' (primary)' if p else ''}"
                                      for lab, c, p in zip(g["outcome_label"], g["coding"], g["primary"])])
    ax.set_ylim(len(g) - 0.5, -1.2)
    ax.set_xlim(min(0.8, float(g["ratio_low"].min()) - 0.05), max(1.5, float(g["ratio_high"].max()) + 0.05))
    ces, csat = data.inputs.ces.label, data.inputs.csat.label
    ax.set_xlabel(f"Somers' D of {ces} ÷ Somers' D of {csat} (95% CI)")
    return _done(fig, ax, f"Does {ces} predict loyalty 40% more accurately than {csat}?", int(g["n"].max()),
                 "Full sample; paired design-aware bootstrap intervals.")


@unless_not_estimated
def level_chart(levels: pd.DataFrame, data: LoyaltyData) -> plt.Figure:
    """Share loyal (or mean outcome) by level of each compared predictor, 95% CI."""
    o = data.primary
    defs = o.loyal_definition()
    key = "loyal" if defs is not None and "loyal" in levels else "mean"
    preds = list(dict.fromkeys(levels["predictor"]))
    fig, axes = plt.subplots(1, len(preds), figsize=(plots.FIG_WIDTH, 3.2), sharey=True, squeeze=False)
    axes = axes[0]
    scale = 100 if key == "loyal" else 1
    for ax, p, color in zip(axes, preds, plots.PALETTE):
        t = levels[levels["predictor"] == p]
        ax.errorbar(t["level"].to_numpy(float), t[key].to_numpy() * scale,
                    yerr=np.vstack([(t[key] - t[f"{key}_low"]).to_numpy(), (t[f"{key}_high"] - t[key]).to_numpy()]) * scale,
                    color=color, marker="o", capsize=3)
        pred = next(q for q in data.inputs.predictors if q.label == p)
        ax.set_xlabel(f"{p} ({'reversed, ' if pred.reversed else ''}higher = better)")
        ax.set_xticks(t["level"].to_numpy(float))
    axes[0].set_ylabel(f"% {defs[0]}" if key == "loyal" else f"mean {o.label}")
    title = f"Where does loyalty drop? {o.label} by level"
    return _done(fig, axes[0], title, int(levels.groupby("predictor")["n"].sum().max()),
                 "Weighted; 95% CI (logit for shares).")


@unless_not_estimated
def dominance_chart(dom: pd.DataFrame) -> plt.Figure:
    """Share of the explained variation carried by each scale, per outcome (95% bootstrap CI)."""
    outcomes = list(dict.fromkeys(dom["outcome"]))
    preds = list(dict.fromkeys(dom["predictor"]))
    fig, ax = _fig(1.0 + 0.28 * len(outcomes) * len(preds))
    height = 0.8 / len(preds)
    for j, p in enumerate(preds):
        t = dom[dom["predictor"] == p].set_index("outcome").reindex(outcomes)
        pos = np.arange(len(outcomes)) + (j - (len(preds) - 1) / 2) * height
        ax.barh(pos, t["share"] * 100, height=height, color=plots.PALETTE[j % len(plots.PALETTE)], label=p,
                xerr=np.vstack([(t["share"] - t["share_ci_low"]).clip(lower=0).to_numpy() * 100,
                                (t["share_ci_high"] - t["share"]).clip(lower=0).to_numpy() * 100]), capsize=2)
    ax.set_yticks(np.arange(len(outcomes)), outcomes)
    ax.invert_yaxis()
    ax.set_xlabel("% of explained variation (general dominance, 95% bootstrap CI)")
    ax.legend(fontsize=8, loc="best")
    return _done(fig, ax, "Which metric carries the explained loyalty?", int(dom["n"].max()),
                 "Shapley/LMG shares of R² (OLS) or McFadden pseudo-R² (logit models).")


@unless_not_estimated
def heterogeneity_chart(het: Heterogeneity, data: LoyaltyData) -> plt.Figure:
    """Per-SD effect of each scale on the primary outcome in each group, 95% CI."""
    table, what = het.groups, het.what
    outcome_label, family = data.primary.label, data.primary.family
    unit = {"ordinal": "log-odds of a higher answer per +1 SD (95% CI)",
            "binary": "log-odds of loyal per +1 SD (95% CI)"}.get(family, "change in the outcome per +1 SD (95% CI)")
    groups = list(dict.fromkeys(table[what]))
    preds = list(dict.fromkeys(table["predictor"]))
    fig, ax = _fig(1.0 + 0.22 * len(groups) * len(preds))
    step = 0.8 / len(preds)
    for j, p in enumerate(preds):
        t = table[table["predictor"] == p].set_index(what).reindex(groups)
        pos = np.arange(len(groups)) + (j - (len(preds) - 1) / 2) * step
        ax.errorbar(t["coef"].to_numpy(), pos, xerr=np.vstack([(t["coef"] - t["ci_low"]).to_numpy(),
                                                             (t["ci_high"] - t["coef"]).to_numpy()]), fmt="o",
                    color=plots.PALETTE[j], capsize=2, label=p, ms=4)
    ax.axvline(0, color="#444444", lw=0.8)
    ax.set_yticks(np.arange(len(groups)), [str(g) for g in groups])
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.legend(fontsize=8, loc="best")
    return _done(fig, ax, f"Do effort and satisfaction matter equally in every {what}?", int(table.groupby(what)["n"].first().sum()),
                 f"Outcome: {outcome_label}; CES and CSAT in one model per {what}.")


@unless_not_estimated
def quad_map(drivers: pd.DataFrame, data: LoyaltyData) -> plt.Figure:
    """Key drivers: importance (share of explained loyalty) against performance (0–100)."""
    outcome_label = data.primary.label
    fig, ax = _fig(4.2)
    ax.scatter(drivers["performance"], drivers["share"] * 100, color=plots.PALETTE[0])
    for r in drivers.itertuples():
        ax.annotate(str(getattr(r, "label", r.predictor)), (r.performance, r.share * 100), fontsize=8, xytext=(3, 3),
                    textcoords="offset points")
    ax.axvline(drivers["performance"].mean(), color="#888888", lw=0.8, ls="--")
    ax.axhline(drivers["share"].mean() * 100, color="#888888", lw=0.8, ls="--")
    ax.set_xlabel("performance (weighted mean, 0–100)")
    ax.set_ylabel("importance (% of explained loyalty)")
    return _done(fig, ax, "Which drivers to fix first?", int(drivers["n"].max()), f"Outcome: {outcome_label}.")

"""Persona figures: each function takes analysis results and returns a matplotlib `Figure` (closed in
pyplot, so a notebook shows it once, when the cell returns it or `show` displays it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import plots
from .compare import Measure, _segment_shares, outcome_measures
from .features import _binary_values, _weighted_mean_ignore_nan
from .profiles import distinguishing_features

if TYPE_CHECKING:
    from .compare import ChannelComparison
    from .fit import PersonaFit
    from .profiles import PersonaProfiles
    from .typing_tool import TypingToolResult


def _closed(fig: plt.Figure) -> plt.Figure:
    plt.close(fig)  # shown once, by the notebook, not again by the inline backend at the end of the cell
    return fig


@dataclass(frozen=True, eq=False)
class FigureSet:
    """Several figures shown one after another (e.g. one card per persona); `figures[name]`."""

    figures: dict

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for fig in self.figures.values():
            display(fig)

    def __len__(self) -> int:
        return len(self.figures)


def _persona_labels(fit: PersonaFit) -> dict[int, str]:
    return {p: f"{p}. {fit.name(p)}" for p in fit.numbers}


def _short_labels(fit: PersonaFit) -> dict[int, str]:
    return {p: f"P{p}" for p in fit.numbers}


def _wrap(text: str, width: int) -> str:
    import textwrap

    return textwrap.fill(str(text), width)


def choice_chart(table: pd.DataFrame, k: int, rule: dict, n: int) -> plt.Figure:
    """BIC by k (left) and the three admissibility criteria with their thresholds (right)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(plots.FIG_WIDTH, 3.2), layout="constrained")
    a.plot(table["k"], table["bic"], marker="o", color=plots.PALETTE[0])
    cap = rule.get("max_personas")
    if cap is not None and table["k"].max() > cap:  # solutions above the cap: fitted, never chosen
        for ax in (a, b):
            ax.axvspan(cap + 0.5, table["k"].max() + 0.5, color="#eeeeee", zorder=0)
        a.text(cap + 0.6, 0.97, "above max_personas", transform=a.get_xaxis_transform(), fontsize=7,
               va="top", color="#555555")
    chosen = table[table["k"] == k]
    a.scatter(chosen["k"], chosen["bic"], s=140, facecolors="none", edgecolors=plots.PALETTE[1], lw=2,
              label=f"chosen: k = {k}", zorder=3)
    a.set_xlabel("number of personas k")
    a.set_ylabel("BIC (lower is better)")
    a.set_xticks(table["k"])
    a.legend(fontsize=8, loc="upper right")
    crit = [("min_share", "smallest persona share", rule["min_share"], plots.PALETTE[2]),
            ("stability", "bootstrap stability (ARI)", rule["min_stability"], plots.PALETTE[0]),
            ("relative_entropy", "relative entropy", rule["min_entropy"], plots.PALETTE[3])]
    for col, label, thr, color in crit:
        b.plot(table["k"], table[col], marker="o", color=color, label=label)
        b.axhline(thr, color=color, ls=":", lw=1)
    b.set_ylim(0, 1.05)
    b.set_xticks(table["k"])
    b.set_xlabel("number of personas k")
    b.set_ylabel("criterion (dotted: threshold)")
    b.legend(fontsize=7, loc="lower left")
    plots.finish(a, "How many personas do the data support?", n,
                 "Left: model fit (BIC). Right: the admissibility criteria; k = 1 is always admissible.")
    return fig



def index_heatmap(fit: PersonaFit) -> plt.Figure:
    """Index scores (persona mean ÷ overall mean × 100) of every feature, coloured by the
    standardized difference so that small and large features compare."""
    import seaborn as sns

    prof = fit.profile
    labels = _persona_labels(fit)
    feats = list(dict.fromkeys(prof["label"]))
    idx = prof.pivot(index="label", columns="persona", values="index").loc[feats, fit.numbers]
    diff = prof.pivot(index="label", columns="persona", values="std_diff").loc[feats, fit.numbers]
    annot = idx.map(lambda v: "–" if pd.isna(v) else f"{v:.0f}")
    fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 0.32 * len(feats) + 1.9), layout="constrained")
    sns.heatmap(diff, annot=annot.to_numpy(), fmt="", cmap=plots.DIVERGING + "_r", vmin=-1.5, vmax=1.5,
                linewidths=0.5, linecolor="white", ax=ax, annot_kws={"fontsize": 8},
                cbar_kws={"label": "standardized difference (SD)", "shrink": 0.8})
    ax.set_xticklabels([_wrap(labels[p], 22) for p in fit.numbers], rotation=0, fontsize=8)
    ax.set_xlabel("")
    ax.set_ylabel("")
    plots.finish(ax, "What sets each persona apart?", len(fit.labels),
                 "Numbers: index = persona mean ÷ all customers' mean × 100 (100 = average). "
                 "Colour: difference in SDs (red above, blue below).")
    return fig


def sizes_chart(fit: PersonaFit, sizes: pd.DataFrame | None = None) -> plt.Figure:
    sz = fit.sizes if sizes is None else sizes
    fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 0.45 * len(sz) + 1.3), layout="constrained")
    plots.bar_with_ci(ax, [_wrap(f"{p}. {nm}", 40) for p, nm in zip(sz["persona"], sz["name"])],
                      sz["estimate"], sz["ci_low"], sz["ci_high"])
    ax.set_xlabel("% of customers (weighted), 95% CI")
    plots.finish(ax, "How big is each persona?", len(fit.labels))
    return fig



def persona_card(fit: PersonaFit, p: int, measures: list[Measure] | None = None,
                 sizes: pd.DataFrame | None = None) -> plt.Figure:
    """One page per persona: size, what sets it apart, key channels, experience and loyalty against all
    customers, and who they are (segments). 7 × 9 in, fits an A4 or Letter page."""
    measures = outcome_measures(fit.df, fit.cb) if measures is None else measures
    mask = fit.labels == p
    w = fit.weights
    size = (fit.sizes if sizes is None else sizes).set_index("persona").loc[p]
    fig = plt.figure(figsize=(plots.FIG_WIDTH, 9.0), layout="constrained")
    grid = fig.add_gridspec(3, 2, height_ratios=[0.9, 3.2, 3.4], width_ratios=[1, 1])
    head = fig.add_subplot(grid[0, :])
    head.axis("off")
    head.text(0, 0.95, f"Persona {p}: {fit.name(p)}", fontsize=14, fontweight="bold", va="top", color=plots.PALETTE[0])
    head.text(0, 0.5, f"{size['estimate']:.0%} of customers (95% CI {size['ci_low']:.0%}–{size['ci_high']:.0%}); "
                      f"{int(size['n_persona']):,} of {len(fit.labels):,} respondents", fontsize=10, va="top")
    top = distinguishing_features(fit.profile[fit.profile["persona"] == p], threshold=0.3, top=3)
    if len(top):
        head.text(0, 0.15, "Sets them apart: " + "; ".join(
            f"{r['label']} (index {r['index']:.0f})" if np.isfinite(r["index"]) else r["label"]
            for _, r in top.iterrows()), fontsize=9, va="top", color="#444444")

    def bars(ax, labels, persona, overall, color, xlabel, title):
        pos = np.arange(len(labels))
        ax.barh(pos, np.asarray(persona) * 100, height=0.65, color=color, label=f"persona {p}")
        ax.scatter(np.asarray(overall) * 100, pos, marker="|", s=140, color=plots.PALETTE[1], zorder=3,
                   label="all customers")
        ax.set_yticks(pos, [_wrap(lbl, 26) for lbl in labels], fontsize=7.5)
        ax.set_ylim(max(len(labels), 5) - 0.5, -0.5)  # a few bars stay bars, not slabs
        ax.set_xlim(0, 100)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title(title, fontsize=10)

    # key channels (or the binary features when the codebook has no channels)
    ax = fig.add_subplot(grid[1, 0])
    usage = {ch: col for ch, col in (fit.cb.channels.usage.items() if fit.cb.channels else []) if col in fit.df}
    items = usage or {fit.enc.labels.get(c, c): c for c in fit.enc.binary}
    if items:
        vals = np.array([[_weighted_mean_ignore_nan(_binary_values(fit.df[c], c)[sel], w[sel])
                          for sel in (mask, np.ones_like(mask))] for c in items.values()])
        bars(ax, list(items), vals[:, 0], vals[:, 1], plots.PALETTE[0], "% using (weighted)",
             "Key channels" if usage else "Yes/no items")
    else:
        ax.axis("off")

    # index scores of the most distinctive features
    ax = fig.add_subplot(grid[1, 1])
    prof = fit.profile[fit.profile["persona"] == p]
    prof = prof.assign(size=prof["std_diff"].abs()).sort_values("size", ascending=False).head(8)
    if fit.k > 1 and len(prof):
        pos = np.arange(len(prof))
        colors = [plots.PALETTE[3] if d > 0 else plots.PALETTE[0] for d in prof["std_diff"]]
        ax.barh(pos, prof["std_diff"], height=0.65, color=colors)
        ax.axvline(0, color="#555555", lw=0.8)
        ax.set_yticks(pos, [_wrap(lbl, 22) for lbl in prof["label"]], fontsize=7.5)
        ax.set_ylim(max(len(prof), 5) - 0.5, -0.5)
        lim = 1.35 * max(prof["std_diff"].abs().max(), 0.5)
        ax.set_xlim(-lim, lim)
        for y, (d, i) in enumerate(zip(prof["std_diff"], prof["index"])):
            if np.isfinite(i):
                ax.text(d, y, f" {i:.0f} ", va="center", ha="left" if d >= 0 else "right", fontsize=7)
        ax.set_xlabel("difference from average (SD); label: index", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title("Most distinctive features", fontsize=10)
    else:
        ax.axis("off")

    # experience and loyalty: a small text table
    ax = fig.add_subplot(grid[2, 0])
    ax.axis("off")
    ax.set_title("Experience and loyalty", fontsize=10)
    rows = [(m.label, m.fmt(_weighted_mean_ignore_nan(m.values[mask], w[mask])), m.fmt(_weighted_mean_ignore_nan(m.values, w)))
            for m in measures if (~np.isnan(m.values)).any()]
    if rows:
        y = 0.97
        for text, x in ((f"persona {p}", 0.80), ("all", 0.99)):
            ax.text(x, y, text, ha="right", va="top", fontsize=8, fontweight="bold", transform=ax.transAxes)
        for label, mine, everyone in rows:
            y -= 0.075
            wrapped = _wrap(label, 24)
            ax.text(0.0, y, wrapped, ha="left", va="top", fontsize=8, transform=ax.transAxes)
            ax.text(0.80, y, mine, ha="right", va="top", fontsize=8, transform=ax.transAxes)
            ax.text(0.99, y, everyone, ha="right", va="top", fontsize=8, color="#555555", transform=ax.transAxes)
            y -= 0.045 * wrapped.count("\n")
    else:
        ax.text(0.0, 0.9, "The codebook declares no experience or loyalty measures.", fontsize=8,
                transform=ax.transAxes)

    # who they are
    ax = fig.add_subplot(grid[2, 1])
    segs = _segment_shares(fit, mask)
    if segs:
        bars(ax, [f"{s}: {lv}" for s, lv, _, _ in segs], [x[2] for x in segs], [x[3] for x in segs],
             plots.PALETTE[2], "% of the persona (weighted)", "Who they are")
    else:
        ax.axis("off")
    fig.text(0.01, -0.01, f"Base: n = {len(fit.labels):,} respondents; persona {p}: n = {int(mask.sum()):,}. "
                          "Weighted to the population.", fontsize=8, color="#555555", ha="left", va="top")
    return fig


def accuracy_chart(curve: pd.DataFrame, chosen: int, chance: float, n: int) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 3.4), layout="constrained")
    acc = curve["accuracy"] * 100
    ax.errorbar(curve["questions"], acc, yerr=[acc - curve["ci_low"] * 100, curve["ci_high"] * 100 - acc],
                marker="o", color=plots.PALETTE[0], capsize=3, label="cross-validated accuracy (95% CI)")
    ax.scatter([chosen], [curve.loc[curve["questions"] == chosen, "accuracy"].iloc[0] * 100], s=160,
               facecolors="none", edgecolors=plots.PALETTE[1], lw=2, zorder=3, label=f"tool: {chosen} questions")
    ax.axhline(chance * 100, color="#888888", ls=":", lw=1, label="largest persona (guessing)")
    ax.set_xticks(curve["questions"])
    ax.set_xlabel("number of questions (added in the order of the table below)")
    ax.set_ylabel("% typed into the model's persona")
    ax.set_ylim(max(0, chance * 100 - 10), 100)
    ax.legend(fontsize=8, loc="lower right")
    plots.finish(ax, "How many questions does the typing tool need?", n)
    return fig


# ------------------------------------------------------------------------- what notebooks call


def k_selection(fit: PersonaFit) -> plt.Figure | None:
    """BIC by k and the admissibility criteria (None when the study was skipped)."""
    if fit.skipped:
        return None
    return _closed(choice_chart(fit.table, fit.k, fit.params, len(fit.labels)))


def sizes(fit: PersonaFit, profiles: PersonaProfiles) -> plt.Figure | None:
    """Persona sizes with their 95% intervals."""
    if fit.skipped:
        return None
    return _closed(sizes_chart(fit, profiles.sizes))


def profile_heatmap(fit: PersonaFit) -> plt.Figure | None:
    """Index scores of every feature by persona (None with one persona: nothing to set apart)."""
    if fit.skipped or fit.k < 2:
        return None
    return _closed(index_heatmap(fit))


def persona_cards(fit: PersonaFit, profiles: PersonaProfiles) -> FigureSet | None:
    """One card per persona (`FigureSet`, shown one after another)."""
    if fit.skipped:
        return None
    measures = outcome_measures(fit.df, fit.cb)
    return FigureSet({f"card_{p}": _closed(persona_card(fit, p, measures, profiles.sizes)) for p in fit.numbers})


def typing_accuracy(result: TypingToolResult) -> plt.Figure | None:
    """Cross-validated accuracy of the typing tool by number of questions."""
    if getattr(result, "tool", None) is None:  # no tool, or NotEstimated
        return None
    acc = result.tool.accuracy
    return _closed(accuracy_chart(result.curve, acc["questions"], acc["chance"], acc["n"]))


def channel_heatmap(fit: PersonaFit, channels: ChannelComparison, alpha: float = 0.05) -> plt.Figure | None:
    """Which channels each persona uses: weighted % with column-proportion letters."""
    from ... import heatmaps as channel_charts

    usage = [m for m in getattr(channels, "tables", {}) if m.startswith("uses ")]
    if fit.skipped or fit.k < 2 or not usage:
        return None
    tabs = channels.tables
    cells = pd.concat([tabs[m].cells.query("row == 'used'").assign(row=m[5:]) for m in usage])
    return _closed(channel_charts.segment_heatmap(
        cells.assign(column=[f"{c} ({l})" for c, l in zip(cells["column"], cells["letter"])],
                     share=cells["proportion"], letters=cells["higher_than"]),
        "Which channels does each persona use?", len(fit.labels),
        f"Weighted % using the channel; letters: significantly higher than that persona "
        f"(z-test, Bonferroni, α = {alpha:g})."))

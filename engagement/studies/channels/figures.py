"""Figures of the channel-preferences study, all in the project theme (`engagement.plots`).

Each function takes the tidy tables that the study's analysis modules compute and returns a matplotlib
Figure titled with the question it answers and carrying its base n (`plots.finish`). Nothing here
computes a statistic; the numbers come in already estimated.
"""

from __future__ import annotations

import textwrap
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import plots
from ...heatmaps import heatmap, segment_heatmap  # noqa: F401  (the study draws these too)
from ...heatmaps import subplots as _subplots

ONLINE_COLOR = plots.PALETTE[0]
OFFLINE_COLOR = plots.PALETTE[1]
PAIN_COLOR = plots.PALETTE[3]
NEUTRAL_COLOR = "#8a8a8a"


def _width(height: float) -> tuple[float, float]:
    return (plots.FIG_WIDTH, max(height, 2.6))


def _finish(fig: plt.Figure, ax, title: str, n: float, note: str | None = None) -> plt.Figure:
    plots.finish(ax, title, n, note)
    return fig


def _w(weighted: bool) -> str:
    return " (weighted)" if weighted else ""


def _wrap(labels, width: int = 34) -> list[str]:
    return [textwrap.fill(str(s), width) for s in labels]


def reach_bars(reach: pd.DataFrame, title: str, n: float, weighted: bool = True) -> plt.Figure:
    """Weighted share using each channel, online and offline channels in two colours."""
    fig, ax = _subplots(0.35 * len(reach) + 1.4)
    colors = [ONLINE_COLOR if o else OFFLINE_COLOR for o in reach["online"]]
    est = reach["estimate"].to_numpy(float)
    pos = np.arange(len(reach))
    ax.barh(pos, est * 100, xerr=[(est - reach["ci_low"]) * 100, (reach["ci_high"] - est) * 100],
            color=colors, capsize=3)
    ax.set_yticks(pos, reach["channel"])
    ax.invert_yaxis()
    ax.set_xlabel(f"% of customers{_w(weighted)}, 95% CI")
    ax.set_xlim(0, 100)
    handles = [plt.Rectangle((0, 0), 1, 1, color=ONLINE_COLOR), plt.Rectangle((0, 0), 1, 1, color=OFFLINE_COLOR)]
    ax.legend(handles, ["online", "offline / in person"], loc="lower right", fontsize=8)
    return _finish(fig, ax, title, n)


def repertoire_bars(dist: pd.DataFrame, title: str, n: float, note: str | None = None, weighted: bool = True) -> plt.Figure:
    """Distribution of the number of channels used, with interval whiskers."""
    fig, ax = _subplots(3.2)
    plots.bar_with_ci(ax, dist["channels"].astype(str), dist["estimate"], dist["ci_low"], dist["ci_high"],
                      horizontal=False)
    ax.set_xticks(np.arange(len(dist)), dist["channels"].astype(str), rotation=0, ha="center")
    ax.set_xlabel("number of channels used")
    ax.set_ylabel(f"% of customers{_w(weighted)}")
    return _finish(fig, ax, title, n, note)


def upset(indicators: pd.DataFrame, weights: np.ndarray, title: str, n: float, top: int = 12,
          weighted: bool = True) -> plt.Figure:
    """UpSet plot of the most common channel combinations, bar heights = weighted % of customers."""
    from upsetplot import UpSet, from_indicators

    data = pd.DataFrame({"weight": np.asarray(weights, float) / np.sum(weights) * 100}, index=indicators.index)
    counts = (indicators.astype(bool).assign(_w=data["weight"].to_numpy())
              .groupby(list(indicators.columns))["_w"].sum().sort_values(ascending=False))
    threshold = counts.iloc[min(top, len(counts)) - 1] if len(counts) else 0
    series = from_indicators(indicators.astype(bool), data=data)
    fig = plt.figure(figsize=_width(4.6))
    with warnings.catch_warnings():  # upsetplot uses pandas idioms that warn under pandas 2.x
        warnings.simplefilter("ignore")
        up = UpSet(series, sum_over="weight", subset_size="sum", sort_by="cardinality",
                   min_subset_size=threshold - 1e-9, show_percentages=False, element_size=None,
                   facecolor=plots.PALETTE[0], totals_plot_elements=2, intersection_plot_elements=5)
        axes = up.plot(fig=fig)
    axes["intersections"].set_ylabel("% of customers" + ("\n(weighted)" if weighted else ""))
    axes["totals"].set_xlabel("% using")
    shown = int(min(top, (counts >= threshold - 1e-9).sum()))
    fig.suptitle(title, x=0.01, ha="left", fontsize=11, fontweight="bold")
    fig.text(0.01, -0.02, f"Base: n = {int(round(n)):,}. The {shown} most common combinations "
             f"({counts.iloc[:shown].sum():.0f}% of customers); a dot = channel used.",
             ha="left", va="top", fontsize=8, color="#555555")
    return fig


def online_share_bars(table: pd.DataFrame, title: str, n: float, note: str | None = None,
                      weighted: bool = True) -> plt.Figure:
    """Share preferring an online channel at each stage (and overall), with 95% intervals."""
    fig, ax = _subplots(0.35 * len(table) + 1.4)
    plots.bar_with_ci(ax, table["stage"], table["estimate"], table["ci_low"], table["ci_high"])
    ax.axvline(50, color="#999999", lw=0.8, ls="--")
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% preferring an online channel{_w(weighted)}, 95% CI")
    return _finish(fig, ax, title, n, note)


def journey_map(usage: pd.DataFrame, service: pd.DataFrame, scales: dict[str, str], title: str, n: float,
                note: str | None = None) -> plt.Figure:
    """Journey map: top, stage × channel heatmap of preferred-channel shares; below, one strip per
    service rating with the mean (95% CI) by channel of the last service interaction, pain points
    (significantly worse than average after correction) in red. Columns are aligned by channel."""
    import seaborn as sns

    channels = list(usage.columns) if usage is not None and len(usage) else list(service["channel"].unique())
    n_strips = len(scales)
    heights = ([max(len(usage), 1) * 0.42] if usage is not None and len(usage) else []) + [1.0] * n_strips
    fig, axes = _subplots(sum(heights) + 1.6, nrows=len(heights), gridspec_kw={"height_ratios": heights})
    axes = np.atleast_1d(axes)
    k = 0
    if usage is not None and len(usage):
        ax = axes[0]
        sns.heatmap(usage * 100, annot=(usage * 100).map(lambda v: "" if pd.isna(v) else f"{v:.0f}").to_numpy(),
                    fmt="", cmap="Blues", vmin=0, linewidths=0.5, linecolor="white", cbar=False, ax=ax,
                    annot_kws={"fontsize": 8})
        ax.set_ylabel("preferred at stage, %", fontsize=8)
        ax.set_xlabel("")
        ax.xaxis.tick_top()
        ax.tick_params(axis="x", rotation=0, labelsize=8)
        ax.tick_params(axis="y", rotation=0)
        plots.finish(ax, title, n, note)
        k = 1
    x_of = {c: i + 0.5 for i, c in enumerate(channels)}
    for j, (scale, label) in enumerate(scales.items()):
        ax = axes[k + j]
        part = service[service["scale"] == scale]
        for _, row in part.iterrows():
            if row["channel"] not in x_of:
                continue
            x = x_of[row["channel"]]
            color = PAIN_COLOR if row["pain_point"] else plots.PALETTE[0]
            ax.errorbar(x, row["estimate"], yerr=[[row["estimate"] - row["ci_low"]], [row["ci_high"] - row["estimate"]]],
                        fmt="o", color=color, capsize=3, ms=5)
        if len(part):
            overall = part["overall_mean"].iloc[0]
            ax.axhline(overall, color="#999999", lw=0.8, ls="--")
        ax.set_xlim(0, len(channels))
        ax.set_xticks([x_of[c] for c in channels], channels if k + j == len(axes) - 1 else [""] * len(channels),
                      fontsize=8)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(axis="x", visible=False)
        if k == 0 and j == 0:
            plots.finish(ax, title, n, note)
    handles = [plt.Line2D([], [], marker="o", ls="", color=plots.PALETTE[0]),
               plt.Line2D([], [], marker="o", ls="", color=PAIN_COLOR),
               plt.Line2D([], [], ls="--", color="#999999")]
    axes[-1].legend(handles, ["mean, 95% CI", "pain point (worse than average)", "average"],
                    loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, fontsize=8, frameon=False)
    return fig


def claims_bars(table: pd.DataFrame, title: str, n: float, note: str | None = None, weighted: bool = True) -> plt.Figure:
    """Survey estimates with 95% intervals beside the published figures (diamonds)."""
    fig, ax = _subplots(0.32 * len(table) + 1.5)
    plots.bar_with_ci(ax, _wrap(table["label"]), table["estimate"], table["ci_low"], table["ci_high"],
                      reference=table["claimed"], reference_label="published figure")
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of customers{_w(weighted)}, 95% CI")
    ax.tick_params(axis="y", labelsize=8)
    return _finish(fig, ax, title, n, note)


def diverging_likert(dist: pd.DataFrame, title: str, n: float, note: str | None = None,
                     weighted: bool = True) -> plt.Figure:
    """Diverging stacked bars: one bar per item, disagreement left of zero, agreement right, the
    neutral midpoint split across zero. `dist` has columns item, level, share (levels ordered low to
    high; weighted shares summing to 1 per item)."""
    items = list(dict.fromkeys(dist["item"]))
    levels = sorted(dist["level"].unique())
    k = len(levels)
    wide = dist.pivot_table(index="item", columns="level", values="share", aggfunc="sum").reindex(items)[levels]
    wide = wide.fillna(0.0) * 100
    colors = plt.get_cmap(plots.DIVERGING)(np.linspace(0.1, 0.9, k))
    mid = (k - 1) / 2
    fig, ax = _subplots(0.38 * len(items) + 1.6)
    pos = np.arange(len(items))
    left = -(wide[[lv for i, lv in enumerate(levels) if i < mid]].sum(axis=1)
             + (wide[levels[int(mid)]] / 2 if k % 2 else 0)).to_numpy()
    for i, lv in enumerate(levels):
        width = wide[lv].to_numpy()
        ax.barh(pos, width, left=left, color=colors[i], edgecolor="white", linewidth=0.5, label=str(lv))
        for p, l0, w in zip(pos, left, width):
            if w >= 7:
                ax.text(l0 + w / 2, p, f"{w:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if i in (0, k - 1) else "#222222")
        left = left + width
    ax.axvline(0, color="#444444", lw=0.8)
    ax.set_yticks(pos, _wrap(items), fontsize=8)
    ax.invert_yaxis()
    lim = min(100.0, 10 * np.ceil(np.abs(ax.get_xlim()).max() / 10))
    ax.set_xlim(-lim, lim)
    half = np.arange(0, lim + 1, 20 if lim > 60 else 10)
    ticks = np.r_[-half[:0:-1], half]
    ax.set_xticks(ticks, [f"{abs(t):.0f}" for t in ticks])
    ax.set_xlabel(f"% of customers{_w(weighted)}   ← lower / disagree  |  higher / agree →")
    ax.legend(title="scale point", ncol=k, loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=7,
              title_fontsize=7, frameon=False, handlelength=1.0, columnspacing=0.8)
    ax.grid(axis="y", visible=False)
    return _finish(fig, ax, title, n, note)

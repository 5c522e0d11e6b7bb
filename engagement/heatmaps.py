"""Annotated share heatmaps in the project theme, shared by the channel and persona studies' figures.

Each function takes already-estimated shares (0–1) and returns a matplotlib Figure titled with the
question it answers and carrying its base n (`plots.finish`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from . import plots


def subplots(height: float, **kwargs):
    """A figure 7 in wide with constrained layout, which keeps every axis label inside the figure so
    that the base-n footnote `plots.finish` puts under it never overlaps one (and costs no extra draw)."""
    return plt.subplots(figsize=(plots.FIG_WIDTH, max(height, 2.6)), layout="constrained", **kwargs)


def heatmap(matrix: pd.DataFrame, title: str, n: float, note: str | None = None, cbar_label: str = "%",
            annot: pd.DataFrame | None = None, vmax: float | None = None) -> plt.Figure:
    """Annotated heatmap of shares (rows × columns, values 0–1, shown in %)."""
    import seaborn as sns

    fig, ax = subplots(0.45 * len(matrix) + 1.8)
    labels = annot if annot is not None else (matrix * 100).map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
    sns.heatmap(matrix * 100, annot=labels.to_numpy(), fmt="", cmap="Blues", vmin=0,
                vmax=None if vmax is None else vmax * 100, linewidths=0.5, linecolor="white",
                cbar_kws={"label": cbar_label, "shrink": 0.8}, ax=ax, annot_kws={"fontsize": 8})
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", rotation=0)
    ax.tick_params(axis="y", rotation=0)
    plots.finish(ax, title, n, note)
    return fig


def segment_heatmap(table: pd.DataFrame, title: str, n: float, note: str | None = None) -> plt.Figure:
    """Column percentages of a banner table (rows × segment levels) with significance letters."""
    shares = table.pivot(index="row", columns="column", values="share")
    letters = table.pivot(index="row", columns="column", values="letters")
    order_r = list(dict.fromkeys(table["row"]))
    order_c = list(dict.fromkeys(table["column"]))
    shares = shares.loc[order_r, order_c]
    letters = letters.loc[order_r, order_c]
    annot = pd.DataFrame(
        [[f"{s * 100:.0f}" + (f" {l}" if isinstance(l, str) and l else "") for s, l in zip(rs, rl)]
         for rs, rl in zip(shares.to_numpy(), letters.to_numpy())], index=shares.index, columns=shares.columns)
    return heatmap(shares, title, n, note, annot=annot)

"""Figures of the findings notebook (90)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ...plots import PALETTE, finish


def wave_change_bars(changes: pd.DataFrame) -> plt.Figure | None:
    """Change of each tracked share since the previous wave, in points with its 95% interval;
    coloured when significant after Holm. None when no share was compared."""
    shares = changes[changes["unit"] == "share"] if len(changes) else changes
    if shares.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(shares) + 1.2))
    pos = np.arange(len(shares))
    ch = shares["change"].to_numpy() * 100
    colors = [PALETTE[3] if s else "#999999" for s in shares["significant"]]
    ax.barh(pos, ch, xerr=[ch - shares["ci_low"] * 100, shares["ci_high"] * 100 - ch], color=colors, capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(pos, shares["metric"])
    ax.invert_yaxis()
    ax.set_xlabel("change, percentage points (95% CI); coloured = significant after Holm")
    finish(ax, "What changed since the previous wave?", int(shares["n_current"].min()))
    plt.close(fig)  # shown once, by `show`
    return fig

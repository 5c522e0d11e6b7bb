"""Figures of notebook 00."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ...plots import PALETTE, finish


def headline_rates(metrics: pd.DataFrame, weighted: bool = True) -> plt.Figure | None:
    """Rates (0–1) as bars with interval whiskers; other metrics are in the table."""
    rates = metrics[metrics["unit"] == "share"]
    if rates.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rates) + 1.2))
    pos = np.arange(len(rates))
    est = rates["estimate"].to_numpy() * 100
    ax.barh(pos, est, xerr=[est - rates["ci_low"] * 100, rates["ci_high"] * 100 - est], color=PALETTE[0], capsize=3)
    ax.set_yticks(pos, rates["metric"])
    ax.invert_yaxis()
    ax.set_xlabel(f"% ({'weighted, ' if weighted else ''}95% interval)")
    finish(ax, "Headline rates", int(rates["n"].max()))
    plt.close(fig)  # shown once, by `show`
    return fig

"""The brief's charts, drawn from results.json: one per question, each with its 95% interval and base.

Every chart is drawn at the text block's width (FIG_WIDTH) so the PDF never scales it up or past the
margins, and returned as a PNG data URI (WeasyPrint fetches nothing).
"""

from __future__ import annotations

import base64
import io

import numpy as np

from ..plots import PALETTE

#: inches; the A4 / Letter text block is 174 mm / 180 mm (6.85 in / 7.1 in) wide
FIG_WIDTH = 6.7
DPI = 150


def _figure(rows: int, lang: str):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..fonts import register_matplotlib

    register_matplotlib(lang)
    height = min(3.2, 0.75 + 0.26 * max(rows, 2))
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, height), dpi=DPI)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8.5)
    return fig, ax


def _png(fig, base_text: str) -> str:
    import matplotlib.pyplot as plt

    fig.text(0.01, 0.005, base_text, ha="left", va="bottom", fontsize=7.5, color="#555555")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)  # no bbox="tight": the width stays FIG_WIDTH
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _whiskers(est, lo, hi):
    est, lo, hi = (np.asarray(v, float) for v in (est, lo, hi))
    return np.vstack([np.clip(est - lo, 0, None), np.clip(hi - est, 0, None)])


def share_bars(labels, est, lo, hi, *, xlabel: str, base_text: str, lang: str,
               highlight: set[int] | None = None, reference: float | None = None,
               reference_label: str | None = None, percent: bool = True) -> str:
    """Horizontal bars with 95% interval whiskers; shares as %, values labelled at the bar end."""
    scale = 100.0 if percent else 1.0
    est, lo, hi = (np.asarray(v, float) * scale for v in (est, lo, hi))
    fig, ax = _figure(len(labels), lang)
    pos = np.arange(len(labels))
    colors = [PALETTE[1] if highlight and i in highlight else PALETTE[0] for i in pos]
    ax.barh(pos, est, xerr=_whiskers(est, lo, hi), color=colors, capsize=2.5, height=0.62,
            error_kw={"elinewidth": 0.9, "ecolor": "#333333"})
    for p, e, h in zip(pos, est, hi):
        ax.text(h + (hi.max() * 0.015), p, f"{e:.0f}%" if percent else f"{e:.2f}", va="center", fontsize=7.5)
    ax.set_yticks(pos, labels)
    ax.invert_yaxis()
    if reference is not None:
        ax.axvline(reference * scale, color=PALETTE[3], lw=1, ls="--")
        if reference_label:
            ax.text(reference * scale, -0.7, reference_label, color=PALETTE[3], fontsize=7.5, ha="center")
    ax.set_xlim(0, max(hi.max() * 1.12, 1e-9))
    ax.set_xlabel(xlabel, fontsize=8)
    return _png(fig, base_text)


def paired_bars(groups, first, second, names: tuple[str, str], *, xlabel: str, base_text: str,
                lang: str) -> str:
    """Two bars per group (e.g. CES and CSAT models per outcome), each (estimate, low, high)."""
    fig, ax = _figure(len(groups) * 2, lang)
    pos = np.arange(len(groups))
    height = 0.36
    for offset, series, name, color in ((-height / 2, first, names[0], PALETTE[0]),
                                        (height / 2, second, names[1], PALETTE[1])):
        est, lo, hi = (np.array([s[i] for s in series], float) for i in range(3))
        ax.barh(pos + offset, est, height=height * 0.95, xerr=_whiskers(est, lo, hi), color=color,
                capsize=2.5, label=name, error_kw={"elinewidth": 0.9, "ecolor": "#333333"})
        for p, e, h in zip(pos + offset, est, hi):
            if np.isfinite(e):
                ax.text(h + 0.005, p, f"{e:.2f}", va="center", fontsize=7)
    ax.set_yticks(pos, groups)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel, fontsize=8)
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    return _png(fig, base_text)

"""One project theme for every chart (seaborn), and the small helpers all studies share.

Every chart is titled with the question it answers and carries its base n; call `finish` last.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

#: family names of the CJK fonts the project installs (engagement.fonts), in fallback order
CJK_FONTS = ("NanumGothic", "IPAexGothic")


def configure_matplotlib_fonts(lang: str = "en") -> str | None:
    """Let matplotlib draw Korean / Japanese labels with the fonts the project installs.

    Registers the packaged font files and sets `font.family` to an explicit list, DejaVu Sans
    first (Latin glyphs unchanged), then NanumGothic and IPAexGothic (IPAexGothic first for
    Japanese readers): matplotlib falls back per glyph along that list, which it does not do for a
    CJK font listed under the generic `sans-serif`. Returns the first CJK family, or None when none
    is installed (CJK labels then show as boxes; the report warns).
    """
    from .fonts import register_matplotlib

    chosen = register_matplotlib(lang)
    return next((f for f in chosen if f in CJK_FONTS), None)


PALETTE = ["#1f4e79", "#e07b39", "#3a9b6b", "#b8403a", "#7d5ba6", "#8c7a5b", "#d17fb5", "#6f6f6f"]
DIVERGING = "RdBu"
FIG_WIDTH = 7.0  # inches: fits an A4 / Letter text column at 100%


def set_theme() -> None:
    """Seaborn theme, PNG output at print resolution, and a CJK-capable font when one is installed."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=0.9)
    plt.rcParams.update({
        "figure.figsize": (FIG_WIDTH, 4.0),
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "savefig.bbox": "tight",
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
    })
    configure_matplotlib_fonts()
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:
        pass


def finish(ax, title: str, n: int | float, note: str | None = None):
    """Title the chart with its question and put the base size (and an optional note) under it."""
    ax.set_title(title)
    foot = f"Base: n = {int(round(n)):,}" + (f". {note}" if note else "")
    ax.figure.text(0.01, -0.02, foot, ha="left", va="top", fontsize=8, color="#555555")
    return ax


def bar_with_ci(ax, labels, estimates, ci_low, ci_high, *, horizontal: bool = True, percent: bool = True,
                color=None, reference=None, reference_label=None):
    """Bars with 95% interval whiskers; optional reference markers (e.g. a published figure)."""
    est = np.asarray(estimates, float)
    lo = est - np.asarray(ci_low, float)
    hi = np.asarray(ci_high, float) - est
    pos = np.arange(len(est))
    scale = 100 if percent else 1
    if horizontal:
        ax.barh(pos, est * scale, xerr=[lo * scale, hi * scale], color=color or PALETTE[0], capsize=3)
        ax.set_yticks(pos, labels)
        ax.invert_yaxis()
        if reference is not None:
            ax.scatter(np.asarray(reference, float) * scale, pos, marker="D", color=PALETTE[1], zorder=3,
                       label=reference_label)
        ax.set_xlabel("%" if percent else "")
    else:
        ax.bar(pos, est * scale, yerr=[lo * scale, hi * scale], color=color or PALETTE[0], capsize=3)
        ax.set_xticks(pos, labels, rotation=30, ha="right")
        if reference is not None:
            ax.scatter(pos, np.asarray(reference, float) * scale, marker="D", color=PALETTE[1], zorder=3,
                       label=reference_label)
        ax.set_ylabel("%" if percent else "")
    if reference is not None and reference_label:
        ax.legend(loc="best", fontsize=8)
    return ax

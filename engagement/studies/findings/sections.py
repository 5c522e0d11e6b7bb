"""Report sections of the findings notebook (90): the numbered summary, the claims ledger formatted
for the PDF, and the "since the previous wave" section."""

from __future__ import annotations

import pandas as pd

from ...section import Section
from .figures import wave_change_bars


def summary_markdown(summary: list[str]) -> str:
    """The executive summary as a numbered list (or a note when no study recorded results)."""
    return "\n".join(f"{i}. {s}" for i, s in enumerate(summary, 1)) if summary else "_No study recorded results._"


def ledger_display(ledger: pd.DataFrame) -> pd.DataFrame:
    """The ledger formatted for the PDF: shares as %, ratios as ×; the 95% interval, the adjusted
    interval and margin the verdict rests on, and the verdict."""
    def fmt(v, kind: str):
        if v is None or pd.isna(v):
            return "–"
        return f"{v:.2f}×" if kind == "ratio" else f"{100 * v:.1f}%"

    def interval(lo, hi, kind):
        return "–" if lo is None or pd.isna(lo) else f"{fmt(lo, kind)}–{fmt(hi, kind)}"

    out = ledger.copy()
    out["our estimate (95% CI)"] = [
        "–" if pd.isna(r.estimate) else f"{fmt(r.estimate, r.kind)} ({interval(r.ci_low, r.ci_high, r.kind)})"
        for r in ledger.itertuples()]
    out["adjusted interval"] = [interval(r.ci_low_adjusted, r.ci_high_adjusted, r.kind) for r in ledger.itertuples()]
    out["n"] = ["–" if pd.isna(v) else f"{int(v):,}" for v in ledger["n"]]
    return out[["id", "claim", "claimed", "our estimate (95% CI)", "n", "adjusted interval", "margin", "verdict"]]


def trends_section(changes: pd.DataFrame | None) -> Section:
    """What changed since the previous wave: a sentence, the table and a chart of the changes of
    shares; a note when there is no previous wave (`changes` None) or nothing in common."""
    s = Section("trends", "Since the previous wave")
    if changes is None:
        s.note("_This is the first wave of this survey in `reports/`: no trend to show yet._")
        return s
    if changes.empty:
        s.note("_The previous wave recorded none of the same metrics._")
        return s
    n_sig = int(changes["significant"].sum())
    s.note(f"Compared with the previous wave, **{n_sig} of {len(changes)}** tracked metrics changed "
           f"significantly (z-test on independent design-based estimates, Holm-corrected, α = 0.05).")
    s.table("changes", changes[["metric", "previous", "current", "change", "ci_low", "ci_high", "p_holm",
                                "significant"]], "Change since the previous wave (95% CI of the change)")
    fig = wave_change_bars(changes)
    if fig is not None:
        s.figure("changes", fig)
    return s

"""What notebooks call to show things: notes for skipped sections and compact tables.

Kept here so notebooks stay free of logic and every study shows skips the same way.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown, display


def skip_note(section: str, reason: str) -> dict:
    """Show a visible note that a section was skipped, and return it for results.json."""
    display(Markdown(f"> **{section} — skipped.** {reason}"))
    return {"section": section, "skipped": True, "reason": reason}


def show_table(df: pd.DataFrame, caption: str | None = None, percent: list[str] | None = None,
               digits: int = 3) -> None:
    """Display a table without its index, percentages formatted, optional caption."""
    styler = df.style.hide(axis="index")
    fmt: dict = {c: "{:.1%}" for c in (percent or []) if c in df.columns}
    for c in df.select_dtypes("number").columns:
        if c not in fmt:
            fmt[c] = lambda x, d=digits: _number(x, d)
    styler = styler.format(fmt, na_rep="–")
    # text columns read better left-aligned; numbers stay right-aligned
    text_cols = [c for c in df.columns if c not in df.select_dtypes("number").columns]
    if text_cols:
        styler = styler.set_properties(subset=text_cols, **{"text-align": "left"})
    if text_cols:
        styler = styler.set_table_styles([{"selector": f"th.col{df.columns.get_loc(c)}", "props": [("text-align", "left")]}
                                          for c in text_cols], overwrite=False)
    if caption:
        styler = styler.set_caption(caption)
    display(styler)


def _number(x, digits: int = 3) -> str:
    """Counts with thousands separators, other numbers to `digits` significant figures, never 1e+03."""
    if x is None or x != x:
        return "–"
    if float(x).is_integer() and abs(x) >= 1:
        return f"{int(x):,}"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def show_markdown(text: str) -> None:
    display(Markdown(text))

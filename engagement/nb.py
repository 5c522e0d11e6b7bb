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
    fmt = {c: "{:.1%}" for c in (percent or []) if c in df.columns}
    num = [c for c in df.select_dtypes("number").columns if c not in fmt]
    fmt.update({c: f"{{:.{digits}g}}" for c in num})
    styler = styler.format(fmt, na_rep="–")
    if caption:
        styler = styler.set_caption(caption)
    display(styler)


def show_markdown(text: str) -> None:
    display(Markdown(text))

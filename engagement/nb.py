"""What notebooks call to show things: `show(result)`, notes for skipped sections, compact tables.

The notebook idiom (issue 13): one cell computes and names a result (a tidy DataFrame, a frozen
dataclass, a `Figure`, a `NotEstimated`), the next cell shows it with `show(result)`. Display lives
here so that analysis code never prints and every study shows skips the same way.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown, display

from .degrade import NotEstimated


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


def show(result, caption: str | None = None, **table_options) -> None:
    """Show one named result the way its type reads best.

    - `NotEstimated`: a visible note with the reason;
    - DataFrame: a compact table (`show_table` options pass through);
    - matplotlib Figure: the figure;
    - an object with `to_frame()` (study result dataclasses): that table;
    - an object with `_repr_markdown_` or `_repr_html_`, or anything else: IPython's display.
    Returns nothing, so the cell shows exactly one output."""
    if isinstance(result, NotEstimated):
        display(Markdown(result._repr_markdown_()))
        return
    if isinstance(result, pd.DataFrame):
        show_table(result, caption=caption, **table_options)
        return
    if isinstance(result, pd.Series):
        show_table(result.to_frame().reset_index(), caption=caption, **table_options)
        return
    to_frame = getattr(result, "to_frame", None)
    if callable(to_frame) and not hasattr(result, "savefig"):
        show_table(to_frame(), caption=caption, **table_options)
        return
    if isinstance(result, str):
        display(Markdown(result))
        return
    display(result)

"""`Section`: what one report section shows — tables and figures in display order, notes, and the
entries it contributes to results.json. Shared by the studies' `sections` layers.

A Section displays itself (`engagement.nb.show(section)`, or as the last value of a cell): its skip
note, or its outputs in order. Its `tables` stay tidy (the analyst's handle on every number shown);
only the display renames columns to readable headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import pandas as pd

#: display headers of tidy column names (tables keep the tidy names; only the display renames)
HEADERS = {"estimate": "estimate", "ci_low": "95% CI low", "ci_high": "95% CI high", "n": "base n",
           "id": "claim", "label": "statement", "claimed_text": "published", "f_statistic": "F",
           "p_value": "p", "p_adjusted": "p (corrected)", "cramers_v": "Cramér's V",
           "share_of_interactions": "share of last interactions", "channels": "channels",
           "ci_low_adjusted": "adjusted low", "ci_high_adjusted": "adjusted high"}


@dataclass
class Section:
    """What one section of a study produced: tables and figures in display order, and the entries
    it contributes to results.json. `skipped` holds the reason when the codebook lacks its inputs."""

    key: str
    title: str
    skipped: str | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, plt.Figure] = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    outputs: list[tuple] = field(default_factory=list)
    #: a titled section shows its own "## title" and `intro`, and when skipped shows nothing: its
    #: reason goes into the study's one "not analysed" list (`not_analysed`) instead of a note
    titled: bool = False
    intro: str = ""

    def table(self, name: str, df: pd.DataFrame, caption: str | None = None, percent=None, shown: bool = True):
        df = df.reset_index(drop=True)
        self.tables[name] = df
        if shown:
            self.outputs.append(("table", name, caption, percent))
        return df

    def figure(self, name: str, fig: plt.Figure):
        plt.close(fig)  # shown once, by `show`, not again by the inline backend at the end of the cell
        self.figures[name] = fig
        self.outputs.append(("figure", name))
        return fig

    def note(self, text: str):
        self.outputs.append(("markdown", text))

    def _ipython_display_(self) -> None:
        show_section(self)


def skipped_section(key: str, title: str, reason: str, titled: bool = False) -> Section:
    """A section whose inputs the codebook lacks: no outputs, the reason, and a results.json entry."""
    return Section(key=key, title=title, skipped=reason, titled=titled,
                   results={key: {"section": title, "skipped": True, "reason": reason}})


def not_analysed(*sections: Section) -> str:
    """One short list of the skipped sections and what would enable each ("" when none skipped)."""
    skipped = [s for s in sections if s.skipped]
    if not skipped:
        return ""
    lines = [f"- **{s.title}**: {s.skipped[0].upper() + s.skipped[1:]}" for s in skipped]
    return ("**Not analysed** (skipped: the codebook lacks their inputs), and what would enable each:\n\n"
            + "\n".join(lines))


def show_section(section: Section, display_tables: list[str] | None = None) -> None:
    """Display a section in the notebook: its skip note, or its tables, figures and notes in order."""
    from IPython.display import display

    from .nb import show_markdown, show_table, skip_note

    if section.skipped:
        if not section.titled:
            skip_note(section.title, section.skipped)
        return
    if section.titled:
        show_markdown(f"## {section.title}" + (f"\n\n{section.intro}" if section.intro else ""))
    for item in section.outputs:
        if item[0] == "figure":
            display(section.figures[item[1]])
        elif item[0] == "markdown":
            show_markdown(item[1])
        elif display_tables is None or item[1] in display_tables:
            _, name, caption, percent = item
            show_table(section.tables[name].rename(columns=HEADERS), caption=caption,
                       percent=[HEADERS.get(c, c) for c in percent or []])


def collect(*sections: Section) -> dict:
    """A study's results.json section, merged from its sections' entries."""
    out: dict = {}
    for s in sections:
        out.update(s.results)
    return out

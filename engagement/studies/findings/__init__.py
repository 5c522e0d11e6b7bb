"""Findings (notebook 90, which opens the report): executive summary, claims ledger, change since
the previous wave and methods notes, all written from the recorded results.json of the other
notebooks.

Layers: `summary` (analysis: sentences and tidy tables from results), `figures`
(`wave_change_bars`), `sections` (summary list, ledger for the PDF, trend section). The claims and
their verdict rule are `engagement.claims`; wave-over-wave changes are `engagement.trends`.
"""

from ...trends import load_previous, wave_changes
from .figures import wave_change_bars
from .sections import ledger_display, summary_markdown, trends_section
from .summary import claims_ledger, claims_not_tested, executive_summary, is_weighted, methods_table, recorded_claims

#: results.json section written by notebook 90
SECTION = "findings"

__all__ = ["SECTION", "claims_ledger", "claims_not_tested", "executive_summary", "is_weighted", "recorded_claims", "ledger_display", "load_previous",
           "methods_table", "summary_markdown", "trends_section", "wave_change_bars", "wave_changes"]

"""Data, quality and weighting (notebook 00, the methods appendix): screening, weight diagnostics,
raking margins, reliability of multi-item scales and the headline metrics.

Layers: `diagnostics` (analysis: tidy tables and the results.json section), `figures`
(`headline_rates`), `sections` (the sample and weighting sentences). Screening itself is
`engagement.quality`; the metrics are `engagement.metrics`.
"""

from ...metrics import headline_metrics
from .diagnostics import (data_quality_results, is_weighted, join_by_segment, join_table, margins_table,
                          reliability_table, weighting_diagnostics_table)
from .figures import headline_rates
from .sections import join_note, margins_note, metrics_caption, sample_sentence, weighting_sentence

#: results.json section written by notebook 00
SECTION = "data_quality"

__all__ = ["SECTION", "data_quality_results", "headline_metrics", "headline_rates", "is_weighted", "join_by_segment", "join_note", "join_table", "margins_note",
           "margins_table", "metrics_caption",
           "reliability_table", "sample_sentence", "weighting_diagnostics_table", "weighting_sentence"]

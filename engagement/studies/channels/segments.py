"""Who differs (analysis layer of the channel study): channel use and the preferred channel at one
journey stage by each segment column, as weighted crosstabs with the Rao–Scott F test, Cramér's V and
column-proportion letters (`engagement.crosstabs`), Holm-corrected within each segment's family."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...codebook import Codebook
from ...crosstabs import crosstab
from ...survey_stats import Design, adjust_pvalues
from .usage import stage_columns, usage_columns


def segment_tests(df: pd.DataFrame, cb: Codebook, design: Design, alpha: float = 0.05,
                  preference_stage: str = "purchase", correction: str = "holm") -> tuple[pd.DataFrame, dict]:
    """For each segment column: channel use (each usage column) and the preferred channel at
    `preference_stage`, by segment. Returns the tests (one row per segment × variable, with the
    Holm-corrected p within the segment's family) and the crosstabs keyed by (segment, variable)."""
    usage = usage_columns(df, cb)
    stages = stage_columns(df, cb)
    rows, tabs = [], {}
    for seg in cb.segments:
        if seg.column not in df.columns:
            continue
        family = []
        for name, col in usage.items():
            tab = crosstab(df, col, seg.column, design, alpha, row_labels={1: "used", 0: "not used"},
                           column_labels=seg.labels)
            family.append((f"uses {name}", "usage", tab))
        if preference_stage in stages:
            tab = crosstab(df, stages[preference_stage], seg.column, design, alpha, row_labels=cb.channels.codes,
                           column_labels=seg.labels, collapse_sparse=True)
            family.append((f"preferred {preference_stage} channel", "preference", tab))
        adj = adjust_pvalues([t.test["p_value"] for _, _, t in family], correction)
        for (var, kind, tab), p_adj in zip(family, adj):
            t = tab.test
            rows.append({"segment": seg.column, "segment_label": seg.label or seg.column, "variable": var,
                         "kind": kind, "n": t["n"], "f_statistic": t["f_statistic"], "ndf": t["ndf"],
                         "ddf": t["ddf"], "p_value": t["p_value"], "p_adjusted": p_adj,
                         "significant": bool(p_adj < alpha) if np.isfinite(p_adj) else False,
                         "cramers_v": t["weighted_cramers_v"], "cramers_v_unweighted": t["cramers_v"],
                         "note": "; ".join(filter(None, [
                             t.get("error", ""),
                             f"merged into other: {', '.join(map(str, tab.collapsed))}" if tab.collapsed else "",
                             f"too few to test, left out: {', '.join(map(str, tab.excluded))}" if tab.excluded else ""]))})
            tabs[(seg.column, var)] = tab
    return pd.DataFrame(rows), tabs

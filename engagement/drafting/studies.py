"""Which studies a codebook feeds (engagement.draft): `studies_fed`, `studies_summary`, and
`validate_draft`, which validates a draft while setting aside keys of the round's contract.
"""

from __future__ import annotations

import pandas as pd

from ..codebook import Codebook


def studies_fed(codebook: Codebook) -> pd.DataFrame:
    """Which studies a codebook feeds: one row per study with `fed` (bool) and `missing` (what the
    codebook would need to feed it, or the parts it still lacks; "" when complete)."""
    cb = codebook
    ch = cb.channels
    usage = len(ch.usage) if ch else 0
    stages = bool(ch and ch.stages and ch.codes)
    last = bool(ch and ch.last_interaction and ch.codes and ({"ces", "csat"} & set(cb.scales)))
    ch_missing = []
    if usage < 2:
        ch_missing.append("channel use (`channels.usage`: two or more 0/1 columns)")
    if not stages:
        ch_missing.append("preferred channel per journey stage (`channels.stages` and `channels.codes`)")
    if not last:
        ch_missing.append("channel of the last service interaction (`channels.last_interaction`) with a CES "
                          "or CSAT scale")
    if not cb.segments:
        ch_missing.append("segments to compare (`segments`)")

    out_cols = {o.column for o in cb.outcomes}
    predictors = [n for n, s in cb.scales.items() if set(s.columns) - out_cols]
    loy_fed = bool(cb.outcomes) and bool(predictors)
    loy_missing = []
    if not cb.outcomes:
        loy_missing.append("a loyalty outcome (`outcomes`)")
    if not predictors:
        loy_missing.append("a rating to predict it with (`scales`)")
    lacking = [n.upper() for n in ("ces", "csat") if n not in cb.scales]
    if lacking:
        loy_missing.append(f"{' and '.join(lacking)} for the CES-vs-CSAT comparison (`scales.ces`, `scales.csat`)")
    if not cb.drivers:
        loy_missing.append("driver ratings for the key-driver map (`drivers`)")

    pf = cb.persona_features
    n_pf = len(pf.all) if pf else 0
    return pd.DataFrame([
        {"study": "channel preferences", "fed": usage >= 2 or stages or last, "missing": "; ".join(ch_missing)},
        {"study": "loyalty: CES vs CSAT", "fed": loy_fed, "missing": "; ".join(loy_missing)},
        {"study": "personas", "fed": n_pf >= 2,
         "missing": "" if n_pf >= 2 else "two or more persona features (`persona_features`)"},
    ])



#: codebook keys agreed for this round (missing codes, recodes, reversed items, readers, wording)
CONTRACT_KEYS = {"missing_codes", "missing", "recode", "reverse", "language", "period", "population", "delimiter",
                 "sheet"}



def validate_draft(codebook: dict) -> tuple[Codebook, list[str]]:
    """The draft as a Codebook. Where this version's schema does not know a key of the round's contract
    (missing codes, recodes, …), those keys are set aside and named, so the summary can still be given."""
    from pydantic import ValidationError

    try:
        return Codebook.model_validate(codebook), []
    except ValidationError:
        dropped: set[str] = set()

        def strip(node):
            if isinstance(node, dict):
                dropped.update(k for k in node if k in CONTRACT_KEYS)
                return {k: strip(v) for k, v in node.items() if k not in CONTRACT_KEYS}
            if isinstance(node, list):
                return [strip(x) for x in node]
            return node

        return Codebook.model_validate(strip(codebook)), sorted(dropped)



def studies_summary(codebook: Codebook) -> list[str]:
    """studies_fed as lines a person reads."""
    lines = []
    for r in studies_fed(codebook).itertuples():
        status = "feeds" if r.fed else "does not feed"
        lines.append(f"{status} {r.study}" + (f" (missing: {r.missing})" if r.missing else ""))
    return lines

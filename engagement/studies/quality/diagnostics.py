"""Data quality (analysis layer of notebook 00): weight diagnostics, raking margins, reliability of
the multi-item scales, and the `data_quality` section of results.json. Tidy tables, no drawing."""

from __future__ import annotations

import pandas as pd

from ...codebook import Codebook, code_key, code_keys
from ...prepare import Prepared
from ...reliability import cronbach_alpha
from ...results import WEIGHT


def is_weighted(p: Prepared) -> bool:
    """Whether the data carry weights (a weight column or raking margins in the codebook)."""
    return not str(p.weighting.get("method", "")).startswith("unweighted")


def weighting_diagnostics_table(p: Prepared) -> pd.DataFrame:
    d = p.weighting["diagnostics"]
    labels = {"n": "Respondents", "sum": "Sum of weights", "min": "Smallest weight", "max": "Largest weight",
              "mean": "Mean weight", "sd": "SD of weights", "kish_ess": "Kish effective n",
              "kish_deff": "Design effect (Kish)", "ratio_max_min": "Largest / smallest weight"}
    return pd.DataFrame([{"diagnostic": labels.get(k, k), "value": v} for k, v in d.items()])


def margins_table(p: Prepared) -> pd.DataFrame:
    """Unweighted sample share, population target and achieved weighted share per raking level."""
    cb, df = p.survey.codebook, p.data
    rows = []
    for var, shares in cb.margins.items():
        seg = cb.segment(var)
        key = code_keys(df[var])
        w = df[WEIGHT]
        for level, share in shares.items():
            mask = key == code_key(level)
            label = seg.labels.get(level, level) if seg and seg.labels else level
            rows.append({"variable": var, "level": str(label), "sample": mask.mean(), "population": share,
                         "weighted": w[mask].sum() / w.sum()})
    return pd.DataFrame(rows)


def join_table(p: Prepared) -> pd.DataFrame:
    """One row per extract joined to the survey (engagement.sources): respondents, matched, match rate,
    rows in the extract, duplicate keys or repeated orders, extract keys with no respondent."""
    frames = [r.to_frame() for r in getattr(p.survey, "joins", [])]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def join_by_segment(p: Prepared) -> pd.DataFrame:
    """Match rate of each extract by segment level, with the Holm-corrected χ² p of each segment."""
    frames = [r.by_segment.assign(extract=r.extract) for r in getattr(p.survey, "joins", [])]
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    return out[["extract", "segment", "level", "n", "matched", "match_rate", "p_holm"]]


def reliability_table(df: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    rows = []
    for block in cb.item_blocks:
        a = cronbach_alpha(df[block.items])
        rows.append({"scale": block.label or block.name, "items": len(block.items), "n": a["n"],
                     "alpha": a["raw_alpha"], "ci_low": a.get("ci_low"), "ci_high": a.get("ci_high"),
                     "std_alpha": a["std_alpha"], "average_r": a["average_r"]})
    return pd.DataFrame(rows)


def data_quality_results(p: Prepared, reliability: pd.DataFrame, metrics: pd.DataFrame) -> dict:
    t = p.screening.table
    return {
        "n_raw": int(t["remaining"].iloc[0]),
        "n_clean": len(p.data),
        "screening": [{"rule": r.rule, "flagged": r.flagged, "removed": r.removed, "remaining": r.remaining}
                      for r in t.iloc[1:].itertuples()],
        "removed_by_rule": p.screening.removed_by[p.screening.removed_by != ""].value_counts().sort_index().to_dict(),
        "pii_dropped": p.survey.dropped_pii,
        "weighting": {k: v for k, v in p.weighting.items()},
        "reliability": reliability.to_dict(orient="records"),
        "metrics": {r["key"]: {k: r[k] for k in ("metric", "estimate", "se", "ci_low", "ci_high", "n", "unit")}
                    for r in metrics.to_dict(orient="records")},
        # customer records joined to the survey: only when the codebook declares extracts
        **({"joins": [r.to_dict() for r in p.survey.joins]} if getattr(p.survey, "joins", None) else {}),
    }

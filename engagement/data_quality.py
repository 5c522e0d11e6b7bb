"""What notebook 00 shows: sample and screening, weighting diagnostics, reliability, headline metrics."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .codebook import Codebook
from .codebook import code_key
from .metrics import headline_metrics  # noqa: F401  (re-exported for the notebook)
from .plots import PALETTE, finish
from .prepare import Prepared
from .reliability import cronbach_alpha
from .results import WEIGHT


def sample_sentence(p: Prepared) -> str:
    t = p.screening.table
    n_raw, n_clean = int(t["remaining"].iloc[0]), len(p.data)
    removed = n_raw - n_clean
    pii = ", ".join(f"`{c}`" for c in p.survey.dropped_pii) or "none"
    return (f"The file holds **{n_raw:,}** completed responses. Screening removed **{removed:,}** "
            f"({removed / n_raw:.1%}), leaving **{n_clean:,}** for analysis. Personal-data columns dropped "
            f"at ingest: {pii}.")


def weighting_sentence(p: Prepared) -> str:
    d = p.weighting["diagnostics"]
    text = f"Weighting: {p.weighting['method']}."
    if "variables" in p.weighting:
        text += (f" Raked on {', '.join(p.weighting['variables'])} in {p.weighting['iterations']} passes "
                 f"({'converged' if p.weighting['converged'] else 'NOT converged'}).")
    text += (f" Kish effective sample size **{d['kish_ess']:,.0f}** of {d['n']:,} "
             f"(design effect {d['kish_deff']:.2f}); weights range {d['min']:.2f}–{d['max']:.2f}.")
    return text


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
        key = df[var].map(code_key)
        w = df[WEIGHT]
        for level, share in shares.items():
            mask = key == code_key(level)
            label = seg.labels.get(level, level) if seg and seg.labels else level
            rows.append({"variable": var, "level": str(label), "sample": mask.mean(), "population": share,
                         "weighted": w[mask].sum() / w.sum()})
    return pd.DataFrame(rows)


def reliability_table(df: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    rows = []
    for block in cb.item_blocks:
        a = cronbach_alpha(df[block.items])
        rows.append({"scale": block.label or block.name, "items": len(block.items), "n": a["n"],
                     "alpha": a["raw_alpha"], "ci_low": a.get("ci_low"), "ci_high": a.get("ci_high"),
                     "std_alpha": a["std_alpha"], "average_r": a["average_r"]})
    return pd.DataFrame(rows)


def plot_headline_metrics(metrics: pd.DataFrame):
    """Rates (0–1) as bars with interval whiskers; other metrics are in the table."""
    rates = metrics[metrics["unit"] == "share"]
    if rates.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rates) + 1.2))
    pos = np.arange(len(rates))
    est = rates["estimate"].to_numpy() * 100
    ax.barh(pos, est, xerr=[est - rates["ci_low"] * 100, rates["ci_high"] * 100 - est], color=PALETTE[0], capsize=3)
    ax.set_yticks(pos, rates["metric"])
    ax.invert_yaxis()
    ax.set_xlabel("% (weighted, 95% interval)")
    finish(ax, "Headline rates", int(rates["n"].max()))
    return fig


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
    }

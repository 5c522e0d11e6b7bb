"""Service experience by channel (analysis layer of the channel study): CES and CSAT of the last
service interaction by its channel, each channel tested against the others, pain points flagged after
a multiplicity correction; and the mix of last-interaction channels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...codebook import Codebook
from ...crosstabs import relabel
from ...survey_stats import Design, adjust_pvalues, difference_in_means, weighted_mean
from .usage import channel_order, scale_score, share

#: scales rated for the last service interaction, by their codebook name
SERVICE_SCALES = ("ces", "csat")


def service_ratings(df: pd.DataFrame, cb: Codebook, design: Design, alpha: float = 0.05,
                    correction: str = "holm", min_base: int = 30, by_stage: bool = True) -> pd.DataFrame:
    """Mean CES and CSAT by channel of the last service interaction, each channel tested against the
    other channels (design-based difference of domain means; the multiplicity correction runs over
    every channel × scale test). A channel is a pain point on a scale when the corrected p < alpha and
    its mean is worse in the scale's direction (`higher_is_better`), a bright spot when better.

    With `by_stage` and a declared `channels.last_interaction_stage`, each channel is compared with the
    other channels of the same stage (the stage average) instead.
    """
    ch = cb.channels
    channel = relabel(df[ch.last_interaction], ch.codes)
    stage_col = ch.last_interaction_stage if by_stage and ch.last_interaction_stage in df.columns else None
    stage = df[stage_col].astype(object).where(df[stage_col].notna()) if stage_col else \
        pd.Series("last service interaction", index=df.index, dtype=object)
    order = channel_order(cb)
    rows = []
    for name in SERVICE_SCALES:
        y = scale_score(df, cb, name)
        if y is None:
            continue
        sc = cb.scale(name)
        for st in stage.dropna().unique():
            in_stage = (stage == st) & channel.notna()
            overall = weighted_mean(y, design, domain=in_stage)
            for c in order:
                in_c = in_stage & (channel == c) & y.notna()
                if in_c.sum() < min_base:
                    continue
                m = weighted_mean(y, design, domain=in_stage & (channel == c))
                group = pd.Series(np.where(channel == c, "this", "other"), index=df.index).where(in_stage)
                d = difference_in_means(y, group, "this", "other", design)
                rows.append({"scale": name, "scale_label": sc.label or name.upper(), "stage": st, "channel": c,
                             "estimate": m["estimate"], "ci_low": m["ci_low"], "ci_high": m["ci_high"], "n": m["n"],
                             "overall_mean": overall["estimate"], "vs_average": m["estimate"] - overall["estimate"],
                             "difference_vs_other": d["estimate"], "p_value": d["p_value"],
                             "higher_is_better": sc.higher_is_better})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p_adjusted"] = adjust_pvalues(out["p_value"], correction)
    worse = np.where(out["higher_is_better"], out["difference_vs_other"] < 0, out["difference_vs_other"] > 0)
    signif = out["p_adjusted"] < alpha
    out["pain_point"] = signif & worse
    out["status"] = np.select([signif & worse, signif & ~worse], ["pain point", "bright spot"], "")
    return out


def interaction_mix(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Weighted share of last service interactions by channel (channels with at least one)."""
    channel = relabel(df[cb.channels.last_interaction], cb.channels.codes)
    return pd.DataFrame([{"channel": c, **share((channel == c).astype(float).where(channel.notna()), design)}
                         for c in channel_order(cb) if (channel == c).any()])

"""Channel use and channel preference (analysis layer of the channel study): reach of each channel,
channels per customer, exact combinations, preferred channel per journey stage and online preference.

Every estimate is weighted and design-based (`survey_stats`), with a 95% interval and its base n.
Inputs come from the codebook's `channels` block; nothing here prints or draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...codebook import Codebook
from ...crosstabs import label_indicators, relabel
from ...metrics import scale_values
from ...results import estimate
from ...survey_stats import Design, weighted_mean, weighted_proportion


def share(indicator, design: Design, domain=None) -> dict:
    """Weighted share with the svyciprop-style logit interval and its base n."""
    r = weighted_proportion(indicator, design, domain=domain)
    return estimate(r["estimate"], r["ci_low"], r["ci_high"], r["n"])




def usage_columns(df: pd.DataFrame, cb: Codebook) -> dict[str, str]:
    """Declared channel-usage columns that the data has: channel -> column."""
    ch = cb.channels
    return {name: col for name, col in ch.usage.items() if col in df.columns} if ch else {}


def stage_columns(df: pd.DataFrame, cb: Codebook) -> dict[str, str]:
    ch = cb.channels
    return {st: col for st, col in ch.stages.items() if col in df.columns} if ch and ch.codes else {}


def channel_order(cb: Codebook) -> list[str]:
    ch = cb.channels
    return list(dict.fromkeys([*ch.usage.keys(), *ch.codes.values()]))


def scale_score(df: pd.DataFrame, cb: Codebook, name: str) -> pd.Series | None:
    """The respondent's score on a codebook scale (item mean for a composite); None when the codebook
    does not declare it or the data lack its columns."""
    sc = cb.scale(name)
    if sc is None or any(c not in df.columns for c in sc.columns):
        return None
    return scale_values(df, cb, name)


def n_channels(df: pd.DataFrame, usage: dict[str, str]) -> pd.Series:
    """Channels used per respondent; missing when any usage answer is missing."""
    used = df[list(usage.values())].astype(float)
    return used.sum(axis=1, min_count=len(usage)).where(used.notna().all(axis=1))


def channel_reach(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Weighted share of customers using each channel (95% logit interval, base n), most used first."""
    usage = usage_columns(df, cb)
    online = set(cb.channels.online) if cb.channels else set()
    rows = [{"channel": name, "column": col, "online": name in online,
             **share(df[col].astype(float), design)} for name, col in usage.items()]
    return pd.DataFrame(rows).sort_values("estimate", ascending=False, kind="stable").reset_index(drop=True)


def multichannel_share(df: pd.DataFrame, cb: Codebook, design: Design) -> dict:
    """Weighted share using at least two of the declared channels (estimate, ci_low, ci_high, n)."""
    k = n_channels(df, usage_columns(df, cb))
    return share((k >= 2).astype(float).where(k.notna()), design)


def repertoire_distribution(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Weighted distribution of the number of channels used, one row per observed count."""
    k = n_channels(df, usage_columns(df, cb))
    rows = []
    for count in range(int(k.min()), int(k.max()) + 1):
        rows.append({"channels": count, **share((k == count).astype(float).where(k.notna()), design)})
    return pd.DataFrame(rows)


def channel_combinations(df: pd.DataFrame, cb: Codebook, design: Design, top: int = 12) -> pd.DataFrame:
    """The `top` most common exact channel combinations, with weighted shares and intervals."""
    usage = usage_columns(df, cb)
    used = df[list(usage.values())]
    complete = used.notna().all(axis=1)
    names = np.array(list(usage), dtype=object)
    hit = used.to_numpy(float) == 1
    if hit.shape[1] <= 62:
        # each row's combination as a bit pattern, named once per distinct pattern (a per-row join took 4.5 s
        # at a million respondents)
        bits = hit.astype(np.int64) @ (np.int64(1) << np.arange(hit.shape[1], dtype=np.int64))
        patterns, rows_of = np.unique(bits, return_inverse=True)
        named = np.array([" + ".join(names[(p >> np.arange(len(names))) & 1 == 1]) or "(none)" for p in patterns],
                         dtype=object)
        combo = pd.Series(named[rows_of.reshape(-1)], index=df.index).where(complete)
    else:
        combo = pd.Series([" + ".join(names[row]) or "(none)" for row in hit], index=df.index).where(complete)
    w = pd.Series(design.weights, index=df.index)[complete]
    ranked = w.groupby(combo[complete]).sum().sort_values(ascending=False).index[:top]
    rows = []
    for c in ranked:
        rows.append({"combination": c, "channels": 0 if c == "(none)" else c.count("+") + 1,
                     **share((combo == c).astype(float).where(complete), design)})
    return pd.DataFrame(rows)


def stage_shares(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Weighted share preferring each channel at each journey stage (tidy: stage, channel, estimate,
    ci_low, ci_high, n)."""
    order = channel_order(cb)
    rows = []
    for stage, col in stage_columns(df, cb).items():
        pref = relabel(df[col], cb.channels.codes)
        answered = pref.notna()
        if answered.any():  # a channel nobody chose gets 0 with an exact (Clopper–Pearson, Kish n) bound
            rows += [{"stage": stage, "channel": ch, **share(indicator, design)}
                     for ch, indicator in zip(order, label_indicators(pref, order))]
    return pd.DataFrame(rows)


def online_preference(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Share preferring an online channel at each stage and, overall, the mean share of stages at
    which a customer prefers an online channel."""
    online = set(cb.channels.online)
    rows, flags = [], {}
    for stage, col in stage_columns(df, cb).items():
        pref = relabel(df[col], cb.channels.codes)
        flags[stage] = pref.isin(online).astype(float).where(pref.notna())
        rows.append({"stage": stage, **share(flags[stage], design)})
    overall = pd.DataFrame(flags).mean(axis=1, skipna=True)
    m = weighted_mean(overall, design)
    rows.append({"stage": "all stages (mean)", **estimate(m["estimate"], m["ci_low"], m["ci_high"], m["n"])})
    return pd.DataFrame(rows)

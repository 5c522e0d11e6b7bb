"""The channel-preferences study (notebook 10): which channels customers use, which they prefer at
each journey stage, where the experience hurts, what drives engagement, and who differs.

Every input comes from the codebook (`channels`, `scales`, `segments`, `claims`, `behaviour`,
`persona_features`); a section whose inputs are not declared comes back as a skipped `Section` that
the notebook shows as a note. Every estimate is weighted and design-based (`survey_stats`, with the
raking carried into the SEs by `prepare.design_for`), carries a 95% interval and its base n, and
every family of tests is corrected for multiplicity.

The notebook calls one function per section, then `show(section)`, and at the end
`record(output_dir, "channels", collect(...))`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import channel_charts as charts
from .claims import CLAIMS_BY_ID, claim_entry
from .codebook import Codebook, code_key
from .metrics import scale_values
from .prepare import design_for
from .results import estimate
from .survey_stats import (
    Design,
    adjust_pvalues,
    column_proportion_tests,
    difference_in_means,
    rao_scott_chisq,
    weighted_mean,
    weighted_proportion,
    weighted_proportions,
)

SECTION = "channels"
#: scales rated for the last service interaction, by their codebook name
SERVICE_SCALES = ("ces", "csat")
#: a crosstab row level with fewer respondents than this in some column is merged into "other"
MIN_CELL = 5
#: display headers of the tidy column names (tables keep the tidy names; only `show` renames)
HEADERS = {"estimate": "estimate", "ci_low": "95% CI low", "ci_high": "95% CI high", "n": "base n",
           "id": "claim", "label": "statement", "claimed_text": "published", "f_statistic": "F",
           "p_value": "p", "p_adjusted": "p (corrected)", "cramers_v": "Cramér's V",
           "share_of_interactions": "share of last interactions", "channels": "channels"}


# ------------------------------------------------------------------------------ containers


@dataclass
class Section:
    """What one section of the study produced: tables and figures in display order, and the entries
    it contributes to results.json. `skipped` holds the reason when the codebook lacks its inputs."""

    key: str
    title: str
    skipped: str | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, plt.Figure] = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    outputs: list[tuple] = field(default_factory=list)

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


def _skipped(key: str, title: str, reason: str) -> Section:
    return Section(key=key, title=title, skipped=reason,
                   results={key: {"section": title, "skipped": True, "reason": reason}})


def show(section: Section, display_tables: list[str] | None = None) -> None:
    """Display a section in the notebook: its skip note, or its tables, figures and notes in order."""
    from IPython.display import display

    from .nb import show_markdown, show_table, skip_note

    if section.skipped:
        skip_note(section.title, section.skipped)
        return
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
    """The `channels` section of results.json, merged from the sections' entries."""
    out: dict = {}
    for s in sections:
        out.update(s.results)
    return out


# ------------------------------------------------------------------------------ helpers


def _relabel(values: pd.Series, mapping: dict) -> pd.Series:
    """Map codes to labels, matching 1, 1.0 and "1" alike; unmapped or missing values become None."""
    keyed = {code_key(k): v for k, v in mapping.items()}
    codes, uniques = pd.factorize(values)
    labels = np.array([keyed.get(code_key(u)) for u in uniques] + [None], dtype=object)
    return pd.Series(labels[codes], index=values.index, dtype=object)


def _in_values(values: pd.Series, accepted) -> pd.Series:
    """1.0 where the value is one of `accepted`, 0.0 where it is another value, NaN where missing."""
    keys = {code_key(v) for v in accepted}
    codes, uniques = pd.factorize(values)
    hit = np.array([code_key(u) in keys for u in uniques] + [False])
    return pd.Series(np.where(codes >= 0, hit[codes].astype(float), np.nan), index=values.index)


def _share(indicator, design: Design, domain=None) -> dict:
    """Weighted share with the svyciprop-style logit interval and its base n."""
    r = weighted_proportion(indicator, design, domain=domain)
    return estimate(r["estimate"], r["ci_low"], r["ci_high"], r["n"])


def _fmt_ci(est: float, lo: float, hi: float, percent: bool = True, digits: int = 1) -> str:
    if est is None or not np.isfinite(est):
        return "–"
    if percent:
        return f"{est * 100:.{digits}f}% ({lo * 100:.{digits}f}–{hi * 100:.{digits}f})"
    return f"{est:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def _usage(df: pd.DataFrame, cb: Codebook) -> dict[str, str]:
    """Declared channel-usage columns that the data has: channel -> column."""
    ch = cb.channels
    return {name: col for name, col in ch.usage.items() if col in df.columns} if ch else {}


def _stages(df: pd.DataFrame, cb: Codebook) -> dict[str, str]:
    ch = cb.channels
    return {st: col for st, col in ch.stages.items() if col in df.columns} if ch and ch.codes else {}


def _channel_order(cb: Codebook) -> list[str]:
    ch = cb.channels
    return list(dict.fromkeys([*ch.usage.keys(), *ch.codes.values()]))


def _scale_score(df: pd.DataFrame, cb: Codebook, name: str) -> pd.Series | None:
    """The respondent's score on a codebook scale (item mean for a composite); None when the codebook
    does not declare it or the data lack its columns."""
    sc = cb.scale(name)
    if sc is None or any(c not in df.columns for c in sc.columns):
        return None
    return scale_values(df, cb, name)


def _n_channels(df: pd.DataFrame, usage: dict[str, str]) -> pd.Series:
    """Channels used per respondent; missing when any usage answer is missing."""
    used = df[list(usage.values())].astype(float)
    return used.sum(axis=1, min_count=len(usage)).where(used.notna().all(axis=1))


# --------------------------------------------------------------------- 1 reach and repertoire


def channel_reach(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Weighted share of customers using each channel (95% logit interval, base n), most used first."""
    usage = _usage(df, cb)
    online = set(cb.channels.online) if cb.channels else set()
    rows = [{"channel": name, "column": col, "online": name in online,
             **_share(df[col].astype(float), design)} for name, col in usage.items()]
    return pd.DataFrame(rows).sort_values("estimate", ascending=False, kind="stable").reset_index(drop=True)


def multichannel_share(df: pd.DataFrame, cb: Codebook, design: Design) -> dict:
    """Weighted share using at least two of the declared channels (estimate, ci_low, ci_high, n)."""
    k = _n_channels(df, _usage(df, cb))
    return _share((k >= 2).astype(float).where(k.notna()), design)


def repertoire_distribution(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Weighted distribution of the number of channels used, one row per observed count."""
    k = _n_channels(df, _usage(df, cb))
    rows = []
    for count in range(int(k.min()), int(k.max()) + 1):
        rows.append({"channels": count, **_share((k == count).astype(float).where(k.notna()), design)})
    return pd.DataFrame(rows)


def channel_combinations(df: pd.DataFrame, cb: Codebook, design: Design, top: int = 12) -> pd.DataFrame:
    """The `top` most common exact channel combinations, with weighted shares and intervals."""
    usage = _usage(df, cb)
    used = df[list(usage.values())]
    complete = used.notna().all(axis=1)
    names = np.array(list(usage), dtype=object)
    combo = pd.Series([" + ".join(names[row]) or "(none)" for row in used.to_numpy(float) == 1],
                      index=df.index).where(complete)
    w = pd.Series(design.weights, index=df.index)[complete]
    ranked = w.groupby(combo[complete]).sum().sort_values(ascending=False).index[:top]
    rows = []
    for c in ranked:
        rows.append({"combination": c, "channels": 0 if c == "(none)" else c.count("+") + 1,
                     **_share((combo == c).astype(float).where(complete), design)})
    return pd.DataFrame(rows)


def reach_and_repertoire(df: pd.DataFrame, cb: Codebook, design: Design | None = None,
                         top_combinations: int = 12) -> Section:
    """Section 1: reach of each channel, number of channels per customer, share using ≥ 2, and the
    most common combinations (UpSet)."""
    key, title = "reach", "Channel reach and repertoire"
    usage = _usage(df, cb)
    if len(usage) < 2 or _n_channels(df, usage).isna().all():
        return _skipped(key, title, "the codebook declares fewer than two channel-usage columns "
                                    "(`channels.usage`) answered in the data.")
    design = design or design_for(df, cb)
    s = Section(key, title)
    reach = channel_reach(df, cb, design)
    multi = multichannel_share(df, cb, design)
    dist = repertoire_distribution(df, cb, design)
    k = _n_channels(df, usage)
    mean_k = weighted_mean(k, design)
    combos = channel_combinations(df, cb, design, top_combinations)
    n_all = int(reach["n"].min())

    s.note(f"**{_fmt_ci(multi['estimate'], multi['ci_low'], multi['ci_high'])}** of customers used at least "
           f"two channels (weighted, 95% interval; base n = {multi['n']:,}); on average they used "
           f"{_fmt_ci(mean_k['estimate'], mean_k['ci_low'], mean_k['ci_high'], percent=False)} channels.")
    s.figure("reach", charts.reach_bars(reach, "Which channels did customers use?", n_all))
    s.table("reach", reach.assign(online=np.where(reach["online"], "online", "offline"))[
        ["channel", "online", "estimate", "ci_low", "ci_high", "n"]],
            "Share of customers using each channel (weighted, 95% interval, base n)",
            percent=["estimate", "ci_low", "ci_high"])
    s.figure("repertoire", charts.repertoire_bars(dist, "How many channels does a customer use?", multi["n"],
                                                  f"Using two or more: {multi['estimate'] * 100:.1f}%"))
    s.table("combinations", combos, "Most common channel combinations (weighted share, 95% interval)",
            percent=["estimate", "ci_low", "ci_high"])
    complete = df[list(usage.values())].notna().all(axis=1)
    indicators = df.loc[complete, list(usage.values())].astype(int).set_axis(list(usage), axis=1)
    s.figure("upset", charts.upset(indicators, design.weights[complete.to_numpy()],
                                   "Which channels are used together?", int(complete.sum()), top_combinations))
    s.results = {
        "multichannel_share": multi,
        "channels_per_customer": estimate(mean_k["estimate"], mean_k["ci_low"], mean_k["ci_high"], mean_k["n"]),
        "reach": reach.drop(columns="column").to_dict(orient="records"),
        "repertoire": dist.to_dict(orient="records"),
        "top_combinations": combos.to_dict(orient="records"),
    }
    return s


# ------------------------------------------------------------------ 2 preference by journey stage


def stage_shares(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Weighted share preferring each channel at each journey stage (tidy: stage, channel, estimate,
    ci_low, ci_high, n)."""
    order = _channel_order(cb)
    rows = []
    for stage, col in _stages(df, cb).items():
        pref = _relabel(df[col], cb.channels.codes)
        answered = pref.notna()
        if answered.any():  # a channel nobody chose gets 0 with an exact (Clopper–Pearson, Kish n) bound
            rows += [{"stage": stage, "channel": ch, **_share((pref == ch).astype(float).where(answered), design)}
                     for ch in order]
    return pd.DataFrame(rows)


def online_preference(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Share preferring an online channel at each stage and, overall, the mean share of stages at
    which a customer prefers an online channel."""
    online = set(cb.channels.online)
    rows, flags = [], {}
    for stage, col in _stages(df, cb).items():
        pref = _relabel(df[col], cb.channels.codes)
        flags[stage] = pref.isin(online).astype(float).where(pref.notna())
        rows.append({"stage": stage, **_share(flags[stage], design)})
    overall = pd.DataFrame(flags).mean(axis=1, skipna=True)
    m = weighted_mean(overall, design)
    rows.append({"stage": "all stages (mean)", **estimate(m["estimate"], m["ci_low"], m["ci_high"], m["n"])})
    return pd.DataFrame(rows)


def stage_preferences(df: pd.DataFrame, cb: Codebook, design: Design | None = None) -> Section:
    """Section 2: preferred channel by journey stage (heatmap) and online vs in-store preference."""
    key, title = "stages", "Preferred channel by journey stage"
    if not _stages(df, cb):
        return _skipped(key, title, "the codebook declares no journey-stage preference columns with channel "
                                    "codes (`channels.stages`, `channels.codes`) present in the data.")
    design = design or design_for(df, cb)
    s = Section(key, title)
    shares = stage_shares(df, cb, design)
    matrix = shares.pivot(index="stage", columns="channel", values="estimate")
    matrix = matrix.loc[list(dict.fromkeys(shares["stage"])), list(dict.fromkeys(shares["channel"]))]
    n = int(shares["n"].min())
    s.figure("heatmap", charts.heatmap(matrix, "Which channel do customers prefer at each stage?", n,
                                       "Cells: weighted % of customers preferring the channel; rows sum to 100."))
    wide = shares.assign(cell=[_fmt_ci(e, lo, hi, digits=0) for e, lo, hi in
                               zip(shares["estimate"], shares["ci_low"], shares["ci_high"])])
    wide = wide.pivot(index="channel", columns="stage", values="cell").loc[matrix.columns, matrix.index]
    s.table("stage_shares", shares, shown=False)
    s.table("stage_table", wide.reset_index(), "Preferred channel by stage: weighted % (95% interval)")
    s.results = {"stage_preferences": shares.to_dict(orient="records")}
    if "purchase" in set(shares["stage"]):
        top = shares[shares["stage"] == "purchase"].sort_values("estimate", ascending=False).iloc[0]
        s.results["purchase_leader"] = {"channel": top["channel"],
                                        **estimate(top["estimate"], top["ci_low"], top["ci_high"], top["n"])}
    if cb.channels.online:
        onl = online_preference(df, cb, design)
        s.figure("online", charts.online_share_bars(
            onl, "Do customers prefer online or in-store channels?", int(onl["n"].max()),
            f"Online channels: {', '.join(cb.channels.online)}. Dashed line: half."))
        s.table("online", onl, "Share preferring an online channel (weighted, 95% interval)",
                percent=["estimate", "ci_low", "ci_high"])
        s.results["online_preference"] = onl.to_dict(orient="records")
    else:
        s.note("_The codebook does not say which channels are online (`channels.online`), so online vs "
               "in-store preference is not shown._")
    return s


# ------------------------------------------------------------------------------ 3 journey map


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
    channel = _relabel(df[ch.last_interaction], ch.codes)
    stage_col = ch.last_interaction_stage if by_stage and ch.last_interaction_stage in df.columns else None
    stage = df[stage_col].astype(object).where(df[stage_col].notna()) if stage_col else \
        pd.Series("last service interaction", index=df.index, dtype=object)
    order = _channel_order(cb)
    rows = []
    for name in SERVICE_SCALES:
        y = _scale_score(df, cb, name)
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


def journey_map(df: pd.DataFrame, cb: Codebook, design: Design | None = None, alpha: float = 0.05,
                correction: str = "holm", min_base: int = 30, stages: Section | None = None) -> Section:
    """Section 3: the journey map — per stage × channel touchpoint the preferred-channel share, and
    CES / CSAT by channel of the last service interaction with pain points flagged. Pass the
    `stage_preferences` section as `stages` to reuse its shares instead of estimating them again."""
    key, title = "journey_map", "Journey map: where does the experience hurt?"
    ch = cb.channels
    scales = [n for n in SERVICE_SCALES if _scale_score(df, cb, n) is not None]
    if not ch or not ch.last_interaction or ch.last_interaction not in df.columns or not ch.codes:
        return _skipped(key, title, "the codebook declares no channel of the last service interaction "
                                    "(`channels.last_interaction` with `channels.codes`).")
    if not scales:
        return _skipped(key, title, "the codebook declares no CES or CSAT scale (`scales.ces`, `scales.csat`) "
                                    "to rate the last service interaction.")
    design = design or design_for(df, cb)
    s = Section(key, title)
    service = service_ratings(df, cb, design, alpha, correction, min_base, by_stage=False)
    if service.empty:
        return _skipped(key, title, f"no channel of last service interaction has {min_base} or more rated "
                                    "interactions.")
    channel = _relabel(df[ch.last_interaction], ch.codes)
    mix = pd.DataFrame([{"channel": c, **_share((channel == c).astype(float).where(channel.notna()), design)}
                        for c in _channel_order(cb) if (channel == c).any()])
    usage = None
    if _stages(df, cb):
        shares = stages.tables["stage_shares"] if stages is not None and not stages.skipped \
            else stage_shares(df, cb, design)
        usage = shares.pivot(index="stage", columns="channel", values="estimate")
        usage = usage.loc[list(dict.fromkeys(shares["stage"])), list(dict.fromkeys(shares["channel"]))]
    labels = {n: f"{n.upper()} mean\n({cb.scale(n).min:g}–{cb.scale(n).max:g}, "
                 f"{'higher better' if cb.scale(n).higher_is_better else 'lower better'})" for n in scales}
    n_rated = int(channel.notna().sum())
    fig = charts.journey_map(usage, service, labels, "Customer journey: preferred channels and service experience",
                             n_rated, f"Ratings: last service interaction by its channel; red = significantly worse "
                                      f"than the other channels ({correction.capitalize()}-corrected, α = {alpha:g}).")
    s.figure("journey", fig)

    table = mix[["channel", "estimate", "n"]].rename(columns={"estimate": "share_of_interactions"})
    for n in scales:
        part = service[service["scale"] == n].set_index("channel")
        table[f"{n.upper()} mean (95% CI)"] = table["channel"].map(
            lambda c, p=part: _fmt_ci(p.at[c, "estimate"], p.at[c, "ci_low"], p.at[c, "ci_high"], percent=False, digits=2)
            if c in p.index else "–")
        table[f"{n.upper()} vs others"] = table["channel"].map(
            lambda c, p=part: p.at[c, "status"] if c in p.index else "base too small")
    s.table("service", service, shown=False)
    s.table("touchpoints", table, "Last service interaction by channel: share of interactions, mean ratings "
                                  "(95% interval) and channels significantly worse (pain point) or better (bright "
                                  "spot) than the others", percent=["share_of_interactions"])
    by_stage = ch.last_interaction_stage in df.columns
    if by_stage:  # the stage the interaction belonged to is known: judge each channel against its stage
        staged = service_ratings(df, cb, design, alpha, correction, min_base, by_stage=True)
        s.table("service_by_stage", staged[["stage", "channel", "scale", "estimate", "ci_low", "ci_high", "n",
                                            "vs_average", "p_adjusted", "status"]],
                "Ratings by stage and channel of the last service interaction, against the stage average")
    pains = (staged if by_stage else service).query("pain_point")
    s.note("**Pain points:** " + ("; ".join(f"{r.channel}{f' at {r.stage}' if by_stage else ''} ({r.scale.upper()} "
                                            f"{r.estimate:.2f} vs {r.overall_mean:.2f} average, adjusted p = "
                                            f"{r.p_adjusted:.2g})" for r in pains.itertuples())
                                  if len(pains) else "none significant after correction."))
    s.results = {
        "journey_map": {
            "alpha": alpha, "correction": correction, "min_base": min_base,
            "service_ratings": (staged if by_stage else service).drop(columns=["scale_label"]).to_dict(orient="records"),
            "interaction_mix": mix.to_dict(orient="records"),
        },
        "pain_points": pains[["stage", "channel", "scale", "estimate", "ci_low", "ci_high", "n", "overall_mean",
                              "p_adjusted"]].to_dict(orient="records"),
    }
    return s


# ------------------------------------------------------------------------ 4 drivers and claims

_GROUPS = {"C03": "What matters most for online engagement?",
           "C04": "What matters most for in-store engagement?",
           "C09": "Why does SMS engagement backfire?"}


def claim_estimates(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Every seed claim the survey measures: the codebook's claims items (weighted share of answers in
    the item's `values`), C07 from the channel-usage columns (≥ 2 channels) and C08 from
    `channels.cross_channel_purchase` when no claims item covers them."""
    rows = []
    for item in cb.claims:
        claim = CLAIMS_BY_ID.get(item.id)
        # a claims item is a share of respondents: only claims stated as shares can be tested by one
        if claim is None or claim.claimed is None or claim.measured_by != "codebook" or item.column not in df.columns:
            continue
        rows.append({"id": item.id, "label": item.label or claim.text, "source": f"item {item.column}",
                     **_share(_in_values(df[item.column], item.values), design)})
    have = {r["id"] for r in rows}
    if "C07" not in have and len(_usage(df, cb)) >= 2:
        rows.append({"id": "C07", "label": "Used at least two channels (usage items)", "source": "channels.usage",
                     **multichannel_share(df, cb, design)})
    xc = cb.channels.cross_channel_purchase if cb.channels else None
    if "C08" not in have and xc and xc in df.columns:
        rows.append({"id": "C08", "label": "Started and finished a purchase in different channels",
                     "source": f"item {xc}", **_share(df[xc].astype(float), design)})
    out = pd.DataFrame(rows, columns=["id", "label", "source", "estimate", "ci_low", "ci_high", "n"])
    out["claimed"] = [CLAIMS_BY_ID[i].claimed for i in out["id"]]
    out["claimed_text"] = [CLAIMS_BY_ID[i].claimed_text for i in out["id"]]
    out["verdict"] = [claim_entry(r.id, r.estimate, r.ci_low, r.ci_high, r.n)["verdict"] for r in out.itertuples()]
    return out.sort_values("id", kind="stable").reset_index(drop=True)


def spend_ratios(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """C14 (repeat customers' spend ÷ one-time buyers') and C15 (members' AOV ÷ non-members'), from
    the CRM-linked behaviour columns, via `engagement.metrics` (linearized CIs on the log scale)."""
    from .metrics import member_aov_uplift, repeat_vs_one_time_spend

    rows = []
    for cid, label, fn in (("C14", "Repeat customers' spend ÷ one-time buyers' (365 days)", repeat_vs_one_time_spend),
                           ("C15", "Loyalty members' average order value ÷ non-members'", member_aov_uplift)):
        r = fn(df, cb, design)
        if r is not None and np.isfinite(r["estimate"]):
            e = claim_entry(cid, r["estimate"], r["ci_low"], r["ci_high"], r["n"])
            rows.append({"id": cid, "label": label, "source": "behaviour (CRM)", "estimate": r["estimate"],
                         "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n": r["n"], "claimed": e["claimed"],
                         "claimed_text": e["claimed_text"], "verdict": e["verdict"]})
    return pd.DataFrame(rows)


def likert_items(df: pd.DataFrame, cb: Codebook) -> dict[str, str]:
    """Rating items to show as diverging bars: claims items and ordinal persona features whose column
    has a declared integer range of 3–11 points. Returns column -> label."""
    items: dict[str, str] = {}
    candidates = [(c.column, c.label) for c in cb.claims]
    if cb.persona_features:
        candidates += [(c, c) for c in cb.persona_features.ordinal]
    for col, label in candidates:
        spec = cb.columns.get(col)
        if col in df.columns and spec and spec.min is not None and spec.max is not None \
                and 2 <= spec.max - spec.min <= 10 and float(spec.min).is_integer():
            items.setdefault(col, label or col)
    return items


def likert_distribution(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Weighted answer distribution of each Likert item (tidy: item, column, level, share, n)."""
    rows = []
    for col, label in likert_items(df, cb).items():
        spec = cb.columns[col]
        levels = list(range(int(spec.min), int(spec.max) + 1))
        vals = pd.Categorical(df[col].astype(float).round().astype("Int64"), categories=levels)
        dist = weighted_proportions(vals, design)
        rows += [{"item": label, "column": col, "level": int(lv), "share": p, "n": int(dist["n"].sum())}
                 for lv, p in zip(dist["level"], dist["proportion"])]
    return pd.DataFrame(rows)


def drivers(df: pd.DataFrame, cb: Codebook, design: Design | None = None) -> Section:
    """Section 4: drivers of engagement and the published claims — each measured claim's weighted
    share (or ratio) with its 95% interval beside the published figure and a verdict; ranked factor
    charts for the multi-part claims; diverging bars for the rating items."""
    key, title = "drivers", "Drivers of engagement and the published claims"
    has_inputs = cb.claims or _usage(df, cb) or (cb.behaviour.orders and cb.behaviour.revenue) \
        or likert_items(df, cb)
    if not has_inputs:
        s = _skipped(key, title, "the codebook declares no claims items (`claims`), channel usage, CRM "
                                 "behaviour (`behaviour`) or rating items for this section.")
        s.results["claims"] = []
        return s
    design = design or design_for(df, cb)
    s = Section(key, title)
    claims = claim_estimates(df, cb, design)
    ratios = spend_ratios(df, cb, design)
    entries = [claim_entry(r.id, r.estimate, r.ci_low, r.ci_high, r.n, label=r.label, source=r.source)
               for r in claims.itertuples()]
    entries += [claim_entry(r.id, r.estimate, r.ci_low, r.ci_high, r.n, label=r.label, source=r.source,
                            unit="ratio") for r in ratios.itertuples()]
    if not len(claims) and not len(ratios):
        s.note("_No published claim can be tested with the columns this codebook declares._")
    for prefix, question in _GROUPS.items():
        part = claims[claims["id"].str.startswith(prefix)].sort_values("estimate", ascending=False)
        if len(part):
            s.figure(f"claims_{prefix}", charts.claims_bars(
                part, question, int(part["n"].min()),
                f"Published: {CLAIMS_BY_ID[part['id'].iloc[0]].cited_to}."))
    single = claims[~claims["id"].str[:3].isin(list(_GROUPS))]
    if len(single):
        s.figure("claims_other", charts.claims_bars(
            single.sort_values("id"), "Do the published figures hold for our customers?",
            int(single["n"].min())))
    if len(claims):
        show_cols = ["id", "label", "claimed_text", "estimate", "ci_low", "ci_high", "n", "verdict"]
        s.table("claims", claims[show_cols], "Published claims beside our weighted estimates (95% interval); "
                                             "verdict: consistent when the interval covers the published figure",
                percent=["estimate", "ci_low", "ci_high"])
    if len(ratios):
        s.table("spend_ratios", ratios[["id", "label", "claimed_text", "estimate", "ci_low", "ci_high", "n", "verdict"]],
                "Spend ratios from CRM-linked behaviour (ratio, 95% interval on the log scale)")
    dist = likert_distribution(df, cb, design)
    if len(dist):
        s.figure("likert", charts.diverging_likert(
            dist, "How do customers rate the statements?", int(dist["n"].min()),
            "Weighted % per scale point, 1 = lowest (left) to highest (right); the midpoint straddles zero."))
    s.results = {"claims": entries, "likert": dist.to_dict(orient="records")}
    return s


# ---------------------------------------------------------------------------- 5 who differs


@dataclass
class Crosstab:
    """A weighted crosstab: Rao–Scott test, Cramér's V and column-proportion letters."""

    row: str
    column: str
    test: dict
    cells: pd.DataFrame  # survey_stats.column_proportion_tests output
    collapsed: list = field(default_factory=list)  # row levels merged into "other"
    excluded: list = field(default_factory=list)  # row levels too thin even when merged: left out

    def banner(self, rows: list | None = None) -> pd.DataFrame:
        """SPSS/Q-style banner: one row per row level, one column per column level headed
        "label (A)", cells "62.1% BC" (column %, letters of columns this one is significantly above)."""
        cells = self.cells if rows is None else self.cells[self.cells["row"].isin(rows)]
        text = cells.assign(header=[f"{c} ({l})" for c, l in zip(cells["column"], cells["letter"])],
                            cell=[f"{p * 100:.1f}%" + (f" {h}" if h else "")
                                  for p, h in zip(cells["proportion"], cells["higher_than"])])
        wide = text.pivot(index="row", columns="header", values="cell")
        wide = wide.loc[list(dict.fromkeys(text["row"])), list(dict.fromkeys(text["header"]))]
        return wide.reset_index().rename(columns={"row": self.row})


def _categorical(values: pd.Series, labels: dict | None) -> pd.Series:
    """A categorical in label order (codebook labels) or sorted codes; missing stays missing."""
    if labels:
        mapped = _relabel(values, labels)
        return pd.Series(pd.Categorical(mapped, categories=list(dict.fromkeys(labels.values()))), index=values.index)
    return values


def _collapse_sparse(x: pd.Series, y: pd.Series, min_cell: int = MIN_CELL) -> tuple[pd.Series, list, list]:
    """Merge the row levels that have fewer than `min_cell` respondents in some column into "other"
    (the Rao–Scott correction needs every cell filled, and tiny cells make it unstable). When even the
    merged "other" row is that thin, those respondents are left out of the table instead.
    Returns the new row variable, the merged levels and the excluded levels."""
    ok = x.notna() & y.notna()
    counts = pd.crosstab(x[ok], y[ok])
    sparse = [lv for lv in counts.index if counts.loc[lv].min() < min_cell]
    if not sparse:
        return x, [], []
    order = list(x.cat.categories) if isinstance(x.dtype, pd.CategoricalDtype) else list(counts.index)
    keep = [lv for lv in order if lv in counts.index and lv not in sparse]
    if counts.loc[sparse].sum().min() >= min_cell:
        merged = x.astype(object).where(~x.isin(sparse), "other").where(x.notna())
        return pd.Series(pd.Categorical(merged, categories=[*keep, "other"]), index=x.index), sparse, []
    kept = x.astype(object).where(~x.isin(sparse)).where(x.notna())
    return pd.Series(pd.Categorical(kept, categories=keep), index=x.index), [], sparse


def crosstab(df: pd.DataFrame, row: str, column: str, design: Design | None = None, alpha: float = 0.05,
             row_labels: dict | None = None, column_labels: dict | None = None,
             collapse_sparse: bool = False) -> Crosstab:
    """Weighted crosstab of `row` by `column` (the banner): the Rao–Scott second-order corrected F test
    (`survey_stats.rao_scott_chisq`, R's svychisq(statistic = "F")) with the unweighted χ² and
    Cramér's V, and column-proportion z-tests with Bonferroni-corrected letters
    (`survey_stats.column_proportion_tests`). Labels map codes to text and fix the level order.
    With `collapse_sparse`, row levels with a cell under MIN_CELL respondents are merged into "other"
    (or left out when the merged row is still that thin)."""
    design = design or Design.unweighted(len(df))
    x = _categorical(df[row], row_labels)
    y = _categorical(df[column], column_labels)
    collapsed, excluded = [], []
    if collapse_sparse:
        x, collapsed, excluded = _collapse_sparse(x, y)
    try:
        test = rao_scott_chisq(x, y, design)
    except ValueError as exc:  # an empty cell or a single level: no test, say why
        test = {"error": str(exc), "p_value": np.nan, "f_statistic": np.nan, "cramers_v": np.nan,
                "weighted_cramers_v": np.nan, "ndf": np.nan, "ddf": np.nan,
                "n": int((x.notna() & y.notna()).sum())}
    cells = column_proportion_tests(x, y, design, alpha=alpha)
    return Crosstab(row=row, column=column, test=test, cells=cells, collapsed=collapsed, excluded=excluded)


def segment_tests(df: pd.DataFrame, cb: Codebook, design: Design, alpha: float = 0.05,
                  preference_stage: str = "purchase", correction: str = "holm") -> tuple[pd.DataFrame, dict]:
    """For each segment column: channel use (each usage column) and the preferred channel at
    `preference_stage`, by segment. Returns the tests (one row per segment × variable, with the
    Holm-corrected p within the segment's family) and the crosstabs keyed by (segment, variable)."""
    usage = _usage(df, cb)
    stages = _stages(df, cb)
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


def who_differs(df: pd.DataFrame, cb: Codebook, design: Design | None = None, alpha: float = 0.05,
                preference_stage: str = "purchase", correction: str = "holm") -> Section:
    """Section 5: channel use and preferred purchase channel by each segment column — weighted
    crosstabs with the Rao–Scott F test, Cramér's V and column-proportion letters."""
    key, title = "who_differs", "Who differs: channel use by customer segment"
    segs = [s for s in cb.segments if s.column in df.columns]
    if not segs:
        return _skipped(key, title, "the codebook declares no segment columns (`segments`) present in the data.")
    if not _usage(df, cb) and preference_stage not in _stages(df, cb):
        return _skipped(key, title, "the codebook declares no channel usage (`channels.usage`) or preferred "
                                    f"channel at the {preference_stage!r} stage to compare across segments.")
    design = design or design_for(df, cb)
    s = Section(key, title)
    tests, tabs = segment_tests(df, cb, design, alpha, preference_stage, correction)
    usage = _usage(df, cb)
    for seg in segs:
        part = tests[tests["segment"] == seg.column]
        label = seg.label or seg.column
        n_sig = int(part["significant"].sum())
        s.note(f"### By {label.lower()}")
        s.note(f"{n_sig} of {len(part)} channel measures differ significantly by {label.lower()} after correction."
               + (f" Largest effect: {part.loc[part['cramers_v'].idxmax(), 'variable']} "
                  f"(Cramér's V = {part['cramers_v'].max():.2f})." if part["cramers_v"].notna().any() else ""))
        if usage:
            used = pd.concat([tabs[(seg.column, f"uses {name}")].cells.query("row == 'used'").assign(row=name)
                              for name in usage])
            if part.loc[part["kind"] == "usage", "significant"].any():  # no chart of a null result
                s.figure(f"heatmap_{seg.column}", charts.segment_heatmap(
                    used.assign(column=[f"{c} ({l})" for c, l in zip(used["column"], used["letter"])],
                                share=used["proportion"], letters=used["higher_than"]),
                    f"Which channels does each {label.lower()} use?", int(part["n"].max()),
                    "Weighted % using the channel; letters: significantly higher than that column "
                    f"(z-test, Bonferroni, α = {alpha:g})."))
            banner = pd.concat([tabs[(seg.column, f"uses {n}")].banner(["used"]).iloc[:, 1:].assign(channel=n)
                                for n in usage])
            s.table(f"banner_usage_{seg.column}", banner[["channel", *banner.columns[:-1]]],
                    f"Channel use by {label.lower()}: weighted column % with column-proportion letters")
        pref_var = f"preferred {preference_stage} channel"
        if (seg.column, pref_var) in tabs:
            tab = tabs[(seg.column, pref_var)]
            s.table(f"banner_pref_{seg.column}", tab.banner().rename(columns={tab.row: pref_var}),
                    f"Preferred {preference_stage} channel by {label.lower()}: weighted column % with "
                    "column-proportion letters")
        cols = ["variable", "f_statistic", "ndf", "ddf", "p_value", "p_adjusted", "cramers_v", "n"]
        s.table(f"tests_{seg.column}", part[cols + (["note"] if part["note"].str.len().any() else [])],
                f"Rao–Scott F tests by {label.lower()} ({correction.capitalize()}-corrected over the "
                f"{len(part)} tests); Cramér's V of the weighted table")
    s.table("tests", tests, shown=False)
    s.results = {"who_differs": {
        "alpha": alpha, "correction": correction, "tests": tests.to_dict(orient="records"),
        "segments_differing": {seg: bool(g["significant"].any()) for seg, g in tests.groupby("segment", sort=False)},
    }}
    return s

"""Report sections of the channel-preferences study (notebook 10): each builder runs the analysis
functions of its section, draws its figures and returns a `Section` with the tables, figures, notes
and results.json entries, or a skipped Section naming the codebook keys it lacks.

The notebook names each Section (`reach = channels.reach_and_repertoire(df, cb, design)`), shows it
in the next cell (`show(reach)`), and records `collect(reach, stages, …)` as the `channels` section.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...claims import CLAIMS_BY_ID, claim_entry, verdict_rule
from ...codebook import Codebook
from ...crosstabs import relabel
from ...prepare import design_for
from ...results import estimate
from ...section import Section, collect, not_analysed, show_section, skipped_section  # noqa: F401  (re-exported)
from ...survey_stats import Design, weighted_mean
from . import figures as charts
from .journey import SERVICE_SCALES, interaction_mix, service_ratings
from .published import CLAIM_GROUPS, claim_estimates, likert_distribution, likert_items, spend_ratios
from .segments import segment_tests
from .usage import (channel_combinations, channel_reach, multichannel_share, n_channels,
                    online_preference, repertoire_distribution, scale_score, stage_columns, stage_shares,
                    usage_columns)

show = show_section

#: what each section shows, above its tables and figures
INTROS = {
    "reach": "How many customers used each channel, how many channels a customer uses, and which channels "
             "are used together (the UpSet plot: each column is one exact combination of channels, its bar "
             "the share of customers with exactly that combination).",
    "stages": "The channel customers prefer at each step of the journey, and how often that is an online channel.",
    "journey_map": "Top: the touchpoints — the share of customers preferring each channel at each stage. Below: "
                   "how easy (CES) and how satisfying (CSAT) the last service interaction was, by its channel. A "
                   "channel is a **pain point** when its rating is significantly worse than that of the other "
                   "channels, a **bright spot** when significantly better (design-based difference of means, "
                   "corrected over all channels and ratings).",
    "drivers": "Each published figure the survey can test, beside our estimate and its 95% interval. The "
               "multi-part claims (most important online and in-store engagement factors, SMS annoyances) are "
               "ranked.",
    "who_differs": "Channel use and the preferred purchase channel by each customer segment, as crosstabs. The "
                   "Rao–Scott F test (second-order corrected χ² for survey data) says whether a segment differs at "
                   "all, corrected over the channel measures of that segment; Cramér's V gives the size of the "
                   "difference (0 none, 0.1 small, 0.3 medium). Each column carries a letter; a letter in a cell "
                   "names a column whose share is significantly lower (column-proportion z-tests, "
                   "Bonferroni-corrected within the row), as in SPSS and Q tables. A chart is drawn only for "
                   "segments that differ.",
}


def _skip(key: str, title: str, reason: str) -> Section:
    return skipped_section(key, title, reason, titled=True)


def weighting_word(cb: Codebook) -> str:
    """"weighted" when the codebook gives weights or raking margins, else "unweighted"."""
    return "weighted" if (cb.weight or cb.margins) else "unweighted"


def not_analysed_list(cb: Codebook, *sections: Section) -> str:
    """The study's short "not analysed" list: one line for the whole study when the codebook declares no
    channels at all, else one line per skipped section ("" when everything was analysed)."""
    if cb.channels is None and all(s.skipped for s in sections):
        return ("**Not analysed** (skipped: the codebook lacks their inputs), and what would enable each:\n\n"
                "- **Channel preferences**: the codebook has no `channels` block; declare `channels.usage` "
                "(0/1 columns per channel), `channels.stages` with `channels.codes`, `channels.last_interaction` "
                "and `segments` to run it.")
    return not_analysed(*sections)


def fmt_ci(est: float, lo: float, hi: float, percent: bool = True, digits: int = 1) -> str:
    if est is None or not np.isfinite(est):
        return "–"
    if percent:
        return f"{est * 100:.{digits}f}% ({lo * 100:.{digits}f}–{hi * 100:.{digits}f})"
    return f"{est:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def reach_and_repertoire(df: pd.DataFrame, cb: Codebook, design: Design | None = None,
                         top_combinations: int = 12) -> Section:
    """Section 1: reach of each channel, number of channels per customer, share using ≥ 2, and the
    most common combinations (UpSet)."""
    key, title = "reach", "Channel reach and repertoire"
    usage = usage_columns(df, cb)
    if len(usage) < 2 or n_channels(df, usage).isna().all():
        return _skip(key, title, "the codebook declares fewer than two channel-usage columns "
                                    "(`channels.usage`) answered in the data.")
    design = design or design_for(df, cb)
    s = Section(key, title, titled=True, intro=INTROS[key])
    reach = channel_reach(df, cb, design)
    multi = multichannel_share(df, cb, design)
    dist = repertoire_distribution(df, cb, design)
    k = n_channels(df, usage)
    mean_k = weighted_mean(k, design)
    combos = channel_combinations(df, cb, design, top_combinations)
    n_all = int(reach["n"].min())

    w = weighting_word(cb)
    s.note(f"**{fmt_ci(multi['estimate'], multi['ci_low'], multi['ci_high'])}** of customers used at least "
           f"two channels ({w}, 95% interval; base n = {multi['n']:,}); on average they used "
           f"{fmt_ci(mean_k['estimate'], mean_k['ci_low'], mean_k['ci_high'], percent=False)} channels.")
    s.figure("reach", charts.reach_bars(reach, "Which channels did customers use?", n_all,
                                        weighted=w == "weighted"))
    s.table("reach", reach.assign(online=np.where(reach["online"], "online", "offline"))[
        ["channel", "online", "estimate", "ci_low", "ci_high", "n"]],
            f"Share of customers using each channel ({w}, 95% interval, base n)",
            percent=["estimate", "ci_low", "ci_high"])
    s.figure("repertoire", charts.repertoire_bars(dist, "How many channels does a customer use?", multi["n"],
                                                  f"Using two or more: {multi['estimate'] * 100:.1f}%",
                                                  weighted=w == "weighted"))
    s.table("combinations", combos, f"Most common channel combinations ({w} share, 95% interval)",
            percent=["estimate", "ci_low", "ci_high"])
    complete = df[list(usage.values())].notna().all(axis=1)
    indicators = df.loc[complete, list(usage.values())].astype(int).set_axis(list(usage), axis=1)
    s.figure("upset", charts.upset(indicators, design.weights[complete.to_numpy()],
                                   "Which channels are used together?", int(complete.sum()), top_combinations,
                                   weighted=w == "weighted"))
    s.results = {
        "multichannel_share": multi,
        "channels_per_customer": estimate(mean_k["estimate"], mean_k["ci_low"], mean_k["ci_high"], mean_k["n"]),
        "reach": reach.drop(columns="column").to_dict(orient="records"),
        "repertoire": dist.to_dict(orient="records"),
        "top_combinations": combos.to_dict(orient="records"),
    }
    return s


def stage_preferences(df: pd.DataFrame, cb: Codebook, design: Design | None = None) -> Section:
    """Section 2: preferred channel by journey stage (heatmap) and online vs in-store preference."""
    key, title = "stages", "Preferred channel by journey stage"
    if not stage_columns(df, cb):
        return _skip(key, title, "the codebook declares no journey-stage preference columns with channel "
                                    "codes (`channels.stages`, `channels.codes`) present in the data.")
    design = design or design_for(df, cb)
    s = Section(key, title, titled=True, intro=INTROS[key])
    shares = stage_shares(df, cb, design)
    matrix = shares.pivot(index="stage", columns="channel", values="estimate")
    matrix = matrix.loc[list(dict.fromkeys(shares["stage"])), list(dict.fromkeys(shares["channel"]))]
    n = int(shares["n"].min())
    s.figure("heatmap", charts.heatmap(matrix, "Which channel do customers prefer at each stage?", n,
                                       f"Cells: {weighting_word(cb)} % of customers preferring the channel; rows sum to 100."))
    wide = shares.assign(cell=[fmt_ci(e, lo, hi, digits=0) for e, lo, hi in
                               zip(shares["estimate"], shares["ci_low"], shares["ci_high"])])
    wide = wide.pivot(index="channel", columns="stage", values="cell").loc[matrix.columns, matrix.index]
    s.table("stage_shares", shares, shown=False)
    s.table("stage_table", wide.reset_index(), f"Preferred channel by stage: {weighting_word(cb)} % (95% interval)")
    s.results = {"stage_preferences": shares.to_dict(orient="records")}
    if "purchase" in set(shares["stage"]):
        top = shares[shares["stage"] == "purchase"].sort_values("estimate", ascending=False).iloc[0]
        s.results["purchase_leader"] = {"channel": top["channel"],
                                        **estimate(top["estimate"], top["ci_low"], top["ci_high"], top["n"])}
    if cb.channels.online:
        onl = online_preference(df, cb, design)
        s.figure("online", charts.online_share_bars(
            onl, "Do customers prefer online or in-store channels?", int(onl["n"].max()),
            f"Online channels: {', '.join(cb.channels.online)}. Dashed line: half.",
            weighted=weighting_word(cb) == "weighted"))
        s.table("online", onl, f"Share preferring an online channel ({weighting_word(cb)}, 95% interval)",
                percent=["estimate", "ci_low", "ci_high"])
        s.results["online_preference"] = onl.to_dict(orient="records")
    else:
        s.note("_The codebook does not say which channels are online (`channels.online`), so online vs "
               "in-store preference is not shown._")
    return s


def journey_map(df: pd.DataFrame, cb: Codebook, design: Design | None = None, alpha: float = 0.05,
                correction: str = "holm", min_base: int = 30, stages: Section | None = None) -> Section:
    """Section 3: the journey map — per stage × channel touchpoint the preferred-channel share, and
    CES / CSAT by channel of the last service interaction with pain points flagged. Pass the
    `stage_preferences` section as `stages` to reuse its shares instead of estimating them again."""
    key, title = "journey_map", "Journey map: where does the experience hurt?"
    ch = cb.channels
    scales = [n for n in SERVICE_SCALES if scale_score(df, cb, n) is not None]
    if not ch or not ch.last_interaction or ch.last_interaction not in df.columns or not ch.codes:
        return _skip(key, title, "the codebook declares no channel of the last service interaction "
                                    "(`channels.last_interaction` with `channels.codes`).")
    if not scales:
        return _skip(key, title, "the codebook declares no CES or CSAT scale (`scales.ces`, `scales.csat`) "
                                    "to rate the last service interaction.")
    design = design or design_for(df, cb)
    s = Section(key, title, titled=True, intro=INTROS[key])
    service = service_ratings(df, cb, design, alpha, correction, min_base, by_stage=False)
    if service.empty:
        return _skip(key, title, f"no channel of last service interaction has {min_base} or more rated "
                                    "interactions.")
    channel = relabel(df[ch.last_interaction], ch.codes)
    mix = interaction_mix(df, cb, design)
    usage = None
    if stage_columns(df, cb):
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
            lambda c, p=part: fmt_ci(p.at[c, "estimate"], p.at[c, "ci_low"], p.at[c, "ci_high"], percent=False, digits=2)
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


def drivers(df: pd.DataFrame, cb: Codebook, design: Design | None = None) -> Section:
    """Section 4: drivers of engagement and the published claims — each measured claim's weighted
    share (or ratio) with its 95% interval beside the published figure and a verdict; ranked factor
    charts for the multi-part claims; diverging bars for the rating items."""
    key, title = "drivers", "Drivers of engagement and the published claims"
    has_inputs = cb.claims or usage_columns(df, cb) or (cb.behaviour.orders and cb.behaviour.revenue) \
        or likert_items(df, cb)
    if not has_inputs:
        s = _skip(key, title, "the codebook declares no claims items (`claims`), channel usage, CRM "
                                 "behaviour (`behaviour`) or rating items for this section.")
        s.results["claims"] = []
        return s
    design = design or design_for(df, cb)
    s = Section(key, title, titled=True, intro=INTROS[key])
    claims = claim_estimates(df, cb, design)
    ratios = spend_ratios(df, cb, design)
    entries = [claim_entry(r.id, r.estimate, r.ci_low, r.ci_high, r.n, label=r.label, source=r.source)
               for r in claims.itertuples()]
    entries += [claim_entry(r.id, r.estimate, r.ci_low, r.ci_high, r.n, label=r.label, source=r.source,
                            unit="ratio") for r in ratios.itertuples()]
    if not len(claims) and not len(ratios):
        s.note("_No published claim can be tested with the columns this codebook declares._")
    for prefix, question in CLAIM_GROUPS.items():
        part = claims[claims["id"].str.startswith(prefix)].sort_values("estimate", ascending=False)
        if len(part):
            s.figure(f"claims_{prefix}", charts.claims_bars(
                part, question, int(part["n"].min()),
                f"Published: {CLAIMS_BY_ID[part['id'].iloc[0]].cited_to}.", weighted=weighting_word(cb) == "weighted"))
    single = claims[~claims["id"].str[:3].isin(list(CLAIM_GROUPS))]
    if len(single):
        s.figure("claims_other", charts.claims_bars(
            single.sort_values("id"), "Do the published figures hold for our customers?",
            int(single["n"].min()), weighted=weighting_word(cb) == "weighted"))
    cols = ["id", "label", "claimed_text", "estimate", "ci_low", "ci_high", "ci_low_adjusted", "ci_high_adjusted",
            "n", "verdict"]
    if len(claims):
        s.table("claims", claims[cols], f"Published claims beside our {weighting_word(cb)} estimates: 95% interval, "
                                        "and the Bonferroni-adjusted interval the verdict rests on",
                percent=["estimate", "ci_low", "ci_high", "ci_low_adjusted", "ci_high_adjusted"])
    if len(ratios):
        s.table("spend_ratios", ratios[cols],
                "Spend ratios from CRM-linked behaviour (ratio; 95% and adjusted intervals on the log scale)")
    if len(claims) or len(ratios):
        s.note(verdict_rule())
    dist = likert_distribution(df, cb, design)
    if len(dist):
        s.figure("likert", charts.diverging_likert(
            dist, "How do customers rate the statements?", int(dist["n"].min()),
            f"{weighting_word(cb).capitalize()} % per scale point, 1 = lowest (left) to highest (right); the midpoint straddles zero.",
            weighted=weighting_word(cb) == "weighted"))
    s.results = {"claims": entries, "likert": dist.to_dict(orient="records")}
    return s


def who_differs(df: pd.DataFrame, cb: Codebook, design: Design | None = None, alpha: float = 0.05,
                preference_stage: str = "purchase", correction: str = "holm") -> Section:
    """Section 5: channel use and preferred purchase channel by each segment column — weighted
    crosstabs with the Rao–Scott F test, Cramér's V and column-proportion letters."""
    key, title = "who_differs", "Who differs: channel use by customer segment"
    segs = [s for s in cb.segments if s.column in df.columns]
    if not segs:
        return _skip(key, title, "the codebook declares no segment columns (`segments`) present in the data.")
    if not usage_columns(df, cb) and preference_stage not in stage_columns(df, cb):
        return _skip(key, title, "the codebook declares no channel usage (`channels.usage`) or preferred "
                                    f"channel at the {preference_stage!r} stage to compare across segments.")
    design = design or design_for(df, cb)
    s = Section(key, title, titled=True, intro=INTROS[key])
    tests, tabs = segment_tests(df, cb, design, alpha, preference_stage, correction)
    usage = usage_columns(df, cb)
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
                    f"Channel use by {label.lower()}: {weighting_word(cb)} column % with column-proportion letters")
        pref_var = f"preferred {preference_stage} channel"
        if (seg.column, pref_var) in tabs:
            tab = tabs[(seg.column, pref_var)]
            s.table(f"banner_pref_{seg.column}", tab.banner().rename(columns={tab.row: pref_var}),
                    f"Preferred {preference_stage} channel by {label.lower()}: {weighting_word(cb)} column % with "
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

"""The draft's later steps (engagement.draft.draft_frame), on the columns the first steps
(engagement.drafting.roles) left: channel use, preferred channel per journey stage and the
last-interaction channel; segments (demographics first, never ratings); behaviour (orders, revenue);
persona features with the `columns` entries they need; and screening settings.
"""

from __future__ import annotations

import pandas as pd

from ..codebook import code_key
from .entries import _channel, _channel_codes, _cols, _label_text
from .facts import _is_number
from .state import DraftState
from .words import NO, ONLINE_CHANNELS, QUALTRICS_META, ROLE_WORDS, STAGES, YES, _match, _norm_text, _plain, tokens


def find_channels(ctx: DraftState) -> None:
    """Channel use (0/1 named by channel), preferred channel per stage, last interaction."""
    df, cols, facts, why, used = ctx.df, ctx.cols, ctx.facts, ctx.why, ctx.used
    usage, channels = ctx.usage, ctx.channels
    usage_why = []
    for c in cols:
        f = facts[c]
        if c in used or f.kind != "binary":
            continue
        text_tail = f.text.rsplit(" - ", 1)[-1] if f.text else ""
        ch = _channel(c, f.toks) or (text_tail and _channel(text_tail, tokens(text_tail)))
        if not ch or ch in usage:
            continue
        u = _match(ROLE_WORDS["use"], c, f.toks) or (f.text and _match(ROLE_WORDS["use"], f.text, tokens(f.text)))
        if u:
            usage[ch] = c
            usage_why.append(f"{c}: 0/1 and names {ch!r}")
    if len(usage) >= 2:
        for c in usage.values():
            ctx.take(c)
        channels["usage"] = usage
        why[("channels", "usage")] = "; ".join(usage_why[:4]) + ("; …" if len(usage_why) > 4 else "")
        channels["online"] = [ch for ch in usage if ch in ONLINE_CHANNELS]
        why[("channels", "online")] = "web, app, chat, e-mail, social and SMS count as online"
    stages: dict = {}
    for c in cols:
        f = facts[c]
        if c in used or f.kind not in ("coded", "categorical", "rating"):
            continue
        p = _match(ROLE_WORDS["pref"], c, f.toks)
        st = next((s for s, words in STAGES.items() if _match(words, c, f.toks)), None)
        if p and st and st not in stages:
            stages[st] = c
    last = next((c for c in cols if c not in used and facts[c].kind in ("coded", "categorical", "rating")
                 and _match(ROLE_WORDS["last"], c, facts[c].toks)
                 and ({"channel", "contact", "interaction"} & facts[c].toks or "채널" in c or "チャネル" in c)), None)
    if stages or last:
        stage_cols = [*stages.values(), *([last] if last else [])]
        codes, codes_why = _channel_codes(df, facts, stage_cols, ctx.value_labels, list(usage))
        if codes:
            if stages:
                channels["stages"] = stages
                why[("channels", "stages")] = (f"named as a preference ('pref') and a journey stage: "
                                               f"{', '.join(f'{s}={c}' for s, c in stages.items())}")
            channels["codes"] = codes
            why[("channels", "codes")] = codes_why
            if last:
                channels["last_interaction"] = last
                why[("channels", "last_interaction")] = "name has 'last' and 'channel': the channel rated by CES/CSAT"
            ctx.take(*stage_cols)
            if usage and set(codes.values()) - set(usage):
                channels["online"] = sorted({*channels.get("online", []),
                                             *[c for c in codes.values() if c in ONLINE_CHANNELS]})
            elif not usage:
                channels["online"] = [c for c in dict.fromkeys(codes.values()) if c in ONLINE_CHANNELS]
        else:
            ctx.notes.append(f"{', '.join(stage_cols)} look like preferred channels, but their codes could not be "
                             f"matched to channels: add `channels.stages` and `channels.codes` by hand")


def find_segments(ctx: DraftState) -> None:
    """Segments: demographics first, then other categories; never ratings."""
    df, facts, segments = ctx.df, ctx.facts, ctx.segments
    for demographic_pass in (True, False):
        for c in ctx.cols:
            f = facts[c]
            if c in ctx.used or f.kind not in ("categorical", "coded", "binary", "rating") or len(segments) >= 8:
                continue
            d = _match(ROLE_WORDS["demographic"], c, f.toks) or (f.text and _match(ROLE_WORDS["demographic"], f.text,
                                                                                     tokens(f.text)))
            if demographic_pass != bool(d):
                continue
            if not d and f.kind != "categorical":
                continue  # a rating or an unlabelled code is never a segment on its own
            if not d and {_norm_text(x) for x in f.levels} & (YES | NO):
                continue  # yes/no/"no internet service" answers describe a product, not a customer group
            levels = df[c].dropna()
            if levels.dtype == object:
                levels = levels[levels.astype(str).str.strip() != ""]
            levels = list(pd.unique(levels))
            if not 2 <= len(levels) <= 12:
                continue
            labs = ctx.value_labels.get(c, {})
            seg_labels = {}
            for lv in sorted(levels, key=lambda x: (not _is_number(x), float(x) if _is_number(x) else 0, str(x))):
                key = _plain(float(lv)) if _is_number(lv) and not isinstance(lv, str) else str(lv)
                text = labs.get(lv, labs.get(float(lv), None) if _is_number(lv) and not isinstance(lv, str) else None)
                seg_labels[key] = str(text) if text is not None else code_key(lv)
            segments.append({"column": c, "label": _label_text(c, f), "labels": seg_labels})
            ctx.why[("segments", len(segments) - 1)] = (
                (f"a demographic: name has {d!r}" if d else "text categories") +
                f"; {len(levels)} levels" + ("; labels from the file" if labs else ""))
            ctx.take(c)


def find_behaviour(ctx: DraftState) -> None:
    """Behaviour (CRM): orders and revenue."""
    for key in ("orders", "revenue"):
        for c in ctx.cols:
            if c in ctx.used or ctx.facts[c].kind not in ("count", "continuous", "coded"):
                continue
            w = _match(ROLE_WORDS[key], c, ctx.facts[c].toks)
            if w:
                ctx.behaviour[key] = c
                ctx.why[("behaviour", key)] = f"name has {w!r}; non-negative numbers"
                break


def find_persona_features(ctx: DraftState) -> None:
    """Persona features (channel use, remaining ratings as attitudes, behaviour) and the `columns`
    entries they, the drivers and recoded channel use need."""
    df, cols, facts, cb, why, used, usage = ctx.df, ctx.cols, ctx.facts, ctx.cb, ctx.why, ctx.used, ctx.usage
    columns = ctx.columns
    pf_binary = list(usage.values()) if len(usage) >= 2 else []
    pf_binary += [c for c in cols if c not in used and facts[c].kind == "binary" and facts[c].recode == {}
                  and c not in pf_binary][: max(0, 10 - len(pf_binary))]
    pf_ordinal = [c for c in cols if c not in used and facts[c].kind == "rating" and not facts[c].recode][:8]
    pf_cont = [c for c in cols if c not in used and facts[c].kind in ("count", "continuous")
               and c not in (cb.get("weight"), cb.get("duration"))][:6]
    if len(pf_binary) + len(pf_ordinal) + len(pf_cont) < 2:  # a survey of item blocks: one item per block
        firsts = [b["items"][0] for b in ctx.item_blocks] + [_cols(s)[0] for s in ctx.scales.values()]
        pf_ordinal = [c for c in dict.fromkeys(firsts) if facts[c].kind == "rating" and not facts[c].recode
                      and not facts[c].missing][:8]
    persona = {k: v for k, v in (("binary", pf_binary), ("ordinal", pf_ordinal), ("continuous", pf_cont)) if v}
    if sum(map(len, persona.values())) >= 2:
        why[("persona_features",)] = ("what customers do and think that no other role uses: "
                                      + ", ".join(f"{len(v)} {k}" for k, v in persona.items()))
        for c in pf_ordinal:
            lo, hi = facts[c].scale
            columns[c] = {"type": "int", "min": _plain(lo), "max": _plain(hi)}
            if facts[c].missing:
                columns[c]["missing"] = [_plain(m) if _is_number(m) else m for m in facts[c].missing]
            if facts[c].text:
                columns[c]["label"] = _label_text(c, facts[c])
            why[("columns", c)] = facts[c].scale_why
        for c in pf_cont:
            v = facts[c].values
            if df[c].dtype == object or (v.dropna() >= 0).all():
                columns[c] = {"type": "int" if facts[c].kind == "count" else "float"}
                if (v.dropna() >= 0).all():
                    columns[c]["min"] = 0
                why[("columns", c)] = "numbers" + (" (blank cells read as missing)" if df[c].dtype == object else "")
    else:
        persona = {}
    ctx.persona = persona
    for c in ctx.drivers:
        f = facts[c]
        columns[c] = {"type": "int", "min": _plain(f.scale[0]), "max": _plain(f.scale[1]),
                      "label": _label_text(c, f)}
        if f.missing:
            columns[c]["missing"] = [_plain(m) for m in f.missing]
        if f.recode:
            columns[c]["recode"] = dict(f.recode)
        why[("columns", c)] = f.scale_why
    for c in usage.values() if len(usage) >= 2 else []:
        if facts[c].recode:
            columns[c] = {"type": "int", "recode": dict(facts[c].recode)}
            why[("columns", c)] = "yes/no answers recoded to 1/0 for channel use"


def find_screening(ctx: DraftState) -> None:
    """Screening: duplicates on the answers only (Qualtrics); a CRM extract (id, no duration) is not
    a set of survey submissions."""
    cb, why = ctx.cb, ctx.why
    if ctx.fmt == "qualtrics":
        answer_cols = [c for c in ctx.cols if c in ctx.used and c not in ctx.pii and c != ctx.id_col
                       and c != cb.get("duration") and c not in QUALTRICS_META]
        if answer_cols:
            ctx.screening["duplicate_columns"] = answer_cols
            why[("screening", "duplicate_columns")] = ("duplicates are looked for on the answers only, never on "
                                                       "Qualtrics metadata (which makes every row unique)")
    elif ctx.id_col and "duration" not in cb and sum(f.kind == "rating" for f in ctx.facts.values()) <= 1:
        ctx.screening["check_duplicates"] = False
        why[("screening", "check_duplicates")] = ("an id on every row and no interview duration: looks like an "
                                                  "administrative extract, where identical profiles are different "
                                                  "customers")

"""The draft's first steps (engagement.draft.draft_frame): the respondent id; weight, duration,
personal data, Qualtrics metadata and attention checks; multi-item blocks; the CES, CSAT and NPS
scales; loyalty outcomes; key-driver ratings; and the remaining item blocks with their reversed
items. Each step reads and extends a `DraftState` and claims the columns it gives a role.
"""

from __future__ import annotations

import re

from .entries import (_block_entry, _ces_direction, _cols, _outcome_entry, _binary_value, _reversed_items,
                      _scale_entry)
from .state import DraftState
from .words import GENERIC_STEMS, LEFT_WORDS, PII_CJK, PII_TOKENS, NUMERIC_PII, QUALTRICS_META, ROLE_WORDS, _match, tokens


def find_id(ctx: DraftState) -> None:
    """The id: unique and complete on every row, named like an id (else a unique first column)."""
    df, cols, facts, cb, why, notes = ctx.df, ctx.cols, ctx.facts, ctx.cb, ctx.why, ctx.notes
    id_col, id_why = None, ""
    named = [c for c in cols if facts[c].unique and facts[c].complete
             and (facts[c].toks & {"id", "respondent", "responseid", "uuid", "key"} or c.lower().endswith("id")
                  or any(w in c for w in ("번호", "아이디", "ID", "番号")))]
    if named:
        id_col = named[0]
        id_why = f"unique on every row ({len(df):,} values) and named like an id"
    else:
        first = cols[0]
        ff = facts[first]
        if ff.unique and ff.complete and ff.kind in ("text", "count") and len(df) > 1 \
                and not (ff.kind == "count" and ff.values.max() <= 10):
            id_col, id_why = first, f"first column, unique on every row ({len(df):,} values)"
    if id_col:
        cb["id"] = id_col
        why[("id",)] = id_why
        ctx.take(id_col)
    else:
        notes.append("no column is unique on every row with an id-like name: no `id`, so ingest numbers the rows")
    for c in cols:  # near-ids named like ids are worth a warning: the old draft picked them
        if c != id_col and facts[c].toks & {"id"} and not facts[c].unique:
            notes.append(f"{c} looks like an id but repeats ({facts[c].n_distinct:,} distinct values in "
                         f"{len(df):,} rows): not used as the id")
    ctx.id_col = id_col


def find_admin_columns(ctx: DraftState) -> None:
    """Weight, duration, personal data, Qualtrics metadata and attention checks."""
    df, cols, facts, cb, why, notes, used = ctx.df, ctx.cols, ctx.facts, ctx.cb, ctx.why, ctx.notes, ctx.used
    for role, key in (("weight", "weight"), ("duration", "duration")):
        for c in cols:
            if c in used or facts[c].kind not in ("count", "continuous", "coded"):
                continue
            w = _match(ROLE_WORDS[role], c, facts[c].toks)
            if w and (facts[c].values.dropna() >= 0).all():
                cb[key] = c
                why[(key,)] = f"name has {w!r}; non-negative numbers"
                ctx.take(c)
                break
    pii = ctx.pii
    for c in cols:
        if c in used:
            continue
        f = facts[c]
        hit = sorted(f.toks & PII_TOKENS) or [w for w in PII_CJK if w in c]
        looks_email = f.kind == "text" and df[c].dropna().astype(str).head(200).str.contains(
            r"[^@\s]+@[^@\s]+\.[a-z]{2,}", case=False, regex=True).mean() > 0.2
        numeric_pii = f.kind in ("continuous", "count", "coded") and set(hit) & NUMERIC_PII and f.n_distinct > 20
        if (hit and f.kind in ("text", "categorical", "empty")) or numeric_pii or looks_email:
            pii.append(c)
            why[("pii", len(pii) - 1)] = (f"name has {hit[0]!r}" if hit else "values look like e-mail addresses") + \
                "; personal data is dropped before any notebook"
    if pii:
        cb["pii"] = pii
        ctx.take(*pii)
    meta = [c for c in cols if c in QUALTRICS_META and c not in used]
    ctx.take(*meta)
    if meta:
        notes.append(f"Qualtrics metadata left out of every role: {', '.join(meta)}")
    for c in cols:
        if c not in used and _match(ROLE_WORDS["attention"], c, facts[c].toks):
            notes.append(f"{c} looks like an attention check: add `attention_checks: [{{column: {c}, correct: …}}]`")
            ctx.take(c)


def find_blocks(ctx: DraftState) -> None:
    """Multi-item blocks: a common stem + item number, all ratings on one scale."""
    facts, used = ctx.facts, ctx.used
    blocks: dict[str, list[str]] = {}
    for c in ctx.cols:
        m = re.match(r"^(.+?)[\s_.-](\d{1,2})(r|rev|_r|_rev)?$", c, flags=re.I) \
            or re.match(r"^(.*[^\d_.\s-])(\d{1,2})(r|rev|_r|_rev)?$", c, flags=re.I)
        # Q1, Q2, V3: a question number, not an item number (Q5_1, Q5_2 are items of Q5)
        if m and facts[c].kind == "rating" and c not in used and m.group(1).lower() not in GENERIC_STEMS:
            blocks.setdefault(m.group(1), []).append(c)
    ctx.blocks = {k: v for k, v in blocks.items() if len(v) >= 2 and len({facts[c].scale for c in v}) == 1}
    ctx.block_of = {c: stem for stem, items in ctx.blocks.items() for c in items}


def _claim_scale(ctx: DraftState, role: str, use_text: bool) -> None:
    """Give `role` (ces, csat, nps) to the first block, else the first single rating, that looks like it."""
    facts, scales, why, used, taken_blocks = ctx.facts, ctx.scales, ctx.why, ctx.used, ctx.taken_blocks
    if role in scales:
        return
    for stem, items in ctx.blocks.items():
        if stem in taken_blocks:
            continue
        hit = _match(ROLE_WORDS[role], stem) and f"item stem {stem!r} has {_match(ROLE_WORDS[role], stem)!r}"
        if not hit and use_text:
            hit = ctx.role_hit(role, items[0], True)
        if hit:
            lo, hi = facts[items[0]].scale
            scales[role] = _scale_entry(role, facts, items, lo, hi)
            why[("scales", role)] = f"{hit}; {len(items)} items on one scale: {facts[items[0]].scale_why}"
            taken_blocks.add(stem)
            ctx.take(*items)
            return
    for c in ctx.cols:
        if c in used or facts[c].kind != "rating" or c in ctx.block_of:
            continue
        hit = ctx.role_hit(role, c, use_text)
        if hit:
            lo, hi = facts[c].scale
            why_scale = facts[c].scale_why
            if role == "nps":
                if hi != 10 or lo > 1:
                    continue
                if lo == 1:  # an NPS question is 0-10 even when nobody answered 0
                    lo, facts[c].scale = 0, (0, 10)
                    why_scale = facts[c].scale_why = "values 1-10 observed; scale 0-10, as NPS is asked"
            scales[role] = _scale_entry(role, facts, [c], lo, hi)
            why[("scales", role)] = f"{hit}; {why_scale}"
            ctx.take(c)
            return


def find_scales(ctx: DraftState) -> None:
    """CES, CSAT, NPS: single columns or blocks, by name first, then by question text."""
    scales, why = ctx.scales, ctx.why
    for use_text in (False, True):
        for role in ("nps", "ces", "csat"):
            _claim_scale(ctx, role, use_text)
    if "ces" in scales:  # direction: the original CES (1-5 "how much effort") is higher-is-worse
        ces_cols = _cols(scales["ces"])
        direction, reason = _ces_direction(ctx.df, ctx.facts, ces_cols,
                                           _cols(scales["csat"]) if "csat" in scales else [])
        scales["ces"]["higher_is_better"] = direction
        why[("scales", "ces", "higher_is_better")] = reason
    if "nps" in scales:
        c = _cols(scales["nps"])[0]
        ctx.outcomes.append(_outcome_entry("nps", c, "nps", ctx.facts[c]))
        why[("outcomes", 0)] = "likelihood to recommend (0-10) is a loyalty outcome (kind nps)"


def find_outcomes(ctx: DraftState) -> None:
    """Other loyalty outcomes: blocks (first item), then single columns."""
    facts, outcomes, why, used = ctx.facts, ctx.outcomes, ctx.why, ctx.used
    for stem, items in ctx.blocks.items():
        if stem in ctx.taken_blocks:
            continue
        w = _match(ROLE_WORDS["loyalty"], stem)
        if w:
            c = items[0]
            outcomes.append(_outcome_entry(c, c, "likert", facts[c]))
            why[("outcomes", len(outcomes) - 1)] = (f"item stem {stem!r} has {w!r}; an outcome is one column, so the "
                                                    f"first item of {', '.join(items)} (edit to choose another)")
            ctx.item_blocks.append(_block_entry(stem, items, facts, ctx.df))
            ctx.taken_blocks.add(stem)
            ctx.take(*items)
    for use_text in (False, True):
        for c in ctx.cols:
            f = facts[c]
            if c in used or f.kind not in ("rating", "binary", "count", "coded") or c in ctx.block_of:
                continue
            hit = ctx.role_hit("loyalty", c, use_text)
            if not hit or f.toks & {"member", "membership", "program", "programme", "card", "points"}:
                continue  # a loyalty programme is a behaviour, not loyalty
            if f.kind == "rating":
                entry = _outcome_entry(c, c, "likert", f)
                reason = f"{hit}; {f.scale_why}"
            elif f.kind == "binary":
                entry = _outcome_entry(c, c, "binary", f)
                left = _match(LEFT_WORDS, c, f.toks) or _match(LEFT_WORDS, f.text, tokens(f.text))
                pos_raw = _binary_value(f, loyal=not left)
                if pos_raw is not None:
                    entry["positive"] = pos_raw
                reason = (f"{hit}; two values" + (f"; {left!r} means the customer left, so the loyal value is "
                                                   f"{pos_raw!r}" if left else ""))
            elif f.kind == "count":
                entry = _outcome_entry(c, c, "count", f)
                reason = f"{hit}; non-negative whole numbers"
            else:
                continue
            outcomes.append(entry)
            why[("outcomes", len(outcomes) - 1)] = reason
            ctx.take(c)


def find_drivers(ctx: DraftState) -> None:
    """Key-driver ratings: named as drivers, one scale."""
    facts, drivers, block_of = ctx.facts, ctx.drivers, ctx.block_of
    for c in ctx.cols:
        f = facts[c]
        if c in ctx.used or f.kind != "rating":
            continue
        hit = ctx.role_hit("driver", c, False) or (block_of.get(c) and _match(ROLE_WORDS["driver"], block_of[c])
                                                    and f"item stem {block_of[c]!r}")
        if hit:
            drivers.append(c)
            ctx.take(c)
    if drivers:
        ctx.why[("drivers",)] = (f"{len(drivers)} ratings named as drivers (e.g. {drivers[0]!r}); the key-driver map "
                                 f"ranks them against the first loyalty outcome")
        for stem in {block_of[c] for c in drivers if c in block_of}:
            ctx.taken_blocks.add(stem)


def find_item_blocks(ctx: DraftState) -> None:
    """The remaining blocks are item blocks (reliability); multi-item scales are checked for reversed items."""
    df, facts, why, item_blocks = ctx.df, ctx.facts, ctx.why, ctx.item_blocks
    for stem, items in ctx.blocks.items():
        if stem in ctx.taken_blocks or any(c in ctx.used for c in items):
            continue
        item_blocks.append(_block_entry(stem, items, facts, df))
        ctx.taken_blocks.add(stem)
        ctx.take(*items)
    for i, b in enumerate(item_blocks):
        why[("item_blocks", i)] = b.pop("_why")
    for role, sc in ctx.scales.items():
        if sc.get("items"):
            rev = _reversed_items(df, facts, sc["items"])
            if rev:
                sc["reverse"] = [c for c, _ in rev]
                why[("scales", role, "reverse")] = "; ".join(f"{c} correlates {r:+.2f} with the rest" for c, r in rev)
                item_blocks.append({"name": role, "items": list(sc["items"]), "min": sc["min"], "max": sc["max"],
                                    "reverse": [c for c, _ in rev]})
                why[("item_blocks", len(item_blocks) - 1)] = f"the {role.upper()} items, checked for reliability"

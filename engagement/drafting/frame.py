"""`draft_frame`: a codebook drafted from a data frame already read, as a sequence of named steps
over one `DraftState` (engagement.drafting.state). Re-exported by engagement.draft.
"""

from __future__ import annotations

import pandas as pd

from . import profile, roles
from .facts import _sentinels, column_facts
from .render import Draft
from .state import DraftState
from .words import _language, _plain


def draft_frame(df: pd.DataFrame, name: str = "survey", value_labels: dict | None = None,
                question_text: dict | None = None, fmt: str = "csv") -> Draft:
    """Draft a codebook from a data frame already read (the heart of `draft_file`).

    Each step claims the columns it gives a role, so a later step sees only what is left: the id;
    weight, duration, personal data and metadata; item blocks; CES, CSAT and NPS; loyalty outcomes;
    key drivers; remaining item blocks; channels; segments; behaviour; persona features; screening."""
    ctx = _start(df, name, value_labels or {}, question_text or {}, fmt)
    _file_missing_codes(ctx)
    ctx.facts = {c: column_facts(c, ctx.df[c], ctx.question_text.get(c, ""), ctx.value_labels.get(c),
                                 ctx.missing_codes) for c in ctx.cols}
    for step in (roles.find_id, roles.find_admin_columns, roles.find_blocks, roles.find_scales,
                 roles.find_outcomes, roles.find_drivers, roles.find_item_blocks, profile.find_channels,
                 profile.find_segments, profile.find_behaviour, profile.find_persona_features,
                 profile.find_screening):
        step(ctx)
    return _finish(ctx)


def _start(df: pd.DataFrame, name: str, value_labels: dict, question_text: dict, fmt: str) -> DraftState:
    """The state of a new draft: column names as text, the survey's name and its language."""
    cols = [str(c) for c in df.columns]
    df = df.copy()
    df.columns = cols
    ctx = DraftState(df=df, cols=cols, value_labels=value_labels, question_text=question_text, fmt=fmt,
                     cb={"survey": {"name": name, "wave": ""}})
    lang = _language([*cols, *question_text.values(),
                      *[t for labs in value_labels.values() for t in labs.values()],
                      *[v for c in cols if df[c].dtype == object for v in df[c].dropna().astype(str).unique()[:20]]])
    if lang != "en":
        ctx.cb["survey"]["language"] = lang
        ctx.why[("survey", "language")] = f"{'Korean' if lang == 'ko' else 'Japanese'} script in the headers or answers"
    return ctx


def _file_missing_codes(ctx: DraftState) -> None:
    """File-wide missing codes: sentinels far outside every column's range."""
    df, cols = ctx.df, ctx.cols
    sentinel_cols: dict = {}
    for c in cols:
        num = pd.to_numeric(df[c], errors="coerce")
        if num.notna().sum() >= 0.95 * df[c].notna().sum() and num.notna().any():
            for code in _sentinels(num):
                sentinel_cols.setdefault(code, []).append(c)
    # a positive sentinel (99, 999) is file-wide only if no column holds it as a real value
    missing_codes = []
    for code, where in sorted(sentinel_cols.items()):
        real = [c for c in cols if c not in where
                and (pd.to_numeric(df[c], errors="coerce") == code).any()]
        if code < 0 or not real:
            missing_codes.append(code)
    if missing_codes:
        ctx.cb["missing_codes"] = [_plain(c) for c in missing_codes]
        shown = {code: sentinel_cols[code] for code in missing_codes}
        ctx.why[("missing_codes",)] = "; ".join(
            f"{_plain(code)} sits far outside the other values of {len(w)} column(s) ({', '.join(w[:3])}"
            f"{', …' if len(w) > 3 else ''})" for code, w in shown.items())
    ctx.missing_codes = missing_codes


def _finish(ctx: DraftState) -> Draft:
    """The sections found, in the codebook's order, and a note naming the columns given no role."""
    for key, value in (("scales", ctx.scales), ("item_blocks", ctx.item_blocks), ("outcomes", ctx.outcomes),
                       ("drivers", ctx.drivers), ("channels", ctx.channels), ("segments", ctx.segments),
                       ("persona_features", ctx.persona), ("behaviour", ctx.behaviour), ("columns", ctx.columns),
                       ("screening", ctx.screening)):
        if value:
            ctx.cb[key] = value
    persona = ctx.persona
    left = [c for c in ctx.cols if c not in ctx.used and c not in persona.get("ordinal", []) + persona.get("binary", [])
            + persona.get("continuous", []) and c not in ctx.behaviour.values()]
    if left:
        ctx.notes.append(f"given no role ({len(left)}): {', '.join(left[:15])}{', …' if len(left) > 15 else ''}")
    return Draft(codebook=ctx.cb, why=ctx.why, notes=ctx.notes)

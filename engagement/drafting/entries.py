"""Codebook entries the draft writes (engagement.draft): scales, outcomes and item blocks with their
reversed items, the CES direction, and the channel codes of preferred-channel columns.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .facts import Facts, _is_number
from .words import CHANNEL_WORDS, _match, _plain, tokens


def _clip(text: str, n: int = 60) -> str:
    t = re.sub(r"\s+", " ", str(text)).strip()
    return f'"{t[:n]}…"' if len(t) > n else f'"{t}"'



def _label_text(c: str, f: Facts) -> str:
    t = re.sub(r"\s+", " ", f.text).strip() if f.text else ""
    return (t[:117] + "…") if len(t) > 118 else (t or c)



def _cols(entry: dict) -> list[str]:
    return [entry["column"]] if entry.get("column") else list(entry.get("items") or [])



def _scale_entry(role: str, facts: dict, items: list[str], lo, hi) -> dict:
    f = facts[items[0]]
    entry: dict = {"column": items[0]} if len(items) == 1 else {"items": list(items)}
    entry.update({"min": _plain(lo), "max": _plain(hi), "higher_is_better": True})
    label = _label_text(items[0], f) if len(items) == 1 else f"{role.upper()} ({items[0]}-{items[-1]})"
    entry["label"] = f"{label} ({_plain(lo)}-{_plain(hi)})"
    _add_value_rules(entry, facts, items)
    return entry



def _outcome_entry(name: str, column: str, kind: str, f: Facts) -> dict:
    entry: dict = {"name": re.sub(r"\W+", "_", str(name)).strip("_") or "outcome", "column": column, "kind": kind}
    if kind in ("likert", "nps") and f.scale:
        entry["min"], entry["max"] = _plain(f.scale[0]), _plain(f.scale[1])
    entry["label"] = _label_text(column, f)
    if f.missing and kind in ("likert", "nps"):
        entry["missing"] = [_plain(m) if _is_number(m) else m for m in f.missing]
    if f.recode and kind in ("likert", "nps"):
        entry["recode"] = dict(f.recode)
    return entry



def _binary_value(f: Facts, loyal: bool):
    """The raw value of a binary column meaning yes (loyal=True) or no."""
    target = 1 if loyal else 0
    if f.recode:
        return next((k for k, v in f.recode.items() if v == target), None)
    return target



def _block_entry(stem: str, items: list[str], facts: dict, df: pd.DataFrame) -> dict:
    lo, hi = facts[items[0]].scale
    entry = {"name": re.sub(r"\W+", "_", stem).strip("_") or "block", "items": list(items), "min": _plain(lo),
             "max": _plain(hi)}
    reasons = [f"{len(items)} items with stem {stem!r} on one scale: {facts[items[0]].scale_why}"]
    rev = _reversed_items(df, facts, items)
    if rev:
        entry["reverse"] = [c for c, _ in rev]
        reasons.append("reversed: " + ", ".join(f"{c} (r = {r:+.2f} with the rest)" for c, r in rev))
    _add_value_rules(entry, facts, items)
    entry["_why"] = "; ".join(reasons)
    return entry



def _reversed_items(df: pd.DataFrame, facts: dict, items: list[str]) -> list[tuple[str, float]]:
    """Negatively worded items of a block: those loading against the majority on the first principal
    component of the item correlations. Returns (item, correlation with the mean of the other items,
    those others turned the majority's way)."""
    if len(items) < 3:
        return []
    X = pd.DataFrame({c: facts[c].values for c in items}).astype(float)
    R = X.corr(min_periods=10).fillna(0).to_numpy()
    if not np.isfinite(R).all():
        return []
    vals, vecs = np.linalg.eigh(R)
    v = vecs[:, -1]
    if (v > 0).sum() < (v < 0).sum() or ((v > 0).sum() == (v < 0).sum() and v.sum() < 0):
        v = -v
    sign = np.where(v < 0, -1.0, 1.0)
    out = []
    for i, c in enumerate(items):
        if sign[i] > 0:
            continue
        rest = (X.drop(columns=c) * np.delete(sign, i)).mean(axis=1)
        ok = X[c].notna() & rest.notna()
        if ok.sum() < 10 or X[c][ok].std() == 0 or rest[ok].std() == 0:
            continue
        r = float(np.corrcoef(X[c][ok], rest[ok])[0, 1])
        if r < -0.1:
            out.append((c, r))
    return out



def _ces_direction(df: pd.DataFrame, facts: dict, ces_cols: list[str], csat_cols: list[str]) -> tuple[bool, str]:
    ces = pd.DataFrame({c: facts[c].values for c in ces_cols}).mean(axis=1)
    text = " ".join(f"{c} {facts[c].text}" for c in ces_cols).lower()
    if csat_cols:
        sat = pd.DataFrame({c: facts[c].values for c in csat_cols}).mean(axis=1)
        ok = ces.notna() & sat.notna()
        if ok.sum() >= 10 and ces[ok].std() > 0 and sat[ok].std() > 0:
            r = float(np.corrcoef(ces[ok], sat[ok])[0, 1])
            if r < -0.05:
                return False, f"correlates {r:+.2f} with CSAT: higher means more effort (original CES), reversed"
            if r > 0.05:
                return True, f"correlates {r:+.2f} with CSAT: higher means easier (CES 2.0)"
    if "how much effort" in text or "노력" in text or "労力" in text:
        return False, "question asks how much effort: higher is worse (original CES); CHECK"
    return True, "assumed higher = easier (CES 2.0 agreement); CHECK the direction"



def _channel(name: str, toks: set[str]) -> str | None:
    return next((ch for ch, words in CHANNEL_WORDS.items() if _match(words, name, toks)), None)



def _channel_codes(df, facts, stage_cols, value_labels, usage_order) -> tuple[dict, str]:
    """code -> channel name for the preference columns, from value labels, answer texts, or (failing
    those) the order of the channel-use columns."""
    labels = {}
    for c in stage_cols:
        labels.update(value_labels.get(c, {}))
    if labels:
        codes = {}
        for k, text in labels.items():
            ch = _channel(str(text), tokens(str(text))) or re.sub(r"\W+", "_", str(text)).strip("_").lower()
            codes[_plain(k)] = ch
        return codes, "from the value labels in the file"
    values = pd.unique(pd.concat([df[c].dropna() for c in stage_cols]))
    if all(isinstance(v, str) for v in values):
        codes = {}
        for v in values:
            ch = _channel(v, tokens(v))
            if ch is None:
                return {}, ""
            codes[v] = ch
        return dict(sorted(codes.items())), "answer texts name the channels"
    nums = sorted({_plain(v) for v in values if _is_number(v)})
    if usage_order and len(nums) <= len(usage_order) and all(isinstance(v, int) and 1 <= v <= len(usage_order)
                                                              for v in nums):
        return ({i + 1: ch for i, ch in enumerate(usage_order)},
                f"codes 1-{len(usage_order)} assumed to follow the order of the channel-use columns; CHECK "
                f"against the questionnaire")
    return {}, ""


def _add_value_rules(entry: dict, facts, items) -> None:
    """The missing codes and text recodes found in `items`, on the codebook entry that names them."""
    miss = sorted({m for c in items for m in facts[c].missing}, key=str)
    if miss:
        entry["missing"] = [_plain(m) if _is_number(m) else m for m in miss]
    rec = {k: v for c in items for k, v in facts[c].recode.items()}
    if rec:
        entry["recode"] = rec

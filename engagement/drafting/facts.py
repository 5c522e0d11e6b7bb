"""What the codebook draft learns about a file and each column (engagement.draft): the encoding
(`detect_encoding`), question text and SPSS user-missing values, and per column its `Facts` (kind,
rating scale, answer-text recodes, sentinel missing codes) from `column_facts`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..codebook import Codebook
from .words import (NA_TEXT, NO, SCALE_TYPES, SENTINELS, YES, _ANSWER_SCALES, _norm_text, _num_label, _plain,
                    tokens)


def detect_encoding(path: Path) -> tuple[str, str]:
    """(encoding, evidence) of a text export: UTF-8 if it decodes, else CP949 or Shift-JIS by which
    gives more Korean or Japanese letters."""
    import gzip

    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except OSError:
            return "utf-8", "not gzip-compressed text: assumed UTF-8"
    raw = raw[:2_000_000]
    try:
        raw.decode("utf-8")
        return "utf-8", "decodes as UTF-8"
    except UnicodeDecodeError:
        pass
    scores = {}
    for enc in ("cp949", "shift_jis"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        scores[enc] = _script_score(text, enc)
    if not scores:
        return "utf-8", "decodes as none of UTF-8, CP949 or Shift-JIS: set `encoding` by hand"
    best = max(scores, key=scores.get)
    script = "Korean" if best == "cp949" else "Japanese"
    others = "; ".join(f"{e} scores {v}" for e, v in scores.items() if e != best)
    return best, (f"not UTF-8; decodes as {best} with {scores[best]} more common {script} letters than rare ones"
                  + (f" ({others})" if others else ""))



def _script_score(text: str, enc: str) -> int:
    """How much a decoding looks like real text: each double-byte encoding decodes the other's bytes
    into rare letters (Shift-JIS read as CP949 gives extended Hangul; CP949 read as Shift-JIS gives
    half-width katakana), so common letters count for it and rare ones against it."""
    if enc == "cp949":
        hangul = re.findall(r"[\uac00-\ud7a3]", text)
        common = sum(1 for ch in hangul if _common_hangul(ch))
        return common - (len(hangul) - common)
    full = len(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]", text))
    half = len(re.findall(r"[\uff61-\uff9f]", text))
    return full - half



def _common_hangul(ch: str) -> bool:
    """One of the 2,350 syllables of KS X 1001 (two bytes in EUC-KR; Python spells the others as 8-byte
    jamo sequences)."""
    try:
        return len(ch.encode("euc_kr")) == 2
    except UnicodeEncodeError:
        return False



def _stub_codebook(encoding: str) -> Codebook:
    return Codebook.model_validate({"encoding": encoding})



def _question_text(path: Path, fmt: str, encoding: str) -> tuple[dict[str, str], dict]:
    """Question text per column (Qualtrics header row 2, SPSS variable labels) and SPSS user-missing."""
    from ..ingest import _python_encoding

    if fmt == "qualtrics":
        try:
            row = pd.read_csv(path, encoding=_python_encoding(encoding), nrows=1, dtype=str)
        except Exception:  # the text row is evidence only; reading problems surface in read_raw
            return {}, {}
        row.columns = [str(c).strip() for c in row.columns]
        return {c: str(row[c].iloc[0]) for c in row.columns if pd.notna(row[c].iloc[0])}, {}
    if fmt == "spss":
        import pyreadstat

        try:
            _, meta = pyreadstat.read_sav(str(path), metadataonly=True, user_missing=True)
        except Exception:
            return {}, {}
        texts = {c: str(lab) for c, lab in meta.column_names_to_labels.items() if lab}
        return texts, dict(getattr(meta, "missing_user_values", {}) or {})
    return {}, {}



@dataclass
class Facts:
    """What the values of one column say."""

    name: str
    toks: set[str]
    text: str = ""
    #: empty, binary, rating, count, continuous, categorical, text
    kind: str = "text"
    values: pd.Series | None = None  # numeric values after recode and missing codes
    levels: list = field(default_factory=list)  # distinct raw values (categorical, binary)
    scale: tuple[float, float] | None = None
    scale_why: str = ""
    missing: list = field(default_factory=list)  # per-column missing codes (0 = N/A)
    recode: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)  # value labels from the file (SPSS)
    unique: bool = False
    complete: bool = False
    n_distinct: int = 0



def _answer_recode(levels: list) -> tuple[dict, str] | None:
    """Map answer texts to codes when every level is a point of one known answer scale."""
    norm = {lv: _norm_text(lv) for lv in levels}
    texts = {t for t in norm.values() if t not in NA_TEXT}
    if not texts:
        return None
    for key, points in _ANSWER_SCALES.items():
        lookup = {t: i + 1 for i, alts in enumerate(points) for t in alts}
        if texts <= set(lookup):
            return {lv: lookup[t] for lv, t in norm.items() if t in lookup}, key.split("_")[0]
    # "0 - Not at all likely", "10 - Extremely likely", "7": a leading number is the code
    lead = {lv: re.match(r"^\s*(\d{1,2})(\s*[-–:.]\s*\S.*)?$", str(lv)) for lv in levels}
    if all(m for lv, m in lead.items() if norm[lv] not in NA_TEXT) and any(m and m.group(2) for m in lead.values()):
        # only the labelled end points need a recode; plain numbers are read as numbers
        return {lv: int(m.group(1)) for lv, m in lead.items() if m}, "numbered"
    return None



def _sentinels(num: pd.Series) -> list:
    """Sentinel codes of a numeric column: a listed value far outside the range of the rest."""
    vals = num.dropna()
    found = []
    for code in SENTINELS:
        hit = vals == code
        if not hit.any() or hit.all():
            continue
        rest = vals[~vals.isin(SENTINELS)]
        if not len(rest):
            continue
        if code < 0 and rest.min() >= 0:
            found.append(code)
        elif code > 0 and rest.max() < code / 2 and rest.min() >= 0:
            found.append(code)
    return found



def _rating_type(vals: pd.Series, labels: dict) -> tuple[tuple[float, float], list, str] | None:
    """(scale range, per-column missing codes, evidence) when the values fit a recognised scale type."""
    v = vals.dropna()
    if not len(v) or not (v % 1 == 0).all():
        return None
    distinct = sorted(v.unique())
    lo, hi = float(distinct[0]), float(distinct[-1])
    if len(distinct) < 3 or hi > 10 or lo < 0:
        return None
    if labels:
        codes = sorted(float(k) for k in labels if _is_number(k) and float(k) >= 0)
        if len(codes) >= 3 and codes[0] <= lo and codes[-1] >= hi:
            return (codes[0], codes[-1]), [], f"value labels run {_num_label(codes[0], codes[-1])}"
    if lo == 0 and hi <= 5 and hi >= 4:
        zero = float((v == 0).mean())
        return (1, 5), [0], (f"values 0-{_plain(hi)}: read as a 1-5 scale with 0 = not applicable "
                             f"({zero:.0%} answered 0); if 0 is a real answer, set min: 0 and drop `missing`")
    for a, b in SCALE_TYPES:
        if (a, b) == (0, 10) and lo >= 1 and hi > 7:
            continue  # no 0 answered: a 1-10 scale (NPS is read as 0-10 by its name)
        if lo >= a and hi <= b:
            if (a, b) == (1, 10) and lo >= 1:
                note = "no 0 observed, so 1-10 rather than 0-10"
            else:
                note = "the smallest recognised scale holding them"
            return (a, b), [], f"values {_num_label(lo, hi)} observed; scale {a}-{b} ({note})"
    return None



def _is_number(x) -> bool:
    try:
        float(x)
        return True
    except (TypeError, ValueError):
        return False



def column_facts(name: str, s: pd.Series, text: str = "", labels: dict | None = None,
                 missing_codes: list | None = None) -> Facts:
    """Classify one column by its values (after the file's missing codes)."""
    f = Facts(name=name, toks=tokens(name), text=text or "", labels=dict(labels or {}))
    nonnull = s.dropna()
    if s.dtype == object:
        nonnull = nonnull[nonnull.astype(str).str.strip() != ""]
    f.unique = bool(s.is_unique)
    f.complete = bool(s.notna().all())
    f.n_distinct = int(nonnull.nunique())
    if not len(nonnull):
        f.kind = "empty"
        return f
    num = pd.to_numeric(s, errors="coerce")
    numeric_share = num.notna().sum() / len(nonnull)
    if s.dtype == bool:
        num, numeric_share = s.astype(float), 1.0
    if numeric_share < 0.95:
        levels = list(pd.unique(nonnull))
        f.levels = levels
        rec = _answer_recode(levels) if len(levels) <= 12 else None
        low = {lv: _norm_text(lv) for lv in levels}
        if rec:
            f.recode = {str(k): v for k, v in rec[0].items()}
            as_number = {k: v for k, v in f.recode.items() if _is_number(k)}
            num = s.map(lambda x: f.recode.get(str(x)) if pd.notna(x) else np.nan).astype(float)
            f.missing = sorted(str(lv) for lv in levels if low[lv] in NA_TEXT)
            f.values = num
            f.recode = dict(sorted(((k, v) for k, v in f.recode.items() if k not in as_number), key=lambda kv: kv[1]))
            scale_name = rec[1]
            r = _rating_type(num, {})
            if r and scale_name != "numbered" and max(f.recode.values()) <= 5:
                r = ((1, 5), [], r[2])
            if r:
                f.kind, f.scale = "rating", r[0]
                f.scale_why = f"answer texts of a{'n' if scale_name[0] in 'aeiou' else ''} {scale_name} scale, recoded {r[0][0]:g}-{r[0][1]:g}"
                return f
        yes_no = {lv for lv in levels if low[lv] in YES | NO}
        if len(levels) == 2 and len(yes_no) == 2:
            f.kind = "binary"
            f.recode = {str(lv): (1 if low[lv] in YES else 0) for lv in levels}
            f.values = s.map(lambda x: f.recode.get(str(x)) if pd.notna(x) else np.nan).astype(float)
            return f
        f.kind = "categorical" if len(levels) <= 12 else "text"
        return f
    codes = [c for c in (missing_codes or []) if c in set(num.dropna().unique())]
    num = num.where(~num.isin(codes))
    f.values = num
    v = num.dropna()
    if not len(v):
        f.kind = "empty"
        return f
    distinct = sorted(v.unique())
    f.n_distinct = len(distinct)
    f.levels = distinct
    if len(distinct) <= 2 and set(distinct) <= {0, 1}:
        f.kind = "binary"
        return f
    r = _rating_type(v, f.labels)
    if r and not (f.labels and not _scale_like_labels(f.labels)):
        f.kind, f.scale, f.missing, f.scale_why = "rating", r[0], r[1], r[2]
        return f
    if len(distinct) <= 12 and (v % 1 == 0).all() and (f.labels or len(distinct) == 2):
        f.kind = "categorical"
        return f
    integer = bool((v % 1 == 0).all())
    f.kind = "count" if integer and v.min() >= 0 else "continuous"
    if len(distinct) <= 12 and integer:
        f.kind = "coded"  # a few integer codes without labels: a category or a short rating, by name
    return f



def _scale_like_labels(labels: dict) -> bool:
    texts = " ".join(_norm_text(t) for t in labels.values())
    known = {t for pts in _ANSWER_SCALES.values() for alts in pts for t in alts}
    return any(t in texts for t in known) or bool(re.search(r"\d", texts))

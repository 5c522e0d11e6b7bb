"""The value rules of ingest (engagement.ingest): missing codes and recodes (`apply_value_rules`),
`validate` (ids, ranges, allowed codes, sentinels, each error naming the column and first bad row),
and reverse-keyed items (`reverse_items`, `item_direction_warnings`). Re-exported by engagement.ingest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .codebook import Codebook, code_key
from .errors import InputError


# ---- values --------------------------------------------------------------------------------------

def _first_bad(mask) -> int:
    """1-based data row of the first True in mask."""
    return int(np.flatnonzero(np.asarray(mask))[0]) + 1


def _numeric(df: pd.DataFrame, col: str, path: Path, what: str) -> pd.Series:
    s = df[col]
    if s.dtype == bool:
        return s.astype(int)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float) if s.dtype == object else s
    num = pd.to_numeric(s, errors="coerce")
    failed = num.isna() & s.notna()
    if failed.any():
        # blanks were made missing already; anything else that failed is a value we cannot read
        row = _first_bad(failed)
        raise InputError(path, f"{what}, found {_short(s.iloc[row - 1])}", column=col, row=row)
    return num


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _check_range(num: pd.Series, col: str, path: Path, lo, hi, what: str) -> None:
    if lo is None and hi is None:
        return
    vmin, vmax = num.min(), num.max()  # NaN-skipping reductions: cheap, and only on failure a row scan
    if not ((lo is not None and vmin < lo) or (hi is not None and vmax > hi)):
        return
    bad = pd.Series(False, index=num.index)
    if lo is not None:
        bad |= num < lo
    if hi is not None:
        bad |= num > hi
    row = _first_bad(bad)
    raise InputError(path, f"{what} in [{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}], "
                           f"found {num.iloc[row - 1]:g}", column=col, row=row)


def _distinct(s: pd.Series) -> np.ndarray:
    return pd.unique(s.dropna().to_numpy())


def _check_codes(s: pd.Series, col: str, path: Path, allowed, what: str) -> None:
    """Every answer one of the allowed codes; compared on distinct values (code_key once per value)."""
    allowed_set = {code_key(a) for a in allowed}
    bad = [v for v in _distinct(s) if code_key(v) not in allowed_set]
    if bad:
        row = _first_bad(s.isin(bad).to_numpy())
        shown = ", ".join(str(a) for a in list(allowed)[:12])
        raise InputError(path, f"{what} one of [{shown}], found {_short(s.iloc[row - 1])}", column=col, row=row)


def apply_value_rules(df: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """Blank strings -> missing; declared recodes (text -> code, trimmed and case-folded); declared
    missing codes (`missing_codes`, per-entry `missing`) -> missing. Worked out on distinct values."""
    for col, (missing, recode) in cb.value_rules().items():
        if col not in df.columns or col == cb.id_column:
            continue
        s = df[col]
        if s.dtype == object:
            uniq = _distinct(s)
            mapping = {}
            for v in uniq:
                new = v
                if isinstance(v, str):
                    text = v.strip()
                    new = recode.get(text.casefold(), text) if text else np.nan
                mapping[v] = new
            if any(mapping[k] is not k for k in mapping):
                s = s.map(mapping)
                s = s.infer_objects()
                if s.dtype == object:  # numbers as text after a recode ("5", 4) become numbers when all are
                    num = pd.to_numeric(s, errors="coerce")
                    if not (num.isna() & s.notna()).any():
                        s = num
        if missing:
            keys = {code_key(m) for m in missing}
            hit = [v for v in _distinct(s) if code_key(v) in keys]
            if hit:
                s = s.mask(s.isin(hit))
        df[col] = s
    return df


#: values that survey tools use as "no answer" codes, at the edge of a column of counts or ratings
_HIGH_SENTINELS = (99, 999, 9999)
_LOW_SENTINELS = (-1, -9, -99, -999)


def _check_sentinels(num: pd.Series, col: str, path: Path, lo_declared: bool, hi_declared: bool) -> None:
    """An undeclared 99/999/-1/-99 at the edge of an otherwise non-negative integer column is almost
    surely a missing-value code; counting it as a number gives silently wrong means."""
    vals = _distinct(num)
    if len(vals) < 2 or not np.all(np.mod(vals, 1) == 0):
        return
    vals = np.sort(vals.astype(float))
    found = None
    if not hi_declared and vals[-1] in _HIGH_SENTINELS:
        rest = vals[vals < vals[-1]]
        if rest.min() >= 0 and rest.max() < vals[-1] / 2:
            found = vals[-1]
    if found is None and not lo_declared and vals[0] in _LOW_SENTINELS:
        rest = vals[vals > vals[0]]
        if rest.min() >= 0:
            found = vals[0]
    if found is None:
        return
    rows = num == found
    raise InputError(path, f"no undeclared missing-value code, found {found:g} ({int(rows.sum())} rows) at the edge "
                           f"of a column of counts or ratings: declare it under `missing_codes` or the entry's "
                           f"`missing` if it means no answer, or a `min`/`max` that includes it if it is real",
                     column=col, row=_first_bad(rows.to_numpy()))


def validate(df: pd.DataFrame, cb: Codebook, path: Path) -> pd.DataFrame:
    """Check columns, types, ranges and codes; return the data with numeric columns coerced."""
    df = df.copy()
    refs = cb.referenced_columns()
    missing = [c for c in refs if c not in df.columns]
    if missing:
        col = missing[0]
        raise InputError(path, f"column declared at codebook key {refs[col]} to be present in the data", column=col)
    if df.empty:
        raise InputError(path, "at least one data row")

    if cb.id is None:  # no id in the file: number the rows (1-based, file order)
        df.insert(0, cb.id_column, np.arange(1, len(df) + 1))
    ids = df[cb.id_column]
    if ids.isna().any():
        raise InputError(path, "a respondent id on every row", column=cb.id_column, row=_first_bad(ids.isna()))
    dup = ids.duplicated()
    if dup.any():
        row = _first_bad(dup.to_numpy())
        first = _first_bad((ids == ids.iloc[row - 1]).to_numpy())
        raise InputError(path, f"a unique respondent id on every row, found {_short(ids.iloc[row - 1], 40)} again "
                               f"(first on row {first})", column=cb.id_column, row=row)

    # columns whose range the codebook states, so that no sentinel guess is needed
    bounded_lo: set[str] = set()
    bounded_hi: set[str] = set()
    coded: set[str] = {cb.id_column}
    numbers: set[str] = set()

    def numeric(col, what="a number"):
        df[col] = _numeric(df, col, path, what)
        numbers.add(col)
        return df[col]

    if cb.weight:
        w = numeric(cb.weight, "a positive weight")
        coded.add(cb.weight)
        if w.isna().any() or (w <= 0).any():
            raise InputError(path, "a positive weight on every row", column=cb.weight, row=_first_bad(w.isna() | (w <= 0)))
    if cb.duration:
        _check_range(numeric(cb.duration, "a duration in seconds"), cb.duration, path, 0, None, "a duration")
        bounded_lo.add(cb.duration)
    for name, sc in cb.scales.items():
        for col in sc.columns:
            _check_range(numeric(col, f"a {name} rating"), col, path, sc.min, sc.max, f"a {name} rating")
            bounded_lo.add(col), bounded_hi.add(col)
    for block in cb.item_blocks:
        for col in block.items:
            _check_range(numeric(col), col, path, block.min, block.max, f"an item of {block.name}")
            bounded_lo.add(col), bounded_hi.add(col)
    for o in cb.outcomes:
        if o.kind == "binary":
            if o.positive is None:
                _check_codes(df[o.column], o.column, path, [0, 1], f"outcome {o.name}:")
                numeric(o.column)
            coded.add(o.column)
            continue
        num = numeric(o.column, f"outcome {o.name}: a number")
        lo = o.min if o.min is not None else (0 if o.kind == "count" else None)
        _check_range(num, o.column, path, lo, o.max, f"outcome {o.name}: a value")
        if o.min is not None:
            bounded_lo.add(o.column)
        if o.max is not None:
            bounded_hi.add(o.column)
    if cb.channels:
        for ch, col in cb.channels.usage.items():
            _check_codes(df[col], col, path, [0, 1], f"channel use ({ch}):")
            numeric(col)
            coded.add(col)
        codes = list(cb.channels.codes)
        for col in [*cb.channels.stages.values(), cb.channels.last_interaction]:
            if col and codes:
                _check_codes(df[col], col, path, codes, "a channel code:")
                coded.add(col)
        if cb.channels.cross_channel_purchase:
            _check_codes(df[cb.channels.cross_channel_purchase], cb.channels.cross_channel_purchase, path, [0, 1], "")
            coded.add(cb.channels.cross_channel_purchase)
    for seg in cb.segments:
        if seg.labels:
            _check_codes(df[seg.column], seg.column, path, list(seg.labels), f"a {seg.label or seg.column} code:")
            coded.add(seg.column)
    for var, shares in cb.margins.items():
        _check_codes(df[var], var, path, list(shares), "a level listed in the codebook's margins:")
        coded.add(var)
        if df[var].isna().any():
            raise InputError(path, "a value on every row (raking variable)", column=var, row=_first_bad(df[var].isna()))
    for chk in cb.attention_checks:
        coded.add(chk.column)
    for col, spec in cb.columns.items():
        if col not in df.columns:
            continue
        if spec.allowed is not None:
            _check_codes(df[col], col, path, spec.allowed, "")
            coded.add(col)
        if spec.type in ("int", "float"):
            num = numeric(col, "an integer" if spec.type == "int" else "a number")
            if spec.type == "int":
                frac = num.notna() & (num != np.floor(num))
                if frac.any():
                    raise InputError(path, f"an integer, found {num[frac].iloc[0]:g}", column=col, row=_first_bad(frac))
            _check_range(num, col, path, spec.min, spec.max, "a value")
            if spec.min is not None:
                bounded_lo.add(col)
            if spec.max is not None:
                bounded_hi.add(col)
    for col in [c for c in cb.behaviour.model_dump().values() if c]:
        if col in df.columns and col not in numbers and pd.api.types.is_numeric_dtype(df[col]):
            numbers.add(col)
    for col in df.columns:
        if col in coded or col in numbers or not pd.api.types.is_numeric_dtype(df[col]) or df[col].dtype == bool:
            continue
        numbers.add(col)  # drivers, controls, persona features, claims items read as numbers
    for col in sorted(numbers - coded, key=list(df.columns).index):
        if not (col in bounded_lo and col in bounded_hi):
            _check_sentinels(df[col], col, path, col in bounded_lo, col in bounded_hi)
    return df


# ---- reverse-keyed items -------------------------------------------------------------------------

def reverse_items(df: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    for col, (lo, hi) in cb.reversed_items().items():
        df[col] = lo + hi - df[col]
    return df


def item_direction_warnings(df: pd.DataFrame, cb: Codebook) -> list[str]:
    """Items that correlate negatively with the mean of the rest of their block (after reversal):
    probably reverse-worded and not (or wrongly) declared under `reverse`."""
    out = []
    blocks = [(f"scales.{n}", sc.columns, set(sc.reverse)) for n, sc in cb.scales.items() if len(sc.columns) > 1]
    blocks += [(f"item_blocks.{b.name}", b.items, set(b.reverse)) for b in cb.item_blocks]
    for where, items, reversed_ in blocks:
        x = df[items].astype(float)
        for item in items:
            rest = x.drop(columns=item).mean(axis=1)
            r = x[item].corr(rest)
            if r == r and r < 0:
                fix = "check its entry under `reverse`" if item in reversed_ else "add it to the entry's `reverse`"
                out.append(f"{where}: item {item!r} correlates negatively with the rest of its block (r = {r:.2f}); "
                           f"if it is worded the other way round, {fix}")
    return out

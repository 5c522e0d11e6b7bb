"""Read a survey export and validate it against its codebook.

Formats: CSV (UTF-8, UTF-8 with BOM, CP949, Shift-JIS, or whatever the codebook's `encoding` says),
Qualtrics CSV exports (three header rows: column ids, question text, ImportId JSON), SPSS `.sav`
(pyreadstat; codes are kept and value labels returned), Excel `.xlsx` and Parquet.

Validation is all-or-nothing: the first violation raises InputError naming the file, the column, the
first offending data row (1-based, as a spreadsheet user counts data rows) and what was expected.
PII columns are dropped here, before any notebook can display them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .codebook import Codebook, code_key
from .errors import InputError

_ENCODING_FALLBACKS = ["utf-8-sig", "cp949", "shift_jis"]


@dataclass
class Survey:
    """A validated survey: data (PII already dropped), its codebook and what ingest learned."""

    data: pd.DataFrame
    codebook: Codebook
    path: Path
    format: str
    value_labels: dict = field(default_factory=dict)
    dropped_pii: list[str] = field(default_factory=list)
    #: one engagement.sources.JoinReport per extract joined to the survey
    joins: list = field(default_factory=list)


def detect_format(path: Path, codebook: Codebook) -> str:
    if codebook.format != "auto":
        return codebook.format
    suffix = path.suffix.lower()
    if suffix in (".sav", ".zsav"):
        return "spss"
    if suffix in (".xlsx", ".xlsm"):
        return "excel"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt", ".tsv"):
        return "qualtrics" if _looks_like_qualtrics(path, codebook.encoding) else "csv"
    raise InputError(path, "a .csv, .sav, .xlsx or .parquet file (unknown file type)")


def _looks_like_qualtrics(path: Path, encoding: str) -> bool:
    """Qualtrics exports have an ImportId JSON row as the third line."""
    try:
        with open(path, encoding=_python_encoding(encoding), errors="replace") as fh:
            lines = [fh.readline() for _ in range(3)]
    except OSError:
        return False
    return '"ImportId"' in lines[2] or '{""ImportId""' in lines[2]


def _python_encoding(enc: str) -> str:
    enc = enc.lower().replace("_", "-")
    return {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "shift-jis": "shift_jis", "sjis": "shift_jis",
            "euc-kr": "cp949"}.get(enc, enc)


def _read_csv(path: Path, encoding: str, skiprows=None) -> pd.DataFrame:
    """Read with the declared encoding; a BOM is always tolerated. A wrong encoding is an error."""
    enc = _python_encoding(encoding)
    try:
        return pd.read_csv(path, encoding=enc, skiprows=skiprows, low_memory=False)
    except UnicodeDecodeError as exc:
        line = _line_of_byte(path, exc.start)
        # double-byte encodings often decode each other's bytes, so name every one that fits
        fits = [e for e in _ENCODING_FALLBACKS if e != enc and _decodes(path, e)]
        hint = f"; it decodes as {' or '.join(fits)}: set the codebook's `encoding`" if fits else ""
        raise InputError(path, f"text in the codebook's encoding {encoding!r}{hint}", row=line) from None
    except pd.errors.ParserError as exc:
        raise InputError(path, f"a well-formed CSV ({exc})") from None
    except pd.errors.EmptyDataError:
        raise InputError(path, "a CSV with a header row and data") from None


def _decodes(path: Path, enc: str) -> bool:
    try:
        path.read_bytes().decode(enc)
        return True
    except UnicodeDecodeError:
        return False


def _line_of_byte(path: Path, offset: int) -> int:
    """1-based data row holding a byte offset (the header is row 0)."""
    return path.read_bytes()[:offset].count(b"\n")


def read_raw(path: str | Path, codebook: Codebook) -> tuple[pd.DataFrame, str, dict]:
    """Read the file as it is (no validation). Returns (data, format, value labels)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "an existing survey data file")
    fmt = detect_format(path, codebook)
    labels: dict = {}
    if fmt == "csv":
        df = _read_csv(path, codebook.encoding)
    elif fmt == "qualtrics":
        # Row 1: column ids; row 2: question text; row 3: {"ImportId": ...}. Data start on row 4.
        df = _read_csv(path, codebook.encoding, skiprows=[1, 2])
        if "Finished" in df.columns:  # incomplete responses are not part of the survey
            fin = pd.to_numeric(df["Finished"].replace({"True": 1, "False": 0, True: 1, False: 0}), errors="coerce")
            df = df.loc[fin.fillna(0).astype(int) == 1].reset_index(drop=True)
        if "Duration (in seconds)" in df.columns and codebook.duration and codebook.duration not in df.columns:
            df = df.rename(columns={"Duration (in seconds)": codebook.duration})
    elif fmt == "spss":
        import pyreadstat

        try:
            df, meta = pyreadstat.read_sav(str(path), encoding=None if codebook.encoding == "utf-8" else codebook.encoding)
        except Exception as exc:  # pyreadstat raises its own error types
            raise InputError(path, f"a readable SPSS .sav file ({exc})") from None
        labels = {col: dict(vals) for col, vals in meta.variable_value_labels.items()}
    elif fmt == "excel":
        try:
            df = pd.read_excel(path, engine="openpyxl")
        except Exception as exc:
            raise InputError(path, f"a readable .xlsx workbook ({exc})") from None
    elif fmt == "parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:
            raise InputError(path, f"a readable Parquet file ({exc})") from None
    else:  # pragma: no cover - the codebook schema restricts the values
        raise InputError(path, f"a supported format, not {fmt!r}")
    df.columns = [str(c).strip() for c in df.columns]
    return df, fmt, labels


def _first_bad(mask: pd.Series) -> int:
    """1-based data row of the first True in mask."""
    return int(np.flatnonzero(mask.to_numpy())[0]) + 1


def _numeric(df: pd.DataFrame, col: str, path: Path, what: str) -> pd.Series:
    s = df[col]
    if s.dtype == bool:
        return s.astype(int)
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna() & (s.astype(str).str.strip() != "")
    if bad.any():
        row = _first_bad(bad)
        raise InputError(path, f"{what}, found {s.iloc[row - 1]!r}", column=col, row=row)
    return num


def _check_range(num: pd.Series, col: str, path: Path, lo, hi, what: str) -> None:
    bad = pd.Series(False, index=num.index)
    if lo is not None:
        bad |= num < lo
    if hi is not None:
        bad |= num > hi
    if bad.any():
        row = _first_bad(bad)
        raise InputError(path, f"{what} in [{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}], "
                               f"found {num.iloc[row - 1]:g}", column=col, row=row)


def _check_codes(s: pd.Series, col: str, path: Path, allowed, what: str) -> None:
    allowed_set = {code_key(a) for a in allowed}
    vals = s.dropna()
    as_str = vals.map(code_key)
    bad_idx = as_str[~as_str.isin(allowed_set)].index
    if len(bad_idx):
        row = int(s.index.get_loc(bad_idx[0])) + 1
        shown = ", ".join(str(a) for a in list(allowed)[:12])
        raise InputError(path, f"{what} one of [{shown}], found {s.loc[bad_idx[0]]!r}", column=col, row=row)


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

    def numeric(col, what="a number"):
        df[col] = _numeric(df, col, path, what)
        return df[col]

    if cb.weight:
        w = numeric(cb.weight, "a positive weight")
        _check_range(w, cb.weight, path, 0, None, "a weight")
        if w.isna().any() or (w <= 0).any():
            raise InputError(path, "a positive weight on every row", column=cb.weight, row=_first_bad(w.isna() | (w <= 0)))
    if cb.duration:
        _check_range(numeric(cb.duration, "a duration in seconds"), cb.duration, path, 0, None, "a duration")
    for name, sc in cb.scales.items():
        for col in sc.columns:
            _check_range(numeric(col, f"a {name} rating"), col, path, sc.min, sc.max, f"a {name} rating")
    for block in cb.item_blocks:
        for col in block.items:
            _check_range(numeric(col), col, path, block.min, block.max, f"an item of {block.name}")
    for o in cb.outcomes:
        if o.kind == "binary":
            if o.positive is None:
                _check_codes(df[o.column], o.column, path, [0, 1], f"outcome {o.name}:")
                numeric(o.column)
            continue
        num = numeric(o.column, f"outcome {o.name}: a number")
        _check_range(num, o.column, path, o.min if o.min is not None else (0 if o.kind == "count" else None),
                     o.max, f"outcome {o.name}: a value")
    if cb.channels:
        for ch, col in cb.channels.usage.items():
            _check_codes(df[col], col, path, [0, 1], f"channel use ({ch}):")
            numeric(col)
        codes = list(cb.channels.codes)
        for col in [*cb.channels.stages.values(), cb.channels.last_interaction]:
            if col and codes:
                _check_codes(df[col], col, path, codes, "a channel code:")
        if cb.channels.cross_channel_purchase:
            _check_codes(df[cb.channels.cross_channel_purchase], cb.channels.cross_channel_purchase, path, [0, 1], "")
    for seg in cb.segments:
        if seg.labels:
            _check_codes(df[seg.column], seg.column, path, list(seg.labels), f"a {seg.label or seg.column} code:")
    for var, shares in cb.margins.items():
        _check_codes(df[var], var, path, list(shares), "a level listed in the codebook's margins:")
        if df[var].isna().any():
            raise InputError(path, "a value on every row (raking variable)", column=var, row=_first_bad(df[var].isna()))
    for col, spec in cb.columns.items():
        if col not in df.columns:
            continue
        if spec.allowed is not None:
            _check_codes(df[col], col, path, spec.allowed, "")
        if spec.type in ("int", "float"):
            num = numeric(col, "an integer" if spec.type == "int" else "a number")
            if spec.type == "int":
                frac = num.notna() & (num != np.floor(num))
                if frac.any():
                    raise InputError(path, f"an integer, found {num[frac].iloc[0]:g}", column=col, row=_first_bad(frac))
            _check_range(num, col, path, spec.min, spec.max, "a value")
    return df


def drop_pii(df: pd.DataFrame, cb: Codebook) -> tuple[pd.DataFrame, list[str]]:
    """Remove the declared PII columns and any free-text column that looks like e-mail addresses."""
    drop = [c for c in cb.pii if c in df.columns]
    for col in df.columns:
        if col in drop or col == cb.id_column or df[col].dtype != object:
            continue
        sample = df[col].dropna().astype(str).head(200)
        if len(sample) and sample.str.contains(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", case=False, regex=True).mean() > 0.5:
            drop.append(col)
    return df.drop(columns=drop), drop


def read_survey(path: str | Path, codebook: Codebook) -> Survey:
    """Read, validate and de-identify a survey. Raises InputError on the first problem."""
    path = Path(path)
    raw, fmt, labels = read_raw(path, codebook)
    # extracts join before validation, so the columns they create are checked like survey columns
    from .sources import join_extracts

    raw, joins = join_extracts(raw, codebook, path.parent)
    data = validate(raw, codebook, path)
    data, dropped = drop_pii(data, codebook)
    return Survey(data=data, codebook=codebook, path=path, format=fmt, value_labels=labels, dropped_pii=dropped,
                  joins=joins)


def file_sha256(path: str | Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


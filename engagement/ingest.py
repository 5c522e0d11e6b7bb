"""Read a survey export and validate it against its codebook.

Formats: CSV and TSV (any of comma, tab, semicolon or pipe, sniffed unless the codebook's `delimiter`
says; CRLF, LF or CR-only line endings; plain or `.gz`/`.bz2`/`.zip`; UTF-8, UTF-8 with BOM, CP949,
Shift-JIS or whatever the codebook's `encoding` says), Qualtrics CSV exports (three header rows:
column ids, question text, ImportId JSON), SPSS `.sav` (pyreadstat; codes are kept and value labels
returned), Excel `.xlsx` (the codebook's `sheet`) and Parquet.

Personal data by allow-list: only the columns the codebook gives a role leave ingest; every other
column (free text, postcodes, survey-platform metadata) is dropped before anything else looks at the
data, and `Survey.dropped_columns` names them (names only) for the run log. Every kept text column is
scanned for e-mail addresses, phone numbers, IP addresses and card numbers (linear time, bounded
length per cell); a hit is an error, never a silent publication.

Validation is all-or-nothing: the first violation raises InputError naming the file, the column, the
first offending data row (1-based, as a spreadsheet user counts data rows) and what was expected.
Values are checked on distinct values and parsed vectorised, so a million rows take seconds.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import logging
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .codebook import Codebook, code_key
from .errors import InputError

log = logging.getLogger("engagement.ingest")

_ENCODING_FALLBACKS = ["utf-8-sig", "cp949", "shift_jis"]
_COMPRESSED = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip"}
_DELIMITERS = [",", "\t", ";", "|"]
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}

#: Qualtrics per-response metadata: never an answer, so never part of a duplicate comparison
QUALTRICS_METADATA = {
    "StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
    "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
    "ExternalReference", "LocationLatitude", "LocationLongitude", "DistributionChannel", "UserLanguage",
}


@dataclass
class Survey:
    """A validated survey: only the codebook's columns, its codebook and what ingest learned."""

    data: pd.DataFrame
    codebook: Codebook
    path: Path
    format: str
    value_labels: dict = field(default_factory=dict)
    #: columns listed under the codebook's `pii` that were in the file (dropped)
    dropped_pii: list[str] = field(default_factory=list)
    #: every column of the file that left no trace in `data` (no role in the codebook), names only
    dropped_columns: list[str] = field(default_factory=list)
    #: plain-language warnings (e.g. an item that correlates negatively with the rest of its block)
    warnings: list[str] = field(default_factory=list)
    #: one engagement.sources.JoinReport per extract joined to the survey
    joins: list = field(default_factory=list)

    def dropped_summary(self) -> str:
        """One line for run.log: how many columns were dropped and their names."""
        names = ", ".join(self.dropped_columns) or "none"
        return f"dropped at ingest (no role in the codebook): {len(self.dropped_columns)} column(s): {names}"


# ---- reading -------------------------------------------------------------------------------------

def _compression(path: Path) -> str | None:
    return _COMPRESSED.get(path.suffix.lower())


def _inner_suffix(path: Path) -> str:
    """The data suffix under any compression suffix (survey.tsv.gz -> .tsv)."""
    if _compression(path):
        if path.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(path) as zf:
                    names = [n for n in zf.namelist() if not n.endswith("/")]
                if len(names) == 1:
                    return Path(names[0]).suffix.lower()
            except zipfile.BadZipFile:
                raise InputError(path, "a readable .zip archive") from None
        return Path(path.stem).suffix.lower() or ".csv"
    return path.suffix.lower()


def detect_format(path: Path, codebook: Codebook) -> str:
    if codebook.format != "auto":
        return codebook.format
    suffix = _inner_suffix(path)
    if suffix in (".sav", ".zsav"):
        return "spss"
    if suffix in (".xlsx", ".xlsm"):
        return "excel"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt", ".tsv", ".tab", ""):
        return "qualtrics" if _looks_like_qualtrics(path, codebook.encoding) else "csv"
    raise InputError(path, "a .csv, .tsv, .sav, .xlsx or .parquet file, optionally .gz/.bz2/.zip "
                           f"(unknown file type {suffix!r})")


def _open_bytes(path: Path):
    kind = _compression(path)
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "bz2":
        return bz2.open(path, "rb")
    if kind == "zip":
        zf = zipfile.ZipFile(path)
        names = [n for n in zf.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise InputError(path, f"a .zip archive holding one data file, found {len(names)}")
        return zf.open(names[0])
    return open(path, "rb")


def _head_text(path: Path, encoding: str, nbytes: int = 1 << 16) -> str:
    """The first bytes of the (decompressed) file as text, for sniffing."""
    try:
        with _open_bytes(path) as fh:
            head = fh.read(nbytes)
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise InputError(path, f"a readable file ({exc})") from None
    return head.decode(_python_encoding(encoding), errors="replace")


def _lines(text: str) -> list[str]:
    return re.split(r"\r\n|\r|\n", text)


def _looks_like_qualtrics(path: Path, encoding: str) -> bool:
    """Qualtrics exports have an ImportId JSON row as the third line."""
    try:
        lines = _lines(_head_text(path, encoding, 1 << 20))
    except InputError:
        return False
    return len(lines) > 2 and ('"ImportId"' in lines[2] or '{""ImportId""' in lines[2])


def _python_encoding(enc: str) -> str:
    enc = enc.lower().replace("_", "-")
    return {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "shift-jis": "shift_jis", "sjis": "shift_jis",
            "euc-kr": "cp949"}.get(enc, enc)


def sniff_delimiter(text: str) -> str:
    """The delimiter among comma, tab, semicolon and pipe that splits the header and the first rows into
    the most fields consistently (quotes respected); comma when none splits anything."""
    lines = [ln for ln in _lines(text)[:-1] if ln.strip()][:20] or [text]
    best, best_fields = ",", 1
    for d in _DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=d)]
        if not counts:
            continue
        header = counts[0]
        consistent = sum(c == header for c in counts) >= max(1, int(0.8 * len(counts)))
        if header > best_fields and consistent:
            best, best_fields = d, header
    return best


def _header(path: Path, encoding: str, delimiter: str, strip: bool = True) -> list[str]:
    text = _head_text(path, encoding, 1 << 20)
    first = next(csv.reader([_lines(text)[0]], delimiter=delimiter), [])
    return [c.strip() for c in first] if strip else first


def _check_unique_headers(path: Path, names: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names, 1):
        if name in seen:
            raise InputError(path, f"each column name once in the header, found {name!r} as columns {seen[name]} "
                                   f"and {i}", column=name)
        seen[name] = i


def _check_encoding_name(path: Path, encoding: str) -> None:
    import codecs

    try:
        codecs.lookup(_python_encoding(encoding))
    except LookupError:
        raise InputError(path, f"a known text encoding at codebook key encoding (utf-8, cp949, shift_jis, ...), "
                               f"not {encoding[:40]!r}") from None


def _read_csv(path: Path, encoding: str, skiprows=None, delimiter: str | None = None,
              usecols=None) -> pd.DataFrame:
    """Read with the declared encoding; a BOM is always tolerated. A wrong encoding is an error."""
    enc = _python_encoding(encoding)
    sep = delimiter or sniff_delimiter(_head_text(path, encoding))
    if skiprows is None and enc == "utf-8-sig" and len(sep) == 1:
        # the fast path: pyarrow's multi-threaded parser (about 3x pandas' on a million rows); anything it
        # does not take cleanly is read again by pandas' parser, whose errors say where and why
        try:
            names = None
            if usecols is not None:  # pyarrow takes names, not positions
                raw_header = _header(path, encoding, sep, strip=False)
                names = [raw_header[i] for i in usecols]
            df = pd.read_csv(path, engine="pyarrow", sep=sep, usecols=names, compression="infer",
                             encoding="utf-8")
            for col in df.columns[df.dtypes == object]:
                first = df[col].dropna()
                if len(first) and isinstance(first.iloc[0], bytes):  # not valid UTF-8: pyarrow gave up on it
                    raise UnicodeDecodeError("utf-8", b"", 0, 1, "invalid")
            if not df.columns.empty and df.columns[0].startswith("\ufeff"):
                df = df.rename(columns={df.columns[0]: df.columns[0].lstrip("\ufeff")})
            return df
        except Exception:  # noqa: BLE001 - any failure: the careful path below decides
            pass
    try:
        return pd.read_csv(path, encoding=enc, skiprows=skiprows, low_memory=False, sep=sep, usecols=usecols,
                           compression="infer", keep_default_na=True, na_values=[""])
    except UnicodeDecodeError as exc:
        line = _line_of_byte(path, exc.start)
        # double-byte encodings often decode each other's bytes, so name every one that fits
        fits = [e for e in _ENCODING_FALLBACKS if e != enc and _decodes(path, e)]
        hint = f"; it decodes as {' or '.join(fits)}: set the codebook's `encoding`" if fits else ""
        raise InputError(path, f"text in the codebook's encoding {encoding!r}{hint}", row=line) from None
    except pd.errors.ParserError as exc:
        raise InputError(path, f"a well-formed {_DELIMITER_NAMES.get(sep, repr(sep))}-separated file "
                               f"({str(exc).strip()[:160]})") from None
    except pd.errors.EmptyDataError:
        raise InputError(path, "a CSV with a header row and data") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(path, f"a readable file ({exc})") from None


def _raw_bytes(path: Path) -> bytes:
    with _open_bytes(path) as fh:
        return fh.read()


def _decodes(path: Path, enc: str) -> bool:
    try:
        _raw_bytes(path).decode(enc)
        return True
    except UnicodeDecodeError:
        return False


def _line_of_byte(path: Path, offset: int) -> int:
    """1-based data row holding a byte offset (the header is row 0)."""
    data = _raw_bytes(path)[:offset]
    return data.count(b"\n") or data.count(b"\r")


def read_raw(path: str | Path, codebook: Codebook, columns: list[str] | None = None) -> tuple[pd.DataFrame, str, dict]:
    """Read the file as it is (no validation). Returns (data, format, value labels).

    `columns`: read only these (those present); the header is always checked for duplicate names."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "an existing survey data file")
    if path.is_dir():
        raise InputError(path, "a survey data file, not a directory")
    _check_encoding_name(path, codebook.encoding)
    fmt = detect_format(path, codebook)
    labels: dict = {}
    want = None
    if fmt in ("csv", "qualtrics"):
        sep = codebook.delimiter or sniff_delimiter(_head_text(path, codebook.encoding))
        header = _header(path, codebook.encoding, sep)
        _check_unique_headers(path, header)
        if columns is not None:
            extra = {"Finished", "Duration (in seconds)"} if fmt == "qualtrics" else set()
            want = [c for c in header if c in set(columns) | extra]
            positions = [i for i, c in enumerate(header) if c in set(want)]
        if len(header) == 1 and (columns is None or len(columns) > 1):
            raise InputError(path, f"columns separated by the codebook's `delimiter` or one of comma, tab, "
                                   f"semicolon, pipe; read with {_DELIMITER_NAMES.get(sep, repr(sep))} as the "
                                   f"delimiter the file is one column, {header[0][:60]!r} (set `delimiter`)")
        # Qualtrics: row 1 column ids; row 2 question text; row 3 {"ImportId": ...}. Data start on row 4.
        df = _read_csv(path, codebook.encoding, skiprows=[1, 2] if fmt == "qualtrics" else None, delimiter=sep,
                       usecols=(positions or [0]) if want is not None else None)
        if want is not None:
            df.columns = [header[i] for i in (positions or [0])]
            if not positions:  # none of the codebook's columns is in the file: keep the row count only
                df = df.iloc[:, :0]
        if fmt == "qualtrics":
            if "Finished" in df.columns:  # incomplete responses are not part of the survey
                fin = pd.to_numeric(df["Finished"].replace({"True": 1, "False": 0, True: 1, False: 0}), errors="coerce")
                df = df.loc[fin.fillna(0).astype(int) == 1].reset_index(drop=True)
            if "Duration (in seconds)" in df.columns and codebook.duration and codebook.duration not in df.columns:
                df = df.rename(columns={"Duration (in seconds)": codebook.duration})
                header = [codebook.duration if c == "Duration (in seconds)" else c for c in header]
    elif fmt == "spss":
        import pyreadstat

        try:
            df, meta = pyreadstat.read_sav(str(path), encoding=None if codebook.encoding == "utf-8" else codebook.encoding)
        except Exception as exc:  # pyreadstat raises its own error types
            raise InputError(path, f"a readable SPSS .sav file ({exc})") from None
        labels = {col: dict(vals) for col, vals in meta.variable_value_labels.items()}
    elif fmt == "excel":
        df = _read_excel(path, codebook.sheet)
    elif fmt == "parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:
            raise InputError(path, f"a readable Parquet file ({exc})") from None
    else:  # pragma: no cover - the codebook schema restricts the values
        raise InputError(path, f"a supported format, not {fmt!r}")
    df.columns = [str(c).strip() for c in df.columns]
    if fmt not in ("csv", "qualtrics"):
        header = list(df.columns)
        _check_unique_headers(path, header)
        if columns is not None:
            df = df[[c for c in df.columns if c in set(columns)]]
    df.attrs["source_columns"] = header  # every column of the file, read or not
    return df, fmt, labels


def _read_excel(path: Path, sheet) -> pd.DataFrame:
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:
        raise InputError(path, f"a readable .xlsx workbook ({exc})") from None
    names = book.sheet_names
    if sheet is None:
        sheet = 0
    if isinstance(sheet, int) and not 0 <= sheet < len(names) or isinstance(sheet, str) and sheet not in names:
        raise InputError(path, f"codebook key sheet to name one of the workbook's sheets {names} "
                               f"(or a position 0-{len(names) - 1}), not {sheet!r}")
    header = pd.read_excel(book, sheet_name=sheet, header=None, nrows=1).iloc[0].tolist()
    _check_unique_headers(path, [str(c).strip() for c in header if not (isinstance(c, float) and c != c)])
    return pd.read_excel(book, sheet_name=sheet)


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


# ---- personal data -------------------------------------------------------------------------------

#: cells are scanned up to this many characters: enough for any contact detail in a comment, and it
#: keeps the scan linear in the file size whatever a cell holds
PII_SCAN_CHARS = 2000
_LOCAL = re.compile(r"[A-Za-z0-9._%+-]{1,64}\Z")
_DOMAIN = re.compile(r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}")
_PHONE = re.compile(r"(?<![\w.])\+?\(?\d[\d ().-]{6,18}\d(?![\w])")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}")
_IP = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_IPV6 = re.compile(r"(?<![:\w])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![:\w])")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")


def _email_at(text: str) -> int:
    # '@' first, then bounded anchored checks on either side: linear, whatever the cell holds
    start = 0
    while (at := text.find("@", start)) != -1:
        if _LOCAL.search(text, max(0, at - 64), at) and _DOMAIN.match(text, at + 1, at + 1 + 300):
            return at
        start = at + 1
    return -1


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _find_pii(text: str, identifiers: bool = False) -> tuple[str, int] | None:
    """The first kind of personal data found in text and where; every pattern is linear (bounded
    repeats, no nested quantifiers) and none crosses a line break. `identifiers`: the text holds
    respondent ids, where long digit strings are ids, not phone or card numbers."""
    at = _email_at(text) if "@" in text else -1
    if at >= 0:
        return "an e-mail address", at
    if identifiers:
        m = next((m for m in _IP.finditer(text) if all(int(g) <= 255 for g in m.groups())), None)
        return ("an IP address", m.start()) if m else None
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and _luhn(digits):
            return "a card number", m.start()
    for m in _IP.finditer(text):
        if all(int(g) <= 255 for g in m.groups()):
            return "an IP address", m.start()
    for m in _PHONE.finditer(text):
        found = m.group()
        digits = sum(ch.isdigit() for ch in found)
        if 9 <= digits <= 15 and not _DATE.match(found.lstrip("+(")):
            return "a phone number", m.start()
    m = _IPV6.search(text) if ":" in text else None
    return ("an IP address", m.start()) if m else None


def pii_kind(text: str) -> str | None:
    """What personal data a text holds, if any: 'an e-mail address', 'a phone number', 'an IP address'
    or 'a card number' (the first PII_SCAN_CHARS characters are scanned)."""
    hit = _find_pii(text[:PII_SCAN_CHARS])
    return hit[0] if hit else None


def scan_pii(df: pd.DataFrame, path: Path, id_column: str | None = None) -> None:
    """Every kept text column, on distinct values: personal data found is an error naming the column,
    the row and the kind of data (never the value). The distinct values (each cut to PII_SCAN_CHARS)
    are joined into one text per column so that the patterns run in C over it once."""
    import bisect

    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):  # Parquet or SPSS categories: scan the categories
            s = s.astype(object)
        elif s.dtype != object and not isinstance(s.dtype, pd.StringDtype):
            continue
        values = [v for v in _distinct(s) if isinstance(v, str)]
        if not values:
            continue
        pieces = [v[:PII_SCAN_CHARS].replace("\n", " ").replace("\r", " ") for v in values]
        hit = _find_pii("\n".join(pieces), identifiers=col == id_column)
        if hit is None:
            continue
        kind, pos = hit
        starts = np.cumsum([0] + [len(p) + 1 for p in pieces[:-1]])
        value = values[bisect.bisect_right(starts.tolist(), pos) - 1]
        row = _first_bad((s == value).to_numpy())
        raise InputError(path, f"no personal data in a column the codebook keeps, found {kind} (value not "
                               "shown): remove it from the file, or take the column out of the codebook "
                               "(columns without a role are dropped) or list it under `pii`",
                         column=col, row=row)


def drop_undeclared(df: pd.DataFrame, cb: Codebook, path: Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The allow-list: keep only the codebook's columns. Returns (data, dropped pii, all dropped).
    Columns read_raw already left unread (df.attrs["source_columns"]) count as dropped."""
    source = df.attrs.get("source_columns") or list(df.columns)
    missing_pii = [c for c in cb.pii if c not in source]
    if missing_pii:
        raise InputError(path, f"the column listed under the codebook's `pii` in the data (a typo would keep the "
                               f"real column's name unchecked)", column=missing_pii[0])
    kept = set(cb.kept_columns())
    keep = [c for c in df.columns if c in kept]
    dropped = [c for c in source if c not in kept]
    return df[keep], [c for c in cb.pii if c in dropped], dropped


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


def read_survey(path: str | Path, codebook: Codebook) -> Survey:
    """Read, keep only the codebook's columns, recode, validate and check for personal data.
    Raises InputError on the first problem."""
    path = Path(path)
    cb = codebook
    # columns without a role are never even parsed (CSV); other formats drop them straight after reading
    raw, fmt, labels = read_raw(path, cb, columns=cb.kept_columns())
    raw, dropped_pii, dropped = drop_undeclared(raw, cb, path)
    # extracts join before recoding and validation, so the columns they create are checked like survey
    # columns; only each extract's key and declared columns are read, and the survey-side key goes after
    from .sources import join_extracts

    raw, joins = join_extracts(raw, cb, path.parent)
    raw = apply_value_rules(raw, cb)
    data = validate(raw, cb, path)
    scan_pii(data, path, cb.id_column)
    data = reverse_items(data, cb)
    notes = item_direction_warnings(data, cb)
    for note in notes:
        warnings.warn(note, stacklevel=2)
        log.warning(note)
    labels = {c: v for c, v in labels.items() if c in data.columns}
    survey = Survey(data=data, codebook=cb, path=path, format=fmt, value_labels=labels, dropped_pii=dropped_pii,
                    dropped_columns=dropped, warnings=notes, joins=joins)
    log.info(survey.dropped_summary())
    return survey


def file_sha256(path: str | Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


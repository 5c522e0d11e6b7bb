"""Reading a survey export (engagement.ingest): format detection (CSV/TSV, Qualtrics, SPSS, Excel,
Parquet), compression (.gz, .bz2, .zip), encodings and delimiter sniffing, header checks, and
`read_raw`, which reads only the requested columns. Re-exported by engagement.ingest.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import re
import zipfile
from pathlib import Path

import pandas as pd

from .codebook import Codebook
from .errors import InputError


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

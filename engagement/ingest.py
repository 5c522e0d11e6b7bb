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

Layout: reading in engagement.ingest_readers, value rules and validation in engagement.ingest_rules,
the allow-list and the personal-data scan in engagement.ingest_pii; this module keeps `read_survey`,
`Survey` and `file_sha256` and re-exports the rest.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .codebook import Codebook, code_key  # noqa: F401  (code_key: re-exported)
from .errors import InputError  # noqa: F401  (re-exported)
# reading, value rules and personal data live in their own modules (issue 13); every name is re-exported here
from .ingest_pii import (  # noqa: F401  (re-exported)
    _CARD, _DATE, _DOMAIN, drop_undeclared, _email_at, _find_pii, _IP, _IPV6, _LOCAL, _luhn, _PHONE,
    pii_kind, PII_SCAN_CHARS, scan_pii,
)
from .ingest_readers import (  # noqa: F401  (re-exported)
    _check_encoding_name, _check_unique_headers, _COMPRESSED, _compression, _decodes, _DELIMITER_NAMES,
    _DELIMITERS, detect_format, _ENCODING_FALLBACKS, _head_text, _header, _inner_suffix, _line_of_byte,
    _lines, _looks_like_qualtrics, _open_bytes, _python_encoding, QUALTRICS_METADATA, _raw_bytes, _read_csv,
    _read_excel, read_raw, sniff_delimiter,
)
from .ingest_rules import (  # noqa: F401  (re-exported)
    apply_value_rules, _check_codes, _check_range, _check_sentinels, _distinct, _first_bad, _HIGH_SENTINELS,
    item_direction_warnings, _LOW_SENTINELS, _numeric, reverse_items, _short, validate,
)

log = logging.getLogger("engagement.ingest")


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


def read_survey(path: str | Path, codebook: Codebook) -> Survey:
    """Read, keep only the codebook's columns, recode, validate and check for personal data.
    Raises InputError on the first problem."""
    path = Path(path)
    cb = codebook
    from .memory import release_freed_memory
    from .sources import extract_tables, join_extracts

    tables = []
    if cb.extracts and path.is_file():
        # extracts are reduced to one row per customer before the survey is read, so an order extract's
        # millions of rows and the survey are never in memory together (a missing survey file is
        # reported by read_raw first)
        tables = extract_tables(cb, path.parent)
    # columns without a role are never even parsed (CSV); other formats drop them straight after reading
    raw, fmt, labels = read_raw(path, cb, columns=cb.kept_columns())
    raw, dropped_pii, dropped = drop_undeclared(raw, cb, path)
    # the reader's buffers (Arrow's pool, glibc) are handed back at each step: else every step's garbage
    # stays resident and a million respondents peaked at 4 GB for a 0.6 GB table
    release_freed_memory()
    # extracts join before recoding and validation, so the columns they create are checked like survey
    # columns; only each extract's key and declared columns are read, and the survey-side key goes after
    raw, joins = join_extracts(raw, cb, path.parent, tables)
    del tables
    release_freed_memory()
    raw = apply_value_rules(raw, cb)
    data = validate(raw, cb, path)
    del raw  # the file as read is not needed past validation
    release_freed_memory()
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


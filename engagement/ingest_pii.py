"""Personal data at ingest (engagement.ingest): the allow-list (`drop_undeclared` keeps only the
codebook's columns) and the scan of every kept text column for e-mail addresses, phone numbers, IP
addresses and card numbers (`scan_pii`, `pii_kind`; linear time, at most `PII_SCAN_CHARS` per cell).
Re-exported by engagement.ingest.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .codebook import Codebook
from .errors import InputError
from .ingest_rules import _distinct, _first_bad


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

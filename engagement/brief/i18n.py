"""The brief's fixed text in the reader's language: gettext catalogues read with Babel.

English text is the message id itself; Korean and Japanese come from
`engagement/brief/locale/<lang>/LC_MESSAGES/brief.po`, read directly (no compile step, so a fresh
checkout needs no build). Numbers and dates are formatted by Babel with the reader's locale.
Codebook labels are never translated: they are shown as the codebook gives them.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

LANGUAGES = ("en", "ko", "ja")
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "brief"


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """msgid -> translation for `lang` (empty for English, whose text is the msgid)."""
    if lang == "en":
        return {}
    from babel.messages.pofile import read_po

    with open(po_path(lang), "rb") as fh:
        cat = read_po(fh, locale=lang, domain=DOMAIN)
    return {m.id: m.string for m in cat if m.id and isinstance(m.id, str) and m.string}


class Translator:
    """`tr._("msgid")` -> the text in the reader's language, plus Babel number and date formats."""

    def __init__(self, lang: str = "en"):
        if lang not in LANGUAGES:
            raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        self.lang = lang
        self._messages = catalogue(lang)

    def _(self, msgid: str) -> str:
        return self._messages.get(msgid, msgid)

    # ---- numbers ----------------------------------------------------------------------------
    def num(self, value: float, digits: int = 0) -> str:
        from babel.numbers import format_decimal

        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.lang)

    def n(self, value) -> str:
        return self.num(int(round(float(value))))

    def pct(self, share: float, digits: int = 0) -> str:
        """0.447 -> "45%" (points of a share)."""
        from babel.numbers import format_percent

        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return format_percent(share, format=pattern, locale=self.lang)

    def pct_range(self, low: float, high: float) -> str:
        return f"{self.pct(low)}–{self.pct(high)}"

    def times(self, ratio: float) -> str:
        return self.num(ratio, 2) + "×"

    def date(self, value: date | str) -> str:
        from babel.dates import format_date

        if isinstance(value, str):
            try:
                value = date.fromisoformat(value[:10])
            except ValueError:
                return value
        return format_date(value, format="long", locale=self.lang)


#: source files whose `_("…")` calls make up the catalogues
SOURCES = ("brief/__init__.py", "report.py")


def source_messages() -> list[str]:
    """Every message id in the brief's and report's source, in order of appearance (Babel's extractor)."""
    from babel.messages.extract import extract_from_file

    root = Path(__file__).resolve().parents[1]
    out: list[str] = []
    for rel in SOURCES:
        for _lineno, message, _comments, _context in extract_from_file("python", str(root / rel)):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid and msgid not in out:
                out.append(msgid)
    return out


def missing_messages(lang: str) -> list[str]:
    """Message ids of the source that `lang`'s catalogue does not translate."""
    have = catalogue(lang)
    return [m for m in source_messages() if not have.get(m)]

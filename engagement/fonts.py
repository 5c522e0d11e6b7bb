"""Fonts the project installs itself, so Korean and Japanese labels render on a fresh machine.

No system font is assumed. Latin text uses DejaVu Sans, which ships inside matplotlib; Korean uses
NanumGothic (PyPI package `koreanize-matplotlib`) and Japanese IPAexGothic (`matplotlib-fontja`), both
pinned in pyproject.toml. Only the font files of those packages are used: importing them would
change matplotlib's settings as a side effect, so they are located with `importlib.util.find_spec`.

matplotlib falls back per glyph only along an explicit family list (`font.family` =
["DejaVu Sans", "NanumGothic", "IPAexGothic"]); a CJK family listed under the generic
`sans-serif` is not consulted for missing glyphs. WeasyPrint gets the same files through
`@font-face` rules (see `font_face_css`).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

LATIN = "DejaVu Sans"
KOREAN = "NanumGothic"
JAPANESE = "IPAexGothic"


@dataclass(frozen=True)
class FontFile:
    family: str
    path: Path
    weight: str = "normal"  # CSS font-weight
    style: str = "normal"  # CSS font-style


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # locates without importing (no rcParams side effects)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@functools.lru_cache(maxsize=1)
def font_files() -> tuple[FontFile, ...]:
    """Every font file the project ships, in fallback order (Latin, Korean, Japanese)."""
    import matplotlib

    out: list[FontFile] = []
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for family, name, weight, style in (
            (LATIN, "DejaVuSans.ttf", "normal", "normal"), (LATIN, "DejaVuSans-Bold.ttf", "bold", "normal"),
            (LATIN, "DejaVuSans-Oblique.ttf", "normal", "italic"),
            (LATIN, "DejaVuSans-BoldOblique.ttf", "bold", "italic"),
            ("DejaVu Sans Mono", "DejaVuSansMono.ttf", "normal", "normal")):
        if (ttf / name).exists():
            out.append(FontFile(family, ttf / name, weight, style))
    ko = _package_dir("koreanize_matplotlib")
    if ko is not None:
        for name, weight in (("NanumGothic.ttf", "normal"), ("NanumGothicBold.ttf", "bold")):
            if (ko / "fonts" / name).exists():
                out.append(FontFile(KOREAN, ko / "fonts" / name, weight))
    ja = _package_dir("matplotlib_fontja")
    if ja is not None and (ja / "fonts" / "ipaexg.ttf").exists():
        out.append(FontFile(JAPANESE, ja / "fonts" / "ipaexg.ttf"))
    return tuple(out)


def families(lang: str = "en") -> list[str]:
    """Font families in fallback order; Han characters take the reader's language's glyph forms."""
    available = {f.family for f in font_files()}
    cjk = [JAPANESE, KOREAN] if lang == "ja" else [KOREAN, JAPANESE]
    return [f for f in (LATIN, *cjk) if f in available]  # (DejaVu Sans Mono only for hashes)


def register_matplotlib(lang: str = "en") -> list[str]:
    """Add the project's fonts to matplotlib and make the explicit fallback list the font family.

    Returns the family list set (e.g. ["DejaVu Sans", "NanumGothic", "IPAexGothic"])."""
    import matplotlib
    from matplotlib import font_manager

    known = {Path(f.fname).resolve() for f in font_manager.fontManager.ttflist}
    for f in font_files():
        if f.path.resolve() not in known and f.family != "DejaVu Sans Mono":
            font_manager.fontManager.addfont(str(f.path))
    chosen = families(lang)
    matplotlib.rcParams["font.family"] = chosen
    # NanumGothic and IPAexGothic ship one weight: matplotlib then uses it for bold text (correct for
    # CJK glyphs) but logs "Failed to find font weight bold" on every title, which notebooks show as
    # stderr. The substitution is intended, so that message is silenced; real font errors still log.
    import logging

    logger = logging.getLogger("matplotlib.font_manager")
    if not any(isinstance(f, _WeightFallbackFilter) for f in logger.filters):
        logger.addFilter(_WeightFallbackFilter())
    return chosen


class _WeightFallbackFilter:
    def filter(self, record) -> bool:
        return "Failed to find font weight" not in record.getMessage()


def font_face_css() -> str:
    """@font-face rules pointing WeasyPrint at the packaged font files (file: URLs, no network)."""
    rules = []
    for f in font_files():
        rules.append(f'@font-face {{ font-family: "{f.family}"; src: url("{f.path.resolve().as_uri()}"); '
                     f"font-weight: {f.weight}; font-style: {f.style}; }}")
    return "\n".join(rules)


def css_font_stack(lang: str = "en") -> str:
    return ", ".join(f'"{f}"' for f in families(lang)) + ", sans-serif"


@functools.lru_cache(maxsize=None)
def _cmap(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def covered(char: str) -> bool:
    """Does any of the project's fonts have a glyph for `char`?"""
    code = ord(char)
    return any(code in _cmap(f.path) for f in font_files())


def script_name(char: str) -> str:
    """A readable script name for a character ("Hangul", "CJK", "Thai", "Arabic" …)."""
    name = unicodedata.name(char, "")
    if not name:
        return f"U+{ord(char):04X}"
    word = name.split()[0]
    return {"CJK": "CJK (Han)"}.get(word, word.capitalize())


def missing_scripts(texts) -> dict[str, str]:
    """script -> a few example characters, for characters in `texts` that no project font covers.

    Whitespace, control and private-use characters are ignored."""
    found: dict[str, str] = {}
    seen: set[str] = set()
    for text in texts:
        for ch in str(text):
            if ch in seen or ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs"):
                continue
            seen.add(ch)
            if not covered(ch):
                script = script_name(ch)
                if len(found.get(script, "")) < 5:
                    found[script] = found.get(script, "") + ch
    return found


def warn_missing_glyphs(texts, logger: logging.Logger | None = None) -> dict[str, str]:
    """Log one warning naming each script whose characters no installed font can draw.

    The warning goes to `logger` (the run's log, run.log) and to this module's logger, which the
    command line shows on stderr (logging's last-resort handler when nothing else is configured)."""
    missing = missing_scripts(texts)
    for script, examples in missing.items():
        msg = (f"no installed font has glyphs for {script} text (e.g. {examples!r}): those labels will "
               f"show as empty boxes in the charts and the PDF")
        if logger is not None:
            logger.warning(msg)
        log.warning(msg)
    return missing

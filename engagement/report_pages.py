"""The report's fixed HTML pieces: the title page, the run facts, the contents list and the footer
text. Split out of engagement.report, which re-exports them."""

from __future__ import annotations

import html
import numbers
import re
from typing import Any


def _meta(meta: dict, *keys: str, default: Any = None) -> Any:
    """First present key; the pipeline's meta dict may spell e.g. the hash as input_hash or sha256."""
    for key in keys:
        if meta.get(key) not in (None, ""):
            return meta[key]
    return default


def _fmt_n(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, numbers.Integral) else str(value)


def _run_facts(meta: dict, tr) -> str:
    _ = tr._
    esc = html.escape
    run_date = _meta(meta, "run_date", "date")
    n, n_raw = _meta(meta, "n", "n_screened"), _meta(meta, "n_raw")
    digest = _meta(meta, "input_hash", "input_sha256", "sha256")
    version = _meta(meta, "version", "package_version")
    rows = []
    if run_date is not None:
        rows.append((_("Run date"), esc(str(run_date))))
    if n is not None:
        raw = (" " + _("(of {n} before screening)").format(n=_fmt_n(n_raw))) if n_raw is not None else ""
        rows.append((_("Respondents"), f"n = {esc(_fmt_n(n))}{esc(raw)}"))
    if digest:
        rows.append((_("Input file"), f'<span class="hash">{esc(str(digest))}</span>'))
    if version:
        rows.append((_("Software"), f"engagement {esc(str(version))}"))
    items = "\n".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="run-facts">\n{items}\n</dl>'


def _title_page(meta: dict, tr) -> str:
    esc = html.escape
    survey = _meta(meta, "survey", "survey_name", "name", default="Survey report")
    wave = _meta(meta, "wave")
    wave_html = f'<p class="wave">{esc(tr._("Wave {wave}").format(wave=wave))}</p>' if wave is not None else ""
    return (f'<section class="title-page">\n<h1>{esc(str(survey))}</h1>\n{wave_html}\n'
            f"{_run_facts(meta, tr)}\n</section>")


def _toc(entries: list[tuple[int, str, str]], title: str) -> str:
    items = "\n".join(f'<li class="toc-h{level}"><a href="#{hid}">{html.escape(text)}</a></li>'
                      for level, hid, text in entries)
    return f'<nav class="toc">\n<h2>{html.escape(title)}</h2>\n<ol>\n{items}\n</ol>\n</nav>'


def _footer_css(tr) -> str:
    """The footer "page X of Y" in the reader's language, as a CSS content value."""
    text = tr._("page {page} of {pages}")
    out = []
    for part in re.split(r"(\{page\}|\{pages\})", text):
        if part == "{page}":
            out.append("counter(page)")
        elif part == "{pages}":
            out.append("counter(pages)")
        elif part:
            out.append('"' + part.replace('"', '\\"') + '"')
    return " ".join(out)

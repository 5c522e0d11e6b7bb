"""The stakeholder report: executed notebooks -> one HTML document -> PDF.

Route: nbconvert's HTMLExporter without input cells (stakeholders read the PDF only, so no code,
prompts, stdout/stderr or tracebacks may reach it), sections joined into one HTML document with a
title page and a table of contents, then WeasyPrint for the PDF. No LaTeX and no browser, so the
report builds on a plain server. WeasyPrint paginates with CSS Paged Media: `target-counter` gives
the contents' page numbers, `counter(pages)` the "page X of Y" footer.
"""

from __future__ import annotations

import contextlib
import html
import logging
import numbers
import os
import re
import uuid
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from .plots import CJK_FONTS, configure_matplotlib_fonts  # noqa: F401  (re-exported)
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

#: cells with these tags are dropped whole (papermill tags its parameter cells; `remove` is ours)
REMOVE_CELL_TAGS = frozenset({
    "remove", "remove-cell", "parameters", "injected-parameters", "papermill-error-cell-tag"})
#: cells with these tags keep nothing but their markdown (i.e. outputs are dropped)
REMOVE_OUTPUT_TAGS = frozenset({"remove-output"})

PAGE_SIZES = {"a4": "A4", "letter": "letter"}

#: Latin in DejaVu Sans; Pango falls back per glyph along the list, so Korean / Japanese labels
#: render as soon as one of the CJK fonts is installed (and as missing-glyph boxes otherwise).
FONT_STACK = ('"DejaVu Sans", "Noto Sans CJK KR", "Noto Sans CJK JP", "Noto Sans CJK", '
              '"Source Han Sans", "IPAexGothic", "NanumGothic", sans-serif')

# A text/plain-only result that is just an object repr (`[<matplotlib.lines.Line2D at 0x..>]`,
# `<Figure size 640x480 with 1 Axes>`, `Text(0.5, 1.0, 'title')`) is a forgotten `;`, not content.
_REPR_NOISE = re.compile(r"[\[(]?\s*(<.*>|Text\(.*\))\s*[\])]?")

_CSS = """
@page {
  margin: 20mm 18mm 22mm 18mm;
  @top-right { content: string(survey); font-size: 8pt; color: #777; }
  @bottom-center { content: "page " counter(page) " of " counter(pages); font-size: 8pt; color: #555; }
}
@page :first {
  @top-right { content: none; }
  @bottom-center { content: none; }
}
html { font-family: %(fonts)s; font-size: 10pt; line-height: 1.4; color: #222; }
body { margin: 0; }

.title-page { break-after: page; padding-top: 60mm; }
.title-page h1 { font-size: 26pt; margin: 0 0 4mm; string-set: survey content(); bookmark-level: none; }
.title-page .wave { font-size: 15pt; color: #1f4e79; margin: 0 0 14mm; }
.title-page dl { display: grid; grid-template-columns: max-content auto; gap: 2mm 6mm; margin: 0; }
.title-page dt { color: #666; }
.title-page dd { margin: 0; }
.title-page .hash { font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; }

.toc { break-after: page; }
.toc h2 { bookmark-level: none; }
.toc ol { list-style: none; margin: 0; padding: 0; }
.toc li.toc-h1 { font-weight: bold; margin-top: 3mm; }
.toc li.toc-h2 { padding-left: 6mm; }
.toc a { color: inherit; text-decoration: none; }
.toc a::after { content: leader('.') target-counter(attr(href), page); }

section.notebook { break-before: page; }
h1, h2, h3, h4, h5, h6 { break-after: avoid; break-inside: avoid; color: #1f4e79; line-height: 1.2; }
h1 { font-size: 18pt; margin: 0 0 4mm; }
h2 { font-size: 13.5pt; margin: 7mm 0 2mm; }
h3 { font-size: 11.5pt; margin: 5mm 0 2mm; }
p, li { orphans: 3; widows: 3; }
a { color: #1f4e79; }

img { max-width: 100%%; max-height: 200mm; height: auto; }
.output_png, .output_jpeg, .output_svg { break-inside: avoid; margin: 3mm 0; text-align: center; }
pre { white-space: pre-wrap; font-size: 8pt; }

table { border-collapse: collapse; font-size: 8pt; margin: 3mm 0; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
th, td { padding: 1.2pt 5pt; border: none; border-bottom: 0.5pt solid #ddd; text-align: right;
         vertical-align: top; }
thead th { border-bottom: 1pt solid #444; }
tbody th { text-align: left; font-weight: normal; color: #444; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 1mm; }
"""


class _ReportOutputs(Preprocessor):
    """Keep only what a reader should see: no streams (print, warnings), no tracebacks, no stray reprs.

    Code cells left without outputs are dropped so they leave no empty boxes behind.
    """

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if _keep_output(o)]
        nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.outputs]
        return nb, resources


def _keep_output(output) -> bool:
    if output.output_type not in ("display_data", "execute_result"):
        return False  # stream, error
    data = output.get("data", {})
    if set(data) == {"text/plain"}:
        text = "".join(data["text/plain"]).strip()
        return not _REPR_NOISE.fullmatch(text)
    return True


def _exporter() -> HTMLExporter:
    exporter = HTMLExporter(
        template_name="basic",  # body only, no JS/CDN; our own CSS below
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
        embed_images=True,  # markdown images become data URIs; WeasyPrint fetches nothing
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags=set(REMOVE_CELL_TAGS),
                              remove_all_outputs_tags=set(REMOVE_OUTPUT_TAGS)),
        enabled=True)
    exporter.register_preprocessor(_ReportOutputs(), enabled=True)
    return exporter


def _meta(meta: dict, *keys: str, default: Any = None) -> Any:
    """First present key; the pipeline's meta dict may spell e.g. the hash as input_hash or sha256."""
    for key in keys:
        if meta.get(key) not in (None, ""):
            return meta[key]
    return default


def _fmt_n(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, numbers.Integral) else str(value)


def _title_page(meta: dict) -> str:
    esc = html.escape
    survey = _meta(meta, "survey", "survey_name", "name", default="Survey report")
    wave = _meta(meta, "wave")
    run_date = _meta(meta, "run_date", "date")
    n, n_raw = _meta(meta, "n", "n_screened"), _meta(meta, "n_raw")
    digest = _meta(meta, "input_hash", "input_sha256", "sha256")
    version = _meta(meta, "version", "package_version")
    rows = []
    if run_date is not None:
        rows.append(("Run date", esc(str(run_date))))
    if n is not None:
        raw = f" (of {_fmt_n(n_raw)} before screening)" if n_raw is not None else ""
        rows.append(("Respondents", f"n = {esc(_fmt_n(n))}{esc(raw)}"))
    if digest:
        rows.append(("Input file", f'<span class="hash">{esc(str(digest))}</span>'))
    if version:
        rows.append(("Software", f"engagement {esc(str(version))}"))
    items = "\n".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    wave_html = f'<p class="wave">Wave {esc(str(wave))}</p>' if wave is not None else ""
    return (f'<section class="title-page">\n<h1>{esc(str(survey))}</h1>\n{wave_html}\n'
            f"<dl>\n{items}\n</dl>\n</section>")


def _sections(notebooks: list[Path]) -> tuple[list[str], list[tuple[int, str, str]]]:
    """One <section> per notebook, with unique ids on h1/h2 so the contents can link to them."""
    exporter = _exporter()
    sections, toc = [], []
    for i, path in enumerate(notebooks):
        body, _ = exporter.from_filename(str(path))
        soup = BeautifulSoup(body, "html.parser")
        for j, heading in enumerate(soup.find_all(["h1", "h2"])):
            heading["id"] = f"s{i}-h{j}"
            toc.append((int(heading.name[1]), heading["id"], heading.get_text(" ", strip=True)))
        sections.append(f'<section class="notebook" data-source="{html.escape(Path(path).stem)}">\n'
                        f"{soup}\n</section>")
    return sections, toc


def _toc(entries: list[tuple[int, str, str]]) -> str:
    items = "\n".join(f'<li class="toc-h{level}"><a href="#{hid}">{html.escape(text)}</a></li>'
                      for level, hid, text in entries)
    return f'<nav class="toc">\n<h2>Contents</h2>\n<ol>\n{items}\n</ol>\n</nav>'


def render_html(notebooks: list[Path], meta: dict, page_size: str = "A4") -> str:
    """The whole report as one standalone HTML document (images inlined as data URIs)."""
    size = PAGE_SIZES.get(page_size.lower())
    if size is None:
        raise ValueError(f"page_size must be one of {sorted(PAGE_SIZES.values())}, not {page_size!r}")
    sections, toc = _sections([Path(p) for p in notebooks])
    survey = _meta(meta, "survey", "survey_name", "name", default="Survey report")
    wave = _meta(meta, "wave")
    title = f"{survey} — wave {wave}" if wave is not None else str(survey)
    body = "\n".join([_title_page(meta), _toc(toc), *sections])
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n"
            f"<style>{_CSS % {'fonts': FONT_STACK}}</style>\n"
            f"<style>@page {{ size: {size}; }}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


@contextlib.contextmanager
def _quiet_logging():
    """WeasyPrint warns on every CSS property it ignores and fontTools logs font subsetting;
    keep only errors (e.g. an image that could not be loaded) for the duration of a render."""
    loggers = [logging.getLogger(name) for name in ("weasyprint", "fontTools")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _atomic_write(path: Path, write) -> None:
    """write(tmp_path) to a temporary name in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_pdf(html_text: str, pdf_path: Path, base_url: Path | None = None) -> int:
    """Render HTML to PDF with WeasyPrint, offline; returns the page count."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Everything the report needs is inlined; refusing http(s) means a stray remote URL in a
    # notebook's markdown costs one logged error instead of a hang on a network-less server.
    fetcher = URLFetcher(timeout=5, allowed_protocols={"data", "file"})
    with _quiet_logging():
        document = HTML(string=html_text, base_url=str(base_url) if base_url else None,
                        url_fetcher=fetcher).render()
        _atomic_write(Path(pdf_path), lambda tmp: document.write_pdf(tmp))
    return len(document.pages)


def build_report(notebooks: list[Path], html_path: Path, pdf_path: Path, meta: dict,
                 page_size: str = "A4") -> dict:
    """Combine executed notebooks (in the order given) into `html_path` and `pdf_path`.

    meta: survey (name), wave, run_date, n (respondents after screening), n_raw, input_hash,
    version. Returns {"pages": int, "html": Path, "pdf": Path}.
    """
    html_path, pdf_path = Path(html_path), Path(pdf_path)
    text = render_html(notebooks, meta, page_size)
    _atomic_write(html_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    pages = write_pdf(text, pdf_path, base_url=html_path)  # relative URLs resolve beside the HTML
    return {"pages": pages, "html": html_path, "pdf": pdf_path}


def pdf_page_texts(pdf_path: Path) -> list[str]:
    """The text of each page of a PDF (pypdf, a dev dependency: used by tests).

    When a font lacks glyphs (Korean without a CJK font installed) WeasyPrint gives that font an
    embedded CMap as /Encoding; pypdf 7 cannot read those and decodes the font's text as single
    bytes. WeasyPrint's codes are 2-byte and decoded by /ToUnicode, so reading them as Identity-H
    (in memory only) gives the right text.
    """
    from pypdf import PdfReader
    from pypdf.generic import NameObject, StreamObject

    reader = PdfReader(str(pdf_path))
    for page in reader.pages:
        fonts = page["/Resources"].get("/Font") if "/Resources" in page else None
        for ref in (fonts.get_object().values() if fonts is not None else ()):
            font = ref.get_object()
            if font.get("/Subtype") == "/Type0" and "/Encoding" in font \
                    and isinstance(font["/Encoding"], StreamObject):
                font[NameObject("/Encoding")] = NameObject("/Identity-H")
    return [page.extract_text() or "" for page in reader.pages]


def pdf_text(pdf_path: Path) -> str:
    """All text of a PDF, pages separated by newlines."""
    return "\n".join(pdf_page_texts(pdf_path))

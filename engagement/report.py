"""The stakeholder report: the findings brief, then the analyst appendix -> one HTML document -> PDF.

findings.pdf opens with the brief (engagement.brief: at most four pages written from results.json in
the reader's language), followed by the appendix: per study, only the notebook cells tagged
`appendix` (all cells while a notebook has no such tag), with notebook plumbing removed (sentences
saying what a notebook reads and writes, code spans, snake_case names).

Route: nbconvert's HTMLExporter without input cells (stakeholders read the PDF only, so no code,
prompts, stdout/stderr or tracebacks may reach it), sections joined into one HTML document with a
title page and a table of contents, then WeasyPrint for the PDF. No LaTeX and no browser, so the
report builds on a plain server. WeasyPrint paginates with CSS Paged Media: `target-counter` gives
the contents' page numbers, `counter(pages)` the "page X of Y" footer. The layout checks and PDF
text reading live in engagement.report_layout (re-exported here).
"""

from __future__ import annotations

import nbformat

import contextlib
import html
import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup, NavigableString
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

from . import fonts
from .plots import CJK_FONTS, configure_matplotlib_fonts  # noqa: F401  (re-exported)
from .report_pages import _fmt_n, _footer_css, _meta, _run_facts, _title_page, _toc  # noqa: F401  (re-exported)
from .report_layout import (_CHAPTERS, _classes, _descendants, _tag, _text_of, _walk,  # noqa: F401  (re-exported)
                            brief_page_count, layout_problems, layout_report, pdf_page_texts, pdf_text)

log = logging.getLogger(__name__)

#: cells with this tag are the study's contribution to the appendix; a notebook without any tagged
#: cell contributes all its cells (the behaviour before tags existed)
APPENDIX_TAG = "appendix"
#: notebooks whose summary the brief restates: in the appendix they come after the studies
BRIEF_NOTEBOOKS = frozenset({"90-findings"})

#: cells with these tags are dropped whole (papermill tags its parameter cells; `remove` is ours)
REMOVE_CELL_TAGS = frozenset({
    "remove", "remove-cell", "parameters", "injected-parameters", "papermill-error-cell-tag"})
#: cells with these tags keep nothing but their markdown (i.e. outputs are dropped)
REMOVE_OUTPUT_TAGS = frozenset({"remove-output"})

PAGE_SIZES = {"a4": "A4", "letter": "letter"}

#: Latin in DejaVu Sans, Korean in NanumGothic, Japanese in IPAexGothic: files installed by the
#: project's own dependencies and given to WeasyPrint by @font-face (engagement.fonts); Pango falls
#: back per glyph along the list.
FONT_STACK = fonts.css_font_stack("en")

# A text/plain-only result that is just an object repr (`[<matplotlib.lines.Line2D at 0x..>]`,
# `<Figure size 640x480 with 1 Axes>`, `Text(0.5, 1.0, 'title')`) is a forgotten `;`, not content.
_REPR_NOISE = re.compile(r"[\[(]?\s*(<.*>|Text\(.*\))\s*[\])]?")

_CSS = """
@page {
  margin: 20mm 18mm 22mm 18mm;
  @top-right { content: string(survey); font-size: 8pt; color: #777; }
  @bottom-center { content: %(footer)s; font-size: 8pt; color: #555; }
}
@page :first {
  @top-right { content: none; }
}
@page title {
  @top-right { content: none; }
  @bottom-center { content: none; }
}
html { font-family: %(fonts)s; font-size: 10pt; line-height: 1.4; color: #222; }
body { margin: 0; }

.title-page { page: title; break-after: page; padding-top: 60mm; }
.title-page h1 { font-size: 26pt; margin: 0 0 4mm; string-set: survey content(); bookmark-level: none; }
.title-page .wave { font-size: 15pt; color: #1f4e79; margin: 0 0 14mm; }
dl.run-facts { display: grid; grid-template-columns: max-content auto; gap: 1mm 6mm; margin: 0 0 6mm; }
dl.run-facts dt { color: #666; }
dl.run-facts dd { margin: 0; }
.hash { font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; }

/* the brief: at most four pages, each question kept whole */
.brief-head { border-bottom: 1.5pt solid #1f4e79; margin-bottom: 4mm; }
.brief-head h1 { font-size: 17pt; margin: 0 0 1mm; string-set: survey content(); bookmark-level: 1; }
.brief-head .sub { color: #555; margin: 0 0 2mm; }
.brief h2 { font-size: 12.5pt; margin: 5mm 0 1.5mm; }
.brief .question { break-inside: avoid; }
.brief .answer { font-size: 11pt; font-weight: bold; margin: 0 0 1.5mm; color: #111; }
.brief .not-estimated { font-weight: normal; color: #8a4b00; }
.brief .meaning, .brief .certainty { margin: 1mm 0; font-size: 9.5pt; }
.brief figure { margin: 1mm 0; }
.brief figure img { width: 100%%; }
.claims-on-trial.with-table { break-before: page; }
.at-a-glance { background: #f1f5f9; padding: 2mm 4mm 1mm; margin: 0 0 2mm; break-inside: avoid; }
.at-a-glance h2 { margin: 0 0 1mm; font-size: 11pt; }
.at-a-glance ol { margin: 0; padding-left: 5mm; font-size: 9.5pt; }
.at-a-glance li { margin: 0 0 1mm; }
.at-a-glance .q { display: block; color: #1f4e79; font-weight: bold; }
table.claims { width: 100%%; font-size: 8pt; }
table.claims th:first-child { text-align: left; }
table.claims td { white-space: nowrap; }
table.claims th, table.claims td { padding: 0.8pt 4pt; }
table.claims tbody th { color: #222; }
table.claims tr.v-consistent td:last-child { color: #2d7a4f; }
table.claims tr.v-lower td:last-child, table.claims tr.v-higher td:last-child { color: #b8403a; }
.small { font-size: 8pt; color: #555; margin: 1mm 0; }
.data-notes { break-inside: avoid; }
.data-notes ul { margin: 0; padding-left: 5mm; font-size: 9pt; }

/* the appendix */
.appendix-title { break-before: page; break-after: page; }
.appendix-title > h1 { font-size: 20pt; }
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

/* charts never wider than the text block, never taller than ~half a page: a chart that does not
   fit the rest of a page then leaves less white space behind it */
img { max-width: 100%%; max-height: 120mm; height: auto; }
.jp-RenderedImage, .output_png, .output_jpeg, .output_svg { break-inside: avoid; margin: 3mm 0; text-align: center; }
pre { white-space: pre-wrap; font-size: 8pt; }

table { border-collapse: collapse; font-size: 8pt; margin: 3mm 0; max-width: 100%%; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
/* a table splits only between its first three and last three rows */
tr.keep-next { break-after: avoid; }
tr.keep-prev { break-before: avoid; }
table.short { break-inside: avoid; }
th, td { padding: 1.2pt 5pt; border: none; border-bottom: 0.5pt solid #ddd; text-align: right;
         vertical-align: top; }
thead th { border-bottom: 1pt solid #444; }
tbody th { text-align: left; font-weight: normal; color: #444; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 1mm; }
"""

class _AppendixCells(Preprocessor):
    """Curate the appendix: when any cell carries the `appendix` tag, only tagged cells are kept, each
    under the notebook's own title and section heading (markdown heading lines), so the appendix keeps
    its structure and contents entries."""

    def preprocess(self, nb, resources):
        is_tagged = [APPENDIX_TAG in (c.get("metadata", {}).get("tags") or []) for c in nb.cells]
        if any(is_tagged):
            keep, heading = [], None
            for cell, tagged in zip(nb.cells, is_tagged):
                lines = cell.source.strip().splitlines() if cell.cell_type == "markdown" else []
                if lines and lines[0].startswith("#"):
                    if lines[0].startswith("# "):  # the notebook's title always stays (one line)
                        keep.append(nbformat.v4.new_markdown_cell(lines[0]))
                        heading = None
                    else:
                        heading = nbformat.v4.new_markdown_cell(lines[0])
                if tagged:
                    if heading is not None:
                        keep.append(heading)
                        heading = None
                    keep.append(cell)
            nb.cells = keep
        return nb, resources


class _ReportOutputs(Preprocessor):
    """Keep only what a reader should see: no streams (print, warnings), no tracebacks, no stray reprs.

    Code cells left without outputs are dropped so they leave no empty boxes behind.
    """

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if _keep_output(o)]
        nb.cells = _drop_empty_headings([c for c in nb.cells if c.cell_type != "code" or c.outputs])
        return nb, resources


def _heading_level(cell) -> int:
    """The level of a heading-only markdown cell (`## Weighting` -> 2); 0 for any other cell."""
    if cell.cell_type != "markdown":
        return 0
    lines = cell.source.strip().splitlines()
    m = re.match(r"(#{1,6}) ", lines[0]) if len(lines) == 1 else None
    return len(m.group(1)) if m else 0


def _drop_empty_headings(cells: list) -> list:
    """Headings with nothing under them (every cell of the section was empty or left out of the
    appendix) would stand alone at a page foot: drop them, innermost first."""
    changed = True
    while changed:
        changed = False
        for i, cell in enumerate(cells):
            level = _heading_level(cell)
            nxt = _heading_level(cells[i + 1]) if i + 1 < len(cells) else -1
            if level and (nxt == -1 or 0 < nxt <= level):
                del cells[i]
                changed = True
                break
    return cells


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
    exporter.register_preprocessor(_AppendixCells(), enabled=True)
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags=set(REMOVE_CELL_TAGS),
                              remove_all_outputs_tags=set(REMOVE_OUTPUT_TAGS)),
        enabled=True)
    exporter.register_preprocessor(_ReportOutputs(), enabled=True)
    return exporter


# ---- stakeholder text only ---------------------------------------------------------------------
#: a paragraph or list item about the notebook's plumbing ("Reads the analysis table … Writes the
#: `loyalty` section of `results.json`"), not about the findings
_IO_SENTENCE = re.compile(r"^\W*(reads|writes|reads and writes|inputs?|outputs?)\b[^.]*", re.IGNORECASE)
_IO_WORDS = re.compile(r"results\.json|output_dir|clean\.parquet|\.ipynb|\.parquet|run folder", re.IGNORECASE)
#: snake_case identifiers (result keys, column and function names): two or more word parts joined by _
SNAKE_CASE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")


def _humanize(text: str) -> str:
    """`p_holm` -> `p holm`: the safety net for code names that reach the appendix untranslated."""
    return SNAKE_CASE.sub(lambda m: m.group(0).replace("_", " "), text)


def _stakeholder_text(soup: BeautifulSoup) -> None:
    """Remove notebook plumbing from an exported notebook, in place."""
    for el in soup.find_all(["p", "li", "blockquote"]):
        text = el.get_text(" ", strip=True)
        if _IO_SENTENCE.match(text) or _IO_WORDS.search(text):
            el.decompose()
    for code in soup.find_all("code"):
        if code.find_parent("pre") is None:
            code.unwrap()
    for pre in soup.find_all("pre"):  # code blocks in markdown, repr dumps
        if pre.find_parent(class_=re.compile("output")) is None:
            pre.decompose()
    for node in list(soup.find_all(string=True)):
        if isinstance(node, NavigableString) and node.parent is not None and node.parent.name not in (
                "style", "script") and SNAKE_CASE.search(node):
            node.replace_with(_humanize(str(node)))
    for ul in soup.find_all(["ul", "ol"]):
        if not ul.find("li"):
            ul.decompose()


def _group_rows(soup: BeautifulSoup) -> None:
    """Mark table rows so that a page break leaves at least three body rows on either side: no break
    after the first two rows or before the last two; a table of up to six rows does not break."""
    for table in soup.find_all("table"):
        rows = [r for body in table.find_all("tbody", recursive=False) for r in body.find_all("tr", recursive=False)]
        if len(rows) <= 6:
            table["class"] = [*table.get("class", []), "short"]
            continue
        for row in rows[:2]:
            row["class"] = [*row.get("class", []), "keep-next"]
        for row in rows[-2:]:
            row["class"] = [*row.get("class", []), "keep-prev"]


#: (path, mtime, size) -> the notebook's HTML body (`notebook_body`)
_BODIES: dict[tuple[str, int, int], str] = {}


def notebook_body(path: Path) -> str:
    """An executed notebook as HTML (nbconvert, the report's preprocessors), kept for the file as it
    is now: the pipeline converts each notebook as soon as it is done, while the others still run."""
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _BODIES:
        while len(_BODIES) >= 16:  # a few runs' notebooks; the oldest go first
            _BODIES.pop(next(iter(_BODIES)))
        _BODIES[key] = _exporter().from_filename(str(path))[0]
    return _BODIES[key]


def _sections(notebooks: list[Path], brief_first: bool) -> tuple[list[str], list[tuple[int, str, str]]]:
    """One <section> per notebook, with unique ids on h1/h2 so the contents can link to them."""
    sections, toc = [], []
    for i, path in enumerate(notebooks):
        body = notebook_body(path)
        soup = BeautifulSoup(body, "html.parser")
        if brief_first:
            _stakeholder_text(soup)
        _group_rows(soup)
        if not soup.get_text(strip=True) and not soup.find("img"):
            continue
        for j, heading in enumerate(soup.find_all(["h1", "h2"])):
            heading["id"] = f"s{i}-h{j}"
            toc.append((int(heading.name[1]), heading["id"], heading.get_text(" ", strip=True)))
        sections.append(f'<section class="notebook" data-source="{html.escape(Path(path).stem)}">\n'
                        f"{soup}\n</section>")
    return sections, toc


def render_html(notebooks: list[Path], meta: dict, page_size: str = "A4", *, results: dict | None = None,
                codebook=None, lang: str | None = None) -> str:
    """The whole report as one standalone HTML document (images inlined as data URIs).

    With `results` (results.json as a dict) the document opens with the findings brief and the
    notebooks follow as the appendix; without, it is a title page, contents and the notebooks."""
    from .brief import Translator, brief_language, build_brief

    size = PAGE_SIZES.get(page_size.lower())
    if size is None:
        raise ValueError(f"page_size must be one of {sorted(PAGE_SIZES.values())}, not {page_size!r}")
    lang = brief_language(codebook, lang)
    tr = Translator(lang)
    brief_first = results is not None
    notebooks = [Path(p) for p in notebooks]
    if brief_first:  # the studies' detail first; the findings notebook's ledger and methods last
        notebooks = sorted(notebooks, key=lambda p: p.stem in BRIEF_NOTEBOOKS)
    sections, toc = _sections(notebooks, brief_first)
    survey = _meta(meta, "survey", "survey_name", "name", default="Survey report")
    wave = _meta(meta, "wave")
    wave_text = tr._("Wave {wave}").format(wave=wave)
    title = f"{survey} — {wave_text}" if wave is not None else str(survey)
    if brief_first:
        parts = [build_brief(results, codebook, lang, meta)]
        if sections:
            appendix = tr._("Appendix: analyst detail")
            parts.append(f'<section class="appendix-title">\n<h1>{html.escape(appendix)}</h1>\n'
                         f"{_run_facts(meta, tr)}\n{_toc(toc, tr._('Contents'))}\n</section>")
        parts.extend(sections)
    else:
        parts = [_title_page(meta, tr), _toc(toc, tr._("Contents")), *sections]
    body = "\n".join(parts)
    css = _CSS % {"fonts": fonts.css_font_stack(lang), "footer": _footer_css(tr)}
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n"
            f"<style>{fonts.font_face_css()}</style>\n"
            f"<style>{css}</style>\n"
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


def render_document(html_text: str, base_url: Path | None = None):
    """Lay out the HTML with WeasyPrint, offline; the document's pages carry the layout boxes."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Everything the report needs is inlined; refusing http(s) means a stray remote URL in a
    # notebook's markdown costs one logged error instead of a hang on a network-less server.
    fetcher = URLFetcher(timeout=5, allowed_protocols={"data", "file"})
    with _quiet_logging():
        return HTML(string=html_text, base_url=str(base_url) if base_url else None,
                    url_fetcher=fetcher).render()


def write_pdf(html_text: str, pdf_path: Path, base_url: Path | None = None) -> int:
    """Render HTML to PDF with WeasyPrint, offline; returns the page count."""
    document = render_document(html_text, base_url)
    with _quiet_logging():
        _atomic_write(Path(pdf_path), lambda tmp: document.write_pdf(tmp))
    return len(document.pages)


def _visible_text(html_text: str) -> str:
    soup = BeautifulSoup(html_text, "html.parser")
    for tag in soup.find_all(["style", "script"]):
        tag.decompose()
    return soup.get_text(" ")


def build_report(notebooks: list[Path], html_path: Path, pdf_path: Path, meta: dict,
                 page_size: str = "A4", *, results: dict | None = None, codebook=None,
                 lang: str | None = None, logger: logging.Logger | None = None) -> dict:
    """Combine the brief and the executed notebooks (in the order given) into `html_path` and `pdf_path`.

    meta: survey (name), wave, run_date, n (respondents after screening), n_raw, input_hash,
    version, previous_wave. results: results.json as a dict (default: the results.json beside
    `html_path`, when there is one); codebook: for labels and the default language; lang: en, ko or
    ja (default: the codebook's survey.language, else en). A label with characters no installed font
    can draw is reported on `logger` (the run log) and on stderr.
    Returns {"pages": int, "brief_pages": int, "html": Path, "pdf": Path}.
    """
    html_path, pdf_path = Path(html_path), Path(pdf_path)
    if results is None and (html_path.parent / "results.json").exists():
        import json

        results = json.loads((html_path.parent / "results.json").read_text(encoding="utf-8"))
    text = render_html(notebooks, meta, page_size, results=results, codebook=codebook, lang=lang)
    fonts.warn_missing_glyphs([_visible_text(text)], logger)
    _atomic_write(html_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    document = render_document(text, base_url=html_path)  # relative URLs resolve beside the HTML
    with _quiet_logging():
        _atomic_write(pdf_path, lambda tmp: document.write_pdf(tmp))
    brief = brief_page_count(document) if results is not None else 0
    return {"pages": len(document.pages), "brief_pages": brief, "html": html_path, "pdf": pdf_path}

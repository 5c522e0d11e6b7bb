"""The report's layout checks, read from WeasyPrint's laid-out boxes, and reading a PDF's text back.

Split out of engagement.report (issue 13), which re-exports every name here: `layout_report` and
`layout_problems` (what the layout tests check), `brief_page_count`, `pdf_page_texts`, `pdf_text`.
"""

from __future__ import annotations

from pathlib import Path


# ---- layout: what the layout tests check, read from WeasyPrint's boxes ---------------------------
def _descendants(box):
    yield box
    for child in getattr(box, "children", None) or ():
        yield from _descendants(child)


def _classes(box) -> set[str]:
    element = getattr(box, "element", None)
    if element is None:
        return set()
    return set((element.get("class") or "").split())


def _tag(box) -> str:
    element = getattr(box, "element", None)
    tag = getattr(element, "tag", "") if element is not None else ""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def brief_page_count(document) -> int:
    """Pages holding any part of the brief."""
    count = 0
    for page in document.pages:
        if any("brief" in _classes(b) for b in _descendants(page._page_box)):
            count += 1
    return count


def _walk(box, ancestors=()):
    """(box, ancestors) for every box below `box`, depth first."""
    yield box, ancestors
    for child in getattr(box, "children", None) or ():
        yield from _walk(child, (*ancestors, box))


def _text_of(box) -> str:
    element = getattr(box, "element", None)
    return "".join(element.itertext()).strip() if element is not None and hasattr(element, "itertext") else ""


#: sections that open on a new page: the page before them may be short
_CHAPTERS = frozenset({"notebook", "appendix-title", "with-table"})


def layout_report(document) -> dict:
    """Measure a laid-out report against the layout rules.

    Returns {"fill": [fraction of each page's text block used], "chapter_before": [page i is
    followed by a forced break: the next page opens a chapter, or i is the last page],
    "table_splits": [(table caption, [body rows on each page])], "wide_images": [(page, width,
    text width)], "stranded_headings": [(page, heading text)]}.
    """
    from weasyprint.formatting_structure import boxes as B

    fills, chapter_start, wide, stranded = [], [], [], []
    chapters_seen: set[int] = set()
    rows_by_table: dict[int, dict[int, int]] = {}
    table_names: dict[int, str] = {}
    for number, page in enumerate(document.pages):
        pb = page._page_box
        top, left = pb.content_box_y(), pb.content_box_x()
        height, width = pb.height, pb.width
        bottom, last, last_ancestors, starts_chapter = top, None, (), False
        for box, ancestors in _walk(pb):
            if isinstance(box, B.MarginBox) or any(isinstance(a, B.MarginBox) for a in ancestors):
                continue  # running headers and footers are not page content
            if _CHAPTERS & _classes(box) and id(box.element) not in chapters_seen:
                chapters_seen.add(id(box.element))  # a chapter's first page (it opens with a page break)
                starts_chapter = True
            if isinstance(box, (B.LineBox, B.ReplacedBox)) and box.height is not None:
                end = box.position_y + box.margin_height()
                if end >= bottom:
                    bottom, last, last_ancestors = end, box, ancestors
            if isinstance(box, B.ReplacedBox) and (box.margin_width() > width + 0.5
                                                    or box.position_x < left - 0.5):
                wide.append((number + 1, round(box.margin_width(), 1), round(width, 1)))
            if isinstance(box, B.TableRowBox):
                group = next((a for a in reversed(ancestors) if isinstance(a, B.TableRowGroupBox)), None)
                table = next((a for a in reversed(ancestors) if isinstance(a, B.TableBox)), None)
                if table is not None and not getattr(group, "is_header", False):
                    key = id(table.element)
                    rows_by_table.setdefault(key, {}).setdefault(number, 0)
                    rows_by_table[key][number] += 1
                    caption = table.element.find(".//caption") if table.element is not None else None
                    table_names.setdefault(key, "".join(caption.itertext()).strip() if caption is not None
                                           else "table")
        fills.append(max(0.0, min(1.0, (bottom - top) / height)) if height else 0.0)
        chapter_start.append(starts_chapter)
        if last is not None:  # a heading is stranded when it is the last thing on its page
            heading = next((a for a in reversed((*last_ancestors, last))
                            if _tag(a) in ("h1", "h2", "h3", "h4", "h5", "h6")), None)
            if heading is not None and number + 1 < len(document.pages):
                stranded.append((number + 1, _text_of(heading)))
    chapter_before = [(chapter_start[i + 1] if i + 1 < len(chapter_start) else True)
                      for i in range(len(fills))]
    splits = [(table_names.get(k, "table"), [v[p] for p in sorted(v)]) for k, v in rows_by_table.items()
              if len(v) > 1]
    return {"fill": fills, "chapter_before": chapter_before, "table_splits": splits,
            "wide_images": wide, "stranded_headings": stranded}


def layout_problems(document, min_fill: float = 0.2, min_rows: int = 3) -> list[str]:
    """The layout rules as a list of violations (empty when the report is fine)."""
    lay = layout_report(document)
    out = []
    for i, (fill, chapter) in enumerate(zip(lay["fill"], lay["chapter_before"]), 1):
        if fill < min_fill and not chapter:
            out.append(f"page {i} is only {fill:.0%} full and no chapter follows it")
    for name, rows in lay["table_splits"]:
        if min(rows) < min_rows:
            out.append(f"table {name!r} split {rows} rows per page (fewer than {min_rows} on a page)")
    for page, w, text_width in lay["wide_images"]:
        out.append(f"page {page}: image {w} px wide, wider than the text block ({text_width} px)")
    for page, heading in lay["stranded_headings"]:
        out.append(f"page {page}: heading {heading!r} is the last thing on its page")
    return out


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

"""Layout rules of findings.pdf, measured on WeasyPrint's laid-out boxes (engagement.report.layout_report):

- no table split leaving fewer than three body rows on a page;
- no page under a fifth full, except the last page before a chapter (a forced page break);
- charts never wider than the text block;
- headings kept with what follows them (a heading is never the last thing on a page).

The rules are checked on synthetic documents that put a table, a chart and a heading at every
height of a page (fast), and on the reports of the default survey (the session's default run,
tests/conftest.py) and of a real dataset (the IBM Telco data with data/examples/telco_churn.yaml,
with fewer persona starts; slow: a whole pipeline run).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from engagement import config
from engagement.brief import Translator
from engagement.report import (_CSS, _footer_css, _group_rows, layout_problems, layout_report,
                               render_document)

CSS = _CSS % {"fonts": '"DejaVu Sans"', "footer": _footer_css(Translator("en"))}


def _document(body: str):
    soup = BeautifulSoup(f"<html><head><style>{CSS}</style></head><body>{body}</body></html>", "html.parser")
    _group_rows(soup)
    return render_document(str(soup))


def _png(width_px: int, height_px: int) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width_px, height_px), "#1f4e79").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _filler(n: int) -> str:
    return "".join(f"<p>Paragraph {i} of the text before the element under test.</p>" for i in range(n))


@pytest.mark.parametrize("rows", [7, 12])
def test_tables_never_split_with_fewer_than_three_rows(rows):
    body_rows = "".join(f"<tr><th>row {i}</th><td>{i}</td></tr>" for i in range(rows))
    table = (f"<table><caption>T</caption><thead><tr><th>a</th><th>b</th></tr></thead>"
             f"<tbody>{body_rows}</tbody></table><p>after</p>")
    splits_seen = 0
    for filler in range(44, 58):  # slide the table across the page foot
        doc = _document(_filler(filler) + table)
        splits = layout_report(doc)["table_splits"]
        splits_seen += bool(splits)
        assert all(min(per_page) >= 3 for _name, per_page in splits), (filler, splits)
        assert layout_problems(doc) == [], filler
    if rows == 12:
        assert splits_seen, "a 12-row table at the page foot should split (between rows 3 and 9)"


def test_short_tables_do_not_split():
    body_rows = "".join(f"<tr><th>row {i}</th><td>{i}</td></tr>" for i in range(5))
    for filler in range(48, 56):
        doc = _document(_filler(filler) + f"<table><tbody>{body_rows}</tbody></table>")
        assert layout_report(doc)["table_splits"] == []


def test_charts_never_wider_than_the_text_block():
    doc = _document(f'<h2>Wide chart</h2><div class="output_png"><img src="{_png(3000, 800)}"></div>')
    lay = layout_report(doc)
    assert lay["wide_images"] == []
    # and the measurement does catch a chart that overflows
    doc = _document(f'<img style="max-width:none; width:250mm" src="{_png(3000, 800)}">')
    assert layout_report(doc)["wide_images"]


def test_headings_kept_with_what_follows():
    for filler in range(46, 56):
        doc = _document(_filler(filler) + f'<h2>Heading {filler}</h2><div class="output_png">'
                        f'<img src="{_png(1000, 600)}"></div>')
        assert layout_report(doc)["stranded_headings"] == [], filler


def test_underfull_page_is_detected_unless_a_chapter_follows():
    doc = _document("<p>one line</p><div style='break-before: page'>" + _filler(5) + "</div>")
    assert any("only" in p for p in layout_problems(doc))
    doc = _document("<p>one line</p><section class='notebook'>" + _filler(5) + "</section>")
    assert layout_problems(doc) == []


# ---- the real reports ------------------------------------------------------------------------
TELCO = config.SHARED_DIR / "data" / "telco_churn" / "Telco-Customer-Churn.csv"


#: fewer persona starts for the Telco run: the report keeps its shape (every k from 1 to 8 in the
#: k table, the same four personas chosen as with the default 20 starts) at a fraction of the fit
TELCO_PARAMS = {"n_init": 4}


def _run(tmp_path_factory, data, codebook, params=None) -> Path:
    from engagement.pipeline import run_pipeline

    out = tmp_path_factory.mktemp("layout") / "run"
    run_pipeline(data, codebook, out=out, params=params, progress=lambda *_: None)
    return out


@pytest.fixture(scope="module", params=["default", "telco"])
def report_run(request, tmp_path_factory):
    if request.param == "default":  # the session's default run (tests/conftest.py), shared with test_structure
        return request.getfixturevalue("default_run").run_dir
    if not TELCO.exists():
        pytest.skip(f"{TELCO} not available")
    return _run(tmp_path_factory, TELCO, config.EXAMPLES_DIR / "telco_churn.yaml", TELCO_PARAMS)


@pytest.mark.notebooks
def test_real_reports_follow_the_layout_rules(report_run):
    import json
    import re

    from engagement.report import SNAKE_CASE, brief_page_count, pdf_text

    html = report_run / "findings.html"
    doc = render_document(html.read_text(encoding="utf-8"), html)
    assert layout_problems(doc) == []
    assert 1 <= brief_page_count(doc) <= 4
    text = pdf_text(report_run / "findings.pdf")
    assert not SNAKE_CASE.search(text), sorted(set(SNAKE_CASE.findall(text)))[:20]
    keys = set()

    def walk(obj):
        if isinstance(obj, dict):
            keys.update(obj)
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(json.loads((report_run / "results.json").read_text(encoding="utf-8")))
    words = set(re.findall(r"[A-Za-z0-9_]+", text))
    assert not {k for k in keys if "_" in k} & words
    assert not re.search(r"\bReads\b|\bWrites\b|results\.json", text)

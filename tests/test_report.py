"""The stakeholder PDF: built from two small executed notebooks, checked through its text (pypdf).

What matters to the reader: a title page, a contents with page numbers, "page X of Y" footers,
and nothing of the machinery (code, parameters, print output, warnings, tracebacks).
"""

from __future__ import annotations

import re
import socket
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from pypdf import PdfReader

from engagement.report import CJK_FONTS, build_report, configure_matplotlib_fonts, pdf_page_texts

META = {"survey": "Customer Pulse 2025", "wave": "W3", "run_date": "2025-11-22", "n": 1234,
        "n_raw": 1500, "input_hash": "9f" * 32, "version": "0.1.0"}
SECRET = "sk-test-7f3a9c"  # a parameter value: must never reach the PDF
#: text that only exists in sources, stdout, stderr, tracebacks or removed cells
FORBIDDEN = ["import pandas", "api_key", SECRET, "print(", "STDOUT-MARKER-42", "WARNING-MARKER-17",
             "UserWarning", "ERROR-MARKER-99", "Traceback", "REMOVED-MARKER-5", "Text(", "Line2D",
             "In [", "Out["]
HEADINGS = ["Channel preferences", "Preferred channel shares", "Key findings", "Loyalty drivers"]


def _code(src, tags=()):
    return new_code_cell(textwrap.dedent(src).strip(), metadata={"tags": list(tags)})


def _notebooks():
    channels = new_notebook(cells=[
        _code(f'api_key = "{SECRET}"', tags=["parameters"]),
        new_markdown_cell("# Channel preferences\n\nPreferred channel (채널) by segment.\n\n"
                          "## Preferred channel shares"),
        _code("""
            import pandas as pd
            import numpy as np
            import warnings
            print("STDOUT-MARKER-42")
        """),
        _code('warnings.warn("WARNING-MARKER-17")'),
        _code("""
            pd.set_option("display.max_rows", 500)
            pd.DataFrame({"resp_id": range(120), "score": np.linspace(1, 7, 120).round(2)})
        """),
        _code("""
            import matplotlib.pyplot as plt
            fig, ax = plt.subplots(figsize=(7, 3.5), dpi=110)
            ax.bar(["Web", "App", "Store"], [0.5, 0.3, 0.2])
            ax.set_title("Channel share")
        """),
        _code('from IPython.display import Markdown\nMarkdown("REMOVED-MARKER-5")', tags=["remove"]),
        _code('raise ValueError("ERROR-MARKER-99")', tags=["raises-exception"]),
    ])
    findings = new_notebook(cells=[
        new_markdown_cell("# Key findings\n\n## Loyalty drivers\n\nCES predicts loyalty better than CSAT.\n\n"
                          "![remote](http://example.invalid/logo.png)"),
        _code("""
            import pandas as pd
            pd.DataFrame({"metric": ["CES", "CSAT"], "r": [0.412, 0.219]}).style.format({"r": "{:.2f}"})
        """),
    ])
    return {"10-channel-preferences": channels, "90-findings": findings}


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    paths = []
    for name, nb in _notebooks().items():
        NotebookClient(nb, kernel_name="python3", timeout=120,
                       resources={"metadata": {"path": str(folder)}}).execute()
        path = folder / f"{name}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def a4(notebooks, tmp_path_factory):
    out = tmp_path_factory.mktemp("a4")
    lookups = []  # host names looked up while rendering: a remote fetch would show here
    real = socket.getaddrinfo

    def spy(*args, **kwargs):
        lookups.append(args[0])
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", spy)
        result = build_report(notebooks, out / "report.html", out / "report.pdf", META)
    pages = pdf_page_texts(result["pdf"])
    return {**result, "out": out, "lookups": lookups, "pages_text": pages, "text": "\n".join(pages)}


def test_pdf_written_atomically(a4):
    assert a4["pdf"].exists() and a4["pdf"].read_bytes().startswith(b"%PDF")
    assert a4["html"].exists()
    assert a4["pages"] == len(PdfReader(a4["pdf"]).pages) > 1
    assert not [p.name for p in a4["out"].iterdir() if p.name.endswith(".tmp")]


def test_title_page(a4):
    first = a4["pages_text"][0]
    for expected in ("Customer Pulse 2025", "Wave W3", "n = 1,234", "1,500", "2025-11-22"):
        assert expected in first
    assert "page 1 of" not in first  # no footer on the title page


def test_contents_lists_headings_with_their_pages(a4):
    pages = a4["pages_text"]
    toc = pages[1]
    assert "Contents" in toc
    for heading in HEADINGS:
        match = re.search(re.escape(heading) + r"\s*\.+\s*(\d+)", toc)
        assert match, f"{heading!r} not in contents:\n{toc}"
        page = int(match[1])
        assert heading in pages[page - 1], f"{heading!r} not on page {page}"


def test_no_code_streams_or_errors(a4):
    html = a4["html"].read_text(encoding="utf-8")
    for needle in FORBIDDEN:
        assert needle not in a4["text"], f"{needle!r} in PDF"
        assert needle not in html, f"{needle!r} in HTML"
    assert "CES predicts loyalty better than CSAT." in a4["text"]  # markdown kept
    assert "0.41" in a4["text"] and "0.412" not in a4["text"]  # Styler output, formatted
    assert "채널" in a4["text"]


def test_page_numbers_and_repeated_table_header(a4):
    n = a4["pages"]
    assert f"page 2 of {n}" in a4["text"] and f"page {n} of {n}" in a4["text"]
    table_pages = [t for t in a4["pages_text"] if "resp_id" in t]
    assert len(table_pages) >= 2, "the 120-row table should span pages with its header repeated"
    assert "119" in a4["text"]  # last row present, nothing truncated


def test_figure_embedded_as_png(a4):
    assert "data:image/png;base64," in a4["html"].read_text(encoding="utf-8")
    assert sum(len(page.images) for page in PdfReader(a4["pdf"]).pages) >= 1


def test_no_network(a4):
    assert a4["lookups"] == []  # the http image in the markdown was refused, not fetched


@pytest.mark.parametrize("size, box", [("letter", (612, 792)), ("A4", (595.28, 841.89))])
def test_page_size(notebooks, tmp_path, size, box):
    result = build_report(notebooks[1:], tmp_path / "r.html", tmp_path / "r.pdf", META, page_size=size)
    for page in PdfReader(result["pdf"]).pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(box, abs=0.5)


def test_unknown_page_size(notebooks, tmp_path):
    with pytest.raises(ValueError, match="page_size"):
        build_report(notebooks, tmp_path / "r.html", tmp_path / "r.pdf", META, page_size="A3")
    assert not (tmp_path / "r.pdf").exists()


def test_configure_matplotlib_fonts():
    import matplotlib

    with matplotlib.rc_context():
        chosen = configure_matplotlib_fonts()
        assert chosen == "NanumGothic" and chosen in CJK_FONTS  # installed by the project's dependencies
        # an explicit family list: matplotlib falls back per glyph along it (not along sans-serif)
        assert matplotlib.rcParams["font.family"] == ["DejaVu Sans", "NanumGothic", "IPAexGothic"]
        configure_matplotlib_fonts("ja")
        assert matplotlib.rcParams["font.family"][1] == "IPAexGothic"  # Japanese glyph forms for Han


# ---- brief first, curated appendix ------------------------------------------------------------------
IO_SENTENCE = "Reads the analysis table of the run folder and writes the loyalty section of results.json."


def _study_notebook(tagged: bool):
    """A study notebook as the study engineers write them: plumbing, analyst tables, tagged cells."""
    tags = ["appendix"] if tagged else []
    return new_notebook(cells=[
        new_markdown_cell(f"# Loyalty study\n\n{IO_SENTENCE}\n\nThe `ces_mean` is shown below.",
                          metadata={"tags": tags}),
        _code('import pandas as pd\npd.DataFrame({"p_holm": [0.01, 0.2], "estimate": [1, 2]})', tags=tags),
        new_markdown_cell("## Untagged analyst detail\n\nUNTAGGED-MARKER-3"),
        _code('pd.DataFrame({"rows": range(40)})'),
    ])


@pytest.fixture(scope="module")
def study_notebooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    paths = {}
    for tagged in (False, True):
        nb = _study_notebook(tagged)
        NotebookClient(nb, kernel_name="python3", timeout=120,
                       resources={"metadata": {"path": str(folder)}}).execute()
        path = folder / f"20-loyalty-{'tagged' if tagged else 'untagged'}.ipynb"
        nbformat.write(nb, path)
        paths[tagged] = path
    return paths


def _results():
    import json
    from pathlib import Path

    return json.loads((Path(__file__).parent / "data" / "results_default_before_restructure.json").read_text())


@pytest.mark.parametrize("tagged", [False, True])
def test_brief_first_then_curated_appendix(study_notebooks, tmp_path, tagged):
    result = build_report([study_notebooks[tagged]], tmp_path / "f.html", tmp_path / "f.pdf", META,
                          results=_results())
    pages = pdf_page_texts(result["pdf"])
    text = "\n".join(pages)
    assert "Which channels do customers use?" in pages[0]  # the brief opens the PDF, no title page
    assert 1 <= result["brief_pages"] <= 4
    appendix = next(i for i, p in enumerate(pages) if "Appendix: analyst detail" in p)
    assert appendix >= result["brief_pages"]
    assert "Loyalty study" in "\n".join(pages[appendix:])
    # notebook plumbing and code names never reach the reader
    assert "Reads the analysis table" not in text and "results.json" not in text
    assert not re.search(r"\b(ces_mean|p_holm)\b", text)
    assert "p holm" in text  # the column is still there, in words
    if tagged:  # only the tagged cells
        assert "UNTAGGED-MARKER-3" not in text and "Untagged analyst detail" not in text
    else:  # no tags yet: the whole notebook, as before tags existed
        assert "UNTAGGED-MARKER-3" in text


def test_brief_in_korean_with_footer(tmp_path):
    result = build_report([], tmp_path / "f.html", tmp_path / "f.pdf", META, results=_results(), lang="ko")
    text = pdf_page_texts(result["pdf"])
    assert "고객은 어떤 채널을 이용하는가?" in text[0]
    assert f"{result['pages']}쪽중1쪽" in re.sub(r"\s+", "", text[0])  # "page 1 of N" in Korean

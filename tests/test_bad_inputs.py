"""The bad-input matrix of `engagement run` (issue 12 items 3-5, 8): every case is refused in the
up-front checks, before any notebook runs, with exit 2, ONE line on stderr naming what is wrong (a
bad value quoted to at most ~80 characters), and nothing written anywhere.

The CLI runs in-process (`cli.app(args)`), so each case costs only its checks (well under 2 s).
Cases that belong to ingest (values out of range, missing columns, bad YAML) are here too, with the
few words they must keep, so that the matrix covers what a user can type.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from engagement import cli, config
from engagement.simulate import SimulationParams, write_survey

LONG = "x" * 5000


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    # one file (no CRM extracts), so each case edits a single CSV
    paths = write_survey(tmp_path_factory.mktemp("bad-src"), SimulationParams(n=150, seed=5), single_file=True)
    return {"csv": paths["survey"].read_text(), "codebook": yaml.safe_load(paths["codebook"].read_text())}


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


class Case:
    """A bad input: how to make it, the command line, and the words the one line must contain."""

    def __init__(self, cid, args, words, *, csv=None, codebook=None, raw_codebook=None, setup=None, code=2):
        self.id, self.args, self.words, self.code = cid, args, words, code
        self.csv, self.codebook, self.raw_codebook, self.setup = csv, codebook, raw_codebook, setup


def _set(path, value):
    """codebook edit: set a dotted key path to value."""
    def edit(cb):
        node = cb
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[int(k) if isinstance(node, list) else k]
        node[keys[-1]] = value
    return edit


def _csv_cell(column, row, value):
    def edit(text):
        lines = text.splitlines()
        header = lines[0].split(",")
        cells = lines[row].split(",")
        cells[header.index(column)] = value
        lines[row] = ",".join(cells)
        return "\n".join(lines) + "\n"
    return edit


def _all_cells(column, value):
    def edit(text):
        lines = text.splitlines()
        i = lines[0].split(",").index(column)
        out = [lines[0]]
        for line in lines[1:]:
            cells = line.split(",")
            cells[i] = value
            out.append(",".join(cells))
        return "\n".join(out) + "\n"
    return edit


def _margin_level(var, level, share, drop_from=None):
    def edit(cb):
        m = cb["margins"][var]
        if drop_from is not None:
            m[drop_from] = round(m[drop_from] - share, 10)
        m[level] = share
    return edit


CASES = [
    # ---- options (usage errors) ----
    Case("unknown-option", ["--bogus"], ["No such option", "--bogus"]),
    Case("page-size-A3", ["--page-size", "A3"], ["--page-size", "'A3'", "A4, letter"]),
    Case("page-size-empty", ["--page-size", ""], ["--page-size", "A4, letter"]),
    Case("page-size-long", ["--page-size", LONG], ["--page-size", "A4, letter"]),
    Case("page-size-missing-value", ["--page-size"], ["--page-size", "requires an argument"]),
    Case("wait-negative", ["--wait", "-1"], ["--wait"]),
    Case("wait-text", ["--wait", "soon"], ["--wait"]),
    Case("wave-missing-value", ["--wave"], ["--wave"]),
    # ---- notebook parameters: names and types from the parameters cells ----
    Case("param-no-equals", ["-p", "seed"], ["-p", "key=value"]),
    Case("param-empty-key", ["-p", "=5"], ["-p", "key=value"]),
    Case("param-unknown", ["-p", "unknown=1"], ["parameter 'unknown'", "cv_repeats"]),
    Case("param-unknown-long", ["-p", LONG + "=1"], ["parameter", "…"]),
    Case("param-seed-text", ["-p", "seed=abc"], ["seed", "'abc'", "whole number"]),
    Case("param-seed-float", ["-p", "seed=1.5"], ["seed", "whole number"]),
    Case("param-seed-bool", ["-p", "seed=true"], ["seed", "whole number"]),
    Case("param-seed-list", ["-p", "seed=[1, 2]"], ["seed", "whole number"]),
    Case("param-seed-long", ["-p", "seed=" + LONG], ["seed", "whole number", "…"]),
    Case("param-cv-repeats-text", ["-p", "cv_repeats=abc"], ["cv_repeats", "whole number", "20-loyalty"]),
    Case("param-cv-repeats-empty", ["-p", "cv_repeats="], ["cv_repeats", "whole number"]),
    Case("param-cv-folds-float", ["-p", "cv_folds=2.5"], ["cv_folds", "whole number"]),
    Case("param-alpha-text", ["-p", "alpha=five"], ["alpha", "a number"]),
    Case("param-alpha-nan", ["-p", "alpha=.nan"], ["alpha", "a number"]),
    Case("param-alpha-inf", ["-p", "alpha=.inf"], ["alpha", "a number"]),
    Case("param-min-share-bool", ["-p", "min_share=yes"], ["min_share", "a number"]),
    Case("param-stability-all-text", ["-p", "stability_all=maybe"], ["stability_all", "true or false"]),
    Case("param-stability-all-int", ["-p", "stability_all=2"], ["stability_all", "true or false"]),
    Case("param-persona-names-scalar", ["-p", "persona_names=500"], ["persona_names", "list"]),
    Case("param-persona-names-text", ["-p", "persona_names=Bob"], ["persona_names", "list"]),
    Case("param-data-path", ["-p", "data_path=/tmp/x.csv"], ["data_path", "set by the pipeline"]),
    Case("param-output-dir", ["-p", "output_dir=/tmp"], ["output_dir", "set by the pipeline"]),
    Case("param-wave", ["-p", "wave=2027"], ["wave", "set by the pipeline"]),
    Case("param-previous-results", ["-p", "previous_results=x"], ["previous_results", "set by the pipeline"]),
    # ---- paths ----
    Case("data-missing", ["--data", "{tmp}/nope.csv"], ["data file", "nope.csv", "not found"]),
    Case("data-directory", ["--data", "{tmp}"], ["data file", "directory"]),
    Case("codebook-missing", ["--codebook", "{tmp}/nope.yaml"], ["codebook", "nope.yaml", "not found"]),
    Case("codebook-directory", ["--codebook", "{tmp}"], ["codebook", "directory"]),
    Case("out-is-a-file", ["--out", "{tmp}/survey.csv"], ["output folder", "found a file"]),
    Case("out-under-a-file", ["--out", "{tmp}/survey.csv/run"], ["output folder", "is a file"]),
    Case("out-not-writable", ["--out", "/proc/engagement-run/x"], ["output folder", "writable"]),
    Case("reports-under-a-file", [], ["output folder", "is a file"], setup="reports-under-file"),
    # ---- encodings ----
    Case("codebook-latin1", [], ["codebook.yaml", "UTF-8", "row"], raw_codebook="latin1"),
    Case("codebook-utf16", [], ["codebook.yaml", "UTF-8"], raw_codebook="utf16"),
    Case("encoding-unknown", [], ["encoding", "'klingon'"], codebook=_set("encoding", "klingon")),
    Case("encoding-long", [], ["encoding", "…"], codebook=_set("encoding", LONG)),
    # ---- labels: reserved, empty ----
    Case("wave-latest", ["--wave", "latest"], ["wave label 'latest'", "pipeline's own"]),
    Case("wave-LATEST", ["--wave", "LATEST"], ["wave label", "pipeline's own"]),
    Case("wave-failed", ["--wave", "_failed"], ["wave label '_failed'", "pipeline's own"]),
    Case("wave-dot", ["--wave", "."], ["wave label", "pipeline's own"]),
    Case("wave-dotdot", ["--wave", ".."], ["wave label", "pipeline's own"]),
    Case("wave-hidden", ["--wave", ".2026-Q4"], ["wave label", "'.'"]),
    Case("wave-blank", ["--wave", "   "], ["wave label", "non-empty"]),
    Case("wave-long-reserved", ["--wave", "." + LONG], ["wave label", "…"]),
    Case("survey-latest", [], ["survey label 'latest'"], codebook=_set("survey.name", "latest")),
    Case("survey-failed", [], ["survey label '_failed'"], codebook=_set("survey.name", "_failed")),
    Case("survey-hidden", [], ["survey label '.cx'"], codebook=_set("survey.name", ".cx")),
    Case("codebook-wave-latest", [], ["wave label 'latest'"], codebook=_set("survey.wave", "latest")),
    # ---- data the notebooks could not use ----
    Case("inf-revenue", [], ["column 'revenue_365d'", "row 3", "finite"], csv=_csv_cell("revenue_365d", 3, "inf")),
    Case("minus-inf-revenue", [], ["column 'revenue_365d'", "row 9", "inf"], csv=_csv_cell("revenue_365d", 9, "-inf")),
    Case("everyone-screened-out", [], ["screened out", "attention_fail"],
         codebook=_set("attention_checks.0.correct", 2), csv=_all_cells("attn_check", "3")),
    Case("margin-nobody-has", [], ["margins", "region", "no respondents"], codebook=_margin_level("region", 9, 0.05, 1)),
    Case("margin-negative-share", [], ["margins", "region", "negative"],
         codebook=lambda cb: cb["margins"]["region"].update({1: 0.5, 2: 0.25, 3: 0.5, 4: -0.25})),
    Case("margin-level-without-share", [], ["margins", "age_group"],
         codebook=lambda cb: cb["margins"].update({"age_group": {1: 0.5, 2: 0.5}})),
    Case("margin-unknown-column", [], ["margins", "nope"], codebook=lambda cb: cb["margins"].update({"nope": {1: 1.0}})),
    # ---- ingest's checks, as a user meets them through `run` ----
    Case("csat-out-of-range", [], ["column 'csat'", "row 8", "found 9"], csv=_csv_cell("csat", 8, "9")),
    Case("ces-text", [], ["column 'ces'", "row 2"], csv=_csv_cell("ces", 2, "easy")),
    Case("missing-column", [], ["csat"], csv=lambda t: t.replace("csat", "csat_renamed", 1)),
    Case("codebook-bad-yaml", [], ["codebook.yaml", "YAML"], raw_codebook="badyaml"),
    Case("codebook-list", [], ["codebook.yaml", "mapping"], raw_codebook="list"),
    Case("codebook-unknown-key", [], ["codebook.yaml", "colour"], codebook=_set("colour", "blue")),
    Case("codebook-margins-sum", [], ["margins", "sum"], codebook=lambda cb: cb["margins"]["region"].update({1: 0.9})),
    Case("data-empty-file", [], ["survey.csv"], csv=lambda t: ""),
    Case("data-header-only", [], ["survey.csv"], csv=lambda t: t.splitlines()[0] + "\n"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(case, source, tmp_path, monkeypatch, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    cb = yaml.safe_load(yaml.safe_dump(source["codebook"]))
    if case.codebook:
        case.codebook(cb)
    text = yaml.safe_dump(cb, allow_unicode=True, sort_keys=False)
    data = case.csv(source["csv"]) if case.csv else source["csv"]
    (inputs / "survey.csv").write_text(data)
    raw = {"latin1": ("# Café codebook\n" + text).encode("latin-1"), "utf16": text.encode("utf-16"),
           "badyaml": b"survey: {name: [unclosed\n", "list": b"- a\n- b\n"}.get(case.raw_codebook)
    (inputs / "codebook.yaml").write_bytes(raw if raw is not None else text.encode("utf-8"))
    reports = tmp_path / "reports"
    monkeypatch.setattr(config, "REPORTS_DIR", reports)
    if case.setup == "reports-under-file":
        (tmp_path / "afile").write_text("x")
        monkeypatch.setattr(config, "REPORTS_DIR", tmp_path / "afile" / "reports")
    before = files_under(tmp_path)
    args = ["run", "--data", str(inputs / "survey.csv"), "--codebook", str(inputs / "codebook.yaml")]
    args += [a.replace("{tmp}", str(inputs)) for a in case.args]
    with pytest.raises(SystemExit) as done:
        cli.app(args)
    err = capsys.readouterr().err
    assert done.value.code == case.code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in case.words:
        assert word in lines[0], (word, lines[0])
    assert len(lines[0]) < 700, len(lines[0])
    assert LONG[:100] not in lines[0]  # a bad value is quoted to ~80 characters, never whole
    assert files_under(tmp_path) == before
    assert not reports.exists()


def test_matrix_has_at_least_60_cases():
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)


def test_other_commands_give_one_line_usage_errors(capsys):
    for args in (["simulate", "--n", "abc"], ["simulate", "--personas", "9"], ["nonsense"],
                 ["assign", "--typing-tool"]):
        with pytest.raises(SystemExit) as done:
            cli.app(args)
        err = capsys.readouterr().err.strip()
        assert done.value.code == 2 and len(err.splitlines()) == 1 and "bad input" in err, (args, err)


def test_page_sizes_agree_with_the_report():
    from engagement import pipeline, report

    assert {s.lower() for s in pipeline.PAGE_SIZES} == set(report.PAGE_SIZES)


def test_the_notebooks_declare_what_the_pipeline_sets():
    from engagement.pipeline import NOTEBOOKS, PIPELINE_PARAMETERS, notebook_parameters

    declared = set().union(*(notebook_parameters(config.NOTEBOOKS_DIR / f"{n}.ipynb") for n in NOTEBOOKS))
    assert PIPELINE_PARAMETERS <= declared
    assert os.environ.get("ENGAGEMENT_NOTEBOOKS_DIR") is None or True

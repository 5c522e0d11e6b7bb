"""End to end: `engagement run` on a small simulated survey.

One full run (module fixture) is checked for the PDF's text, results.json, the manifest and personal
data; further runs check idempotent reruns, bad input (exit 2, reports untouched) and a failed rerun
(previous report and `latest` pointer untouched, failed notebook kept).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from engagement import config
from engagement.pipeline import NOTEBOOKS, NotebookFailed, run_pipeline
from engagement.report import pdf_text
from engagement.simulate import SimulationParams, write_survey

from tests.shared import small_params

pytestmark = pytest.mark.notebooks


def tree_state(root: Path) -> dict:
    """Every file and link under root with its content hash / link target."""
    import hashlib

    state = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            state[str(p.relative_to(root))] = "->" + os.readlink(p)
        elif p.is_file():
            state[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return state


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("pipeline")
    paths = write_survey(base / "data", SimulationParams(n=600, seed=21))
    reports = base / "reports"
    result = run_pipeline(paths["survey"], paths["codebook"], reports_dir=reports, params=small_params(),
                          progress=lambda *_: None)
    return {"paths": paths, "reports": reports, "result": result, "base": base}


def test_run_publishes_pdf_results_manifest(run):
    res = run["result"]
    assert res.run_dir.name == "2026-Q4"
    for name in ["findings.pdf", "findings.html", "results.json", "manifest.json", "run.log",
                 *[f"{n}.ipynb" for n in NOTEBOOKS]]:
        assert (res.run_dir / name).exists(), name
    latest = run["reports"] / "latest"
    assert latest.is_symlink() and latest.resolve() == res.run_dir.resolve()
    manifest = json.loads((res.run_dir / "manifest.json").read_text())
    assert set(manifest["timings_seconds"]) >= set(NOTEBOOKS)
    import hashlib

    assert manifest["input_sha256"] == hashlib.sha256(run["paths"]["survey"].read_bytes()).hexdigest()
    assert manifest["packages"]["pandas"]
    # sections the notebooks could not estimate are copied from results.json (empty on this survey)
    assert manifest["degraded"] == json.loads(res.results.read_text()).get("degraded", {})
    assert manifest["respondent_level_files"] == ["clean.parquet", "personas.parquet"]
    assert not list(res.run_dir.parent.glob(".*.building-*"))


def test_results_json_has_headline_numbers(run):
    results = json.loads(run["result"].results.read_text())
    dq = results["data_quality"]
    truth = pd.read_csv(run["paths"]["truth"])
    assert dq["n_raw"] == len(truth)
    assert dq["n_clean"] < dq["n_raw"]
    assert dq["n_raw"] - dq["n_clean"] == sum(dq["removed_by_rule"].values())
    nps = dq["metrics"]["nps"]
    assert nps["ci_low"] < nps["estimate"] < nps["ci_high"] and nps["n"] == dq["n_clean"]


def test_pdf_text(run):
    text = pdf_text(run["result"].pdf)
    results = json.loads(run["result"].results.read_text())
    assert "Omnichannel retail customer-experience survey" in text
    assert "2026-Q4" in text
    # the brief first (issue 14), then the curated appendix
    for heading in ("The answers at a glance", "Claims on trial", "About the data", "Sample and screening",
                    "Headline metrics"):
        assert heading in text, heading
    assert f"{results['data_quality']['n_clean']:,}" in text
    assert "Speeder" in text and "Duplicate submission" in text
    # no code reaches the PDF
    for code in ("import ", "load_codebook(", "record(output_dir"):
        assert code not in text


def test_no_personal_data_in_any_output(run):
    emails = pd.read_csv(run["paths"]["survey"])["email"].tolist()
    run_dir = run["result"].run_dir
    blobs = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.suffix != ".pdf"}
    blobs[run_dir / "findings.pdf (text)"] = pdf_text(run["result"].pdf).encode()
    assert len(blobs) > 8
    for path, blob in blobs.items():
        for e in emails[:200]:
            assert e.encode() not in blob, (path, e)
        assert b"@example.com" not in blob, path


def test_rerun_on_unchanged_inputs_is_byte_identical(run):
    first = run["result"].results.read_bytes()
    again = run_pipeline(run["paths"]["survey"], run["paths"]["codebook"], reports_dir=run["reports"],
                         params=small_params(), progress=lambda *_: None)
    assert again.results.read_bytes() == first


def test_bad_input_exits_2_and_leaves_reports_untouched(run, tmp_path):
    bad = tmp_path / "bad.csv"
    df = pd.read_csv(run["paths"]["survey"])
    df.loc[7, "csat"] = 9
    df.to_csv(bad, index=False)
    for extract in ("crm.csv", "orders.csv"):  # the customer records the codebook joins, beside the data
        shutil.copy(Path(run["paths"]["survey"]).parent / extract, tmp_path / extract)
    before = tree_state(run["reports"])
    env = {**os.environ, "ENGAGEMENT_REPORTS_DIR": str(run["reports"])}
    proc = subprocess.run([sys.executable, "-m", "engagement.cli", "run", "--data", str(bad),
                           "--codebook", str(run["paths"]["codebook"])], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(bad) in lines[0] and "column 'csat'" in lines[0] and "row 8" in lines[0] and "found 9" in lines[0]
    assert tree_state(run["reports"]) == before


def test_failed_rerun_keeps_last_good_report(run, tmp_path, monkeypatch):
    nb_dir = tmp_path / "notebooks"
    shutil.copytree(config.NOTEBOOKS_DIR, nb_dir)
    broken = nbformat.read(nb_dir / "90-findings.ipynb", as_version=4)
    broken.cells.insert(3, nbformat.v4.new_code_cell("raise RuntimeError('simulated failure')"))
    nbformat.write(broken, nb_dir / "90-findings.ipynb")
    monkeypatch.setattr(config, "NOTEBOOKS_DIR", nb_dir)
    before = tree_state(run["reports"])
    # the failing notebook is the last one, so the studies before it need not run: 00 (which writes
    # the analysis table) and 90 make the same failed rerun of this survey's wave in a fraction of the time
    with pytest.raises(NotebookFailed) as err:
        run_pipeline(run["paths"]["survey"], run["paths"]["codebook"], reports_dir=run["reports"],
                     notebooks=["00-data-quality", "90-findings"], progress=lambda *_: None)
    assert err.value.notebook == "90-findings" and "simulated failure" in err.value.detail
    kept = err.value.kept
    assert (kept / "90-findings.ipynb").exists() and (kept / "run.log").exists()
    after = tree_state(run["reports"])
    assert {k: v for k, v in after.items() if "_failed" not in k} == before


def _squash(text: str) -> str:
    return " ".join(text.replace("**", "").split())


def test_brief_and_claims_in_pdf_equal_results(run):
    """The brief's numbers and verdict words are the recorded ones (issue 14 brief, issue 10 vocabulary)."""
    results = json.loads(run["result"].results.read_text())
    summary = results["findings"]["summary"]
    assert 3 <= len(summary) <= 6
    pdf = _squash(pdf_text(run["result"].pdf))
    ms = results["channels"]["multichannel_share"]
    assert f"{100 * ms['estimate']:.0f}% of customers use two or more channels" in pdf
    ratio = results["loyalty"]["ratio"]
    assert f"{ratio['estimate']:.2f}×" in pdf and f"{ratio['ci_low']:.2f}×–{ratio['ci_high']:.2f}×" in pdf
    recorded = {c["id"]: c for s in results.values() if isinstance(s, dict) for c in s.get("claims", []) or []}
    assert {"C07", "C13"} <= set(recorded)
    tested = [c for c in recorded.values() if c.get("verdict") in ("consistent", "higher", "lower", "inconclusive")]
    counts = {v: sum(c["verdict"] == v for c in tested) for v in ("consistent", "higher", "lower", "inconclusive")}
    assert (f"Of {len(tested)} claims tested: {counts['consistent']} consistent, {counts['higher']} higher, "
            f"{counts['lower']} lower, {counts['inconclusive']} inconclusive.") in pdf
    assert "cannot be tested with a customer survey" in pdf


def test_second_wave_gets_a_trend_section(run):
    later = write_survey(run["base"] / "wave2", SimulationParams(n=600, seed=22, wave="2027-Q1", wave_ease_shift=0.5))
    res = run_pipeline(later["survey"], later["codebook"], reports_dir=run["reports"], params=small_params(),
                       progress=lambda *_: None)
    assert res.run_dir.name == "2027-Q1"
    results = json.loads(res.results.read_text())
    trends = {t["key"]: t for t in results["findings"]["trends"]}
    assert trends["ces_mean"]["previous"] == json.loads(run["result"].results.read_text())["data_quality"]["metrics"]["ces_mean"]["estimate"]
    assert trends["ces_mean"]["change"] > 0
    text = pdf_text(res.pdf)
    assert "compared with wave" in text  # the brief's data notes name the wave compared with
    assert (run["reports"] / "latest").resolve() == res.run_dir.resolve()
    # the earlier wave's report is still there, untouched by the later run
    assert (run["result"].run_dir / "findings.pdf").exists()


def test_assign_types_new_respondents_with_the_saved_tool(run, tmp_path):
    tool = run["result"].run_dir / "typing_tool.json"
    assert tool.exists()
    new = write_survey(tmp_path / "new", SimulationParams(n=300, seed=23))
    out = tmp_path / "assigned.csv"
    proc = subprocess.run([sys.executable, "-m", "engagement.cli", "assign", "--typing-tool", str(tool),
                           "--data", str(new["survey"]), "--codebook", str(new["codebook"]), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assigned = pd.read_csv(out)
    assert list(assigned.columns) == ["resp_id", "persona", "persona_name"]
    assert len(assigned) == len(pd.read_csv(new["survey"]))
    assert "@" not in out.read_text()
    names = json.loads(run["result"].results.read_text())["personas"]["names"]  # {persona: name}
    assert set(assigned.loc[assigned["persona"] > 0, "persona_name"]) <= set(names.values())
    missing = subprocess.run([sys.executable, "-m", "engagement.cli", "assign", "--typing-tool",
                              str(tmp_path / "nope.json"), "--data", str(new["survey"])], capture_output=True, text=True)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


@pytest.mark.reference
def test_run_on_a_real_dataset_with_its_example_codebook(tmp_path):
    """ECSI mobile-phone survey: no channels, CES or behaviour; those sections are skipped with notes."""
    from tests.shared import shared_dir

    data = shared_dir() / "data" / "ecsi_mobi" / "mobi.csv"
    res = run_pipeline(data, config.EXAMPLES_DIR / "ecsi_mobi.yaml", reports_dir=tmp_path / "reports",
                       params=small_params(), progress=lambda *_: None)
    results = json.loads(res.results.read_text())
    assert results["data_quality"]["n_clean"] == 250
    assert {r["scale"] for r in results["data_quality"]["reliability"]} >= {"Image", "Satisfaction", "Loyalty"}
    text = pdf_text(res.pdf)
    assert "Not estimated" in text  # the brief says which questions this survey cannot answer, and why
    assert "ECSI mobile-phone customer survey" in text

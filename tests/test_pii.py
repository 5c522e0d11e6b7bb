"""Personal data never reaches an output file.

Ingest keeps only the columns the codebook gives a role. Names, phones, e-mails, postcodes and a
Qualtrics export's metadata are planted in columns declared as `pii`, in undeclared columns and in
free text; then every byte of every file a run leaves (published, `_failed/`, and an interrupted
`.building-*` folder) is searched for them, Parquet files decoded and the PDF's text extracted.
"""

from __future__ import annotations

import shutil

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from engagement.codebook import load_codebook
from engagement.errors import InputError
from engagement.ingest import PII_SCAN_CHARS, pii_kind, read_survey
from engagement.simulate import SimulationParams, write_survey

# distinctive planted values: none can occur in an output by chance
NAME = "Zebulon Quixwright"
EMAIL_DOMAIN = "pii-planted.example"
PHONE = "+44 7700 900"
POSTCODE = "ZX9 8QJ"
IP = "203.0.113."
LATITUDE = "51.987654"
NEEDLES = [NAME, "Quixwright", EMAIL_DOMAIN, PHONE, "7700900", POSTCODE, IP, LATITUDE]


def plant(src_survey: Path, src_codebook: Path, out: Path) -> tuple[Path, Path]:
    """The simulated survey with personal data in declared-pii, undeclared and free-text columns."""
    df = pd.read_csv(src_survey)
    n = len(df)
    i = np.arange(n)
    df["email"] = [f"person{k}@{EMAIL_DOMAIN}" for k in i]  # declared under pii
    df["full_name"] = [f"{NAME} {k}" for k in i]  # declared under pii
    df["phone"] = [f"{PHONE}{k % 1000:03d}" for k in i]  # undeclared
    df["postcode"] = POSTCODE  # undeclared
    df["comment"] = [f"Ring {NAME} on {PHONE}{k % 1000:03d} or write to x{k}@{EMAIL_DOMAIN}, {POSTCODE}"
                     for k in i]  # free text, undeclared
    df["IPAddress"] = [f"{IP}{k % 250}" for k in i]  # Qualtrics metadata
    df["LocationLatitude"] = LATITUDE
    df["RecipientLastName"] = "Quixwright"
    data = out / "survey.csv"
    df.to_csv(data, index=False)
    # the customer records joined by the codebook's `extracts` carry personal data too (issue 15):
    # plant it there as well; only the join key and declared columns may leave an extract
    crm_src = Path(src_survey).parent / "crm.csv"
    if crm_src.exists():
        crm = pd.read_csv(crm_src)
        k = np.arange(len(crm))
        crm["FullName"] = [f"{NAME} c{j}" for j in k]
        crm["Email"] = [f"client{j}@{EMAIL_DOMAIN}" for j in k]
        crm["Phone"] = [f"{PHONE}{j % 1000:03d}" for j in k]
        crm["Postcode"] = POSTCODE
        crm.to_csv(out / "crm.csv", index=False)
    for extra in ("orders.csv",):
        if (Path(src_survey).parent / extra).exists():
            shutil.copy(Path(src_survey).parent / extra, out / extra)
    cb = yaml.safe_load(src_codebook.read_text())
    cb["pii"] = ["email", "full_name"]
    codebook = out / "codebook.yaml"
    codebook.write_text(yaml.safe_dump(cb, sort_keys=False, allow_unicode=True))
    return data, codebook


def decoded(path: Path) -> str:
    """A file's content as text: raw bytes, plus Parquet decoded and the PDF's text extracted."""
    raw = path.read_bytes()
    parts = [raw.decode("utf-8", errors="replace"), raw.decode("latin-1")]
    if path.suffix == ".parquet" or raw[:4] == b"PAR1":
        table = pd.read_parquet(io.BytesIO(raw))
        parts.append(" ".join(table.columns) + "\n" + table.astype(str).to_csv(index=False))
    if path.suffix == ".pdf":
        from engagement.report import pdf_text

        text = pdf_text(path)
        parts += [text, "".join(text.split())]
    return "\n".join(parts)


def leaks(root: Path) -> list[str]:
    found = []
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    assert files, f"nothing to search under {root}"
    for p in files:
        text = decoded(p)
        found += [f"{p.relative_to(root)}: {needle!r}" for needle in NEEDLES if needle in text]
    return found


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    base = tmp_path_factory.mktemp("pii")
    paths = write_survey(base / "src", SimulationParams(n=400, seed=5))
    return plant(paths["survey"], paths["codebook"], base)


# ---- ingest ---------------------------------------------------------------------------------------

def test_ingest_keeps_only_the_codebook_columns(planted):
    data, codebook = planted
    cb = load_codebook(codebook)
    s = read_survey(data, cb)
    assert set(s.data.columns) <= set(cb.kept_columns()) | {cb.id_column}
    assert set(s.dropped_columns) == {"email", "full_name", "phone", "postcode", "comment", "IPAddress",
                                      "LocationLatitude", "RecipientLastName"}
    assert s.dropped_pii == ["email", "full_name"]
    assert "IPAddress" in s.dropped_summary()
    assert not any(needle in s.data.astype(str).to_csv() for needle in NEEDLES)


def test_a_pii_entry_naming_a_missing_column_is_an_error(planted, tmp_path):
    data, codebook = planted
    cb = yaml.safe_load(codebook.read_text())
    cb["pii"] = ["emial"]
    p = tmp_path / "cb.yaml"
    p.write_text(yaml.safe_dump(cb))
    with pytest.raises(InputError, match=r"column 'emial'.*pii"):
        read_survey(data, load_codebook(p))


def test_personal_data_in_a_kept_text_column_is_an_error_that_does_not_echo_it(tmp_path):
    df = pd.DataFrame({"rid": ["a", "b", "c"], "csat": [1, 2, 3],
                       "store": ["Leeds", f"call {PHONE}123", "York"]})
    data = tmp_path / "s.csv"
    df.to_csv(data, index=False)
    cb = tmp_path / "cb.yaml"
    cb.write_text(yaml.safe_dump({"id": "rid", "scales": {"csat": {"column": "csat", "min": 1, "max": 5}},
                                  "columns": {"store": {"type": "str"}}}))
    with pytest.raises(InputError) as err:
        read_survey(data, load_codebook(cb))
    msg = str(err.value)
    assert "column 'store'" in msg and "row 2" in msg and "a phone number" in msg and PHONE not in msg


@pytest.mark.parametrize("text,kind", [
    ("mail me: jo.bloggs+cx@mail.example.co.uk", "an e-mail address"),
    ("ring 020 7946 0958 after six", "a phone number"),
    ("+1 (555) 013-4567", "a phone number"),
    ("from 198.51.100.23", "an IP address"),
    ("card 4111 1111 1111 1111", "a card number"),
    ("2026-11-30 10:15:00", None),
    ("R122000001", None),
    ("Very satisfied, 5 stars", None),
    ("version 1.2.3", None),
    ("store #1042", None),
])
def test_pii_kinds(text, kind):
    assert pii_kind(text) == kind


def test_pii_scan_is_linear_on_huge_cells():
    # the old pattern backtracked quadratically: a 100,000-character cell took ~20 s
    worst = ["a" * 100_000, "a@" * 50_000, "1-" * 50_000, "1." * 50_000, ("x" * 63 + "@") * 1500]
    t0 = time.perf_counter()
    for cell in worst:
        pii_kind(cell)
    assert time.perf_counter() - t0 < 0.5
    assert pii_kind("x" * (PII_SCAN_CHARS - 30) + " bob@example.com") == "an e-mail address"


# ---- every output of a run ------------------------------------------------------------------------

pytest_run = pytest.mark.notebooks


def _engagement(*args, env=None):
    exe = Path(sys.executable).with_name("engagement")
    return [str(exe), *args]


@pytest_run
def test_no_planted_value_in_any_output(planted, tmp_path):
    from engagement import pipeline
    from engagement.pipeline import NotebookFailed, run_pipeline
    from tests.shared import small_params

    data, codebook = planted
    env = {**os.environ, "ENGAGEMENT_REPORTS_DIR": str(tmp_path / "reports")}
    small = [arg for k, v in small_params().items() for arg in ("-p", f"{k}={yaml.safe_dump(v).splitlines()[0]}")]

    # 1. an interrupted build: killed once notebook 00 has written the analysis table
    proc = subprocess.Popen(_engagement("run", "--data", str(data), "--codebook", str(codebook), *small), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            if list((tmp_path / "reports").rglob(".*building-*/clean.parquet")):
                break
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    building = [p for p in (tmp_path / "reports").rglob(".*building-*") if p.is_dir()]
    assert building, "the run was not caught mid-build"

    # 2. a failed run: notebook 00 runs, the next one fails; the build is kept under _failed/
    real_execute = pipeline._execute

    def fail_after_00(src, dst, parameters, log, **kwargs):
        if src.stem != "00-data-quality":
            raise NotebookFailed(src.stem, 1, "planted failure", dst)
        real_execute(src, dst, parameters, log, **kwargs)

    pipeline._execute = fail_after_00
    try:
        with pytest.raises(NotebookFailed):
            run_pipeline(data, codebook, reports_dir=tmp_path / "failed-reports",
                         notebooks=["00-data-quality", "10-channel-preferences"], progress=lambda *_: None)
    finally:
        pipeline._execute = real_execute
    failed = list((tmp_path / "failed-reports").rglob("_failed"))
    assert failed and list(failed[0].rglob("clean.parquet"))

    # 3. a whole published run, through the command line
    done = subprocess.run(_engagement("run", "--data", str(data), "--codebook", str(codebook), *small), env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    published = list((tmp_path / "reports").rglob("findings.pdf"))
    assert published

    found = leaks(tmp_path / "reports") + leaks(tmp_path / "failed-reports")
    assert not found, found


def test_categorical_text_columns_are_scanned(tmp_path):
    df = pd.DataFrame({"rid": ["a", "b"], "store": pd.Categorical(["Leeds", "ask for jo@shop.example"])})
    data = tmp_path / "s.parquet"
    df.to_parquet(data, index=False)
    cb = tmp_path / "cb.yaml"
    cb.write_text("id: rid\nsegments:\n  - column: store\n")
    with pytest.raises(InputError, match="column 'store', row 2.*an e-mail address"):
        read_survey(data, load_codebook(cb))

"""Publishing: folder names that cannot collide, wave order for `latest` and the trend, the survey
lock, stale builds, SIGTERM at three points, a dead kernel, `--no-respondent-data` and degraded
sections (issue 12 items 3, 5, 6 and 8; issue 9 item 7's dead kernel).

The end-to-end tests run the real CLI in a subprocess on stand-in notebooks (two of the five names,
each a parameters cell and one cell that records a section), so a run costs two kernel starts and a
small PDF instead of the studies' computation.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import nbformat
import pytest

from engagement import config
from engagement.pipeline import (_newest_wave, _previous_results, folder_name, remove_stale_builds,
                                 survey_lock)
from engagement.results import CLEAN_DATA, PERSONA_FILE
from engagement.simulate import SimulationParams, write_survey

# ---- names --------------------------------------------------------------------------------------


def test_distinct_labels_never_share_a_folder():
    labels = ["2026-Q4", "2026 Q4", "2026/Q4", "2026_Q4", "2026.Q4", "2026\\Q4", "2026--Q4", "2026 -Q4",
              "2026-q4", "고객 경험 조사", "고객경험조사", "顧客体験調査", "顧客体験調査 2026", "Café", "Cafe",
              "a" * 64, "a" * 65, "a" * 70 + "1", "a" * 70 + "2", "가" * 70 + "1", "가" * 70 + "2",
              "x~1234567890", "Omnichannel retail customer-experience survey (simulated)", "!!!", "???"]
    folders = [folder_name(x) for x in labels]
    assert len(set(folders)) == len(labels), sorted(zip(folders, labels))
    for label, folder in zip(labels, folders):
        assert "/" not in folder and "\\" not in folder and not folder.startswith(".")
        assert len(folder.encode("utf-8")) <= 200
        assert folder not in ("latest", "_failed")
    # safe labels are kept as they are: Korean and Japanese stay readable
    for kept in ("2026-Q4", "2026_Q4", "2026.Q4", "고객경험조사", "顧客体験調査", "Café", "a" * 64):
        assert folder_name(kept) == kept
    assert folder_name("고객 경험 조사").startswith("고객-경험-조사~")
    # canonically equal labels (NFD vs NFC) are one label
    assert folder_name(unicodedata.normalize("NFD", "Café")) == "Café"


@pytest.mark.parametrize("label", ["latest", "Latest", "_failed", ".hidden", ".", "..", "", "  "])
def test_reserved_and_empty_labels_are_refused(label):
    from engagement.errors import InputError

    with pytest.raises(InputError):
        folder_name(label)


def test_wave_order_is_natural():
    waves = ["2027-Q1", "2026-Q10", "2026-Q4", "2026-Q3", "2026-9", "2026-10", "2025", "2026-09-30", "2026-10-01"]
    ordered = sorted(waves, key=config.wave_sort_key)
    assert ordered.index("2026-Q3") < ordered.index("2026-Q4") < ordered.index("2026-Q10") < ordered.index("2027-Q1")
    assert ordered.index("2026-9") < ordered.index("2026-10")
    assert ordered.index("2026-09-30") < ordered.index("2026-10-01")
    assert ordered[0] == "2025"


def _fake_run(survey_dir: Path, wave: str) -> Path:
    run = survey_dir / folder_name(wave)
    run.mkdir(parents=True)
    (run / "results.json").write_text("{}")
    (run / "manifest.json").write_text(json.dumps({"wave": wave}))
    return run


def test_previous_and_newest_follow_wave_order_not_folder_names(tmp_path):
    for wave in ("2026 Q4", "2027 Q1", "2026 Q3"):  # hashed folders: their names do not sort by wave
        _fake_run(tmp_path, wave)
    assert _newest_wave(tmp_path) == folder_name("2027 Q1")
    assert _previous_results(tmp_path, "2027 Q1").parent.name == folder_name("2026 Q4")
    assert _previous_results(tmp_path, "2026 Q4").parent.name == folder_name("2026 Q3")
    assert _previous_results(tmp_path, "2026 Q3") is None
    (tmp_path / "_failed" / "2030-Q1").mkdir(parents=True)
    (tmp_path / "_failed" / "2030-Q1" / "results.json").write_text("{}")
    assert _newest_wave(tmp_path) == folder_name("2027 Q1")


def test_stale_builds_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = os.getppid()
    (tmp_path / f".2026-Q4.building-{dead.pid}").mkdir()
    (tmp_path / f".2026-Q4.building-{dead.pid}" / CLEAN_DATA).write_text("respondents")
    (tmp_path / f".2026-Q3.old-{dead.pid}").mkdir()
    (tmp_path / f".latest.tmp-{dead.pid}").symlink_to("2026-Q4")
    (tmp_path / f".2026-Q4.building-{live}").mkdir()
    (tmp_path / ".lock").write_text("1")
    gone = remove_stale_builds(tmp_path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [f".2026-Q4.building-{live}", ".lock"], left
    assert len([g for g in gone if g.parent == tmp_path]) == 3


# ---- end to end on stand-in notebooks -------------------------------------------------------------

FAKE_CELL = """\
import os, time
from pathlib import Path
from engagement.results import record
if os.environ.get("FAKE_DIE") == NAME:
    os.kill(os.getpid(), 9)  # what the kernel's death from running out of memory looks like
time.sleep(float(os.environ.get("FAKE_SLEEP", "0")))
record(output_dir, SECTION, {"wave": wave, "previous": previous_results})
"""

DRIVER = """\
import sys
from engagement import cli, pipeline
pipeline.NOTEBOOKS[:] = ["00-data-quality", "90-findings"]
cli.app(sys.argv[1:])
"""


def _notebook(name: str, section: str, extra: str = "") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('data_path = ""\ncodebook_path = ""\noutput_dir = "."\nseed = 1\n'
                                       'wave = ""\nprevious_results = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), params,
                nbformat.v4.new_code_cell(f"NAME = {name!r}\nSECTION = {section!r}\n" + FAKE_CELL + extra)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    base = tmp_path_factory.mktemp("publish")
    nbs = base / "notebooks"
    nbs.mkdir()
    respondent_files = (f"Path(output_dir, {CLEAN_DATA!r}).write_text('one row per respondent')\n"
                        f"Path(output_dir, {PERSONA_FILE!r}).write_text('one row per respondent')\n")
    degraded = ("from engagement.degrade import NotEstimated, record_degraded\n"
                "record_degraded(output_dir, NotEstimated('findings.demo', 'only one outcome class among 150 respondents'))\n")
    nbformat.write(_notebook("00-data-quality", "data_quality", respondent_files), nbs / "00-data-quality.ipynb")
    nbformat.write(_notebook("90-findings", "findings", degraded), nbs / "90-findings.ipynb")
    data = write_survey(base / "data", SimulationParams(n=150, seed=3))
    (base / "driver.py").write_text(DRIVER)
    return {"base": base, "notebooks": nbs, "data": data, "reports": base / "reports"}


def _cli(stand_in, *args, env=None, **popen):
    environment = {**os.environ, "ENGAGEMENT_NOTEBOOKS_DIR": str(stand_in["notebooks"]),
                   "ENGAGEMENT_REPORTS_DIR": str(stand_in["reports"]), **(env or {})}
    cmd = [sys.executable, str(stand_in["base"] / "driver.py"), "run", "--data", str(stand_in["data"]["survey"]),
           "--codebook", str(stand_in["data"]["codebook"]), *args]
    return subprocess.Popen(cmd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _done(proc, timeout=240):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _survey_dir(stand_in) -> Path:
    return stand_in["reports"] / folder_name("Omnichannel retail customer-experience survey (simulated)", "survey")


def _state(root: Path) -> dict:
    import hashlib

    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.name == ".lock":
            continue
        if p.is_symlink():
            out[rel] = "->" + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _no_debris(stand_in, pid: int) -> None:
    import tempfile

    names = [p.name for p in _survey_dir(stand_in).iterdir()] + [p.name for p in stand_in["reports"].iterdir()]
    assert not [n for n in names if ".building-" in n or ".old-" in n or ".tmp-" in n], names
    assert not list(Path(tempfile.gettempdir()).glob(f"engagement-kernels-{pid}-*"))
    # no kernel of that run is left (its kernels were its children: now orphans would have ppid 1)
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmd = stat.read_bytes()
        except OSError:
            continue
        assert f"engagement-kernels-{pid}-".encode() not in cmd


@pytest.mark.notebooks
def test_publish_degraded_sections_and_respondent_data(stand_in):
    code, out, err = _done(_cli(stand_in, "--wave", "2026-Q4"))
    assert code == 0, err
    assert "not estimated: findings.demo: only one outcome class" in out
    sd = _survey_dir(stand_in)
    q4 = sd / "2026-Q4"
    manifest = json.loads((q4 / "manifest.json").read_text())
    assert manifest["degraded"] == {"findings.demo": "only one outcome class among 150 respondents"}
    assert "not estimated: findings.demo" in (q4 / "run.log").read_text()
    assert manifest["respondent_level_files"] == sorted([CLEAN_DATA, PERSONA_FILE])
    assert (q4 / CLEAN_DATA).exists()
    assert (sd / "latest").resolve() == q4.resolve()
    assert (stand_in["reports"] / "latest").resolve() == q4.resolve()


@pytest.mark.notebooks
def test_two_concurrent_runs_take_turns_and_latest_is_the_newest_wave(stand_in):
    """An earlier and a later wave at once: one waits for the other; `latest` ends on the later
    wave and each trend compares with the wave before it in wave order, whichever finished first."""
    sd = _survey_dir(stand_in)
    env = {"FAKE_SLEEP": "2"}
    later = _cli(stand_in, "--wave", "2027-Q1", "--wait", "300", env=env)
    earlier = _cli(stand_in, "--wave", "2026-Q3", "--wait", "300", "--no-respondent-data", env=env)
    (c1, o1, e1), (c2, o2, e2) = _done(later), _done(earlier)
    assert c1 == 0 and c2 == 0, (e1, e2)
    assert "waiting for the run of pid" in o1 + o2  # one of them waited for the other
    assert (sd / "latest").resolve() == (sd / "2027-Q1").resolve()
    assert (stand_in["reports"] / "latest").resolve() == (sd / "2027-Q1").resolve()
    prev_q3 = json.loads((sd / "2026-Q3" / "results.json").read_text())["findings"]["previous"]
    prev_q1 = json.loads((sd / "2027-Q1" / "results.json").read_text())["findings"]["previous"]
    assert prev_q3 == ""
    assert Path(prev_q1).parent.name == "2026-Q4"
    # --no-respondent-data: only aggregates
    q3 = sd / "2026-Q3"
    assert not (q3 / CLEAN_DATA).exists() and not (q3 / PERSONA_FILE).exists()
    assert not (q3 / "clean.source").exists()
    assert json.loads((q3 / "manifest.json").read_text())["respondent_level_files"] == []
    _no_debris(stand_in, later.pid)
    _no_debris(stand_in, earlier.pid)


@pytest.mark.notebooks
def test_a_busy_survey_is_exit_2_at_once_and_nothing_written(stand_in):
    sd = _survey_dir(stand_in)
    before = _state(stand_in["reports"])
    with survey_lock(sd / ".lock", "test"):
        t0 = time.monotonic()
        code, out, err = _done(_cli(stand_in, "--wave", "2027-Q2"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "another run" in err and "--wait" in err, err
    assert time.monotonic() - t0 < 60
    assert _state(stand_in["reports"]) == before


@pytest.mark.notebooks
@pytest.mark.parametrize("point,marker,env", [
    ("notebooks", "[1/2] 00-data-quality …", {"FAKE_SLEEP": "60"}),
    ("report", "building findings.html", {}),
    ("publish", "publishing …", {"ENGAGEMENT_TEST_PAUSE_BEFORE_PUBLISH": "60"}),
])
def test_sigterm_leaves_the_last_good_report_latest_and_no_debris(stand_in, point, marker, env):
    sd = _survey_dir(stand_in)
    before = _state(stand_in["reports"])
    proc = _cli(stand_in, "--wave", "2027-Q2", env=env)
    seen = ""
    deadline = time.monotonic() + 120
    while marker not in seen and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
    assert marker in seen, seen
    if point == "notebooks":
        time.sleep(1.0)  # the kernel is running the cell
    proc.send_signal(signal.SIGTERM)
    code, _, err = _done(proc)
    assert code == 128 + signal.SIGTERM, err
    assert "interrupted" in err and "nothing published" in err
    assert _state(stand_in["reports"]) == before
    assert not (sd / "2027-Q2").exists()  # and `latest` is as it was (in the state compared above)
    _no_debris(stand_in, proc.pid)


@pytest.mark.notebooks
def test_a_dead_kernel_is_reported_kept_and_logged(stand_in):
    sd = _survey_dir(stand_in)
    code, out, err = _done(_cli(stand_in, "--wave", "2027-Q3", env={"FAKE_DIE": "00-data-quality"}))
    assert code == 1, err
    assert len(err.strip().splitlines()) == 1 and "kernel died" in err and "DeadKernelError" in err
    kept = sd / "_failed" / "2027-Q3"
    assert (kept / "00-data-quality.ipynb").exists()
    assert "kernel died" in (kept / "run.log").read_text()
    assert not (sd / "2027-Q3").exists()
    _no_debris(stand_in, 0)

"""Run the numbered notebooks with papermill into a run folder, then publish it atomically.

Layout under `reports/`:

    reports/<survey>/<wave>/            one published run: executed notebooks, findings.html,
                                        findings.pdf, results.json, manifest.json, run.log, …
    reports/<survey>/latest -> <wave>   the newest published wave in wave order (config.wave_sort_key)
    reports/latest -> <survey>/<wave>   that of the survey published last
    reports/<survey>/_failed/<wave>/    the last failed attempt, kept for debugging
    reports/<survey>/.lock              held (fcntl) by the run of this survey going on

<survey> and <wave> are `folder_name(label)`: the label itself when it is a safe name, otherwise a
readable part and a hash of the label, so that two labels never share a folder.

Every input (options, parameters and their types, paths, encodings, labels, output folder, codebook,
data, screening and margins) is checked by `plan_run` before anything is written (bad input: exit
code 2). A run is built in a hidden temporary folder beside its destination and renamed into place
only when every notebook, results.json and the PDF are done, so a failed or interrupted run never
touches the previous good report. SIGTERM/SIGINT stop the kernels, remove their connection files and
the unfinished build; what a killed (SIGKILL) run leaves is removed when the next run starts.
"""

from __future__ import annotations

import ast
import codecs
import contextlib
import functools
import hashlib
import json
import logging
import math
import os
import platform
import re
import shutil
import signal
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path

from . import __version__, config
from .codebook import Codebook, load_codebook
from .errors import InputError
from .ingest import Survey, file_sha256, read_survey
from .results import CLEAN_DATA, RESPONDENT_LEVEL_FILES, write_results_json

#: execution order: personas (30) run before loyalty (20) so that loyalty can test heterogeneity by persona
NOTEBOOKS = ["00-data-quality", "10-channel-preferences", "30-personas", "20-loyalty-ces-vs-csat", "90-findings"]
#: order of sections in the PDF: findings first (executive summary, claims ledger), methods last
REPORT_ORDER = ["90-findings", "10-channel-preferences", "20-loyalty-ces-vs-csat", "30-personas", "00-data-quality"]
PACKAGES = ["engagement", "numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "stepmix", "weightipy",
            "matplotlib", "seaborn", "UpSetPlot", "papermill", "nbconvert", "weasyprint", "pydantic", "pyreadstat"]
#: page sizes of the PDF (report.PAGE_SIZES; repeated here so that checking one needs no report import)
PAGE_SIZES = ("A4", "letter")
#: notebook parameters the pipeline sets itself (from --data, --codebook, --wave and the run folder)
PIPELINE_PARAMETERS = {"data_path", "codebook_path", "output_dir", "wave", "previous_results"}
#: longest readable part of a folder name (characters; UTF-8 bytes are kept under 180 as well)
MAX_FOLDER_CHARS = 64
LOCK_FILE = ".lock"
#: test hook: seconds to pause just before publishing (so that a test can interrupt a run there)
PAUSE_BEFORE_PUBLISH_ENV = "ENGAGEMENT_TEST_PAUSE_BEFORE_PUBLISH"


class NotebookFailed(RuntimeError):
    def __init__(self, notebook: str, cell: int | None, detail: str, kept: Path):
        self.notebook, self.cell, self.detail, self.kept = notebook, cell, detail, kept
        where = f"cell {cell}" if cell is not None else "an unknown cell"
        super().__init__(f"notebook {notebook} failed at {where}: {detail} (executed copy kept in {kept})")


class RunInputError(InputError):
    """A bad option, parameter, path or label: one line naming it and what was expected (exit 2)."""

    def __init__(self, subject: str, expected: str):
        self.subject = subject
        super().__init__(subject, expected)

    def one_line(self) -> str:
        return f"bad input: {self.subject}: expected {self.expected}"


class RunLocked(RunInputError):
    """Another run of the same survey holds its lock (exit 2, nothing written)."""

    def one_line(self) -> str:
        return f"busy: {self.subject}: {self.expected}"


class RunInterrupted(BaseException):
    """SIGTERM or SIGINT arrived: kernels stopped, the unfinished build removed, nothing published."""

    def __init__(self, signum: int, published: bool = False):
        self.signum, self.published = signum, published
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


@dataclass
class RunResult:
    run_dir: Path
    pdf: Path
    results: Path
    timings: dict = field(default_factory=dict)
    #: section id -> reason, for every section a notebook could not estimate (results.json `degraded`)
    degraded: dict = field(default_factory=dict)


def clip(value, limit: int = 80) -> str:
    """The value quoted for a one-line message, cut to about `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def folder_name(label: str, what: str = "wave") -> str:
    """The folder of a survey or wave label: the label itself when it is a safe name, else a readable
    part and a short hash of the label, so that two different labels never share a folder.

    A safe name is NFC Unicode letters, marks and digits (Korean and Japanese stay readable) with
    `-`, `_` and `.` inside, at most 64 characters: `2026-Q4`, `2026_Q4`, `2026.Q4` and `고객조사` are
    kept as they are. Anything else gets `~` and 10 hex digits of the label's SHA-256 after its
    readable part: `2026 Q4` -> `2026-Q4~<hash>`, `2026/Q4` -> `2026-Q4~<other hash>`; safe names
    never contain `~`, so a hashed folder cannot equal a kept one. `latest`, `_failed` and names
    starting with `.` are the pipeline's own and are refused."""
    text = unicodedata.normalize("NFC", str(label))
    subject = f"{what} label {clip(label)}"
    if not text.strip():
        raise RunInputError(subject, "a non-empty name")
    stripped = text.strip()
    if stripped.casefold() in config.RESERVED_LABELS or stripped.startswith("."):
        raise RunInputError(subject, "a name other than 'latest' or '_failed' and not starting with '.' "
                                     "(those are the pipeline's own folders)")
    chars = [c if unicodedata.category(c)[0] in "LNM" or c in "-_." else "-" for c in text]
    readable = re.sub(r"-{2,}", "-", "".join(chars)).strip("-.")
    while len(readable) > MAX_FOLDER_CHARS or len(readable.encode("utf-8")) > 180:
        readable = readable[:-1]
    readable = readable.rstrip("-.")
    if readable == text:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return f"{readable or what}~{digest}"


def slug(text: str, lower: bool = True) -> str:  # kept for callers outside the pipeline
    """Deprecated: use `folder_name`, which cannot make two labels collide."""
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")
    return (s.lower() if lower else s)[:60] or "survey"


def notebook_parameters(path: Path) -> set[str]:
    return set(_declared_parameters(path))


def _declared_parameters(path: Path) -> dict:
    """name -> default value of a notebook's parameters cell (None when the default is not a literal)."""
    path = Path(path)
    return dict(_declared_cached(str(path), path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=32)
def _declared_cached(path: str, mtime_ns: int) -> tuple:
    """Read the cell tagged `parameters` with `ast` (the project's parameters cells are plain
    `name = literal` lines): the same names and defaults as `papermill.inspect_notebook`, without
    papermill's import (seconds on a busy machine) in the up-front checks."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            out = []
            for node in ast.parse(source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    try:
                        value = ast.literal_eval(node.value)
                    except ValueError:
                        value = None
                    out.append((node.targets[0].id, value))
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                    try:
                        value = ast.literal_eval(node.value)
                    except ValueError:
                        value = None
                    out.append((node.target.id, value))
            return tuple(out)
    return ()


_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text", list: "a list like [a, b]"}


def _kind(default):
    for t in (bool, int, float, str, list):
        if isinstance(default, t):
            return t
    return None


def check_params(params: dict, notebooks: list[str]) -> dict:
    """Parameters for the notebooks, typed as their parameters cells declare them (the default's type).

    Values given as text (from `-p key=value`) are read as YAML scalars. Raises RunInputError naming
    the parameter for an unknown name, a name the pipeline sets itself, or a value of the wrong type."""
    import yaml

    declared: dict[str, tuple] = {}
    for name in notebooks:
        for key, default in _declared_parameters(config.NOTEBOOKS_DIR / f"{name}.ipynb").items():
            declared.setdefault(key, (default, name))
    settable = sorted(set(declared) - PIPELINE_PARAMETERS)
    out = {}
    for key, value in params.items():
        if key in PIPELINE_PARAMETERS:
            raise RunInputError(f"parameter {clip(key)}", "a notebook parameter; this one is set by the pipeline "
                                                          "(use --data, --codebook, --wave)")
        if key not in declared:
            raise RunInputError(f"parameter {clip(key)}", f"one of the parameters the notebooks declare: {', '.join(settable)}")
        default, notebook = declared[key]
        kind = _kind(default)
        typed = value
        if isinstance(value, str) and kind not in (str, None):
            try:
                typed = yaml.safe_load(value) if value.strip() else None
            except yaml.YAMLError:
                typed = value
        ok = (kind is None or (kind is bool and isinstance(typed, bool))
              or (kind is int and isinstance(typed, int) and not isinstance(typed, bool))
              or (kind is float and isinstance(typed, (int, float)) and not isinstance(typed, bool)
                  and math.isfinite(typed))
              or (kind is str and isinstance(typed, str)) or (kind is list and isinstance(typed, list)))
        if not ok:
            raise RunInputError(f"-p {key}={clip(value)}", f"{_TYPE_WORDS[kind]} (notebook {notebook} declares "
                                                          f"{key} = {clip(default, 40)})")
        out[key] = float(typed) if kind is float else typed
    return out


def _check_input_file(path: Path, what: str) -> None:
    if not path.exists():
        raise RunInputError(f"{what} {clip(str(path), 200)}", "an existing file (not found)")
    if path.is_dir():
        raise RunInputError(f"{what} {clip(str(path), 200)}", "a file, found a directory")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise RunInputError(f"{what} {clip(str(path), 200)}", f"a readable file ({exc.strerror})") from None


def _check_utf8(path: Path) -> None:
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(path, f"a UTF-8 text file (byte 0x{raw[exc.start]:02x} is not UTF-8; save the codebook "
                               "as UTF-8 — the data file's encoding goes under the key `encoding`)", row=line) from None


def _check_writable(folder: Path, what: str) -> None:
    """The folder can be created (or written to) by this user; nothing is left behind by the check."""
    subject = f"{what} {clip(str(folder), 200)}"
    if folder.exists() and not folder.is_dir():
        raise RunInputError(subject, "a folder, found a file")
    probe = folder
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise RunInputError(subject, f"a folder that can be created, but {clip(str(probe), 200)} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise RunInputError(subject, f"a writable place ({clip(str(probe), 200)} is not writable)")
    try:  # root passes os.access even on a read-only file system: try for real, and tidy up
        os.rmdir(tempfile.mkdtemp(prefix=".engagement-probe-", dir=probe))
    except OSError as exc:
        raise RunInputError(subject, f"a writable place ({clip(str(probe), 200)}: {exc.strerror})") from None


@dataclass
class RunPlan:
    """Everything a run needs, checked before anything is written."""

    data_path: Path
    codebook_path: Path
    codebook: Codebook
    #: columns dropped as personal data (the validated table itself is not kept: the parent process
    #: frees it before the notebooks run, which read the file themselves)
    dropped_pii: list
    #: run.log lines from ingest: the dropped columns (names only) and warnings (reversed items …)
    ingest_notes: list
    input_hash: str
    wave: str
    reports: Path
    survey_dir: Path
    final: Path
    publish_links: bool
    seed: int
    params: dict
    notebooks: list[str]
    page_size: str


def plan_run(data_path=None, codebook_path=None, *, out=None, wave=None, params=None, notebooks=None,
             page_size: str = "A4", reports_dir=None) -> RunPlan:
    """Check every input of a run before any notebook runs or any file is written.

    Raises InputError (exit 2) for: a bad page size, an unknown or wrongly typed parameter, a missing,
    unreadable or directory data/codebook path, a codebook that is not UTF-8 or not valid, an unknown
    encoding, a reserved or empty survey/wave label, an output folder that cannot be written, bad data
    (ingest), `inf` in a numeric column, everyone screened out, or margins the sample cannot meet."""
    names = list(notebooks or NOTEBOOKS)
    sizes = {s.lower(): s for s in PAGE_SIZES}
    if str(page_size).lower() not in sizes:
        raise RunInputError(f"--page-size {clip(page_size)}", f"one of {', '.join(PAGE_SIZES)}")
    page_size = sizes[str(page_size).lower()]
    typed = check_params(dict(params or {}), names)
    seed = typed.pop("seed", config.DEFAULT_SEED)

    data_path = Path(data_path or config.DEFAULT_SURVEY).resolve()
    codebook_path = Path(codebook_path or config.DEFAULT_CODEBOOK).resolve()
    _check_input_file(codebook_path, "codebook")
    _check_input_file(data_path, "data file")
    _check_utf8(codebook_path)
    cb = load_codebook(codebook_path)
    try:
        codecs.lookup(cb.encoding)
    except LookupError:
        raise InputError(codebook_path, f"a known text encoding at key encoding, found {clip(cb.encoding)} "
                                        "(for example utf-8, utf-8-sig, cp949, shift_jis, latin-1)") from None

    wave = str(wave or cb.survey.wave or date.today().isoformat())
    wave_folder = folder_name(wave, "wave")
    reports = Path(reports_dir or config.REPORTS_DIR).resolve()
    survey_dir = reports / folder_name(cb.survey.name, "survey")
    final = Path(out).resolve() if out else survey_dir / wave_folder
    _check_writable(final if out else survey_dir, "output folder")

    survey = read_survey(data_path, cb)
    _check_data(survey, cb, data_path, codebook_path)
    return RunPlan(data_path=data_path, codebook_path=codebook_path, codebook=cb, dropped_pii=list(survey.dropped_pii),
                   ingest_notes=[survey.dropped_summary(), *survey.warnings],
                   input_hash=file_sha256(data_path), wave=wave, reports=reports, survey_dir=survey_dir,
                   final=final, publish_links=not out, seed=seed, params=typed, notebooks=names,
                   page_size=page_size)


def _check_data(survey: Survey, cb: Codebook, data_path: Path, codebook_path: Path) -> None:
    """What would otherwise fail inside a notebook: infinite numbers, nobody left after screening,
    margins that the screened sample cannot meet (the same calls notebook 00 makes)."""
    import numpy as np

    from .prepare import weight_survey
    from .quality import screen

    df = survey.data
    for column in df.columns:
        if df[column].dtype.kind == "f":
            bad = np.isinf(df[column].to_numpy())
            if bad.any():
                pos = int(np.argmax(bad))
                raise InputError(data_path, f"a finite number, found {df[column].iloc[pos]}", column=column, row=pos + 1)
    scr = screen(df, cb)
    if len(df) and not len(scr.clean):
        removed = scr.removed_by.value_counts()
        rules = ", ".join(f"{rule}: {n}" for rule, n in removed.items() if rule)
        raise InputError(data_path, f"respondents left after screening, but all {len(df)} were screened out "
                                    f"({rules}); check the screening settings in the codebook")
    if not len(df):
        raise InputError(data_path, "at least one respondent, found no data rows")
    if cb.margins:
        try:
            weight_survey(scr.clean, cb)
        except ValueError as exc:
            raise InputError(codebook_path, f"margins the screened sample can meet: {clip(str(exc), 200)[1:-1]}") from None


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _setup_log(path: Path) -> logging.Logger:
    log = logging.getLogger(f"engagement.run.{path}")
    log.handlers.clear()
    log.setLevel(logging.INFO)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.propagate = False
    return log


def _relink(link: Path, target: str) -> None:
    """Point `link` at `target` atomically (a new symlink renamed over the old one)."""
    tmp = link.with_name(f".{link.name}.tmp-{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target)
    os.replace(tmp, link)


def run_pipeline(
    data_path: str | Path | None = None,
    codebook_path: str | Path | None = None,
    *,
    out: str | Path | None = None,
    wave: str | None = None,
    params: dict | None = None,
    notebooks: list[str] | None = None,
    page_size: str = "A4",
    reports_dir: str | Path | None = None,
    respondent_data: bool = True,
    wait: float = 0,
    progress=print,
    lang: str | None = None,
) -> RunResult:
    """Run the whole pipeline. Raises InputError (bad input or survey busy, nothing written),
    NotebookFailed (failed notebook kept in `_failed/`) or RunInterrupted (SIGTERM/SIGINT).

    One run per survey at a time: a run holds `reports/<survey>/.lock` (fcntl) from before its
    previous-wave lookup until `latest` is moved; another run of the same survey waits up to `wait`
    seconds for it, then stops with RunLocked (exit 2)."""
    plan = plan_run(data_path, codebook_path, out=out, wave=wave, params=params, notebooks=notebooks,
                    page_size=page_size, reports_dir=reports_dir)
    lock_dir = plan.survey_dir if plan.publish_links else plan.final.parent
    with survey_lock(lock_dir / (LOCK_FILE if plan.publish_links else f".{plan.final.name}.lock"),
                     plan.codebook.survey.name, wait, progress):
        remove_stale_builds(plan.final.parent)
        if plan.publish_links:
            remove_stale_builds(plan.reports)
        return _run(plan, respondent_data=respondent_data, progress=progress, lang=lang)


@contextlib.contextmanager
def survey_lock(path: Path, survey: str, wait: float = 0, progress=print):
    """Hold an exclusive fcntl lock on `path` (the file stays; its content is the holder's pid)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        deadline = time.monotonic() + max(0.0, float(wait))
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "?"
                if time.monotonic() >= deadline:
                    waited = f" after waiting {wait:g} s" if wait else ""
                    raise RunLocked(f"survey {clip(survey)}",
                                    f"another run (pid {holder}) is running it{waited}; nothing was written. "
                                    "Retry when it ends, or pass --wait SECONDS") from None
                if not told:
                    progress(f"waiting for the run of pid {holder} on this survey to finish …")
                    told = True
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield
    finally:
        fh.close()  # releases the lock


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_STALE = re.compile(r"\..+\.(?:building|old|tmp)-(\d+)")


def remove_stale_builds(folder: Path) -> list[Path]:
    """Remove `.WAVE.building-PID`, `.WAVE.old-PID` and `.latest.tmp-PID` left by dead processes (a
    killed run), and their kernels' connection-file folders in the temp folder. Returns what went."""
    gone = []
    candidates = list(folder.glob(".*")) if folder.is_dir() else []
    candidates += list(Path(tempfile.gettempdir()).glob("engagement-kernels-*"))
    for p in candidates:
        m = _STALE.fullmatch(p.name) or re.fullmatch(r"engagement-kernels-(\d+)-.*", p.name)
        if not m:
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and _pid_alive(pid):
            continue
        if p.is_symlink() or p.is_file():
            p.unlink(missing_ok=True)
        else:
            shutil.rmtree(p, ignore_errors=True)
        gone.append(p)
    return gone


def _run(plan: RunPlan, *, respondent_data: bool, progress, lang: str | None = None) -> RunResult:
    cb, final, work = plan.codebook, plan.final, plan.final.parent / f".{plan.final.name}.building-{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    log = _setup_log(work / "run.log")
    log.info("run: data=%s codebook=%s wave=%s sha256=%s", plan.data_path.name, plan.codebook_path.name,
             plan.wave, plan.input_hash)
    if plan.dropped_pii:
        log.info("personal-data columns dropped: %s", ", ".join(plan.dropped_pii))
    for note in plan.ingest_notes:  # names only: the values never leave ingest
        log.info("%s", note)

    previous = _previous_results(plan.survey_dir, plan.wave, final)
    base = {"data_path": str(plan.data_path), "codebook_path": str(plan.codebook_path), "output_dir": str(work),
            "seed": plan.seed, "wave": plan.wave, "previous_results": str(previous) if previous else ""}
    params = plan.params
    names = plan.notebooks
    timings: dict[str, float] = {}
    # Kernels write their connection files (which hold the kernel's key) into a folder of this run,
    # removed at the end whatever happens; a killed run's folder goes at the next run's start.
    # (jupyter_client makes them with tempfile.mkstemp, hence the process's temp folder is redirected.)
    runtime = Path(tempfile.mkdtemp(prefix=f"engagement-kernels-{os.getpid()}-"))
    saved_env, saved_tempdir = os.environ.get("JUPYTER_RUNTIME_DIR"), tempfile.tempdir
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)
    tempfile.tempdir = str(runtime)
    _RUNTIME_DIR.append(str(runtime))
    handlers = _catch_signals()
    try:
        for i, name in enumerate(names, 1):
            src = config.NOTEBOOKS_DIR / f"{name}.ipynb"
            accepted = notebook_parameters(src)
            nb_params = {k: v for k, v in {**base, **params}.items() if k in accepted}
            progress(f"[{i}/{len(names)}] {name} …")
            t0 = time.perf_counter()
            _in_worker(_execute, src, work / f"{name}.ipynb", nb_params, log)
            timings[name] = round(time.perf_counter() - t0, 2)
            progress(f"[{i}/{len(names)}] {name} done in {timings[name]:.1f} s")
            log.info("notebook %s ok in %.2f s", name, timings[name])

        results_path = write_results_json(work)
        results = json.loads(results_path.read_text())
        degraded = results.get("degraded", {}) or {}
        for section, reason in sorted(degraded.items()):
            log.warning("not estimated: %s: %s", section, reason)
        dq = results.get("data_quality", {})
        meta = {"survey": cb.survey.name, "wave": plan.wave, "date": date.today().isoformat(),
                "n": dq.get("n_clean"), "n_raw": dq.get("n_raw"), "input_sha256": plan.input_hash,
                "version": __version__, "previous_wave": previous.parent.name if previous else None}
        progress("building findings.html and findings.pdf …")
        t0 = time.perf_counter()
        from .report import build_report

        ordered = [work / f"{n}.ipynb" for n in REPORT_ORDER if n in names]
        # the brief opens the PDF: from results.json, in --lang or the codebook's language
        build_report(ordered, work / "findings.html", work / "findings.pdf", meta, page_size=plan.page_size,
                     results=results, codebook=cb, lang=lang, logger=log)
        timings["report"] = round(time.perf_counter() - t0, 2)
        if not respondent_data:
            for fname in [*RESPONDENT_LEVEL_FILES, Path(CLEAN_DATA).with_suffix(".source").name]:
                (work / fname).unlink(missing_ok=True)
            log.info("respondent-level files not published (--no-respondent-data): %s",
                     ", ".join(RESPONDENT_LEVEL_FILES))
        manifest = {
            "survey": cb.survey.name, "wave": plan.wave, "data_file": plan.data_path.name,
            "codebook_file": plan.codebook_path.name,
            "input_sha256": plan.input_hash, "codebook_sha256": file_sha256(plan.codebook_path),
            # customer records joined to the survey (issue 15): each extract's file and bytes
            "extracts": {ex.name: {"file": ex.file, "sha256": file_sha256(
                Path(ex.file) if Path(ex.file).is_absolute() else plan.data_path.parent / ex.file)}
                for ex in cb.extracts},
            "parameters": {k: v for k, v in {**base, **params}.items() if k not in ("output_dir",)},
            "notebooks": names, "timings_seconds": timings, "packages": package_versions(),
            "dropped_pii_columns": plan.dropped_pii,
            "previous_wave_results": str(previous) if previous else None,
            "degraded": degraded,
            "respondent_level_files": sorted(f for f in RESPONDENT_LEVEL_FILES if (work / f).exists()),
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        log.info("report built; publishing to %s", final)
        progress("publishing …")
        pause = float(os.environ.get(PAUSE_BEFORE_PUBLISH_ENV) or 0)
        if pause:
            time.sleep(pause)
    except RunInterrupted:
        _stop_kernels()
        shutil.rmtree(work, ignore_errors=True)  # an interrupted build is debris, not a failure to debug
        _restore_signals(handlers)
        raise
    except BaseException as exc:
        _stop_kernels()
        failed = _keep_failed(work, final)
        if not respondent_data:
            for fname in RESPONDENT_LEVEL_FILES:
                (failed / fname).unlink(missing_ok=True)
        _restore_signals(handlers)
        if isinstance(exc, NotebookFailed):
            raise NotebookFailed(exc.notebook, exc.cell, exc.detail, failed) from None
        raise
    finally:
        _RUNTIME_DIR.remove(str(runtime))
        tempfile.tempdir = saved_tempdir
        shutil.rmtree(runtime, ignore_errors=True)
        if saved_env is None:
            os.environ.pop("JUPYTER_RUNTIME_DIR", None)
        else:
            os.environ["JUPYTER_RUNTIME_DIR"] = saved_env

    # Publishing is not interrupted half-way: a signal now is honoured once `latest` has moved.
    deferred: list[int] = []
    _set_handlers(handlers, lambda signum, frame: deferred.append(signum))
    try:
        _publish(work, final)
        if plan.publish_links:
            newest = _newest_wave(plan.survey_dir) or final.name
            _relink(plan.survey_dir / "latest", newest)
            _relink(plan.reports / "latest", os.path.relpath(plan.survey_dir / newest, plan.reports))
    finally:
        _restore_signals(handlers)
    if deferred:
        raise RunInterrupted(deferred[0], published=True)
    return RunResult(run_dir=final, pdf=final / "findings.pdf", results=final / "results.json", timings=timings,
                     degraded=degraded)


def _catch_signals() -> dict:
    """SIGTERM and SIGINT raise RunInterrupted in the main thread (elsewhere: left as they are)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(signum, frame):
        _set_handlers(saved, lambda *_: None)  # a second signal must not cut the clean-up short
        raise RunInterrupted(signum)

    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    _set_handlers(saved, interrupt)
    return saved


def _set_handlers(saved: dict, handler) -> None:
    for s in saved:
        signal.signal(s, handler)


def _restore_signals(saved: dict) -> None:
    for s, h in saved.items():
        signal.signal(s, h if h is not None else signal.SIG_DFL)


def _in_worker(fn, *args):
    """Run `fn` in a worker thread while the main thread stays free to take SIGTERM/SIGINT.

    (nbclient installs its own signal handlers only in the main thread; in a worker it does not, so
    a signal reaches `_catch_signals`, which stops the kernels and removes the build.)"""
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="engagement-notebook", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except RunInterrupted:
        _stop_kernels()
        worker.join(15)
        raise
    if "error" in box:
        raise box["error"]
    return box.get("value")


#: connection-file folder of the run going on in this process: its kernels name it on their command line
_RUNTIME_DIR: list[str] = []


def _kernels() -> list[int]:
    """Child processes of this process started for this run's notebooks (Linux /proc; elsewhere none)."""
    if not _RUNTIME_DIR:
        return []
    me, marker = str(os.getpid()), _RUNTIME_DIR[-1].encode()
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[1] == me and marker in (stat.parent / "cmdline").read_bytes():
                pids.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return pids


def _stop_kernels(grace: float = 3.0) -> None:
    """Stop the kernels of this run: SIGTERM, then SIGKILL (nbclient would only do it in the main
    thread, and not at all when the process is being stopped)."""
    kids = _kernels()
    for pid in kids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while kids and time.monotonic() < deadline:
        kids = [p for p in kids if _pid_alive(p) and not _reaped(p)]
        time.sleep(0.05)
    for pid in kids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def _execute(src: Path, dst: Path, parameters: dict, log: logging.Logger) -> None:
    import papermill as pm
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    # papermill's and nbclient's messages ("Kernel died while waiting for execute reply") go to
    # run.log, not to the terminal: the CLI's one line says what happened
    pm_log = logging.getLogger("papermill")
    saved = pm_log.handlers[:], pm_log.propagate
    pm_log.handlers, pm_log.propagate = list(log.handlers), False
    try:
        pm.execute_notebook(str(src), str(dst), parameters=parameters, cwd=str(src.parent),
                            kernel_name="python3", progress_bar=False, log_output=False,
                            request_save_on_cell_execute=False,
                            # the kernel's own start-up chatter is not the analyst's business
                            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except PapermillExecutionError as exc:
        log.error("notebook %s failed at cell %s: %s: %s", src.stem, exc.exec_count, exc.ename, exc.evalue)
        raise NotebookFailed(src.stem, exc.exec_count, f"{exc.ename}: {exc.evalue}", dst) from None
    except DeadKernelError as exc:
        detail = (f"the kernel died (DeadKernelError: {exc}); most often it ran out of memory — "
                  "try a smaller sample or fewer drivers")
        log.error("notebook %s: %s", src.stem, detail)
        if not dst.exists():  # papermill saves nothing when the kernel dies: keep the notebook that was run
            import nbformat

            nb = nbformat.read(src, as_version=4)
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**The kernel died while running this notebook.** {detail}"))
            nbformat.write(nb, dst)
        raise NotebookFailed(src.stem, None, detail, dst) from None
    finally:
        pm_log.handlers, pm_log.propagate = saved


def _keep_failed(work: Path, final: Path) -> Path:
    """Move a failed build to <survey>/_failed/<wave> (replacing an older failure)."""
    dest = final.parent / "_failed" / final.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        shutil.rmtree(dest)
    if work.exists():
        os.replace(work, dest)
    return dest


def _publish(work: Path, final: Path) -> None:
    """Swap the new run into place; the old one is removed only after the rename succeeded."""
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        os.replace(final, old)
    os.replace(work, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _published_waves(survey_dir: Path) -> dict[str, str]:
    """folder -> wave label of every published run of a survey (the label from its manifest)."""
    out = {}
    if not survey_dir.is_dir():
        return out
    for results in survey_dir.glob("*/results.json"):
        run = results.parent
        if run.is_symlink() or run.name.startswith((".", "_")):
            continue
        try:
            label = json.loads((run / "manifest.json").read_text()).get("wave") or run.name
        except (OSError, ValueError):
            label = run.name
        out[run.name] = str(label)
    return out


def _newest_wave(survey_dir: Path) -> str | None:
    """Folder of the last published wave in wave order (`config.wave_sort_key`)."""
    waves = _published_waves(survey_dir)
    return max(waves, key=lambda f: config.wave_sort_key(waves[f])) if waves else None


def _previous_results(survey_dir: Path, wave: str, final: Path | None = None) -> Path | None:
    """results.json of the published wave of this survey that comes just before `wave` in wave order
    (`config.wave_sort_key`: 2026-Q3 < 2026-Q4 < 2027-Q1), so rerunning an old wave compares it with
    the wave before it, never with a later one or with itself, whatever order the runs finished in."""
    key = config.wave_sort_key(wave)
    earlier = {f: w for f, w in _published_waves(survey_dir).items()
               if config.wave_sort_key(w) < key and (final is None or f != final.name)}
    if not earlier:
        return None
    folder = max(earlier, key=lambda f: config.wave_sort_key(earlier[f]))
    return survey_dir / folder / "results.json"

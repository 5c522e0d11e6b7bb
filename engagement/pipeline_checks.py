"""The up-front checks of a pipeline run (engagement.pipeline): every option, notebook parameter
(`check_params`, typed as the notebooks' parameters cells declare), path, encoding, label, output
folder, codebook and data file is checked by `plan_run` before anything is written, which returns the
`RunPlan`. Re-exported by engagement.pipeline.
"""

from __future__ import annotations

import ast
import codecs
import functools
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import config
from .codebook import Codebook, load_codebook
from .errors import InputError
from .ingest import Survey, file_sha256, read_survey
from .pipeline_errors import RunInputError, clip
from .pipeline_folders import folder_name
from .memory import release_freed_memory  # noqa: F401  (re-exported: the pipeline frees the survey with it)
from .results import CLEAN_SOURCE, PERSONA_FILE


#: execution order when several are ready: personas (30), the longest, first; loyalty (20) after it
#: so that loyalty can test heterogeneity by persona
NOTEBOOKS = ["00-data-quality", "30-personas", "10-channel-preferences", "20-loyalty-ces-vs-csat", "90-findings"]
#: what each notebook reads from others in the run folder, notebook -> file: 10, 30 and 20 read only
#: 00's analysis table (its `.source` key is written after it) and 20 only 30's `personas.parquet`;
#: both are written atomically early in the notebook, so a reader starts as soon as the file is
#: there (`engagement run --jobs`). None: the notebook's results section, i.e. it must have ended
#: (90 reads every section).
NOTEBOOK_NEEDS = {
    "10-channel-preferences": {"00-data-quality": CLEAN_SOURCE},
    "30-personas": {"00-data-quality": CLEAN_SOURCE},
    "20-loyalty-ces-vs-csat": {"00-data-quality": CLEAN_SOURCE, "30-personas": PERSONA_FILE},
    "90-findings": dict.fromkeys(("00-data-quality", "10-channel-preferences", "30-personas",
                                  "20-loyalty-ces-vs-csat")),
}

#: page sizes of the PDF (report.PAGE_SIZES; repeated here so that checking one needs no report import)
PAGE_SIZES = ("A4", "letter")

#: notebook parameters the pipeline sets itself (from --data, --codebook, --wave and the run folder)
PIPELINE_PARAMETERS = {"data_path", "codebook_path", "output_dir", "wave", "previous_results"}



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
    #: columns dropped as personal data
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
    #: the validated survey (ingest.Survey), handed to notebook 00 through the run folder
    #: (`prepare.write_validated`) and then dropped, so the file is read and checked once per run
    survey: object = field(default=None, repr=False)



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

    survey = _validate(data_path, cb, codebook_path)
    return RunPlan(survey=survey, dropped_pii=list(survey.dropped_pii),
                   ingest_notes=[survey.dropped_summary(), *survey.warnings], data_path=data_path,
                   codebook_path=codebook_path, codebook=cb, input_hash=file_sha256(data_path), wave=wave, reports=reports,
                   survey_dir=survey_dir, final=final, publish_links=not out, seed=seed, params=typed,
                   notebooks=names, page_size=page_size)


def _validate(data_path: Path, cb: Codebook, codebook_path: Path) -> Survey:
    """Read and check the data (the check's own intermediate tables are freed on return)."""
    survey = read_survey(data_path, cb)
    _check_data(survey, cb, data_path, codebook_path)
    return survey


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

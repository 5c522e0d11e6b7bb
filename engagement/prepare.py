"""The one path from a raw export to the analysis table: ingest -> screen -> weight.

Notebook 00 calls `prepare_survey` and shows each step; the study notebooks call `analysis_data`,
which reads the table notebook 00 cached in the run folder, or builds it the same way when they are
run on their own in JupyterLab.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .codebook import Codebook, load_codebook
from .ingest import Survey, read_survey
from .quality import Screening, screen
from .results import CLEAN_DATA, CLEAN_SOURCE, WEIGHT


@dataclass
class Prepared:
    survey: Survey
    screening: Screening
    data: pd.DataFrame  # screened, PII-free, with the final weight in WEIGHT
    weighting: dict  # method, diagnostics, convergence


def weight_survey(df: pd.DataFrame, cb: Codebook) -> tuple[np.ndarray, dict]:
    """Final analysis weights (summing to n): raked to the codebook's margins when it gives them,
    starting from the file's own weight column when there is one."""
    from .weighting import calibrate_to_codebook, weight_diagnostics

    base = df[cb.weight].to_numpy(float) if cb.weight else None
    if cb.margins:
        res = calibrate_to_codebook(df, cb, base_weight=base)
        w = np.asarray(res.weights, float)
        info = {"method": "raking (iterative proportional fitting, weightipy)" if res.method == "raking"
                else f"bounded (logit) calibration, g-weights in {tuple(cb.weighting.bounds)}",
                "variables": list(cb.margins), "iterations": res.iterations, "converged": bool(res.converged)}
        if res.trimmed:
            info["trimmed"] = res.trimmed
        if res.flag:
            info["flag"] = res.flag
    elif base is not None:
        w = base * len(base) / base.sum()
        info = {"method": f"design weights from column {cb.weight!r}, scaled to sum to n"}
    else:
        w = np.ones(len(df))
        info = {"method": "unweighted (the codebook gives neither weights nor margins)"}
    info["diagnostics"] = weight_diagnostics(w)
    return w, info


def design_for(df: pd.DataFrame, cb: Codebook):
    """The survey design of an analysis table, for design-based SEs: raked weights carry their
    calibration matrix so that SEs account for the raking (as R's survey::rake does)."""
    from .survey_stats import Design
    from .weighting import calibrate_to_codebook

    if cb.margins:
        base = df[cb.weight].to_numpy(float) if cb.weight else None
        return Design.from_rake(calibrate_to_codebook(df, cb, base_weight=base))
    if WEIGHT in df:
        return Design(df[WEIGHT].to_numpy(float))
    return Design.unweighted(len(df))


#: the survey `engagement run` validated, handed to notebook 00 in the run folder (never published)
VALIDATED = ".validated-survey.pkl"


def write_validated(survey: Survey, output_dir: str | Path) -> Path:
    """Hand the validated survey to notebook 00 (issue 11: one validation, one read per run).

    A pickle, not Parquet: it keeps the table's dtypes and what ingest learned (join reports, value
    labels, warnings) exactly, and it is written and read only by this run, beside the key of the
    inputs it came from; the pipeline deletes it before publishing."""
    import pickle

    path = Path(output_dir) / VALIDATED
    with open(path, "wb") as fh:
        pickle.dump((source_key(survey.path, survey.codebook), survey), fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _validated(data_path: str | Path, cb: Codebook, output_dir: str | Path | None) -> Survey | None:
    """The survey handed over by `write_validated` when it came from these same inputs, else None."""
    import pickle

    path = Path(output_dir) / VALIDATED if output_dir else None
    if path is None or not path.is_file():
        return None
    with open(path, "rb") as fh:
        key, survey = pickle.load(fh)
    return survey if key == source_key(data_path, cb) else None


def prepare_survey(data_path: str | Path, codebook: Codebook | str | Path,
                   output_dir: str | Path | None = None) -> Prepared:
    """Ingest, screen and weight. With `output_dir`, the survey `engagement run` already read and
    validated for this run (`write_validated`) is used instead of reading the file again."""
    cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    survey = _validated(data_path, cb, output_dir) or read_survey(data_path, cb)
    scr = screen(survey.data, cb)
    data = scr.clean.copy()
    w, info = weight_survey(data, cb)
    data[WEIGHT] = w
    return Prepared(survey=survey, screening=scr, data=data, weighting=info)


def source_key(data_path: str | Path, cb: Codebook) -> str:
    """Identifies the inputs a clean table was built from: the data file's bytes and the codebook."""
    import hashlib

    from .ingest import file_sha256

    key = file_sha256(data_path) + ":" + hashlib.sha256(cb.model_dump_json().encode()).hexdigest()
    for ex in cb.extracts:  # a changed CRM or order extract invalidates the cached table too
        p = Path(ex.file) if Path(ex.file).is_absolute() else Path(data_path).parent / ex.file
        key += ":" + (file_sha256(p) if p.is_file() else "missing")
    return key


def analysis_data(data_path: str | Path, codebook_path: str | Path, output_dir: str | Path,
                  columns: list[str] | None = None) -> pd.DataFrame:
    """The screened, weighted analysis table for a run folder.

    Reads the copy notebook 00 cached as clean.parquet when it was built from these same inputs;
    otherwise (a study notebook run on its own, or pointed at other data) builds and caches it.
    `columns`: only these (those present), read column by column from the cache, so that a large
    table costs a study only what it reads."""
    cb = load_codebook(codebook_path)
    cached, key = Path(output_dir) / CLEAN_DATA, Path(output_dir) / CLEAN_SOURCE
    if cached.exists() and key.exists() and key.read_text() == source_key(data_path, cb):
        if columns is None:
            return pd.read_parquet(cached)
        import pyarrow as pa
        import pyarrow.parquet as pq

        present = set(pq.read_schema(cached).names)
        df = pd.read_parquet(cached, columns=[c for c in columns if c in present])
        pa.default_memory_pool().release_unused()  # Arrow keeps the read's buffers otherwise (≈ 0.5 GB at 1M)
        return df
    prepared = prepare_survey(data_path, cb, output_dir)
    save_clean(prepared, output_dir)
    return prepared.data if columns is None else prepared.data[[c for c in columns if c in prepared.data.columns]]


def save_clean(prepared: Prepared, output_dir: str | Path) -> None:
    """Cache the analysis table (and the key of the inputs it came from) in the run folder."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / CLEAN_DATA
    tmp = path.with_suffix(".tmp")
    prepared.data.to_parquet(tmp, index=False)
    tmp.replace(path)
    # the key last and whole (renamed into place): a notebook of the same run starts on seeing it
    key = out / f".{CLEAN_SOURCE}.tmp"
    key.write_text(source_key(prepared.survey.path, prepared.survey.codebook))
    key.replace(out / CLEAN_SOURCE)

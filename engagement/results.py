"""Recording results: every notebook writes its section of results.json through `record`.

Sections are kept as one JSON file each under `<output_dir>/results/` while the run is going, so the
notebooks never overwrite each other's numbers; the pipeline merges them into `results.json` at the
end. Values are made JSON-safe (numpy scalars, NaN -> null) and written with sorted keys so that an
unchanged rerun gives byte-identical output.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RESULTS_SUBDIR = "results"
CLEAN_DATA = "clean.parquet"
#: the key of the inputs the analysis table was built from; written after it, so its presence says the table is complete
CLEAN_SOURCE = "clean.source"
#: respondent -> persona file (id column, persona, persona_name): the persona study writes it, loyalty reads it
PERSONA_FILE = "personas.parquet"
#: name of the final analysis weight column in the clean data written by notebook 00
WEIGHT = "_weight"
#: files of a run folder that hold one row per respondent (no personal data: only codebook columns,
#: PII dropped), and why they are kept; `engagement run --no-respondent-data` publishes without them
RESPONDENT_LEVEL_FILES = {
    CLEAN_DATA: "the screened, weighted analysis table: lets a study notebook be rerun on this run's data",
    PERSONA_FILE: "each respondent's persona: joins personas to other analyses of this wave",
}


def to_jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return to_jsonable(obj.to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        # 12 significant digits: stable across BLAS rounding noise, far finer than any interval
        return None if not math.isfinite(x) else float(f"{x:.12g}")
    if obj is None or isinstance(obj, (str, int)):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)


def estimate(est: float, ci_low: float, ci_high: float, n: int | float, **extra) -> dict:
    """The standard shape of a headline number: estimate, 95% interval and base size."""
    return {"estimate": est, "ci_low": ci_low, "ci_high": ci_high, "n": n, **extra}


def record(output_dir: str | Path, section: str, data: dict) -> None:
    """Merge `data` into results section `section` (a top-level key of results.json).

    Returns nothing, so that a notebook's last cell shows no output."""
    folder = Path(output_dir) / RESULTS_SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{section}.json"
    # notebooks run side by side (pipeline --jobs) and several may add to one section (`degraded`):
    # read-merge-write under a lock, and replace the file whole so a reader never sees half of it
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = json.loads(path.read_text()) if path.exists() else {}
        current.update(to_jsonable(data))
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(current, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        tmp.replace(path)


def load_results(output_dir: str | Path) -> dict:
    """All recorded sections (a partial run gives what has been recorded so far)."""
    folder = Path(output_dir) / RESULTS_SUBDIR
    merged: dict = {}
    if folder.exists():
        for p in sorted(folder.glob("*.json")):
            merged[p.stem] = json.loads(p.read_text())
    return merged


def write_results_json(output_dir: str | Path, path: str | Path | None = None) -> Path:
    path = Path(path) if path else Path(output_dir) / "results.json"
    path.write_text(json.dumps(load_results(output_dir), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path

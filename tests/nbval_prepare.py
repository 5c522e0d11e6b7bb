"""Prepare the nbval run: a small simulated survey and every notebook parameterized to use it.

`make test` runs this, then `pytest --nbval-lax build/nbval`: nbval executes each notebook top to
bottom (in name order, so 00 writes the clean data the studies read) on ~600 respondents. Only the
parameters a notebook declares are injected (papermill's prepare-only mode writes the injected cell).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import papermill as pm

from engagement.config import NOTEBOOKS_DIR
from engagement.simulate import SimulationParams, write_survey

#: small, fast settings for every study option a notebook may declare
SMALL = {
    "cv_repeats": 2, "cv_folds": 3, "n_bootstrap": 20, "bootstrap_reps": 10, "power_reps": 0,
    "stability_reps": 3, "n_init": 1, "power_sizes": [], "max_personas": 3, "c13_bootstrap": 20,
}


def prepare(out: Path, n: int = 600, seed: int = 7) -> list[Path]:
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    paths = write_survey(out / "data", SimulationParams(n=n, seed=seed))
    run = out / "run"
    written = []
    for src in sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]-*.ipynb")):
        declared = pm.inspect_notebook(str(src))
        params = {"data_path": str(paths["survey"]), "codebook_path": str(paths["codebook"]),
                  "output_dir": str(run), "seed": seed,
                  **{k: v for k, v in SMALL.items() if k in declared}}
        dst = out / src.name
        pm.execute_notebook(str(src), str(dst), parameters={k: v for k, v in params.items() if k in declared},
                            prepare_only=True, progress_bar=False)
        written.append(dst)
    return written


if __name__ == "__main__":
    for p in prepare(Path(sys.argv[1] if len(sys.argv) > 1 else "build/nbval")):
        print(p)

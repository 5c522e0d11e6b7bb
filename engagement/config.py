"""Project paths and defaults (one place, cookiecutter-data-science style)."""

from __future__ import annotations

import os
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJ_ROOT / "data"
DEFAULT_DATA_DIR = DATA_DIR / "default"
EXAMPLES_DIR = DATA_DIR / "examples"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
REPORTS_DIR = Path(os.environ.get("ENGAGEMENT_REPORTS_DIR", PROJ_ROOT / "reports"))
# Material from outside the project (real datasets and R reference numbers), beside the repo.
SHARED_DIR = Path(os.environ.get("ENGAGEMENT_SHARED_DIR", PROJ_ROOT.parent / "shared"))

DEFAULT_SURVEY = DEFAULT_DATA_DIR / "survey.csv"
DEFAULT_CODEBOOK = DEFAULT_DATA_DIR / "codebook.yaml"
DEFAULT_TRUTH = DEFAULT_DATA_DIR / "truth.csv"

DEFAULT_SEED = 20261122
DEFAULT_N = 5000

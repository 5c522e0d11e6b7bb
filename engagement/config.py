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

# Test and advanced use: run other notebooks than the project's (same names and parameters contract).
if os.environ.get("ENGAGEMENT_NOTEBOOKS_DIR"):
    NOTEBOOKS_DIR = Path(os.environ["ENGAGEMENT_NOTEBOOKS_DIR"])

#: folder names a survey or wave label may not take: they are the pipeline's own
RESERVED_LABELS = ("latest", "_failed")


def wave_sort_key(label: str) -> tuple:
    """The order of wave labels: natural sort, digits compared as numbers, text case-insensitively.

    2026-Q3 < 2026-Q4 < 2027-Q1, 2026-9 < 2026-10, 2026-09-30 < 2026-10-01. `latest` of a survey is
    the last wave in this order, and a wave's trend compares with the wave just before it in this
    order, whatever order the runs finished in."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFC", str(label)).strip()
    key = []
    for part in re.split(r"([0-9]+)", text):
        if not part:
            continue
        # (0, number) sorts digit runs before text at the same place, as numbers
        key.append((0, int(part), "") if part.isascii() and part.isdigit() else (1, 0, part.casefold()))
    return tuple(key) + ((2, 0, text),)  # ties (case only) broken by the exact text

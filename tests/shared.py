"""Helpers shared by several test modules: where the tests find the material kept outside the
repository, the fast study parameters of the pipeline tests, a cleaned simulated survey.

``../shared`` (beside the repo, or ``$ENGAGEMENT_SHARED_DIR``) holds the real datasets and
the R reference numbers.  Tests that need it call `shared_dir()`: it skips them when the
folder is absent on a developer machine, and fails them under CI, where it must exist.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engagement.config import SHARED_DIR


def shared_dir() -> Path:
    """The resolved shared folder; skip (locally) or fail (CI) when it is missing."""
    path = SHARED_DIR.resolve()
    if not path.is_dir():
        message = (
            f"these tests read ../shared (real datasets and R reference numbers), expected at {path}; "
            "put it beside the repository or set ENGAGEMENT_SHARED_DIR"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def clean_simulated_survey(n: int, seed: int):
    """A simulated survey with the planted defects (speeders, straightliners, attention failures,
    duplicates) removed and unit weights: (data, codebook) for tests that call a study directly."""
    from engagement.codebook import Codebook
    from engagement.results import WEIGHT
    from engagement.simulate import SimulationParams, default_codebook, simulate_survey

    df, truth, _ = simulate_survey(SimulationParams(n=n, seed=seed))
    bad = truth[["speeder", "straightliner", "attention_fail", "duplicate"]].any(axis=1).to_numpy()
    df = df[~bad].reset_index(drop=True)
    df[WEIGHT] = 1.0
    return df, Codebook.model_validate(default_codebook())


def small_params() -> dict:
    """The fast study settings (tests/nbval_prepare.py's SMALL) for the parameters the pipeline's
    notebooks declare: for tests that need a whole run but not the studies' full precision."""
    import papermill as pm

    from engagement import config
    from engagement.pipeline import NOTEBOOKS
    from tests.nbval_prepare import SMALL

    declared = set().union(*(pm.inspect_notebook(str(config.NOTEBOOKS_DIR / f"{n}.ipynb")) for n in NOTEBOOKS))
    return {k: v for k, v in SMALL.items() if k in declared}

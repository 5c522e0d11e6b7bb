"""Degrade, don't die: a section that cannot be estimated says why, and the run still publishes.

One mechanism for every study (issues 9 and 12). Analysis code raises `CannotEstimate` with a reason
in plain words when a precondition fails (one outcome class, no answers, too few respondents at a
level); notebooks call analyses through `attempt`, which turns that, and the numerical failures a
real survey can cause (a singular matrix, perfect separation), into a `NotEstimated` value. The
value displays as a visible note, and `record_degraded` writes the reasons to the `degraded` section
of results.json, which the pipeline copies into `manifest.json`, `run.log` and the report.

Anything else an analysis raises is a bug and still fails the run (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

#: results.json section (and manifest key) listing the sections that could not be estimated
DEGRADED_SECTION = "degraded"


class CannotEstimate(Exception):
    """Raised by analysis code when the data cannot support an estimate; the message is the reason,
    written for a reader of the report ("only one outcome class among 181 respondents")."""


@dataclass(frozen=True)
class NotEstimated:
    """What an analysis returns instead of a result when the data cannot support it."""

    section: str  # dotted id, e.g. "loyalty.effort_threshold"
    reason: str  # plain words, shown in the notebook and the report

    def _repr_markdown_(self) -> str:
        return f"> **Not estimated.** {self.reason}"

    def __bool__(self) -> bool:  # `if result:` reads as "was it estimated?"
        return False


def _estimation_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [CannotEstimate, np.linalg.LinAlgError]
    try:
        from statsmodels.tools.sm_exceptions import PerfectSeparationError

        errors.append(PerfectSeparationError)
    except ImportError:  # pragma: no cover - older statsmodels
        pass
    return tuple(errors)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, CannotEstimate):
        return str(exc)
    if isinstance(exc, np.linalg.LinAlgError):
        return ("the model could not be fitted: its design matrix is singular "
                "(a level with too few respondents, or two inputs that carry the same information)")
    return f"the model could not be fitted: the outcome is perfectly separated by the inputs ({exc})"


def attempt(section: str, fn: Callable[..., Any], *args, **kwargs) -> Any:
    """`fn(*args, **kwargs)`, or a `NotEstimated` naming `section` when the data cannot support it."""
    try:
        return fn(*args, **kwargs)
    except _estimation_errors() as exc:
        return NotEstimated(section, _reason(exc))


def degraded(*results: Any) -> dict[str, str]:
    """section id -> reason for every `NotEstimated` among `results`."""
    return {r.section: r.reason for r in results if isinstance(r, NotEstimated)}


def record_degraded(output_dir: str | Path, *results: Any) -> None:
    """Add the sections among `results` that could not be estimated to results.json's `degraded`
    section. Writes nothing when every result was estimated, so a clean run's results.json has no
    `degraded` key at all."""
    from .results import record

    entries = degraded(*results)
    if entries:
        record(output_dir, DEGRADED_SECTION, entries)

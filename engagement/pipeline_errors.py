"""What a pipeline run raises and returns (engagement.pipeline): `RunInputError` (bad input, exit 2),
`RunLocked` (survey busy), `NotebookFailed`, `RunInterrupted` (SIGTERM/SIGINT), `RunResult`, and `clip`
for one-line messages. Re-exported by engagement.pipeline.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError


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

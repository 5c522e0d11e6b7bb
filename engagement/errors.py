"""Errors that the CLI turns into exit code 2 with a single line."""

from __future__ import annotations


#: a message quotes values, never a whole 200 KB cell
MAX_EXPECTED_CHARS = 600


class InputError(Exception):
    """Bad input file or codebook: names the file, column, row and what was expected."""

    def __init__(self, file, expected: str, column: str | None = None, row: int | None = None):
        self.file = str(file)
        self.column = column
        self.row = row
        self.expected = expected
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = [f"file {self.file}"]
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        expected = " ".join(str(self.expected).split())  # one line, whatever a value held
        if len(expected) > MAX_EXPECTED_CHARS:
            expected = expected[:MAX_EXPECTED_CHARS] + "…"
        return "bad input: " + ", ".join(parts) + f": expected {expected}"

"""The working state of one codebook draft (engagement.draft.draft_frame): the data, each column's
facts, the columns already given a role, the codebook sections found so far and the evidence of
each guess. Every step of the draft (engagement.drafting.roles, engagement.drafting.profile) reads
and extends one `DraftState`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .entries import _clip
from .facts import Facts
from .words import ROLE_WORDS, TEXT_WORDS, _match, tokens


@dataclass
class DraftState:
    """What the draft knows so far; the steps fill in the sections in order."""

    df: pd.DataFrame
    cols: list[str]
    value_labels: dict
    question_text: dict
    fmt: str
    #: the codebook being drafted (plain dict), the evidence by key path, and notes for the file's head
    cb: dict
    why: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    missing_codes: list = field(default_factory=list)
    facts: dict[str, Facts] = field(default_factory=dict)
    #: columns given a role: later steps leave them alone
    used: set[str] = field(default_factory=set)
    id_col: str | None = None
    pii: list[str] = field(default_factory=list)
    #: multi-item blocks: stem -> items, item -> stem, and the stems already given a role
    blocks: dict[str, list[str]] = field(default_factory=dict)
    block_of: dict[str, str] = field(default_factory=dict)
    taken_blocks: set[str] = field(default_factory=set)
    scales: dict = field(default_factory=dict)
    outcomes: list = field(default_factory=list)
    item_blocks: list = field(default_factory=list)
    drivers: list = field(default_factory=list)
    usage: dict = field(default_factory=dict)
    channels: dict = field(default_factory=dict)
    segments: list = field(default_factory=list)
    behaviour: dict = field(default_factory=dict)
    persona: dict = field(default_factory=dict)
    columns: dict = field(default_factory=dict)
    screening: dict = field(default_factory=dict)

    def take(self, *names) -> None:
        """Mark columns as given a role."""
        self.used.update(n for n in names if n)

    def role_hit(self, role: str, c: str, use_text: bool) -> str | None:
        """Why column `c` looks like `role` (its name, else its question text when `use_text`), or None."""
        f = self.facts[c]
        w = _match(ROLE_WORDS[role], c, f.toks)
        if w:
            return f"name has {w!r}"
        if use_text and f.text:
            en, cjk = ROLE_WORDS[role]
            w = _match((en | TEXT_WORDS.get(role, set()), cjk), f.text, tokens(f.text))
            if w:
                return f"question text has {w!r} ({_clip(f.text)})"
        return None

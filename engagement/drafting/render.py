"""The draft as YAML text with each guess's evidence as a comment on its line (`render_yaml`), and
`Draft`, the drafted codebook with its evidence (engagement.draft).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from .words import _plain


@dataclass
class Draft:
    """A drafted codebook (plain dict, ready for YAML) and the evidence of each guess by key path."""

    codebook: dict
    why: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        return render_yaml(self.codebook, self.why, self.notes)



def _scalar(v) -> str:
    """One YAML scalar, quoted where YAML would misread it (yes/no, leading zeros, `1.0`-like text)."""
    if v is None:
        return "null"
    v = v if isinstance(v, (str, bool)) else _plain(v)
    s = yaml.safe_dump(v, allow_unicode=True, default_flow_style=True, width=10**9)
    s = s.strip()
    if s.endswith("..."):
        s = s[:-3].strip()
    return s



def _inline(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_inline(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_inline(x)}" for k, x in v.items()) + "}"
    return _scalar(v)



def _comment(why: dict, path: tuple) -> str:
    text = why.get(path)
    return "  # " + re.sub(r"\s+", " ", str(text)) if text else ""



def _emit(node, path: tuple, indent: int, out: list[str], why: dict) -> None:
    pad = " " * indent
    for k, v in node.items():
        p = (*path, k)
        c = _comment(why, p)
        key = _scalar(k)
        if isinstance(v, dict) and v:
            out.append(f"{pad}{key}:{c}")
            _emit(v, p, indent + 2, out, why)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            out.append(f"{pad}{key}:{c}")
            for i, item in enumerate(v):
                sub: list[str] = []
                _emit(item, (*p, i), indent + 4, sub, why)
                first = sub[0]
                sub[0] = f"{pad}  - {first[indent + 4:]}{_comment(why, (*p, i))}"
                out.extend(sub)
        elif isinstance(v, list) and v and len(_inline(v)) > 100:
            out.append(f"{pad}{key}:{c}")
            out.extend(f"{pad}  - {_inline(x)}" for x in v)
        else:
            out.append(f"{pad}{key}: {_inline(v)}{c}")



def render_yaml(codebook: dict, why: dict | None = None, notes: list[str] | None = None) -> str:
    """The codebook as YAML text with each guess's evidence as a comment on its line."""
    head = ["# Draft codebook written by `engagement codebook draft`. Every role below is a guess; the comment",
            "# on its line says why. Check each one (and scale directions) before relying on the report.",
            "# Add `survey.period` and `survey.population` so the report words them as the survey did."]
    for n in notes or []:
        head.append("# note: " + re.sub(r"\s+", " ", n))
    out: list[str] = []
    _emit(codebook, (), 0, out, why or {})
    return "\n".join(head + out) + "\n"

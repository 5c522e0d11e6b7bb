"""The codebook: a YAML file that says what a survey's columns mean.

Every study reads its inputs from here, never from hard-coded column names, so the same notebooks
run on the default survey and on the example codebooks written for the real datasets. A section the
codebook leaves out switches the matching analysis off (the notebook shows a note instead).

Only the columns the codebook names leave ingest (an allow-list: `Codebook.kept_columns`), so a
feature that adds a key naming columns must add it to `referenced_columns`.

Validation is strict (unknown keys are errors, so a typo is caught) and every message names the key
path, what was given and what is allowed, and, where there is one, the column. docs/codebook.md is
generated from the field descriptions here (`python -m engagement.codebook > docs/codebook.md`).

Layout: the section models are in engagement.codebook_sections, the top-level `Codebook` in
engagement.codebook_schema, the plain messages in engagement.codebook_messages and the reference
and JSON Schema in engagement.codebook_reference; this module reads a codebook (`load_codebook`) and
re-exports them all.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

# the models, the plain messages and the generated reference live in their own modules (issue 13);
# every name is re-exported here
from .codebook_messages import (  # noqa: F401  (re-exported)
    _allowed_keys, _bool_field_names, _column_at, _model_in, plain_message, _shown, _YAML_BOOL_WORDS,
    _yaml_traps,
)
from .codebook_reference import (  # noqa: F401  (re-exported)
    codebook_json_schema, codebook_reference, _default_text, json_dumps, _type_name,
)
from .codebook_schema import (  # noqa: F401  (re-exported)
    Codebook, _models,
)
from .codebook_sections import (  # noqa: F401  (re-exported)
    AttentionCheck, Behaviour, Channels, ClaimItem, Code, code_key, code_keys, Column, _d, ItemBlock, map_distinct,
    Missing, Outcome,
    PersonaFeatures, Recode, ROW_ID, Scale, Screening, Segment, _Strict, SurveyInfo, Weighting,
)
from .errors import InputError


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook; any problem raises InputError naming the key."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "an existing codebook YAML file")
    if path.is_dir():
        raise InputError(path, "a codebook YAML file, not a directory")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        row = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise InputError(path, "a codebook saved as UTF-8 text", row=row) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark else None
        raise InputError(path, f"valid YAML ({getattr(exc, 'problem', exc)})", row=row) from None
    if not isinstance(raw, dict):
        raise InputError(path, "a YAML mapping at the top level")
    _yaml_traps(text, path)
    try:
        return Codebook.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        column = _column_at(raw, err["loc"])
        where = f"key {key}" + (f" (column {column!r})" if column else "")
        raise InputError(path, f"{plain_message(err, raw)} at {where}") from None


if __name__ == "__main__":  # python -m engagement.codebook > docs/codebook.md
    print(codebook_reference(), end="")


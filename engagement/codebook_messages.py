"""Codebook problems in plain words (engagement.codebook.load_codebook): the YAML 1.1 traps (unquoted
yes/no/on/off, numbers with leading zeros) and pydantic errors turned into one line naming the key,
what was given and what is allowed, with the column where there is one. Re-exported by
engagement.codebook.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel

from .codebook_schema import Codebook, _models
from .errors import InputError


#: YAML 1.1 reads these unquoted words as booleans (PyYAML does); in a label or code that is a trap
_YAML_BOOL_WORDS = {"yes", "no", "on", "off", "y", "n"}


def _yaml_traps(text: str, path: Path) -> None:
    """Unquoted yes/no/on/off and numbers with leading zeros silently change meaning under YAML 1.1
    (booleans, octal). Outside the codebook's true/false keys they are errors with a hint to quote."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return  # the parse error is reported by the caller
    bool_keys = _bool_field_names()

    def walk(node, keypath):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                check(k, keypath, is_key=True)
                walk(v, [*keypath, k.value if isinstance(k, yaml.ScalarNode) else "?"])
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, [*keypath, str(i)])
        else:
            check(node, keypath, is_key=False)

    def check(node, keypath, is_key):
        if not isinstance(node, yaml.ScalarNode) or node.style is not None:
            return
        value = node.value
        where = ".".join(str(p) for p in keypath) or "(top level)"
        row = node.start_mark.line + 1
        if value.lower() in _YAML_BOOL_WORDS and not (not is_key and keypath and keypath[-1] in bool_keys):
            raise InputError(path, f"a quoted '{value}' at key {where}: unquoted, YAML reads {value} as "
                                   f"{'true' if value.lower() in ('yes', 'on', 'y') else 'false'} "
                                   f"(write \"{value}\")", row=row)
        if len(value) > 1 and value[0] == "0" and value.isdigit():
            raise InputError(path, f"a quoted '{value}' at key {where}: unquoted, YAML drops the leading zero "
                                   f"or reads it as an octal number (write \"{value}\")", row=row)

    walk(root, [])


def _bool_field_names() -> set[str]:
    names = set()
    for model in _models():
        for name, f in model.model_fields.items():
            if f.annotation is bool:
                names.add(name)
    return names


def _shown(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def plain_message(err: dict, raw=None) -> str:
    """A pydantic error in words: the key, what was given and what is allowed."""
    import difflib

    loc = err["loc"]
    name = str(loc[-1]) if loc else "(top level)"
    kind = err["type"]
    given = err.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"one of the keys allowed here; '{name}' is unknown{hint} (allowed: {', '.join(allowed)})"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        options = ", ".join(o.strip(" '") for o in expected.replace(" or ", ", ").split(","))
        return f"{name} must be one of {options}, not {_shown(given)}"
    if kind == "missing":
        return f"key '{name}' is required here"
    if kind in ("string_type", "float_type", "float_parsing", "int_type", "int_parsing", "bool_type", "bool_parsing",
                "list_type", "dict_type", "model_type"):
        what = {"string": "text", "float": "a number", "int": "a whole number", "bool": "true or false",
                "list": "a list", "dict": "a mapping", "model": "a mapping"}[kind.split("_")[0]]
        hint = f' (quote it: "{given}")' if what == "text" and isinstance(given, (bool, int, float)) else ""
        return f"{name} must be {what}, not {_shown(given)}{hint}"
    msg = err["msg"].removeprefix("Value error, ")
    return msg


def _allowed_keys(loc) -> list[str]:
    """Field names of the model found at a key path (for 'did you mean')."""
    import typing

    model: type[BaseModel] | None = Codebook
    for part in loc:
        if model is None:
            return []
        field = model.model_fields.get(str(part)) if isinstance(part, str) else None
        if field is None:  # a list index or a dict key: stay on the container's element model
            continue
        model = _model_in(field.annotation)
    return sorted(model.model_fields) if model else []


def _model_in(annotation):
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found:
            return found
    return None


def _column_at(raw, loc) -> str | None:
    """The column named at or just above a failing key path, if any."""
    node = raw
    found = None
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("column"), str):
            found = node["column"]
        elif isinstance(node, str) and part in ("column", "id", "weight", "duration"):
            found = node
    return found

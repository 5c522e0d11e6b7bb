"""`engagement codebook draft`: a starting codebook guessed from a raw export, every guess with its evidence.

The draft reads the file as ingest would, then looks at each column twice: its **name** (split into
tokens, so "ces" matches `ces`, `CES_1` or `q5_ces` but never `adv.acces` or `TermsCondPrices`;
Korean and Japanese words are matched as words of their script) together with any question text the
export carries (Qualtrics' second header row, SPSS variable labels), and its **values** (recognised
scale types 1–5, 1–7, 1–10, 0–10 and 0–5 with 0 = not applicable; yes/no and agree/satisfied answer
texts in English, Korean and Japanese; sentinel missing codes such as −99 or 999; value labels).

Roles it proposes: respondent id (only a column unique on every row), weight, duration, personal
data, CES, CSAT and NPS scales, loyalty outcomes, multi-item blocks (with reversed items found by
their negative correlation with the rest of the block), key-driver ratings, channel use, preferred
channel per journey stage, the last-interaction channel, demographics and other segments, behaviour
and persona features. Ratings are never proposed as segments; segment labels are written as codes
(`1`, never `1.0`). Every guess is written with a YAML comment saying why.

`studies_fed(codebook)` says which studies a codebook feeds and what the others lack; the draft
command prints it, and `codebook check` uses it to warn about a codebook that feeds no study.

Layout (engagement/drafting/): `words` (vocabulary and name matching), `facts` (encoding, question
text, each column's facts), `entries` (codebook entries), `state`, `roles` and `profile` (the steps
of `draft_frame`, in `frame`), `studies` (`studies_fed`, `validate_draft`) and `render` (YAML with
evidence comments, `Draft`). This module reads a file (`draft_file`) and re-exports the rest.
"""

from __future__ import annotations

from pathlib import Path

# the draft's parts live in engagement/drafting/ (issue 13); every name is re-exported here
from .drafting.entries import (  # noqa: F401  (re-exported)
    _binary_value, _block_entry, _ces_direction, _channel, _channel_codes, _clip, _cols, _label_text,
    _outcome_entry, _reversed_items, _scale_entry,
)
from .drafting.facts import (  # noqa: F401  (re-exported)
    _answer_recode, column_facts, _common_hangul, detect_encoding, Facts, _is_number, _question_text,
    _rating_type, _scale_like_labels, _script_score, _sentinels, _stub_codebook,
)
from .drafting.frame import draft_frame  # noqa: F401  (re-exported)
from .drafting.render import (  # noqa: F401  (re-exported)
    _comment, Draft, _emit, _inline, render_yaml, _scalar,
)
from .drafting.studies import (  # noqa: F401  (re-exported)
    CONTRACT_KEYS, studies_fed, studies_summary, validate_draft,
)
from .drafting.words import (  # noqa: F401  (re-exported)
    _ANSWER_SCALES, CHANNEL_WORDS, GENERIC_STEMS, _language, LEFT_WORDS, _match, NA_TEXT, NO, _norm_text,
    _num_label, NUMERIC_PII, ONLINE_CHANNELS, PII_CJK, PII_TOKENS, _plain, QUALTRICS_META, ROLE_WORDS,
    SCALE_TYPES, SENTINELS, STAGES, TEXT_WORDS, tokens, YES,
)
from .errors import InputError


def draft_codebook(path: str | Path, encoding: str | None = None) -> dict:
    """A starting codebook for the export at `path` (plain dict); see `draft_file` for the evidence."""
    return draft_file(path, encoding).codebook


def draft_file(path: str | Path, encoding: str | None = None) -> Draft:
    """Read an export and draft its codebook. Raises InputError when the file cannot be read."""
    from .ingest import read_raw

    path = Path(path)
    if not path.exists():
        raise InputError(path, "an existing survey data file")
    enc_why = "given on the command line"
    if encoding is None:
        if path.suffix.lower() in (".sav", ".zsav", ".xlsx", ".xlsm", ".parquet", ".pq"):
            encoding, enc_why = "utf-8", "binary format: the file carries its own encoding"
        else:
            encoding, enc_why = detect_encoding(path)
    df, fmt, labels = read_raw(path, _stub_codebook(encoding))
    texts, user_missing = _question_text(path, fmt, encoding)
    d = draft_frame(df, name=path.stem, value_labels=labels, question_text=texts, fmt=fmt)
    d.codebook["encoding"] = encoding
    d.why[("encoding",)] = enc_why
    d.codebook["format"] = fmt
    d.why[("format",)] = {"qualtrics": "three header rows with an ImportId row: a Qualtrics export",
                          "spss": "SPSS .sav", "csv": "delimited text"}.get(fmt, fmt)
    if user_missing:
        d.notes.append("SPSS user-missing values (read as empty): " + ", ".join(
            f"{c} {sorted(map(_plain, v))}" for c, v in list(user_missing.items())[:6]))
    try:  # which studies the unedited draft feeds, at the top of the file
        d.notes[:0] = [f"this draft {line}" for line in studies_summary(validate_draft(d.codebook)[0])]
    except Exception:  # a draft that does not validate is still worth writing; `codebook check` says why
        pass
    order = ["survey", "encoding", "format"]
    d.codebook = {**{k: d.codebook[k] for k in order if k in d.codebook},
                  **{k: v for k, v in d.codebook.items() if k not in order}}
    return d

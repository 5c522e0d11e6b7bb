"""The codebook: a YAML file that says what a survey's columns mean.

Every study reads its inputs from here, never from hard-coded column names, so the same notebooks
run on the default survey and on the example codebooks written for the real datasets. A section the
codebook leaves out switches the matching analysis off (the notebook shows a note instead).

Validation is strict (unknown keys are errors, so a typo is caught) and every message names the key
path and, where there is one, the column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import InputError
from .extract_spec import Extract

Code = Union[int, float, str, bool]
ROW_ID = "_row"  # respondent id made by ingest when the file has none


def code_key(value) -> str:
    """Canonical text of a code or level, so that 1, 1.0, "1", np.int64(1) and True compare equal
    (YAML, CSV, SPSS and pandas each hand codes over in their own type)."""
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_":
        return str(int(value))
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value).strip()
    if f != f:  # NaN
        return "nan"
    return str(int(f)) if f.is_integer() else repr(f)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class SurveyInfo(_Strict):
    name: str = "Customer survey"
    wave: str = ""
    description: str = ""


class Scale(_Strict):
    """A rating: one column, or the mean of several items (a composite)."""

    column: str | None = None
    items: list[str] | None = None
    min: float
    max: float
    higher_is_better: bool = True
    label: str = ""
    #: scale points counted as "top box" (e.g. CSAT 4–5, CES 2.0 5–7); default: top two points
    top_box: list[float] | None = None
    top_box_mean_at_least: float | None = Field(None, description=(
        "For a composite (items): a respondent is in the top box when the item mean is at least this "
        "value, e.g. 6 on a 1-7 scale. Default: the lowest top_box point. Ignored for one-column scales."))

    @model_validator(mode="after")
    def _one_source(self):
        if (self.column is None) == (self.items is None):
            raise ValueError("give exactly one of 'column' or 'items'")
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be above min ({self.min})")
        return self

    @property
    def columns(self) -> list[str]:
        return [self.column] if self.column else list(self.items or [])

    @property
    def top_box_values(self) -> list[float]:
        return list(self.top_box) if self.top_box is not None else [self.max - 1, self.max]


class ItemBlock(_Strict):
    """A multi-item scale, used for reliability (Cronbach's alpha) and straightlining checks."""

    name: str
    items: list[str] = Field(min_length=2)
    min: float
    max: float
    label: str = ""


class AttentionCheck(_Strict):
    column: str
    correct: list[Code] | Code

    @property
    def correct_values(self) -> list[Code]:
        return self.correct if isinstance(self.correct, list) else [self.correct]


class Outcome(_Strict):
    """A loyalty outcome. kind decides the model: nps/likert -> ordinal logit, binary -> logistic,
    count/continuous -> OLS."""

    name: str
    column: str
    kind: Literal["nps", "likert", "binary", "count", "continuous"]
    label: str = ""
    min: float | None = None
    max: float | None = None
    #: for binary outcomes stored as labels (e.g. Churn "No"): the value that means loyal / retained
    positive: Code | None = None

    def binary_values(self, values):
        """A binary outcome as 1.0 = loyal (the `positive` value, default 1), 0.0 = not, NaN = missing;
        codes compare by code_key, so "1", 1 and 1.0 are the same answer."""
        import numpy as np
        import pandas as pd

        pos = code_key(self.positive if self.positive is not None else 1)
        values = pd.Series(values)
        return pd.Series(np.where(values.isna(), np.nan, values.map(code_key) == pos), index=values.index, dtype=float)


class Segment(_Strict):
    column: str
    label: str = ""
    #: value labels, code -> text; when given, these are the only allowed codes
    labels: dict[Code, str] | None = None


class Channels(_Strict):
    #: channel name -> multi-select 0/1 usage column
    usage: dict[str, str] = Field(default_factory=dict)
    #: channel names counted as online (the rest are offline / in-store)
    online: list[str] = Field(default_factory=list)
    shopping: list[str] = Field(default_factory=list, description=(
        "Usage channels through which customers shop (buy), e.g. [store, web, app]. Claim C07 "
        "('shoppers who regularly use at least two channels') counts these only; without them C07 is "
        "not tested, because counting e-mail or SMS would make nearly everyone multichannel."))
    #: journey stage -> column holding the preferred channel's code
    stages: dict[str, str] = Field(default_factory=dict)
    #: code -> channel name, for the stage and last-interaction columns
    codes: dict[Code, str] = Field(default_factory=dict)
    #: column with the channel of the last service interaction (rated by CES and CSAT)
    last_interaction: str | None = None
    #: column with the stage of the last service interaction (optional)
    last_interaction_stage: str | None = None
    #: column: 1 if the customer started and finished a purchase in different channels
    cross_channel_purchase: str | None = None

    @model_validator(mode="after")
    def _shopping_declared(self):
        unknown = [c for c in self.shopping if self.usage and c not in self.usage]
        if unknown:
            raise ValueError(f"channels.shopping: {unknown[0]!r} is not a channel of channels.usage "
                             f"(one of {', '.join(self.usage)})")
        return self


class PersonaFeatures(_Strict):
    binary: list[str] = Field(default_factory=list)
    ordinal: list[str] = Field(default_factory=list)
    continuous: list[str] = Field(default_factory=list)

    @property
    def all(self) -> list[str]:
        return [*self.binary, *self.ordinal, *self.continuous]


class ClaimItem(_Strict):
    """Maps a seed claim (C01–C17, see engagement.claims) to the survey: the estimate is the weighted
    share of respondents whose `column` value is in `values`."""

    id: str = Field(pattern=r"^C\d{2}[a-z]?$")
    column: str
    values: list[Code]
    label: str = ""


class Behaviour(_Strict):
    """CRM-linked behaviour columns used by the seed metrics (all optional)."""

    orders: str | None = None
    revenue: str | None = None
    guest_orders: str | None = None
    sessions: str | None = None
    single_page_sessions: str | None = None
    email_impressions: str | None = None
    email_clicks: str | None = None
    loyalty_member: str | None = None
    window: str = Field("", description=(
        "The period the behaviour columns cover, in words for the report, e.g. 'last 365 days'. "
        "Purchase frequency and repeat-purchase rate count customers with an order in this window."))


class Column(_Strict):
    """Extra declarations for columns that no role covers (type, range, allowed codes)."""

    type: Literal["int", "float", "str", "category", "bool"] = "float"
    label: str = ""
    min: float | None = None
    max: float | None = None
    allowed: list[Code] | None = None
    required: bool = True


class Screening(_Strict):
    speeder_fraction_of_median: float = 0.5
    #: columns of the rating grid checked for straightlining (no variance across the grid)
    straightline_grid: list[str] = Field(default_factory=list)
    #: look for duplicate submissions (switch off for administrative extracts, where identical
    #: profiles are different customers)
    check_duplicates: bool = True
    #: columns that define a duplicate submission; default: every column but the id, weight and duration
    duplicate_columns: list[str] | None = None


class Weighting(_Strict):
    """Guard rails of the calibration to `margins` (R survey's ``calibrate`` and ``trimWeights``)."""

    method: Literal["raking", "logit"] = Field(
        "raking", description="raking (iterative proportional fitting) or logit: bounded calibration, "
        "as R's calibrate(calfun = 'logit', bounds = ...), which keeps every weight / base weight in `bounds`")
    bounds: list[float] | None = Field(
        None, min_length=2, max_length=2,
        description="[lower, upper] bounds on the g-weights (final / base weight, base scaled to mean 1) "
        "for method logit; lower < 1 < upper, e.g. [0.3, 3]")
    trim_lower: float | None = Field(
        None, description="trim final weights below this (mean weight 1) and share the cut equally among "
        "untrimmed weights, as R's trimWeights(lower = ...)")
    trim_upper: float | None = Field(
        None, description="trim final weights above this (mean weight 1), e.g. 5, as R's trimWeights(upper = ...)")
    trim_strict: bool = Field(
        False, description="repeat the trimming until no weight is outside the bounds (trimWeights(strict = TRUE))")
    on_nonconvergence: Literal["error", "flag"] = Field(
        "flag", description="flag (default): go on and mark every estimate with a 'flag' saying that the "
        "weights miss the margins; error: stop with a message naming the largest margin error")

    @model_validator(mode="after")
    def _check_bounds(self):
        if self.method == "logit" and self.bounds is None:
            raise ValueError("weighting.bounds: method logit needs [lower, upper]")
        if self.bounds is not None and not (0 <= self.bounds[0] < 1 < self.bounds[1]):
            raise ValueError(f"weighting.bounds: expected 0 <= lower < 1 < upper, got {self.bounds}")
        return self


class Codebook(_Strict):
    survey: SurveyInfo = Field(default_factory=SurveyInfo)
    encoding: str = "utf-8"
    format: Literal["auto", "csv", "qualtrics", "spss", "excel", "parquet"] = "auto"
    #: respondent id column; leave out when the file has none and ingest numbers the rows (`_row`)
    id: str | None = None
    weight: str | None = None
    duration: str | None = None
    attention_checks: list[AttentionCheck] = Field(default_factory=list)
    pii: list[str] = Field(default_factory=list)
    scales: dict[str, Scale] = Field(default_factory=dict)
    item_blocks: list[ItemBlock] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    #: control variables for the loyalty models (numeric or segment columns)
    controls: list[str] = Field(default_factory=list)
    #: attribute-rating columns for the key-driver analysis (importance x performance)
    drivers: list[str] = Field(default_factory=list)
    channels: Channels | None = None
    segments: list[Segment] = Field(default_factory=list)
    persona_features: PersonaFeatures | None = None
    claims: list[ClaimItem] = Field(default_factory=list)
    #: population margins for raking: column -> {level: share}; shares must sum to 1
    margins: dict[str, dict[Code, float]] = Field(default_factory=dict)
    weighting: Weighting = Field(
        default_factory=Weighting, description="how the weights are calibrated to `margins`: method, "
        "bounds, trimming and what to do when the calibration does not converge")
    behaviour: Behaviour = Field(default_factory=Behaviour)
    columns: dict[str, Column] = Field(default_factory=dict)
    screening: Screening = Field(default_factory=Screening)
    #: customer records joined to the survey by customer id (CRM, order-level transactions); see
    #: engagement.extract_spec and engagement.sources
    extracts: list[Extract] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self):
        created: dict[str, str] = {}
        for ex in self.extracts:
            for col in ex.created_columns:
                if col in created:
                    raise ValueError(f"extracts: column {col!r} is created by both {created[col]!r} and {ex.name!r}")
                created[col] = ex.name
        for var, shares in self.margins.items():
            total = sum(shares.values())
            if abs(total - 1) > 1e-6:
                raise ValueError(f"margins.{var}: shares sum to {total:g}, expected 1")
        if self.channels is not None:
            for ch in self.channels.online:
                if self.channels.usage and ch not in self.channels.usage and ch not in self.channels.codes.values():
                    raise ValueError(f"channels.online: {ch!r} is not a declared channel")
        seen = set()
        for o in self.outcomes:
            if o.name in seen:
                raise ValueError(f"outcomes: name {o.name!r} is used twice")
            seen.add(o.name)
        return self

    # ---- what the studies need -------------------------------------------------------------
    @property
    def id_column(self) -> str:
        return self.id or ROW_ID

    def scale(self, name: str) -> Scale | None:
        return self.scales.get(name)

    def referenced_columns(self) -> dict[str, str]:
        """Every column the codebook names, mapped to the key that names it (for error messages)."""
        refs: dict[str, str] = {self.id: "id"} if self.id else {}
        if self.weight:
            refs[self.weight] = "weight"
        if self.duration:
            refs[self.duration] = "duration"
        for i, a in enumerate(self.attention_checks):
            refs[a.column] = f"attention_checks[{i}].column"
        for name, s in self.scales.items():
            for c in s.columns:
                refs.setdefault(c, f"scales.{name}")
        for b in self.item_blocks:
            for c in b.items:
                refs.setdefault(c, f"item_blocks.{b.name}")
        for o in self.outcomes:
            refs.setdefault(o.column, f"outcomes.{o.name}")
        for c in self.controls:
            refs.setdefault(c, "controls")
        for c in self.drivers:
            refs.setdefault(c, "drivers")
        if self.channels:
            for ch, c in self.channels.usage.items():
                refs.setdefault(c, f"channels.usage.{ch}")
            for st, c in self.channels.stages.items():
                refs.setdefault(c, f"channels.stages.{st}")
            for key in ("last_interaction", "last_interaction_stage", "cross_channel_purchase"):
                c = getattr(self.channels, key)
                if c:
                    refs.setdefault(c, f"channels.{key}")
        for s in self.segments:
            refs.setdefault(s.column, "segments")
        if self.persona_features:
            for c in self.persona_features.all:
                refs.setdefault(c, "persona_features")
        for cl in self.claims:
            refs.setdefault(cl.column, f"claims.{cl.id}")
        for c in self.margins:
            refs.setdefault(c, f"margins.{c}")
        for key, c in self.behaviour.model_dump().items():
            if c and key != "window":  # the window is words for the report, not a column
                refs.setdefault(c, f"behaviour.{key}")
        for c, spec in self.columns.items():
            if spec.required:
                refs.setdefault(c, f"columns.{c}")
        for c in self.screening.straightline_grid:
            refs.setdefault(c, "screening.straightline_grid")
        return refs

    def segment(self, column: str) -> Segment | None:
        return next((s for s in self.segments if s.column == column), None)


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook; any problem raises InputError naming the key."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "an existing codebook YAML file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark else None
        raise InputError(path, f"valid YAML ({getattr(exc, 'problem', exc)})", row=row) from None
    if not isinstance(raw, dict):
        raise InputError(path, "a YAML mapping at the top level")
    try:
        return Codebook.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        column = _column_at(raw, err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        where = f"key {key}" + (f" (column {column!r})" if column else "")
        raise InputError(path, f"{msg} at {where}") from None


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

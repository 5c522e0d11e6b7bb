"""The codebook: a YAML file that says what a survey's columns mean.

Every study reads its inputs from here, never from hard-coded column names, so the same notebooks
run on the default survey and on the example codebooks written for the real datasets. A section the
codebook leaves out switches the matching analysis off (the notebook shows a note instead).

Only the columns the codebook names leave ingest (an allow-list: `Codebook.kept_columns`), so a
feature that adds a key naming columns must add it to `referenced_columns`.

Validation is strict (unknown keys are errors, so a typo is caught) and every message names the key
path, what was given and what is allowed, and, where there is one, the column. docs/codebook.md is
generated from the field descriptions here (`python -m engagement.codebook > docs/codebook.md`).
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


def _d(text: str, example=None, **kw):
    """Field(description=...) with one example for the generated reference (docs/codebook.md)."""
    extra = {"examples": [example]} if example is not None else None
    return Field(description=text, json_schema_extra=extra, **kw)


Missing = list[Code]
Recode = dict[str, Code]


class SurveyInfo(_Strict):
    """What the survey is: its name, wave and the wording the report uses for it."""

    name: str = _d("Survey name; the report title and the folder under reports/.", "Customer survey 2026",
                   default="Customer survey")
    wave: str = _d("Wave label (sorts in time order: 2026-Q3 < 2026-Q4); default: today's date.", "2026-Q4",
                   default="")
    description: str = _d("One or two sentences on the survey, shown in the report.", "Online panel of customers",
                          default="")
    period: str = _d("The period the questions ask about, as the report should word it.", "in the last six months",
                     default="")
    population: str = _d("Who the respondents represent, as the report should word it.", "UK online shoppers",
                         default="")
    language: Literal["en", "ko", "ja"] = _d("Language of the survey's labels (chart fonts, draft guesses).", "en",
                                             default="en")


class Scale(_Strict):
    """A rating: one column, or the mean of several items (a composite)."""

    column: str | None = _d("The rating's column (give this or `items`).", "ces", default=None)
    items: list[str] | None = _d("Item columns whose mean is the rating (give this or `column`).",
                                 ["sat1", "sat2", "sat3"], default=None)
    min: float = _d("Lowest scale point (the scale's, not the lowest answer seen).", 1)
    max: float = _d("Highest scale point.", 7)
    higher_is_better: bool = _d("True when a high rating is good (CES 2.0 agree = easy); False for CES 1-5 "
                                "'effort' wording.", True, default=True)
    label: str = _d("Wording shown in tables and charts.", "CES 2.0 (1-7)", default="")
    top_box: list[float] | None = _d("Scale points counted as 'top box' (e.g. CSAT 4-5, CES 2.0 5-7); "
                                     "default: the top two points.", [6, 7], default=None)
    missing: Missing = _d("Codes in these columns that mean no answer (e.g. 0 = not applicable).", [0],
                          default_factory=list)
    recode: Recode = _d("Text answers -> codes, matched after trimming and case-folding.",
                        {"Strongly agree": 5, "Agree": 4}, default_factory=dict)
    reverse: list[str] = _d("Negatively worded items, reversed as min + max - answer before anything else.",
                            ["sat3"], default_factory=list)
    top_box_mean_at_least: float | None = _d(
        "For a composite (items): a respondent is in the top box when the item mean is at least this value, "
        "e.g. 6 on a 1-7 scale. Default: the lowest top_box point. Ignored for one-column scales.", 6, default=None)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.column is None) == (self.items is None):
            raise ValueError("give exactly one of 'column' or 'items'")
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be above min ({self.min})")
        for item in self.reverse:
            if item not in self.columns:
                raise ValueError(f"reverse: {item!r} is not one of this scale's columns {self.columns}")
        return self

    @property
    def columns(self) -> list[str]:
        return [self.column] if self.column else list(self.items or [])

    @property
    def top_box_values(self) -> list[float]:
        return list(self.top_box) if self.top_box is not None else [self.max - 1, self.max]


class ItemBlock(_Strict):
    """A multi-item scale, used for reliability (Cronbach's alpha) and straightlining checks."""

    name: str = _d("Short name of the block.", "digital_affinity")
    items: list[str] = _d("Item columns (at least two).", ["dig_1", "dig_2", "dig_3"], min_length=2)
    min: float = _d("Lowest scale point.", 1)
    max: float = _d("Highest scale point.", 5)
    label: str = _d("Wording shown in tables.", "Digital affinity (3 items, 1-5)", default="")
    missing: Missing = _d("Codes in these items that mean no answer.", [0], default_factory=list)
    recode: Recode = _d("Text answers -> codes, matched after trimming and case-folding.",
                        {"Strongly agree": 5}, default_factory=dict)
    reverse: list[str] = _d("Negatively worded items, reversed as min + max - answer.", ["dig_3"],
                            default_factory=list)

    @model_validator(mode="after")
    def _reverse_in_block(self):
        for item in self.reverse:
            if item not in self.items:
                raise ValueError(f"reverse: {item!r} is not one of this block's items {self.items}")
        return self


class AttentionCheck(_Strict):
    """An instructed-response item: respondents whose answer is not in `correct` are screened out."""

    column: str = _d("The attention-check column.", "attn_check")
    correct: list[Code] | Code = _d("The right answer(s).", 4)

    @property
    def correct_values(self) -> list[Code]:
        return self.correct if isinstance(self.correct, list) else [self.correct]


class Outcome(_Strict):
    """A loyalty outcome. kind decides the model: nps/likert -> ordinal logit, binary -> logistic,
    count/continuous -> OLS."""

    name: str = _d("Short name, unique among outcomes.", "repurchase")
    column: str = _d("The outcome's column.", "repurchase")
    kind: Literal["nps", "likert", "binary", "count", "continuous"] = _d(
        "Measurement: nps/likert -> ordinal logit, binary -> logistic, count/continuous -> OLS.", "likert")
    label: str = _d("Wording shown in tables.", "Intention to buy again (1-5)", default="")
    min: float | None = _d("Lowest allowed value (count: default 0).", 1, default=None)
    max: float | None = _d("Highest allowed value.", 5, default=None)
    positive: Code | None = _d("For binary outcomes stored as labels (e.g. Churn 'No'): the value that means "
                               "loyal / retained (default 1).", "No", default=None)
    missing: Missing = _d("Codes that mean no answer.", [99], default_factory=list)
    recode: Recode = _d("Text answers -> codes, matched after trimming and case-folding.",
                        {"Very likely": 5}, default_factory=dict)

    def binary_values(self, values):
        """A binary outcome as 1.0 = loyal (the `positive` value, default 1), 0.0 = not, NaN = missing;
        codes compare by code_key, so "1", 1 and 1.0 are the same answer."""
        import numpy as np
        import pandas as pd

        pos = code_key(self.positive if self.positive is not None else 1)
        values = pd.Series(values)
        return pd.Series(np.where(values.isna(), np.nan, values.map(code_key) == pos), index=values.index, dtype=float)


class Segment(_Strict):
    """A grouping column (age group, region, store) used for breakdowns and raking."""

    column: str = _d("The segment's column.", "age_group")
    label: str = _d("Wording shown in tables.", "Age group", default="")
    labels: dict[Code, str] | None = _d("Value labels, code -> text; when given, these are the only allowed codes.",
                                        {1: "18-34", 2: "35-54", 3: "55+"}, default=None)
    missing: Missing = _d("Codes that mean no answer.", [9], default_factory=list)
    recode: Recode = _d("Text answers -> codes, matched after trimming and case-folding.",
                        {"Female": 1, "Male": 2}, default_factory=dict)


class Channels(_Strict):
    """Channel use and preference questions (the channel-preferences study)."""

    usage: dict[str, str] = _d("Channel name -> multi-select 0/1 usage column.", {"store": "use_store", "web": "use_web"},
                               default_factory=dict)
    online: list[str] = _d("Channel names counted as online (the rest are offline / in-store).", ["web", "app"],
                           default_factory=list)
    stages: dict[str, str] = _d("Journey stage -> column holding the preferred channel's code.",
                                {"purchase": "pref_purchase"}, default_factory=dict)
    codes: dict[Code, str] = _d("Code -> channel name, for the stage and last-interaction columns.",
                                {1: "store", 2: "web"}, default_factory=dict)
    last_interaction: str | None = _d("Column with the channel of the last service interaction (rated by CES and "
                                      "CSAT).", "last_channel", default=None)
    last_interaction_stage: str | None = _d("Column with the stage of the last service interaction.",
                                            "last_stage", default=None)
    cross_channel_purchase: str | None = _d("Column: 1 if the customer started and finished a purchase in "
                                            "different channels.", "cross_channel_purchase", default=None)
    shopping: list[str] = _d(
        "Usage channels through which customers shop (buy). Claim C07 ('shoppers who regularly use at least two "
        "channels') counts these only; without them C07 is not tested, because counting e-mail or SMS would make "
        "nearly everyone multichannel.", ["store", "web", "app"], default_factory=list)

    @model_validator(mode="after")
    def _shopping_declared(self):
        unknown = [c for c in self.shopping if self.usage and c not in self.usage]
        if unknown:
            raise ValueError(f"channels.shopping: {unknown[0]!r} is not a channel of channels.usage "
                             f"(one of {', '.join(self.usage)})")
        return self


class PersonaFeatures(_Strict):
    """Columns the persona (latent class) model is fitted on, by measurement type."""

    binary: list[str] = _d("0/1 columns.", ["use_store", "use_web"], default_factory=list)
    ordinal: list[str] = _d("Ordered rating columns.", ["att_price"], default_factory=list)
    continuous: list[str] = _d("Numeric columns.", ["orders_365d"], default_factory=list)

    @property
    def all(self) -> list[str]:
        return [*self.binary, *self.ordinal, *self.continuous]


class ClaimItem(_Strict):
    """Maps a seed claim (C01-C17, see engagement.claims) to the survey: the estimate is the weighted
    share of respondents whose `column` value is in `values`."""

    id: str = _d("Claim id, C01-C17 with an optional letter.", "C01", pattern=r"^C\d{2}[a-z]?$")
    column: str = _d("Column answering the claim.", "expect_understand")
    values: list[Code] = _d("Answers that count as agreeing.", [4, 5])
    label: str = _d("Wording shown in the claims ledger.", "Expect brands to understand my needs", default="")


class Behaviour(_Strict):
    """CRM-linked behaviour columns used by the seed metrics (all optional)."""

    orders: str | None = _d("Orders in the period.", "orders_365d", default=None)
    revenue: str | None = _d("Revenue in the period.", "revenue_365d", default=None)
    guest_orders: str | None = _d("Orders placed as a guest.", "guest_orders_365d", default=None)
    sessions: str | None = _d("Web sessions.", "web_sessions", default=None)
    single_page_sessions: str | None = _d("Sessions that viewed one page.", "single_page_sessions", default=None)
    email_impressions: str | None = _d("Marketing e-mails opened.", "email_impressions", default=None)
    email_clicks: str | None = _d("Marketing e-mails clicked.", "email_clicks", default=None)
    loyalty_member: str | None = _d("0/1 loyalty-programme membership.", "loyalty_member", default=None)
    window: str = _d(
        "The period the behaviour columns cover, in words for the report. Purchase frequency and repeat-purchase "
        "rate count customers with an order in this window.", "last 365 days", default="")


class Column(_Strict):
    """Extra declarations for columns that no role covers (type, range, allowed codes). A column declared
    here is kept in the analysis table; columns the codebook does not name are dropped at ingest."""

    type: Literal["int", "float", "str", "category", "bool"] = _d("Value type.", "int", default="float")
    label: str = _d("Wording shown in tables.", "Rating: value for money (1-5)", default="")
    min: float | None = _d("Lowest allowed value.", 0, default=None)
    max: float | None = _d("Highest allowed value.", 5, default=None)
    allowed: list[Code] | None = _d("The only allowed codes.", [0, 1], default=None)
    required: bool = _d("The file must have this column.", True, default=True)
    missing: Missing = _d("Codes that mean no answer.", [-99], default_factory=list)
    recode: Recode = _d("Text answers -> codes, matched after trimming and case-folding.", {"yes": 1, "no": 0},
                        default_factory=dict)


class Screening(_Strict):
    """Data-quality screening rules (notebook 00)."""

    speeder_fraction_of_median: float = _d("Speeder: duration under this fraction of the median duration.", 0.5,
                                           default=0.5)
    straightline_grid: list[str] = _d("Columns of the rating grid checked for straightlining (same answer on "
                                      "every item, at least three answered).", ["att_price", "att_touch", "att_tech"],
                                      default_factory=list)
    check_duplicates: bool = _d("Screen out later copies of identical answers. Off by default: in customer "
                                "extracts look-alike profiles are different people; switch it on for open web "
                                "surveys where resubmission happens.", True, default=False)
    duplicate_columns: list[str] | None = _d("Columns that define a duplicate submission; default: every "
                                             "answer column the codebook keeps but the id, weight and duration.",
                                             ["ces", "csat", "nps"], default=None)


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
    """What the columns of a survey export mean. Columns the codebook does not name are dropped at ingest."""

    survey: SurveyInfo = _d("The survey: name, wave, wording.", {"name": "Customer survey", "wave": "2026-Q4"},
                            default_factory=SurveyInfo)
    encoding: str = _d("Text encoding of a CSV (utf-8, cp949, shift_jis, ...).", "utf-8", default="utf-8")
    format: Literal["auto", "csv", "qualtrics", "spss", "excel", "parquet"] = _d(
        "File format; auto decides from the file name and content.", "auto", default="auto")
    delimiter: str | None = _d("CSV field separator; default: sniffed from the file (comma, tab, semicolon, pipe).",
                               ";", default=None)
    sheet: str | int | None = _d("Excel sheet name or 0-based position; default: the first sheet.", "Responses",
                                 default=None)
    id: str | None = _d("Respondent id column (unique per row); leave out when the file has none and ingest "
                        "numbers the rows (`_row`).", "resp_id", default=None)
    weight: str | None = _d("Design-weight column (positive numbers).", "weight", default=None)
    duration: str | None = _d("Interview duration in seconds (speeder screen).", "duration_s", default=None)
    missing_codes: Missing = _d("Codes that mean no answer in every column the codebook names (blank cells are "
                                "always missing).", [-99, 999], default_factory=list)
    attention_checks: list[AttentionCheck] = _d("Instructed-response items.", [{"column": "attn_check", "correct": 4}],
                                                default_factory=list)
    pii: list[str] = _d("Columns with personal data. They are dropped at ingest (as every column the codebook "
                        "does not name is); listing them documents them and makes a missing one an error.",
                        ["email"], default_factory=list)
    scales: dict[str, Scale] = _d("Ratings by name (ces, csat, nps, or any other).",
                                  {"csat": {"column": "csat", "min": 1, "max": 5}}, default_factory=dict)
    item_blocks: list[ItemBlock] = _d("Multi-item scales checked for reliability.",
                                      [{"name": "digital", "items": ["dig_1", "dig_2"], "min": 1, "max": 5}],
                                      default_factory=list)
    outcomes: list[Outcome] = _d("Loyalty outcomes.", [{"name": "nps", "column": "nps", "kind": "nps"}],
                                 default_factory=list)
    controls: list[str] = _d("Control variables for the loyalty models (numeric or segment columns).",
                             ["age_group", "gender"], default_factory=list)
    drivers: list[str] = _d("Attribute-rating columns for the key-driver analysis (importance x performance).",
                            ["drv_delivery", "drv_value"], default_factory=list)
    channels: Channels | None = _d("Channel use and preference questions.", {"usage": {"web": "use_web"}},
                                   default=None)
    segments: list[Segment] = _d("Grouping columns.", [{"column": "region", "labels": {1: "north", 2: "south"}}],
                                 default_factory=list)
    persona_features: PersonaFeatures | None = _d("Columns the persona model uses.", {"binary": ["use_web"]},
                                                  default=None)
    claims: list[ClaimItem] = _d("Seed claims mapped to survey items.",
                                 [{"id": "C01", "column": "expect_understand", "values": [4, 5]}],
                                 default_factory=list)
    margins: dict[str, dict[Code, float]] = _d("Population margins for raking: column -> {level: share}; shares "
                                               "sum to 1.", {"gender": {1: 0.51, 2: 0.49}}, default_factory=dict)
    behaviour: Behaviour = _d("CRM-linked behaviour columns.", {"orders": "orders_365d"}, default_factory=Behaviour)
    columns: dict[str, Column] = _d("Other columns to keep, with their type, range or codes.",
                                    {"tenure": {"type": "int", "min": 0}}, default_factory=dict)
    screening: Screening = _d("Data-quality screening rules.", {"check_duplicates": True},
                              default_factory=Screening)
    weighting: Weighting = _d(
        "How the weights are calibrated to `margins`: method, bounds, trimming and what to do when the "
        "calibration does not converge.", {"method": "logit", "bounds": [0.3, 3]}, default_factory=Weighting)
    extracts: list[Extract] = _d(
        "Customer records joined to the survey by customer id: customer-level (CRM) or order-level "
        "(transactions) files; see the extract keys below and engagement.sources.",
        [{"name": "crm", "file": "crm.csv", "key": {"survey": "customer_id", "extract": "CustomerID"},
          "columns": {"retained_12m": "Retained12m"}}], default_factory=list)

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
            negative = [k for k, v in shares.items() if v < 0]
            if negative:
                raise ValueError(f"margins.{var}: share of {negative[0]!r} is negative ({shares[negative[0]]:g})")
        if self.channels is not None:
            for ch in self.channels.online:
                if self.channels.usage and ch not in self.channels.usage and ch not in self.channels.codes.values():
                    raise ValueError(f"channels.online: {ch!r} is not a declared channel")
        seen = set()
        for o in self.outcomes:
            if o.name in seen:
                raise ValueError(f"outcomes: name {o.name!r} is used twice")
            seen.add(o.name)
        refs = self.referenced_columns()
        for c in self.pii:
            if c in refs:
                raise ValueError(f"pii: column {c!r} is personal data but also used at key {refs[c]}; "
                                 "personal data cannot be analysed")
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

    def kept_columns(self) -> list[str]:
        """The allow-list: every column the codebook gives a role (required or not), in codebook order.
        Nothing else leaves ingest. A feature that adds a column-naming key must add it to
        `referenced_columns` (or declare the column under `columns`), or ingest drops the column."""
        kept = list(self.referenced_columns())
        kept += [c for c in self.columns if c not in kept]
        if self.screening.duplicate_columns:
            kept += [c for c in self.screening.duplicate_columns if c not in kept]
        # the survey side of each extract's join key: read for the join, dropped by it (engagement.sources)
        kept += [ex.key.survey for ex in self.extracts if ex.key.survey not in kept]
        return [c for c in kept if c not in self.pii]  # personal data never, whatever else names it

    def value_rules(self) -> dict[str, tuple[list, dict]]:
        """column -> (missing codes, recode map) from every entry that names it, plus `missing_codes`.
        Recode keys are trimmed and case-folded (answers are matched the same way)."""
        rules: dict[str, tuple[list, dict]] = {c: (list(self.missing_codes), {}) for c in self.kept_columns()}

        def add(cols, entry):
            for c in cols:
                miss, rec = rules.setdefault(c, (list(self.missing_codes), {}))
                miss.extend(entry.missing)
                rec.update({str(k).strip().casefold(): v for k, v in entry.recode.items()})

        for sc in self.scales.values():
            add(sc.columns, sc)
        for b in self.item_blocks:
            add(b.items, b)
        for o in self.outcomes:
            add([o.column], o)
        for s in self.segments:
            add([s.column], s)
        for c, spec in self.columns.items():
            add([c], spec)
        return rules

    def reversed_items(self) -> dict[str, tuple[float, float]]:
        """Reverse-keyed item -> (min, max) of its scale; each item is reversed once."""
        out: dict[str, tuple[float, float]] = {}
        for sc in self.scales.values():
            out.update({c: (sc.min, sc.max) for c in sc.reverse})
        for b in self.item_blocks:
            for c in b.reverse:
                out.setdefault(c, (b.min, b.max))
        return out


# ---- reading and plain messages ------------------------------------------------------------------

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


def _models() -> list[type[BaseModel]]:
    return [Codebook, SurveyInfo, Scale, ItemBlock, AttentionCheck, Outcome, Segment, Channels, PersonaFeatures,
            ClaimItem, Behaviour, Column, Screening]


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


# ---- the reference (docs/codebook.md) and JSON Schema ----------------------------------------------

def codebook_json_schema() -> dict:
    """JSON Schema of the codebook (editors use it to autocomplete and check YAML)."""
    schema = Codebook.model_json_schema()
    schema["title"] = "engagement codebook"
    return schema


def _type_name(annotation) -> str:
    import typing

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (Union, getattr(__import__("types"), "UnionType", Union)):
        parts = [_type_name(a) for a in args if a is not type(None)]
        if set(parts) == {"integer", "number", "text", "true/false"}:
            return "code (number or text)"
        text = " or ".join(dict.fromkeys(parts))
        return text + (" (optional)" if type(None) in args else "")
    if origin is list:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping {_type_name(args[0])} -> {_type_name(args[1])}" if args else "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return {str: "text", int: "integer", float: "number", bool: "true/false"}.get(annotation, str(annotation))


def _default_text(field) -> str:
    from pydantic_core import PydanticUndefined

    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "(defaults below)"
    return "`" + (json_dumps(value) if value not in ("",) else '""') + "`"


def json_dumps(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def codebook_reference() -> str:
    """docs/codebook.md: every key of every codebook section with its type, default, allowed values,
    meaning and one example, generated from the models so that it cannot drift from them."""
    lines = ["# Codebook reference", "",
             "<!-- generated by engagement.codebook.codebook_reference(); do not edit: run "
             "`python -m engagement.codebook > docs/codebook.md` -->", "",
             "A codebook is a YAML file that says what the columns of a survey export mean. Only the columns it "
             "names are read into the analysis; every other column (free text, contact details, survey-platform "
             "metadata) is dropped at ingest. `engagement codebook schema` prints the same rules as JSON Schema "
             "for editors, and `engagement codebook check CODEBOOK --data FILE` validates a codebook and a file.",
             "", "Quote text that YAML 1.1 would change: `yes`, `no`, `on`, `off` (read as true/false) and "
             "numbers with leading zeros (`\"01\"`); an unquoted one is an error with this hint.", ""]
    for model in _models():
        lines += [f"## {model.__name__}", "", " ".join((model.__doc__ or "").split()), "",
                  "| key | type | default | description | example |", "|---|---|---|---|---|"]
        for name, f in model.model_fields.items():
            example = (f.json_schema_extra or {}).get("examples", [None])[0] if isinstance(f.json_schema_extra, dict) else None
            ex = f"`{name}: {json_dumps(example)}`" if example is not None else ""
            desc = (f.description or "").replace("|", "\\|")
            lines.append(f"| `{name}` | {_type_name(f.annotation)} | {_default_text(f)} | {desc} | "
                         f"{ex.replace('|', chr(92) + '|')} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m engagement.codebook > docs/codebook.md
    print(codebook_reference(), end="")

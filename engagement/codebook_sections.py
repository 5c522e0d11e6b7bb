"""The sections of a codebook (engagement.codebook): one strict pydantic model per YAML section
(survey, scales, item blocks, outcomes, segments, channels, claims, behaviour, columns, screening,
weighting), `code_key` and the field helper whose descriptions docs/codebook.md is generated from.
The top-level model is engagement.codebook_schema.Codebook; engagement.codebook re-exports every name.
"""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


def map_distinct(values, fn, missing=None):
    """`fn` of every value of a column as an object array (`missing` where the value is missing),
    worked out once per distinct value and spread back by factorize codes: a per-row Python call
    took seconds at a million rows."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(values)
    return np.array([fn(u) for u in uniques] + [missing], dtype=object)[codes]


def code_keys(values):
    """`code_key` of every value of a column (None where missing)."""
    import pandas as pd

    return pd.Series(map_distinct(values, code_key), index=values.index, dtype=object)


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

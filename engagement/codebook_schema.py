"""The top-level codebook model, `Codebook` (engagement.codebook): its sections, cross-section checks
and the column lists ingest and the studies read (`referenced_columns`, `kept_columns`,
`value_rules`, `reversed_items`), and `_models`, every model in the order docs/codebook.md lists them.
Re-exported by engagement.codebook.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, model_validator

from .codebook_sections import (ROW_ID, AttentionCheck, Behaviour, Channels, ClaimItem, Code, Column, ItemBlock,
                                Missing, Outcome, PersonaFeatures, Scale, Screening, Segment, SurveyInfo,
                                Weighting, _d, _Strict)
from .extract_spec import Extract


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




def _models() -> list[type[BaseModel]]:
    return [Codebook, SurveyInfo, Scale, ItemBlock, AttentionCheck, Outcome, Segment, Channels, PersonaFeatures,
            ClaimItem, Behaviour, Column, Screening]

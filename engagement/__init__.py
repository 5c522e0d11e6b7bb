"""engagement: research toolkit for customer-engagement survey data.

Modules, each with one job:
- config      project paths and defaults
- codebook    the YAML codebook schema (pydantic) and loader
- ingest      read CSV / Qualtrics / SPSS / Excel / Parquet, validate against the codebook, drop PII
- simulate    the documented generative model behind the embedded default survey
- quality     screening (speeders, straightliners, attention checks, duplicates) and reliability
- weighting   raking to population margins and weight diagnostics
- survey_stats design-based estimates, intervals and tests (linearization, Rao–Scott)
- metrics     the seed metric definitions (CES, CSAT, NPS, PF, AOV, RPR, …) with intervals
- channels, loyalty, personas   the three studies
- results     recording results.json sections from notebooks
- report      HTML -> PDF (nbconvert + WeasyPrint)
- pipeline    papermill runs into a run folder, atomic publish
- cli         the `engagement` command
"""

__version__ = "0.1.0"

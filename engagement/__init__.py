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
- studies     one subpackage per study (quality, channels, findings; loyalty and personas move here),
              each in three layers: analysis modules, `figures`, `sections`
- crosstabs, section, heatmaps   shared by the studies: banner crosstabs, the report Section, heatmaps
- claims      the seed claims C01–C17 and the one verdict rule
- trends      wave-over-wave changes
- loyalty, personas   the two studies still being moved into `studies`
- results     recording results.json sections from notebooks
- report      HTML -> PDF (nbconvert + WeasyPrint)
- pipeline    papermill runs into a run folder, atomic publish
- cli         the `engagement` command
"""

__version__ = "0.1.0"

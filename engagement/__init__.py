"""engagement: research toolkit for customer-engagement survey data.

Modules, each with one job:
- config      project paths and defaults
- codebook    the YAML codebook loader; schema in codebook_sections / codebook_schema, plain messages in
              codebook_messages, docs/codebook.md and JSON Schema in codebook_reference
- ingest      read CSV / Qualtrics / SPSS / Excel / Parquet, validate against the codebook, drop PII
              (readers in ingest_readers, value rules in ingest_rules, PII scan in ingest_pii)
- draft       `engagement codebook draft`; its parts (vocabulary, column facts, steps) in drafting/
- simulate    the documented generative model behind the embedded default survey (parameters in
              simulate_params, CRM/orders extracts in simulate_extracts, codebook in simulate_codebook)
- quality     screening (speeders, straightliners, attention checks, duplicates) and reliability
- weighting   raking to population margins and weight diagnostics
- survey_stats design-based estimates and intervals (linearization); the design in survey_design,
              tests (Rao–Scott, differences, p-value adjustment) in survey_tests
- sources     survey plus customer records: CRM and order extracts joined by declared keys (schema in
              extract_spec), with match diagnostics
- degrade     "degrade, don't die": NotEstimated sections with reasons, listed in results/manifest/report
- outofcore   DuckDB path: screening, raking and headline metrics for files larger than memory
- brief, fonts  the stakeholder brief (en/ko/ja catalogues) and the bundled CJK fonts
- metrics     the seed metric definitions (CES, CSAT, NPS, PF, AOV, RPR, …) with intervals
- studies     one subpackage per study (quality, channels, loyalty, personas, findings), each in three
              layers: analysis modules (tidy DataFrames / frozen dataclasses, no drawing), `figures`,
              `sections`
- crosstabs, section, heatmaps   shared by the studies: banner crosstabs, the report Section, heatmaps
- claims      the seed claims C01–C17 and the one verdict rule
- trends      wave-over-wave changes
- results     recording results.json sections from notebooks
- report      HTML -> PDF (nbconvert + WeasyPrint); layout checks and PDF text in report_layout
- pipeline    papermill runs into a run folder, atomic publish (pipeline_checks: up-front checks;
              pipeline_folders: folders, lock, publishing; pipeline_exec: notebooks, signals; pipeline_errors)
- cli         the `engagement` command
"""

__version__ = "0.1.0"

"""Author notebooks/00-data-quality.ipynb (run: .venv/bin/python tools/make_nb00.py)."""
from nbbuild import write_notebook

write_notebook("notebooks/00-data-quality.ipynb", [
("md", """
# Data, quality and weighting

*Methods appendix.* This notebook turns the raw survey export into the analysis table every study
uses: it reads the file with its codebook, removes personal data, screens out low-quality responses
(speeders, straightliners, failed attention checks, duplicate submissions), checks the reliability of
multi-item scales, rakes the sample to the population margins in the codebook, and reports the
headline metrics with 95% intervals.

**Reads** the survey file and codebook. **Writes** `clean.parquet` (screened, weighted, no personal
data) and the `data_quality` section of `results.json` in `output_dir`.
"""),
("code", """
from engagement.codebook import load_codebook
from engagement.nb import show
from engagement.plots import set_theme
from engagement.prepare import prepare_survey, save_clean
from engagement.results import record
from engagement.studies import quality

set_theme()
"""),
("params", """
data_path = "../data/default/survey.csv"
codebook_path = "../data/default/codebook.yaml"
output_dir = "../reports/lab"
seed = 20261122
"""),
("code", """
cb = load_codebook(codebook_path)
prepared = prepare_survey(data_path, cb)
save_clean(prepared, output_dir)
"""),
("md", "## Sample and screening"),
("code", """
screening = prepared.screening.table
"""),
("appendix", """
show(quality.sample_sentence(prepared))
show(screening, caption="Responses removed by each screening rule (each counted once, under the first rule that caught it)")
"""),
("md", "## Weighting"),
("code", """
weight_diagnostics = quality.weighting_diagnostics_table(prepared)
margins = quality.margins_table(prepared)
"""),
("appendix", """
show(quality.weighting_sentence(prepared))
show(weight_diagnostics, caption="Weight diagnostics")
show(margins, caption="Sample, population and weighted shares of the raking variables", percent=["sample", "population", "weighted"]) if len(margins) else show(quality.margins_note(prepared))
"""),
("md", "## Survey plus customer records"),
("code", """
joins = quality.join_table(prepared)
join_segments = quality.join_by_segment(prepared)
"""),
("appendix", """
show(quality.join_note(prepared))
show(joins, caption="Customer records joined to the survey by customer id", percent=["Match rate"]) if len(joins) else None
show(join_segments, caption="Match rate by segment (chi-square test per segment, Holm-corrected)", percent=["match_rate"]) if len(join_segments) else None
"""),
("md", "## Reliability of multi-item scales"),
("code", """
reliability = quality.reliability_table(prepared.data, cb)
"""),
("appendix", """
show(reliability, caption="Cronbach's alpha (95% interval), complete cases") if len(reliability) else show("_No multi-item scales are declared in the codebook._")
"""),
("md", "## Headline metrics"),
("code", """
metrics = quality.headline_metrics(prepared.data, cb)
rates_chart = quality.headline_rates(metrics, weighted=quality.is_weighted(prepared))
"""),
("appendix", """
show(metrics, caption=quality.metrics_caption(prepared))
if rates_chart is not None:
    show(rates_chart)
"""),
("code", """
record(output_dir, quality.SECTION, quality.data_quality_results(prepared, reliability, metrics))
"""),
])

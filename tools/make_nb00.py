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
from engagement import data_quality as dq
from engagement.codebook import load_codebook
from engagement.nb import show_markdown, show_table
from engagement.plots import set_theme
from engagement.prepare import prepare_survey, save_clean
from engagement.results import record

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
show_markdown(dq.sample_sentence(prepared))
show_table(prepared.screening.table, caption="Responses removed by each screening rule (each counted once, under the first rule that caught it)")
"""),
("md", "## Weighting"),
("code", """
show_markdown(dq.weighting_sentence(prepared))
show_table(dq.weighting_diagnostics_table(prepared), caption="Weight diagnostics")
show_table(dq.margins_table(prepared), caption="Sample, population and weighted shares of the raking variables", percent=["sample", "population", "weighted"])
"""),
("md", "## Reliability of multi-item scales"),
("code", """
reliability = dq.reliability_table(prepared.data, cb)
show_table(reliability, caption="Cronbach's alpha (95% interval), complete cases") if len(reliability) else show_markdown("_No multi-item scales are declared in the codebook._")
"""),
("md", "## Headline metrics"),
("code", """
metrics = dq.headline_metrics(prepared.data, cb)
show_table(metrics, caption="Weighted estimates with 95% intervals and base sizes")
dq.plot_headline_metrics(metrics);
"""),
("code", """
record(output_dir, "data_quality", dq.data_quality_results(prepared, reliability, metrics))
"""),
])

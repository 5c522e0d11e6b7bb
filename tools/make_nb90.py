"""Author notebooks/90-findings.ipynb (run: .venv/bin/python tools/make_nb90.py)."""
from nbbuild import write_notebook

write_notebook("notebooks/90-findings.ipynb", [
("md", """
# Findings

This section opens the report. It is written from the numbers the other notebooks recorded in
`results.json` — every figure below is the recorded estimate with its 95% interval and base size.

**Reads** the recorded results in `output_dir` (and the previous wave's `results.json` when there is
one). **Writes** the `findings` section of `results.json`.
"""),
("code", """
from engagement import claims
from engagement.codebook import load_codebook
from engagement.ingest import file_sha256
from engagement.nb import show
from engagement.pipeline import package_versions
from engagement.plots import set_theme
from engagement.results import load_results, record
from engagement.studies import findings

set_theme()
"""),
("params", """
data_path = "../data/default/survey.csv"
codebook_path = "../data/default/codebook.yaml"
output_dir = "../reports/lab"
seed = 20261122
wave = ""
previous_results = ""
"""),
("code", """
cb = load_codebook(codebook_path)
results = load_results(output_dir)
summary = findings.executive_summary(results, period=getattr(cb.survey, "period", ""))
ledger = findings.claims_ledger(results)
not_tested = findings.claims_not_tested(results)
previous = findings.load_previous(previous_results)
changes = None if previous is None else findings.wave_changes(results, previous)
"""),
("md", "## Executive summary"),
("code", """
show(findings.summary_markdown(summary))
"""),
("md", """
## Claims ledger

Each claim from the source articles that this survey tests, beside its estimate.
"""),
("code", """
show(claims.verdict_rule())
show(findings.ledger_display(ledger), caption="Seed claims tested by this survey") if len(ledger) else show("_This survey's codebook maps no seed claim to an item or metric._")
show(not_tested)
"""),
("md", "## Since the previous wave"),
("code", """
trend = findings.trends_section(changes)
"""),
("code", """
show(trend)
"""),
("md", "## Methods and data"),
("code", """
methods = findings.methods_table(results, package_versions(), file_sha256(data_path))
"""),
("appendix", """
show(methods, caption="Sample, weighting, reliability, software and input")
"""),
("code", """
record(output_dir, findings.SECTION, {"summary": summary, "claims_ledger": ledger.to_dict(orient="records"),
                                      "trends": [] if changes is None else changes.to_dict(orient="records")})
"""),
])

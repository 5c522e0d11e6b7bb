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
from engagement import findings, trends
from engagement.ingest import file_sha256
from engagement.nb import show_markdown, show_table
from engagement.pipeline import package_versions
from engagement.plots import set_theme
from engagement.results import load_results, record

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
results = load_results(output_dir)
summary = findings.executive_summary(results)
ledger = findings.claims_ledger(results)
"""),
("md", "## Executive summary"),
("code", """
show_markdown("\\n".join(f"{i}. {s}" for i, s in enumerate(summary, 1)) if summary else "_No study recorded results._")
"""),
("md", """
## Claims ledger

Each claim from the source articles that a customer survey can test, beside this survey's weighted
estimate. *Consistent* means the 95% interval covers the claimed figure; *higher* / *lower* mean it
lies entirely above / below it.
"""),
("code", """
show_table(findings.ledger_display(ledger), caption="Seed claims C01–C17 against this survey")
"""),
("md", "## Since the previous wave"),
("code", """
changes = trends.show_trends(results, previous_results)
"""),
("md", "## Methods and data"),
("code", """
show_table(findings.methods_table(results, package_versions(), file_sha256(data_path)), caption="Sample, weighting, reliability, software and input")
"""),
("code", """
record(output_dir, "findings", {"summary": summary, "claims_ledger": ledger.to_dict(orient="records"),
                                "trends": [] if changes is None else changes.to_dict(orient="records")})
"""),
])

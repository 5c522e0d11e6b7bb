"""Author notebooks/10-channel-preferences.ipynb (run: .venv/bin/python tools/make_nb10.py)."""
from nbbuild import write_notebook

write_notebook("notebooks/10-channel-preferences.ipynb", [
("md", """
# Channel preferences

Which channels do our customers use, which do they prefer at each step of the journey, where does the
service experience hurt, what matters to them, and do the published figures (86% use two or more
channels, the PwC engagement factors, …) hold for them? Who differs?

Every number carries a design-based 95% interval and its base n, and is weighted when the codebook
gives weights or population margins (the raking is carried into the standard errors); every family
of tests is corrected for multiple comparisons. Sections whose inputs the codebook does not declare
are listed once, at the end, with what would enable them.

**Reads** the analysis table of the run (`clean.parquet`, written by notebook 00; built here when
the notebook runs on its own) and the codebook. **Writes** the `channels` section of `results.json`
in `output_dir` (multichannel share, reach, stage preferences, journey-map ratings and pain points,
claims, segment tests).
"""),
("code", """
from engagement.codebook import load_codebook
from engagement.nb import show
from engagement.plots import set_theme
from engagement.prepare import analysis_data, design_for
from engagement.results import record
from engagement.studies import channels

set_theme()
"""),
("params", """
data_path = "../data/default/survey.csv"
codebook_path = "../data/default/codebook.yaml"
output_dir = "../reports/lab"
seed = 20261122  # no random step in this study; kept so every notebook takes the same parameters
alpha = 0.05  # significance level of every test, after correction
correction = "holm"  # multiplicity correction of the pain-point and segment test families: holm or bonferroni
top_combinations = 12  # channel combinations shown in the UpSet plot
min_base = 30  # smallest number of rated interactions for a channel to be shown in the journey map
preference_stage = "purchase"  # journey stage whose preferred channel is compared across segments
"""),
("code", """
cb = load_codebook(codebook_path)
df = analysis_data(data_path, codebook_path, output_dir)
design = design_for(df, cb)
"""),
("code", """
reach = channels.reach_and_repertoire(df, cb, design, top_combinations=top_combinations)
"""),
("code", """
show(reach)
"""),
("code", """
stages = channels.stage_preferences(df, cb, design)
"""),
("code", """
show(stages)
"""),
("code", """
journey = channels.journey_map(df, cb, design, alpha=alpha, correction=correction, min_base=min_base, stages=stages)
"""),
("code", """
show(journey)
"""),
("code", """
drivers = channels.drivers(df, cb, design)
"""),
("code", """
show(drivers)
"""),
("code", """
who = channels.who_differs(df, cb, design, alpha=alpha, preference_stage=preference_stage, correction=correction)
"""),
("appendix", """
show(who)
"""),
("code", """
unanalysed = channels.not_analysed_list(cb, reach, stages, journey, drivers, who)
"""),
("code", """
if unanalysed:
    show(unanalysed)
"""),
("code", """
record(output_dir, channels.SECTION, channels.collect(reach, stages, journey, drivers, who))
"""),
])

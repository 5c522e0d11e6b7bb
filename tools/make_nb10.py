"""Author notebooks/10-channel-preferences.ipynb (run: .venv/bin/python tools/make_nb10.py)."""
from nbbuild import write_notebook

write_notebook("notebooks/10-channel-preferences.ipynb", [
("md", """
# Channel preferences

Which channels do our customers use, which do they prefer at each step of the journey, where does the
service experience hurt, what matters to them, and do the published figures (86% use two or more
channels, the PwC engagement factors, …) hold for them? Who differs?

Every number is weighted to the population margins in the codebook, with a design-based 95%
interval (the raking is carried into the standard errors) and its base n; every family of tests is
corrected for multiple comparisons. A section whose inputs the codebook does not declare is skipped
with a note.

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
("md", """
## Reach and repertoire

How many customers used each channel in the period the survey asks about, how many channels a
customer uses, and which channels are used together (the UpSet plot: each column is one exact
combination of channels, its bar the weighted share of customers with exactly that combination).
"""),
("code", """
reach = channels.reach_and_repertoire(df, cb, design, top_combinations=top_combinations)
"""),
("code", """
show(reach)
"""),
("md", """
## Preferred channel by journey stage

The channel customers prefer at each step, from discovering products to returns, and how often that
is an online channel.
"""),
("code", """
stages = channels.stage_preferences(df, cb, design)
"""),
("code", """
show(stages)
"""),
("md", """
## Journey map

Top: the touchpoints — the share of customers preferring each channel at each stage. Below: how easy
(CES) and how satisfying (CSAT) the last service interaction was, by its channel. A channel is a
**pain point** when its rating is significantly worse than that of the other channels, a **bright
spot** when significantly better (design-based difference of means, corrected over all channels and
ratings).
"""),
("code", """
journey = channels.journey_map(df, cb, design, alpha=alpha, correction=correction, min_base=min_base, stages=stages)
"""),
("code", """
show(journey)
"""),
("md", """
## Drivers of engagement and the published claims

Each published figure the survey can test, beside our weighted estimate and its 95% interval. The
verdict is *consistent* when the interval covers the published figure, otherwise *higher* or
*lower*. The multi-part claims (most important online and in-store engagement factors, SMS
annoyances) are ranked.
"""),
("code", """
drivers = channels.drivers(df, cb, design)
"""),
("code", """
show(drivers)
"""),
("md", """
## Who differs

Channel use and the preferred purchase channel by each customer segment, as weighted crosstabs.
The Rao–Scott F test (second-order corrected χ² for weighted survey data) says whether a segment
differs at all, corrected over the channel measures of that segment; Cramér's V gives the size of
the difference (0 none, 0.1 small, 0.3 medium). Each column carries a letter; a letter in a cell names
a column whose share is significantly lower (column-proportion z-tests, Bonferroni-corrected within
the row), as in SPSS and Q tables. A chart is drawn only for segments that differ.
"""),
("code", """
who = channels.who_differs(df, cb, design, alpha=alpha, preference_stage=preference_stage, correction=correction)
"""),
("appendix", """
show(who)
"""),
("code", """
record(output_dir, channels.SECTION, channels.collect(reach, stages, journey, drivers, who))
"""),
])

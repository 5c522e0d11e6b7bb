"""The loyalty study (notebook 20): does the Customer Effort Score (CES) or satisfaction (CSAT)
predict loyalty better, by how much, and how sure are we?

Verbs over one prepared table (`data = loyalty.prepare(df, cb, design=...)`), each returning a tidy
DataFrame or a small frozen dataclass; show them with `engagement.nb.show`, draw them with
`loyalty.figures`, turn them into report text and tables with `loyalty.sections`:

    c13 = loyalty.compare_c13(data, n_boot=200)        # the C13 statistics table, ratio and verdict
    comparison = loyalty.compare_predictors(data)     # CV of the models with > 1 parameter
    levels = loyalty.loyalty_by_level(data)          worst = loyalty.worst_vs_best(data)
    corr = loyalty.correlations(data)                inc = loyalty.incremental_validity(data)
    dom = loyalty.scale_dominance(data)              drivers = loyalty.driver_importance(data, cols)
    shape = loyalty.shape_of_effect(data)            by_channel = loyalty.by_channel(data)
    plan = loyalty.planned_sample_size(data)         loyalty.record(output_dir, data, c13=..., ...)

Layers: `inputs` (codebook -> `LoyaltyData`), `models` (ordinal / logistic / OLS fits, nested tests),
`validation` (concordance, cross-validation), `dominance`, the analysis modules `comparison`,
`c13`, `descriptives`, `importance`, `shape`, `power`; `figures` (results -> Figure), `sections` (results ->
text and tables), `record` (results -> results.json). Analysis modules import no matplotlib.
"""

from . import figures, sections
from .c13 import C13Comparison, compare_c13
from .comparison import Comparison, compare_predictors
from .descriptives import correlations, loyalty_by_level, worst_vs_best
from .dominance import dominance_analysis, general_dominance
from .importance import driver_importance, incremental_validity, scale_dominance
from .inputs import (CLAIMED_RATIO, SECTION, LoyaltyData, LoyaltyInputs, LoyaltyOutcome, Predictor, driver_columns,
                     loyalty_inputs, merge_sparse_levels, prepare)
from .power import PowerPlan, planned_sample_size
from .record import degraded_sections, record, results_section
from .shape import Heterogeneity, by_channel, by_persona, heterogeneity, shape_of_effect
from .table import analysis_table, study_columns

__all__ = [
    "CLAIMED_RATIO", "SECTION", "Comparison", "Heterogeneity", "LoyaltyData", "LoyaltyInputs", "LoyaltyOutcome",
    "PowerPlan", "C13Comparison", "analysis_table", "study_columns", "compare_c13", "planned_sample_size", "Predictor", "by_channel", "by_persona", "compare_predictors", "correlations", "degraded_sections",
    "dominance_analysis", "driver_columns", "driver_importance", "figures", "general_dominance", "heterogeneity",
    "incremental_validity", "loyalty_by_level", "loyalty_inputs", "merge_sparse_levels", "prepare",
    "record", "results_section", "scale_dominance", "sections", "shape_of_effect", "worst_vs_best",
]

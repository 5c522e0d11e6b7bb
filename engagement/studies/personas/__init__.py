"""The persona study (notebook 30): customer segments found by a latent class model on behaviour and
attitudes, described in words, checked for stability, compared on the other studies' measures, and
made usable with a short typing tool.

Layers (see `engagement.studies`): analysis — `features` (coding answers), `emission` and `lca`
(the latent class model), `selection` (choosing k), `structure` (clear / weak / none), `fit` (`fit_personas` -> `PersonaFit`),
`profiles` (`describe` -> `PersonaProfiles`), `compare` (personas × channels, experience, loyalty),
`typing_tool` (`build_typing_tool` -> `TypingToolResult`, `assign_personas`), `outputs` (files and
the results.json section); `figures` (results -> `Figure`); `sections` (results -> text and tables).

Inputs come only from the codebook's `persona_features` (binary, ordinal, continuous) plus, for the
cards and the cross-study tables, `channels`, `scales`, `outcomes` and `segments`. Without
`persona_features` the study is skipped with a note.
"""

from .compare import ChannelComparison, compare_channels, compare_measures, equal_means_test, outcome_measures
from .features import FeatureEncoder, feature_labels, natural_values
from .fit import ARTICLES_MAX, FIT_UP_TO, SECTION, PersonaFit, fit_personas, previous_profiles, stability
from .outputs import collect, save_assignments
from .profiles import PersonaProfiles, describe, distinguishing_features, generate_names, match_previous
from .selection import BootstrapStability, choose_k
from .structure import Structure, assess_structure
from .typing_tool import (TYPING_TOOL_FILE, TypingTool, TypingToolResult, assign_personas, build_typing_tool,
                          save_typing_tool, train_typing_tool)
from ...results import PERSONA_FILE

__all__ = ["ARTICLES_MAX", "BootstrapStability", "Structure", "assess_structure", "stability", "PERSONA_FILE", "SECTION", "TYPING_TOOL_FILE", "ChannelComparison", "FeatureEncoder",
           "PersonaFit", "PersonaProfiles", "TypingTool", "TypingToolResult", "assign_personas", "build_typing_tool",
           "choose_k", "collect", "compare_channels", "compare_measures", "describe", "distinguishing_features",
           "equal_means_test", "feature_labels", "fit_personas", "generate_names", "match_previous",
           "natural_values", "outcome_measures", "previous_profiles", "save_assignments", "save_typing_tool",
           "train_typing_tool"]

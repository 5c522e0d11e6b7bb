"""The channel-preferences study (notebook 10): which channels customers use, which they prefer at
each journey stage, where the service experience hurts, how the published claims hold, who differs.

Layers: `usage`, `journey`, `published`, `segments` (analysis: tidy DataFrames, no drawing);
`figures` (Figures from those tables); `sections` (one `Section` per report section, which the
notebook names and then shows). Every estimate is weighted and design-based with a 95% interval and
base n; every family of tests is corrected for multiplicity.
"""

from ...crosstabs import Crosstab, crosstab
from ...section import Section, collect, show_section as show
from .journey import SERVICE_SCALES, interaction_mix, service_ratings
from .published import claim_estimates, likert_distribution, likert_items, spend_ratios
from .published import shopping_channels, shopping_multichannel_share
from .sections import (drivers, journey_map, not_analysed_list, reach_and_repertoire, stage_preferences,
                       weighting_word, who_differs)
from .segments import segment_tests
from .usage import (channel_combinations, channel_reach, multichannel_share, online_preference,
                    repertoire_distribution, stage_shares)

#: results.json section written by notebook 10
SECTION = "channels"

__all__ = ["SECTION", "SERVICE_SCALES", "Crosstab", "Section", "channel_combinations", "channel_reach",
           "claim_estimates", "collect", "crosstab", "drivers", "interaction_mix", "journey_map",
           "likert_distribution", "likert_items", "multichannel_share", "not_analysed_list", "online_preference",
           "reach_and_repertoire", "repertoire_distribution", "segment_tests", "service_ratings",
           "shopping_channels", "shopping_multichannel_share", "show",
           "spend_ratios", "stage_preferences", "stage_shares", "weighting_word", "who_differs"]

"""The studies, one subpackage per question, each in the same three layers:

- analysis modules: take the prepared data, codebook and design; return tidy DataFrames or small
  frozen dataclasses (no printing, no matplotlib);
- `figures`: take those results and return a matplotlib `Figure`;
- `sections`: turn results into the text, tables and figures a report section shows.

Shared pieces (survey design and estimators, model fitting, formatting, the plot theme) live below
the studies in the top-level package; studies never import each other's figures or sections.
"""

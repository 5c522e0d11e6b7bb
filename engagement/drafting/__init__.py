"""The parts of `engagement codebook draft` (engagement.draft, which re-exports their names): the
vocabulary, column facts, codebook entries, the steps of `draft_frame`, which studies a codebook
feeds, and YAML with evidence comments.
"""

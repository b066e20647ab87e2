"""The contract between the apps that collect judgements and the apps that use them.

Surveys and annotation projects (and uploaded tables) are *sources*: each hands over a vote
table (who said what about which item, with what weight) and an item table (what the items
are: their text, audio, or question and options). ``benchmarks`` reads every source through
:mod:`sources.registry` and never imports the apps behind them.

This package knows no domain app and has no models: it is the schema of the two tables
(:mod:`sources.schema`), the protocol a provider implements and the registry
(:mod:`sources.registry`), and the one way voter keys are made (:mod:`sources.pseudonyms`).
"""

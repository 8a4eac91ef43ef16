"""Lineage over ML Metadata: which runs happened, where a model came from, what changed.

:mod:`pipeline.lineage.api` answers the questions from any MLMD store the profiles
use (SQLite locally, MySQL on-prem); :mod:`pipeline.lineage.graph` draws the answers;
:mod:`pipeline.cli.lineage` exposes them as ``python -m pipeline runs|trace|diff|lineage-graph``.
"""

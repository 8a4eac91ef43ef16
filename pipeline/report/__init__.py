"""The run report: one self-contained HTML page per pipeline run.

:mod:`collect` reads the facts from MLMD and the artifacts, :mod:`plots` draws them,
:mod:`html` lays them out; :func:`pipeline.report.build.write_report` ties them together.
"""

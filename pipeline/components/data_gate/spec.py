"""The DataGate's keys, its drift report's properties and ``drift.json``'s fields.

Written by :mod:`.component`, read by :mod:`pipeline.metadata.facts`; both take the
names from here, which imports nothing (the reading side stays free of TFX).
"""

# Inputs, output and parameters (the names of DataGate's arguments; a unit test checks them).
ANOMALIES_KEY = "anomalies"
STATISTICS_KEY = "statistics"
SCHEMA_KEY = "schema"
BASELINE_KEY = "baseline"
DRIFT_REPORT_KEY = "drift_report"
BLOCK_SEVERITIES_KEY = "block_severities"
WARN_ONLY_KINDS_KEY = "warn_only_kinds"
DRIFT_CONFIG_KEY = "drift_config"  # a DriftConfig as JSON; empty: drift not checked

# Custom properties of the drift report artifact. DRIFT_ACTION is set only when drift
# checks are enabled; BASELINE_URI only when there was a baseline to compare with.
DRIFT_CHECKED = "drift_checked"
DRIFT_FINDINGS = "drift_findings"
DRIFT_ACTION = "drift_action"
BASELINE_URI = "baseline_uri"

# The measurements as JSON in the drift report's folder (not written when drift is disabled).
SUMMARY_FILE = "drift.json"
SUMMARY_CHECKED = "checked"
SUMMARY_ACTION = "action"
SUMMARY_BASELINE_URI = "baseline_uri"
SUMMARY_MEASUREMENTS = "measurements"

"""The DataBaselineRecorder's keys and the properties it records (read by the data gate)."""

STATISTICS_KEY = "statistics"  # input: the run's ExampleStatistics
BASELINE_KEY = "baseline"  # output: the DataBaseline
SPLIT_NAMES = "split_names"  # custom property: JSON list (the stock Statistics type has no properties)
STATISTICS_URI = "statistics_uri"  # custom property: the statistics it copied
ACCEPTED_RUN = "accepted_run"  # custom property: only on a baseline accepted by hand (accept-drift)

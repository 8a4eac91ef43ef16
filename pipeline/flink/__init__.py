"""A local Apache Flink standalone session cluster for the onprem profile's Flink engine."""

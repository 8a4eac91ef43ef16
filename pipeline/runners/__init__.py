"""Thin orchestrator runners; each one calls the same ``create_pipeline(config)``."""

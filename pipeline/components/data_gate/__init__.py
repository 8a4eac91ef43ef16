"""The data gate: stops a run when the data breaks the curated schema.

In TFX 1.16 ExampleValidator only reports anomalies; Transform and Trainer run anyway.
This component sits between ExampleValidator and Transform: it fails (and with it the
run) when a blocking anomaly is present, so no model is ever trained on such data.
"""

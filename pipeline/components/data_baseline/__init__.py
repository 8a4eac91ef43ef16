"""The data baseline: statistics of the data behind the last blessed model.

The data gate compares new data against it (drift). A run records one only when its
Evaluator blesses the model, so the newest baseline always belongs to the last
blessed model; a resolver picks the newest, which compiles for every orchestrator.
"""

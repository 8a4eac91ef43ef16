"""Custom TFX components, one folder each (component spec + executor)."""

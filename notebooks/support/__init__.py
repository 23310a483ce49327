"""Helpers for the notebook walkthroughs (not part of the portalis package)."""

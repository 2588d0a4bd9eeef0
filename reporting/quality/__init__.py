"""Deterministic checks of a call's text against what the call was given (issue 14)."""

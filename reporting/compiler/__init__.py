"""Executes a plan: the runner around every call, prompts, cache, budget, cleanup."""

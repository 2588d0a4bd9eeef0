"""The data stage of a build: parameters resolved, text filled in, queries run, facts attached."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from reporting.data.facts import facts_text
from reporting.data.params import resolve_params, substitute
from reporting.data.results import DataResults
from reporting.outline.model import Outline


def prepare_data(
    outline: Outline,
    outline_path: Path,
    given: Mapping[str, str],
    env: Mapping[str, str] | None = None,
) -> DataResults:
    """Bind the run's parameters and run every section's query; no model is called.

    Parameters are checked before any query runs, and queries before any call is planned, so
    bad input costs nothing. Each section with a query gets its result's facts for its prompts.
    """
    values = resolve_params(outline, given, str(outline_path))
    substitute(outline, values)
    if not any(section.query for section in outline.walk()):
        return DataResults(params=values)
    # Imported here: DuckDB and SQLAlchemy cost about 0.4 s, which a report without data skips.
    from reporting.data.query import run_queries

    results = run_queries(outline, outline_path, values, os.environ if env is None else env)
    for section in outline.walk():
        if section.id in results.queries:
            section.attach_data(facts_text(results.queries[section.id]))
    return results

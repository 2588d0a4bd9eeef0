"""Which sections' query results differ from the last build's: what `report plan` says reruns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reporting.data.results import DataResults


@dataclass(frozen=True)
class DataChanges:
    """Sections with a query, split by whether their result changed since the last manifest."""

    manifest: Path
    found: bool  # an earlier manifest was read
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]

    def line(self) -> str:
        """One line for the terminal."""
        if not self.found:
            return (
                f"data: no earlier build at {self.manifest}; every section is written from "
                "its query's result"
            )
        if not self.changed:
            return f"data: every query returns what it did for {self.manifest} (nothing reruns)"
        return (
            f"data changed since {self.manifest}: section(s) {', '.join(self.changed)} will be "
            f"written again and their charts redrawn; {len(self.unchanged)} unchanged"
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "manifest": str(self.manifest),
            "found": self.found,
            "changed": list(self.changed),
            "unchanged": list(self.unchanged),
        }


def data_changes(data: DataResults, manifest: Path) -> DataChanges:
    """Compare each query's result hash with the one the manifest recorded for its section."""
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
        queries = record.get("data", {}).get("queries", [])
        before = {query["section"]: query["sha256"] for query in queries}
        found = True
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        before, found = {}, False  # no usable earlier build: everything counts as new
    changed = tuple(s for s, result in data.queries.items() if before.get(s) != result.sha256)
    unchanged = tuple(s for s in data.queries if s not in changed)
    return DataChanges(manifest, found, changed, unchanged)

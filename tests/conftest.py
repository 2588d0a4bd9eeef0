"""Shared fixtures: a clean environment and working folder for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reporting.settings import Settings

EXAMPLE_OUTLINE = """\
title: Fleet Telemetry Platform — Annual Report
author: Platform Reliability Group
audience: engineering leadership
sections:
  - title: Introduction
    brief: Why the platform was rebuilt.
    points: [ingestion grew fourfold]
    words: 80
  - title: Background
    brief: The old pipeline.
    sections:
      - title: Previous architecture
        type: implementation
        brief: Batch jobs every hour.
      - title: Data loss during peaks
        type: analysis
        brief: Why peaks lost data.
  - title: Method
    brief: How the rebuild was run.
  - title: Results
    brief: What changed.
  - title: Analysis
    brief: What the numbers mean.
  - title: Recommendations
    brief: What to do next.
  - title: Conclusion
    brief: Summary.
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No setting leaks in from the machine, and no .env from the repository is read."""
    names = {name.upper() for name in Settings.model_fields} | {"REPORT_PROVIDER"}
    for variable in list(os.environ):
        if variable.upper() in names or variable.upper().startswith(("OPENAI_", "OLLAMA_")):
            monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def outline_file(tmp_path: Path) -> Path:
    """A 7-section outline with subsections, written to a file."""
    path = tmp_path / "fleet.yaml"
    path.write_text(EXAMPLE_OUTLINE, encoding="utf-8")
    return path

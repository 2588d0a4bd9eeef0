"""A built report read back: the abstract and each section's body, found under its headings."""

from __future__ import annotations

from pathlib import Path

import pytest

from reporting.errors import InputError
from reporting.observe.recheck import report_chunks, split_report
from reporting.outline.model import Outline
from reporting.sources.grounding import Grounding, SectionSources
from reporting.sources.read import Chunk

OUTLINE = Outline.model_validate(
    {
        "title": "A * Report",
        "sections": [
            {"title": "Results", "brief": "b", "sections": [{"title": "Latency", "brief": "b"}]},
            {"title": "Costs [draft]", "brief": "b"},
        ],
    }
)

EDITED = """\
# A \\* Report

*1 May 2026*

**Abstract.** The first paragraph of the abstract.

A second paragraph of it.

## 1 Results

Results as a whole [1].

### 1.1 Latency

- an item
- ## 2 Not a heading of the report, inside a list

#### A heading the editor added

Still the latency section [2].

## 2 Costs \\[draft\\]

Costs, the last section.

## References

\\[1\\] a.md: “One.”
"""


def test_bodies_run_to_the_next_section_or_a_heading_as_high() -> None:
    text = split_report(EDITED, OUTLINE, Path("r.md"))
    assert text.abstract == "The first paragraph of the abstract.\n\nA second paragraph of it."
    assert text.bodies == {
        "1": "Results as a whole [1].",
        "1.1": (
            "- an item\n- ## 2 Not a heading of the report, inside a list\n\n"
            "#### A heading the editor added\n\nStill the latency section [2]."
        ),
        "2": "Costs, the last section.",
    }


def test_a_heading_at_the_wrong_depth_is_not_the_section_s() -> None:
    moved = EDITED.replace("### 1.1 Latency", "## 1.1 Latency")
    with pytest.raises(InputError, match=r'r\.md: no heading for 1 section .*"### 1\.1 Latency"'):
        split_report(moved, OUTLINE, Path("r.md"))


def test_no_abstract_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"no abstract"):
        split_report(EDITED.replace("**Abstract.** ", ""), OUTLINE, Path("r.md"))


def test_references_are_the_chunks_of_the_report_numbering() -> None:
    a, b = (Chunk(f"s.md#{n}", "s.md", f"text {n}", 0) for n in "ab")
    grounding = Grounding({"1": SectionSources(("s.md",), (a, b), (1.0, 0.5))})
    manifest = {
        "sources": {
            "references": [
                {"number": 1, "chunk": "s.md#b"},
                {"number": 2, "chunk": "s.md#a"},
                {"number": 3, "chunk": "gone.md#c"},
            ]
        }
    }
    chunks, missing = report_chunks(manifest, grounding)
    assert [chunk.text for chunk in chunks] == ["text b", "text a", ""]
    assert missing == [(3, "gone.md#c")]

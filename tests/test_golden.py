"""Every example outline still builds to the reports in tests/golden/ (see tests/golden.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden import GOLDEN, build_examples


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, dict[str, object]]]:
    """Every example built once for all the comparisons of this module."""
    return build_examples(tmp_path_factory.mktemp("golden"))


EXAMPLES = sorted(path.name.removesuffix(".run.json") for path in GOLDEN.glob("*.run.json"))
WITH_MARKDOWN = sorted(path.name.removesuffix(".md") for path in GOLDEN.glob("*.md"))


def test_every_example_has_a_golden_build(
    built: dict[str, tuple[str, dict[str, object]]],
) -> None:
    assert sorted(built) == EXAMPLES
    assert len(WITH_MARKDOWN) >= 5


@pytest.mark.parametrize("stem", WITH_MARKDOWN)
def test_markdown_is_byte_identical(
    built: dict[str, tuple[str, dict[str, object]]], stem: str
) -> None:
    expected = (GOLDEN / f"{stem}.md").read_text(encoding="utf-8")
    assert built[stem][0] == expected, "run `python tests/golden.py` only if the change is meant"


@pytest.mark.parametrize("stem", EXAMPLES)
def test_manifest_is_identical_but_for_timings(
    built: dict[str, tuple[str, dict[str, object]]], stem: str
) -> None:
    expected = json.loads(Path(GOLDEN / f"{stem}.run.json").read_text(encoding="utf-8"))
    assert built[stem][1] == expected

"""The outline loader: numbering, type inference, defaults and error reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from reporting.errors import OutlineError
from reporting.outline import loader as outline_module
from reporting.outline.loader import load_outline, parse_outline
from reporting.outline.model import (
    DEFAULT_PARENT_WORDS,
    DEFAULT_WORDS,
    Outline,
    SectionType,
    infer_section_type,
)

NESTED = """\
title: Nested
sections:
  - title: Alpha
    sections:
      - title: Alpha one
      - title: Alpha two
  - title: Beta
    sections:
      - title: Beta one
        sections:
          - title: Beta one one
"""


def write(tmp_path: Path, text: str, name: str = "outline.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> OutlineError:
    with pytest.raises(OutlineError) as info:
        load_outline(path)
    return info.value


def test_sections_are_numbered_in_outline_order(tmp_path: Path) -> None:
    outline = load_outline(write(tmp_path, NESTED))
    numbered = [(s.id, s.depth, s.title) for s in outline.walk()]
    assert numbered == [
        ("1", 1, "Alpha"),
        ("1.1", 2, "Alpha one"),
        ("1.2", 2, "Alpha two"),
        ("2", 1, "Beta"),
        ("2.1", 2, "Beta one"),
        ("2.1.1", 3, "Beta one one"),
    ]


def test_walk_can_be_repeated() -> None:
    outline = parse_outline({"title": "T", "sections": [{"title": "A"}, {"title": "B"}]}, "x")
    assert [s.id for s in outline.walk()] == [s.id for s in outline.walk()] == ["1", "2"]


def test_table_of_contents_indents_by_depth(tmp_path: Path) -> None:
    outline = load_outline(write(tmp_path, NESTED))
    assert outline.table_of_contents() == [
        "1 Alpha",
        "  1.1 Alpha one",
        "  1.2 Alpha two",
        "2 Beta",
        "  2.1 Beta one",
        "    2.1.1 Beta one one",
    ]


def test_example_outline_loads(outline_file: Path) -> None:
    outline = load_outline(outline_file)
    assert outline.title == "Fleet Telemetry Platform — Annual Report"
    assert [s.id for s in outline.walk()] == ["1", "2", "2.1", "2.2", "3", "4", "5", "6", "7"]
    background = outline.sections[1]
    assert [s.section_type for s in background.sections] == [
        SectionType.IMPLEMENTATION,
        SectionType.ANALYSIS,
    ]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Introduction", SectionType.INTRO),
        ("Conclusions", SectionType.CONCLUSION),
        ("Executive Summary", SectionType.INTRO),
        ("Methodology", SectionType.METHOD),
        ("Lessons learned", SectionType.DISCUSSION),
        ("Next steps", SectionType.RECOMMENDATIONS),
        ("Appendix A", SectionType.APPENDIX),
        ("Zebra facts", SectionType.OTHER),
        ("BACKGROUND", SectionType.BACKGROUND),
        ("3. Results & findings", SectionType.RESULTS),
        ("Risk analysis", SectionType.ANALYSIS),
        ("", SectionType.OTHER),
    ],
)
def test_infer_section_type(title: str, expected: SectionType) -> None:
    assert infer_section_type(title) is expected


def test_section_type_is_inferred_when_omitted() -> None:
    outline = parse_outline({"title": "T", "sections": [{"title": "Conclusions"}]}, "x")
    assert outline.sections[0].section_type is SectionType.CONCLUSION
    assert outline.sections[0].type is SectionType.CONCLUSION


def test_explicit_type_wins_over_title() -> None:
    data = {"title": "T", "sections": [{"title": "Introduction", "type": "results"}]}
    section = parse_outline(data, "x").sections[0]
    assert section.section_type is SectionType.RESULTS


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"title": "Leaf"}, DEFAULT_WORDS),
        ({"title": "Parent", "sections": [{"title": "Child"}]}, DEFAULT_PARENT_WORDS),
        ({"title": "Leaf", "words": 500}, 500),
        ({"title": "Parent", "words": 900, "sections": [{"title": "Child"}]}, 900),
    ],
)
def test_target_words(section: dict[str, Any], expected: int) -> None:
    outline = parse_outline({"title": "T", "sections": [section]}, "x")
    assert outline.sections[0].target_words == expected


def test_default_word_targets() -> None:
    assert (DEFAULT_WORDS, DEFAULT_PARENT_WORDS) == (200, 120)


def test_every_problem_is_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
title: T
sections:
  - title: Fine
  - brief: no title here
    pointz: [x]
  - title: Broken
    points: not a list
    words: 5
    type: bogus
""",
    )
    error = load_error(path)
    problems = error.problems
    assert len(problems) == 5
    # Sections count from 1, as people count them, and show their title when they have one.
    assert "sections[2].title: field required" in problems
    assert any(
        p.startswith("sections[2].pointz: unknown key (did you mean 'points'?)") for p in problems
    )
    assert any(p.startswith('sections[3] "Broken".points: ') and "list" in p for p in problems)
    assert any(p.startswith('sections[3] "Broken".words: ') and "20" in p for p in problems)
    assert any(p.startswith('sections[3] "Broken".type: ') and "'intro'" in p for p in problems)
    # The message has one `file: place: message` line per problem.
    assert str(error).splitlines() == [f"{path}: {p}" for p in problems]
    assert error.path == str(path)
    assert error.exit_code == 2


def test_unknown_key_lists_allowed_keys_for_its_level(tmp_path: Path) -> None:
    path = write(tmp_path, "title: T\ntitel: x\nsections:\n  - title: A\n    wordz: 50\n")
    problems = load_error(path).problems
    assert len(problems) == 2
    top, nested = sorted(problems, key=len)
    assert top.startswith("titel: unknown key (did you mean 'title'?)")
    assert "author" in top and "brief" not in top
    assert nested.startswith("sections[1] \"A\".wordz: unknown key (did you mean 'words'?)")
    assert "brief" in nested and "author" not in nested


def test_unknown_key_without_close_match_has_no_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "title: T\nsections:\n  - title: A\n    zzzzzz: 1\n")
    [problem] = load_error(path).problems
    assert problem.startswith('sections[1] "A".zzzzzz: unknown key; allowed keys: ')
    assert "did you mean" not in problem


def test_deep_places_are_numbered_from_1_and_titled(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
title: T
sources: [a.md, 7]
sections:
  - title: A
  - title: "  Timeline\\n of  the year  "
    sections:
      - title: B
      - title: 'He said "no"'
        sections:
          - title: C
            points: [fine, [not, text]]
  - title: An overly long title that goes on and on well past what a place should hold
    words: 3
""",
    )
    assert load_error(path).problems == [
        "sources[2]: input should be a valid string",
        'sections[2] "Timeline of the year".sections[2] "He said \\"no\\"".sections[1] "C"'
        ".points[2]: input should be a valid string",
        'sections[3] "An overly long title that goes on and on well past what a p…"'
        ".words: input should be greater than or equal to 20",
    ]


def test_a_section_knows_its_place_as_errors_name_it() -> None:
    data = {
        "title": "T",
        "sections": [{"title": "A"}, {"title": "B", "sections": [{"title": "C"}]}],
    }
    outline = parse_outline(data, "x")
    assert [s.place for s in outline.walk()] == [
        'sections[1] "A"',
        'sections[2] "B"',
        'sections[2] "B".sections[1] "C"',
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title: T\nsections: []\n", "sections: list should have at least 1 item"),
        ("title: T\n", "sections: field required"),
        ("- a\n- b\n", "the outline is a list; it must be a mapping"),
        ("just a string\n", "the outline is a str; it must be a mapping"),
        ("", "the outline is empty; it must be a mapping"),
        ("# only a comment\n", "the outline is empty; it must be a mapping"),
    ],
)
def test_structural_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    error = load_error(path)
    assert len(error.problems) == 1
    assert error.problems[0].startswith(expected)
    assert str(error).startswith(f"{path}: {expected}")


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "title: T\n  bad: x\nsections: []\n")
    [problem] = load_error(path).problems
    assert problem.startswith("line 2, column 6: invalid YAML: ")
    assert "mapping values are not allowed" in problem


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"title: caf\xe9\n")
    error = load_error(path)
    [problem] = error.problems
    assert "not UTF-8" in problem
    assert "0xe9" in problem and "offset 10" in problem
    assert error.exit_code == 2


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    error = load_error(path)
    assert error.problems == ["file not found"]
    assert str(error) == f"{path}: file not found"
    assert error.exit_code == 2


def test_unreadable_path_is_an_outline_error(tmp_path: Path) -> None:
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    [problem] = load_error(folder).problems
    assert problem.startswith("cannot read the file: ")


def test_file_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "title: T\nsections:\n  - title: A\n"
    path = write(tmp_path, text)
    monkeypatch.setattr(outline_module, "MAX_OUTLINE_BYTES", len(text) - 1)
    [problem] = load_error(path).problems
    assert f"the file is {len(text):,} bytes" in problem
    assert f"the limit is {len(text) - 1:,}" in problem


def test_file_at_the_size_limit_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "title: T\nsections:\n  - title: A\n"
    path = write(tmp_path, text)
    monkeypatch.setattr(outline_module, "MAX_OUTLINE_BYTES", len(text))
    assert load_outline(path).title == "T"


def test_date_is_parsed_and_strings_are_stripped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "title: '  Report  '\nauthor: ' Ann '\ndate: 2026-10-01\n"
        "sections:\n  - title: '  Intro  '\n    brief: ' why '\n    points: ['  p1 ']\n",
    )
    outline = load_outline(path)
    assert outline.date == dt.date(2026, 10, 1)
    assert type(outline.date) is dt.date
    assert (outline.title, outline.author) == ("Report", "Ann")
    section = outline.sections[0]
    assert (section.title, section.brief, section.points) == ("Intro", "why", ["p1"])
    # The stripped title is what type inference saw.
    assert section.section_type is SectionType.INTRO


def test_blank_title_is_rejected() -> None:
    with pytest.raises(OutlineError) as info:
        parse_outline({"title": "   ", "sections": [{"title": "A"}]}, "x.yaml")
    [problem] = info.value.problems
    assert problem.startswith("title: ")


def test_unparsable_date_is_an_outline_error(tmp_path: Path) -> None:
    path = write(tmp_path, "title: T\ndate: someday\nsections:\n  - title: A\n")
    [problem] = load_error(path).problems
    assert problem.startswith("date: ")


def test_impossible_date_is_an_outline_error(tmp_path: Path) -> None:
    path = write(tmp_path, "title: T\ndate: 2026-02-30\nsections:\n  - title: A\n")
    error = load_error(path)
    assert len(error.problems) == 1
    assert "date" in error.problems[0] or "line 2" in error.problems[0]


def test_parse_outline_returns_an_outline() -> None:
    outline = parse_outline({"title": "T", "sections": [{"title": "A"}]}, "mem")
    assert isinstance(outline, Outline)
    assert outline.sections[0].id == "1"


@pytest.mark.parametrize(
    ("text", "where", "kind"),
    [
        ("title: T\n? [a, b]\n: x\nsections:\n  - title: A\n", "line 2, column 3", "list"),
        ("title: T\nsections:\n  - title: A\n    ? {a: 1}\n    : x\n", "line 4, column 7", "dict"),
        ("title: T\n[a]: x\nsections:\n  - title: A\n", "line 2, column 1", "list"),
    ],
)
def test_a_complex_key_is_a_yaml_error(tmp_path: Path, text: str, where: str, kind: str) -> None:
    error = load_error(write(tmp_path, text))
    assert error.problems == [
        f"{where}: invalid YAML: a mapping key must be a plain value (a name or a number), "
        f"not a {kind}"
    ]
    assert error.exit_code == 2

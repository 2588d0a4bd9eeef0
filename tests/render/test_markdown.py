"""The Markdown renderer: title, byline, abstract, numbered headings and literal user text."""

from __future__ import annotations

import datetime as dt

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from reporting.render.markdown import (
    ProvenanceEntry,
    RenderedSection,
    byline,
    md_inline,
    render_markdown,
)
from reporting.sources.citations import Reference

DAY = dt.date(2026, 10, 9)
SECTIONS = [
    RenderedSection(id="1", title="Intro", depth=1, body="Intro body."),
    RenderedSection(id="1.1", title="Sub", depth=2, body="Sub body.\n\n- a\n- b"),
    RenderedSection(id="1.1.1", title="Deep", depth=3, body="Deep body."),
    RenderedSection(id="2", title="Close", depth=1, body="Close body."),
]


def render(
    title: str = "Annual Report",
    author: str | None = "Platform Group",
    abstract: str = "We rebuilt the pipeline.",
    sections: list[RenderedSection] | None = None,
) -> str:
    return render_markdown(title, author, DAY, abstract, SECTIONS if sections is None else sections)


def heading_texts(markdown: str) -> list[tuple[str, str]]:
    """(tag, plain text) of every heading, as a CommonMark reader sees them."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [
        (token.tag, "".join(_plain(child) for child in tokens[index + 1].children or []))
        for index, token in enumerate(tokens)
        if token.type == "heading_open"
    ]


def _plain(token: Token) -> str:
    """A text token's content; any other inline token (emphasis, link…) shows as <type>."""
    return token.content if token.type == "text" else f"<{token.type}>"


def test_whole_document() -> None:
    assert render() == (
        "# Annual Report\n\n"
        "*Platform Group · 9 October 2026*\n\n"
        "**Abstract.** We rebuilt the pipeline.\n\n"
        "## 1 Intro\n\nIntro body.\n\n"
        "### 1.1 Sub\n\nSub body.\n\n- a\n- b\n\n"
        "#### 1.1.1 Deep\n\nDeep body.\n\n"
        "## 2 Close\n\nClose body.\n"
    )


def test_title_is_the_single_top_level_heading() -> None:
    lines = render().splitlines()
    assert lines[0] == "# Annual Report"
    assert [line for line in lines if line.startswith("# ")] == ["# Annual Report"]


def test_byline_follows_the_title() -> None:
    lines = render().splitlines()
    assert lines[1:4] == ["", "*Platform Group · 9 October 2026*", ""]


def test_byline_without_author_is_the_date_only() -> None:
    text = render(author=None)
    assert text.splitlines()[2] == "*9 October 2026*"
    assert "·" not in text


@pytest.mark.parametrize(
    ("author", "date", "expected"),
    [
        ("Ann", dt.date(2026, 10, 9), "Ann · 9 October 2026"),
        (None, dt.date(2026, 10, 9), "9 October 2026"),
        ("", dt.date(2026, 1, 1), "1 January 2026"),
        ("Team", dt.date(2025, 12, 31), "Team · 31 December 2025"),
    ],
)
def test_byline(author: str | None, date: dt.date, expected: str) -> None:
    assert byline(author, date) == expected


def test_abstract_line() -> None:
    text = render(abstract="Latency fell by 40%.")
    assert "\n\n**Abstract.** Latency fell by 40%.\n\n" in text


def test_headings_follow_depth_in_the_given_order() -> None:
    text = render()
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# Annual Report",
        "## 1 Intro",
        "### 1.1 Sub",
        "#### 1.1.1 Deep",
        "## 2 Close",
    ]
    assert heading_texts(text) == [
        ("h1", "Annual Report"),
        ("h2", "1 Intro"),
        ("h3", "1.1 Sub"),
        ("h4", "1.1.1 Deep"),
        ("h2", "2 Close"),
    ]


def test_sections_are_not_reordered() -> None:
    sections = [
        RenderedSection(id="2", title="Second", depth=1, body="B."),
        RenderedSection(id="1", title="First", depth=1, body="A."),
    ]
    text = render(sections=sections)
    assert text.index("## 2 Second") < text.index("## 1 First")


def test_each_body_sits_under_its_heading() -> None:
    text = render()
    for section, following in zip(SECTIONS, [*SECTIONS[1:], None], strict=True):
        start = text.index(f" {section.id} {section.title}\n")
        end = text.index(f" {following.id} {following.title}\n") if following else len(text)
        assert section.body in text[start:end]


def test_no_sections_still_renders_title_byline_and_abstract() -> None:
    assert render(sections=[]) == (
        "# Annual Report\n\n*Platform Group · 9 October 2026*\n\n"
        "**Abstract.** We rebuilt the pipeline.\n"
    )


@pytest.mark.parametrize(
    "body",
    ["Para.\n\n\n\n\nPara.", "Trailing.\n\n\n\n", "\n\n\n\nLeading.", ""],
)
def test_never_three_newlines_and_exactly_one_at_the_end(body: str) -> None:
    sections = [
        RenderedSection(id="1", title="A", depth=1, body=body),
        RenderedSection(id="2", title="B", depth=1, body=body),
    ]
    text = render(sections=sections)
    assert "\n\n\n" not in text
    assert text.endswith("\n")
    assert not text.endswith("\n\n")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a*b", r"a\*b"),
        ("a_b", r"a\_b"),
        ("[link](x)", r"\[link\](x)"),
        ("<b>", r"\<b\>"),
        ("#1", r"\#1"),
        ("a|b", r"a\|b"),
        ("a\\b", r"a\\b"),
        ("`code`", r"\`code\`"),
        ("plain words 1.2", "plain words 1.2"),
        ("two\nlines\r\n  and   spaces ", "two lines and spaces"),
    ],
)
def test_md_inline(raw: str, escaped: str) -> None:
    assert md_inline(raw) == escaped


@pytest.mark.parametrize(
    "title",
    ["Costs * and # hashes", "C# and F#", "snake_case_names", "[draft] <final> | `x` \\ y"],
)
def test_title_with_markdown_syntax_renders_literally(title: str) -> None:
    sections = [RenderedSection(id="1", title=title, depth=1, body="Body.")]
    text = render(title=title, sections=sections)
    assert heading_texts(text) == [("h1", title), ("h2", f"1 {title}")]


def test_author_with_markdown_syntax_renders_literally() -> None:
    text = render(author="Ann *Lee* _ops_")
    tokens = MarkdownIt("commonmark").parseInline(text.splitlines()[2])[0].children or []
    literal = "".join(t.content for t in tokens if t.type == "text")
    assert literal == "Ann *Lee* _ops_ · 9 October 2026"
    assert [t.type for t in tokens].count("em_open") == 1


def test_multiline_title_stays_on_one_line() -> None:
    text = render(title="Annual\nReport")
    assert text.splitlines()[0] == "# Annual Report"


@pytest.mark.parametrize(
    "jinja",
    ["{{ 7*7 }}", "{% raw %}", "{% endraw %}", "{% if true %}yes{% endif %}", "{# note #}"],
)
def test_jinja_syntax_in_user_text_is_literal(jinja: str) -> None:
    sections = [RenderedSection(id="1", title="T", depth=1, body=f"Body {jinja} end.")]
    text = render(author=f"By {jinja}", abstract=f"Abs {jinja}.", sections=sections)
    assert f"Body {jinja} end." in text
    assert f"Abs {jinja}." in text
    assert "49" not in text
    assert md_inline(f"By {jinja}") in text


def test_jinja_syntax_in_a_title_is_literal() -> None:
    title = "{{ 7*7 }} {% raw %}"
    sections = [RenderedSection(id="1", title=title, depth=1, body="Body.")]
    text = render(title=title, sections=sections)
    assert heading_texts(text) == [("h1", title), ("h2", f"1 {title}")]
    assert "49" not in text


def test_bodies_are_not_escaped() -> None:
    body = "**Bold** and `code` and [link](https://example.com)."
    text = render(sections=[RenderedSection(id="1", title="T", depth=1, body=body)])
    assert f"\n{body}\n" in text


def test_references_and_provenance_follow_the_sections() -> None:
    references = [
        Reference(1, "notes/log_2026.md", "Queue *peaked* at 48k", "notes/log_2026.md#1"),
        Reference(2, "spec.pdf", "Limits", "spec.pdf#2", page=4),
    ]
    provenance = [ProvenanceEntry("1", "Intro", "openai gpt-4o (every phase)", "cites no source")]
    text = render_markdown("T", None, DAY, "A.", SECTIONS, references, provenance)
    tail = text.split("\n## References\n", 1)[1]
    assert tail.startswith(
        "\n\\[1\\] notes/log\\_2026.md: “Queue \\*peaked\\* at 48k”\n\n"
        "\\[2\\] spec.pdf, p. 4: “Limits”\n\n## Provenance\n\n"
        "- **1 Intro**: written by openai gpt-4o (every phase); cites no source.\n"
    )
    headings = [t.content for t in MarkdownIt().parse(text) if t.type == "inline"]
    assert "References" in headings and "Provenance" in headings

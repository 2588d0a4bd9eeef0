"""Clean-up of model replies: think blocks, preambles, headings, fences and meta talk."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from reporting.compiler.cleanup import (
    balance_fences,
    clean_section_text,
    demote_headings,
    drop_empty_list_items,
    drop_meta_paragraphs,
    drop_repeated_sentences,
    strip_preamble,
    strip_think,
    trim_to_sentence,
    unwrap_fence,
)

TABLE = "| Metric | Before | After |\n|---|---|---|\n| p99 | 900 ms | 120 ms |"
LIST = "- first item\n- second item\n  - nested item\n\n1. one\n2. two"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>plan the answer</think>Body.", "Body."),
        ("<THINK>\nmulti\nline\n</THINK>\nBody.", "\nBody."),
        ("Before <think>a</think>middle<think>b</think> after", "Before middle after"),
        ("Body.\n<think>never closed\nstill thinking", "Body.\n"),
        ("No reasoning here.", "No reasoning here."),
    ],
)
def test_strip_think(text: str, expected: str) -> None:
    assert strip_think(text) == expected


def test_clean_removes_think_blocks() -> None:
    text = "<think>\nLet me think.\n\n\n</think>\n\nThe platform grew.\n<think>unclosed"
    assert clean_section_text(text) == "The platform grew."


@pytest.mark.parametrize(
    "preamble",
    [
        "Sure, here is the section:",
        "Certainly! Here's the revised section.",
        "Here is the rewritten text:",
        "Of course.",
        "As requested, the section follows.",
        "I've written the section below:",
    ],
)
def test_strip_preamble_drops_chat_lines(preamble: str) -> None:
    assert strip_preamble(f"{preamble}\nThe platform grew.") == "The platform grew."
    assert clean_section_text(f"{preamble}\n\nThe platform grew.") == "The platform grew."


@pytest.mark.parametrize(
    "text",
    [
        "Surely the results show a gain.\nMore.",
        "Heretofore the pipeline ran hourly.\nMore.",
        "The platform grew fourfold.\nMore.",
        "Okayama hosts the second data centre.\nMore.",
    ],
)
def test_strip_preamble_keeps_ordinary_first_sentences(text: str) -> None:
    assert strip_preamble(text) == text


def test_strip_preamble_only_touches_the_first_line() -> None:
    text = "The platform grew.\nSure, here is more."
    assert strip_preamble(text) == text


def test_strip_preamble_ignores_long_first_lines() -> None:
    text = "Sure " + "word " * 40 + "end.\nMore."
    assert strip_preamble(text) == text


def test_preamble_after_a_leading_heading_is_removed() -> None:
    text = "## Results\n\nHere is the section:\n\nThe platform grew."
    assert clean_section_text(text, "Results") == "The platform grew."


@pytest.mark.parametrize(
    "text",
    [
        "Great results were achieved in Q3.",
        "Great care was taken to keep every event.\n\nLatency fell by 40%.",
    ],
)
def test_content_sentence_starting_with_a_chat_word_is_kept(text: str) -> None:
    assert clean_section_text(text).startswith("Great ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# Overview\nText.", "**Overview**\n\nText."),
        ("## Key points\n\nText.", "**Key points**\n\nText."),
        ("Text.\n\n### Deep one ###\nMore.", "Text.\n\n**Deep one**\n\nMore."),
        ("Setext one\n==========\nText.", "**Setext one**\n\nText."),
        ("Setext two\n----------\nText.", "**Setext two**\n\nText."),
    ],
)
def test_demote_headings_makes_bold_paragraphs(text: str, expected: str) -> None:
    assert demote_headings(text) == expected


def test_clean_demotes_headings_to_bold_lines_followed_by_a_blank_line() -> None:
    text = "Intro text.\n\n## Key points\nFirst.\n\nSetext\n------\nSecond."
    assert clean_section_text(text) == (
        "Intro text.\n\n**Key points**\n\nFirst.\n\n**Setext**\n\nSecond."
    )


def test_heading_right_after_a_paragraph_stays_a_paragraph_of_its_own() -> None:
    cleaned = clean_section_text("Intro text.\n## Key points\nFirst.")
    html = MarkdownIt("commonmark").render(cleaned)
    assert html == "<p>Intro text.</p>\n<p><strong>Key points</strong></p>\n<p>First.</p>\n"


@pytest.mark.parametrize(
    "heading",
    [
        "## 2.1 Data loss during peaks",
        "# Data Loss During Peaks",
        "### 2.1. Data loss — during peaks!",
        "DATA LOSS DURING PEAKS\n======================",
    ],
)
def test_heading_repeating_the_title_is_dropped(heading: str) -> None:
    text = f"{heading}\n\nEvents were lost at peak load."
    cleaned = clean_section_text(text, "Data Loss During Peaks")
    assert cleaned == "Events were lost at peak load."


def test_heading_with_other_words_is_kept_even_with_a_title() -> None:
    text = "## Data loss during peaks in 2025\n\nEvents were lost."
    cleaned = clean_section_text(text, "Data Loss During Peaks")
    assert cleaned == "**Data loss during peaks in 2025**\n\nEvents were lost."


def test_hash_lines_inside_fenced_code_are_untouched() -> None:
    code = "```bash\n# install the agent\napt-get install agent\n## not a heading\n```"
    text = f"# Setup\n\n{code}\n\n~~~\n# also code\n~~~"
    cleaned = clean_section_text(text)
    assert cleaned == f"**Setup**\n\n{code}\n\n~~~\n# also code\n~~~"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Intro.\n\n```python\nx = 1", "Intro.\n\n```python\nx = 1\n```"),
        ("Intro.\n\n~~~\nx = 1\n\n", "Intro.\n\n~~~\nx = 1\n~~~"),
        ("````\ncode\n```\nstill code", "````\ncode\n```\nstill code\n````"),
        ("```\na\n~~~\nb", "```\na\n~~~\nb\n```"),
    ],
)
def test_balance_fences_closes_an_open_fence(text: str, expected: str) -> None:
    assert balance_fences(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Intro.\n\n```python\nx = 1\n```\n\nAfter.",
        "~~~\na\n~~~\n\n```\nb\n```",
        "````\n```\ninner\n```\n````",
        "No code at all.",
    ],
)
def test_balance_fences_leaves_balanced_text_alone(text: str) -> None:
    assert balance_fences(text) == text


def test_clean_closes_an_unclosed_fence() -> None:
    assert clean_section_text("Intro.\n\n```\ncode") == "Intro.\n\n```\ncode\n```"


@pytest.mark.parametrize("language", ["markdown", "md", "text", ""])
def test_reply_wrapped_in_a_fence_is_unwrapped(language: str) -> None:
    text = f"```{language}\n## Findings\n\nLatency fell.\n```"
    assert unwrap_fence(text) == "## Findings\n\nLatency fell."
    assert clean_section_text(text) == "**Findings**\n\nLatency fell."


def test_code_fence_with_a_language_is_not_unwrapped() -> None:
    text = "```python\nprint('hi')\n```"
    assert unwrap_fence(text) == text
    assert clean_section_text(text) == text


def test_fence_in_the_middle_is_not_unwrapped() -> None:
    text = "Intro.\n\n```markdown\n# sample\n```\n\nAfter."
    assert unwrap_fence(text) == text


def test_reply_starting_and_ending_with_code_blocks_is_not_unwrapped() -> None:
    text = "```\nx = 1\n```\n\nSome prose.\n\n```\ny = 2\n```"
    assert clean_section_text(text) == text


@pytest.mark.parametrize(
    "meta",
    [
        "I made several changes to improve the flow.",
        "I also made a few tweaks to improve clarity while keeping the core message.",
        "I've tightened the wording and removed repetition.",
        "This revised version keeps every fact.",
        "Note: the numbers were left unchanged.",
        "Changes made: shorter sentences.",
        "Thank you for the chance of rewriting this draft.",
    ],
)
def test_meta_paragraphs_are_dropped(meta: str) -> None:
    text = f"The platform grew.\n\n{meta}\n\nLatency fell."
    assert drop_meta_paragraphs(text) == "The platform grew.\n\nLatency fell."
    assert clean_section_text(text) == "The platform grew.\n\nLatency fell."


def test_meta_paragraph_must_start_the_paragraph() -> None:
    text = "The team made several changes to the pipeline.\n\nIt noted: nothing."
    assert drop_meta_paragraphs(text) == text


def test_text_that_is_all_meta_is_kept() -> None:
    text = "I made several changes.\n\nNote: nothing else changed."
    assert drop_meta_paragraphs(text) == text
    assert clean_section_text(text) == text


def test_abstract_drops_headings_entirely() -> None:
    text = "# Abstract\n\nThe platform grew.\n\n## Findings\n\nLatency fell."
    assert clean_section_text(text, abstract=True) == "The platform grew.\n\nLatency fell."
    assert demote_headings("# A\nText", drop=True) == "Text"


@pytest.mark.parametrize(
    "text",
    [
        "One.\n\n\n\n\nTwo.",
        "## Head\n\n\n\nBody.\n\n\n\n# Other\n\n\n",
        "<think>x</think>\n\n\n\nBody.\n\n\n\nI made changes.\n\n\n\nEnd.",
        "One.\r\n\r\n\r\n\r\nTwo.",
        "```\n\n\n\ncode\n```",
    ],
)
def test_output_never_has_three_newlines_in_a_row(text: str) -> None:
    cleaned = clean_section_text(text)
    assert "\n\n\n" not in cleaned
    assert "\r" not in cleaned
    assert cleaned == cleaned.strip()
    assert cleaned


@pytest.mark.parametrize("body", [LIST, TABLE, f"Intro.\n\n{LIST}\n\n{TABLE}\n\nEnd."])
def test_lists_and_tables_survive_unchanged(body: str) -> None:
    assert clean_section_text(body) == body
    assert clean_section_text(body, "Some title") == body


def test_table_under_a_heading_survives() -> None:
    cleaned = clean_section_text(f"## Numbers\n\n{TABLE}", "Results")
    assert cleaned == f"**Numbers**\n\n{TABLE}"


def test_clean_is_idempotent_on_its_own_output() -> None:
    raw = (
        "<think>hmm</think>\nSure, here it is:\n\n## 3 Results\n\nLatency fell.\n\n"
        "### Details\n\n- a\n- b\n\n```\n# code\n"
    )
    once = clean_section_text(raw, "Results")
    assert once == "Latency fell.\n\n**Details**\n\n- a\n- b\n\n```\n# code\n```"
    assert clean_section_text(once, "Results") == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("One. Two is cut mid", "One."),
        ("One. Two.", "One. Two."),
        ('He said "yes." And then', 'He said "yes."'),
        ("no sentence end at all", "no sentence end at all"),
        ("", ""),
    ],
)
def test_trim_to_sentence(raw: str, expected: str) -> None:
    assert trim_to_sentence(raw) == expected


def test_repeated_sentences_are_removed_from_prose_only() -> None:
    loop = "The stall ends at 250 ms. " * 3 + "Then it recovers."
    text = f"{loop}\n\n- a list item\n- a list item\n\n```\nx = 1. x = 1. x = 1.\n```"
    clean, removed = drop_repeated_sentences(text)
    assert removed == 2
    assert clean.startswith("The stall ends at 250 ms. Then it recovers.\n\n- a list item\n")
    assert "x = 1. x = 1. x = 1." in clean


def test_repeats_are_found_across_paragraphs_but_short_sentences_stay() -> None:
    text = "Yes. It works well here.\n\nYes. It works well, here!\n\nA new point."
    clean, removed = drop_repeated_sentences(text)
    assert (clean, removed) == ("Yes. It works well here.\n\nYes.\n\nA new point.", 1)


def test_repeat_removal_keeps_code_indentation_and_hard_breaks() -> None:
    text = (
        "Line one here.  \nLine two here.\n\n    x = 1\n    x = 1\n\n"
        "~~~\nsame line again.\nsame line again.\n~~~\n\n"
        "- item text is long\n\n  continued item text.\n\nLine one here."
    )
    clean, removed = drop_repeated_sentences(text)
    assert removed == 1
    assert clean == text.removesuffix("\n\nLine one here.")


def test_bare_list_markers_are_dropped_outside_code() -> None:
    text = "Customers were affected.\n4.\n\n- real item\n-\n\n```\n1.\n```"
    assert drop_empty_list_items(text) == "Customers were affected.\n\n- real item\n\n```\n1.\n```"
    assert drop_empty_list_items("No markers here.") == "No markers here."


CODE = "```python\nx = 1\n\n\n\ny = 2\n```\n"


@pytest.mark.parametrize(
    ("text", "clean", "removed"),
    [
        # A lone CR is a line break; it used to crash the paragraph walk.
        (
            "One.\rTwo is here.\n\nThree is a new paragraph.\n\nFour.",
            "One.\nTwo is here.\n\nThree is a new paragraph.\n\nFour.",
            0,
        ),
        # A wrapped sentence is one sentence.
        (
            "The team goes home. Later, the stall ends at noon and\nthe team goes home.",
            "The team goes home. Later, the stall ends at noon and\nthe team goes home.",
            0,
        ),
        # Sentence ends inside a code span do not split it.
        (
            "The stall ends now. Run `x. The stall ends now. y` please.",
            "The stall ends now. Run `x. The stall ends now. y` please.",
            0,
        ),
        # A dropped paragraph takes one blank line with it; code keeps its blank lines.
        (
            "The stall ends now today.\n\nThe stall ends now today.\n\n" + CODE,
            "The stall ends now today.\n\n" + CODE,
            1,
        ),
    ],
)
def test_repeat_removal_keeps_structure(text: str, clean: str, removed: int) -> None:
    assert drop_repeated_sentences(text) == (clean, removed)

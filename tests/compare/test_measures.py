"""Text measures: word counts, length ratios, repeated sentences and readability."""

from __future__ import annotations

import pytest

from reporting.compare.measures import TextMeasures, count_words, measure_text, repeated_sentences

EASY = "The cat sat on the mat. It was a warm day. The dog ran in the sun. We had fun."
HARD = (
    "Notwithstanding considerable organisational heterogeneity, institutional interoperability "
    "necessitates comprehensive standardisation of administrative infrastructure. "
    "Consequently, multidisciplinary collaboration substantially facilitates the "
    "operationalisation of sophisticated methodological innovations."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("   \n\t ", 0),
        ("one two three", 3),
        ("Ingestion grew fourfold in 2024.", 5),
        ("- first item here\n- second item\n* third\n+ fourth", 7),
        ("1. one\n2) two\n", 2),
        ("**Bold** words and *italic* ones and `code`.", 7),
        ("# Heading\n\nBody text.", 3),
        ("Dash — between words - here", 4),
        ("Don't split well-known words.", 4),
    ],
)
def test_count_words(text: str, expected: int) -> None:
    assert count_words(text) == expected


@pytest.mark.parametrize(
    ("words", "target", "ratio"),
    [(100, 100, 1.0), (50, 200, 0.25), (1, 3, 0.33), (2, 3, 0.67), (0, 80, 0.0), (250, 100, 2.5)],
)
def test_length_ratio_is_words_over_target_rounded(words: int, target: int, ratio: float) -> None:
    m = measure_text(" ".join(["word"] * words), target)
    assert m.words == words
    assert m.target_words == target
    assert m.length_ratio == ratio


@pytest.mark.parametrize("target", [0, -5])
def test_target_must_be_positive(target: int) -> None:
    with pytest.raises(ValueError, match="target_words"):
        measure_text("some text", target)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("One fact. Another fact. A third fact.", 0),
        ("The system is fast. The system is fast.", 1),
        ("The system is fast. It scales. The system is fast. The system is fast!", 2),
        # Case, whitespace and punctuation do not hide a repeat.
        ("Data was lost.  data   WAS lost!\nDATA, was lost?", 2),
        # Two different sentences repeated: one extra copy each.
        ("A rose. B bloomed. A rose. B bloomed.", 2),
        # The same sentence as a list item and in prose, with bold marks.
        ("- **Latency** fell sharply.\n\nLatency fell sharply. Costs rose.", 1),
        # Sentences sharing words but not equal are not repeats.
        ("Latency fell. Latency fell sharply. Latency rose.", 0),
        ("The cost fell by 10%. The cost fell by 20%.", 0),
        # List items without full stops are separate sentences, not one long one.
        ("- plan the work\n- do the work\n- check the work", 0),
        ("- check the work\n- check the work", 1),
    ],
)
def test_repeated_sentences(text: str, expected: int) -> None:
    assert repeated_sentences(text) == expected


def test_readability_orders_easy_above_hard() -> None:
    easy = measure_text(EASY, 20).readability
    hard = measure_text(HARD, 20).readability
    assert easy > 80
    assert hard < 20
    assert easy > hard


def test_readability_is_rounded_and_zero_for_empty_text() -> None:
    assert measure_text("", 100).readability == 0.0
    assert measure_text("- \n* **", 100).readability == 0.0
    score = measure_text(EASY, 20).readability
    assert score == round(score, 1)


def test_bullet_plan_reads_as_separate_sentences() -> None:
    bullets = "\n".join(f"- {s}" for s in ("Costs fell", "Teams grew", "Users came back"))
    prose = "Costs fell. Teams grew. Users came back."
    assert measure_text(bullets, 10).readability == measure_text(prose, 10).readability


def test_measures_as_dict() -> None:
    m = measure_text("The system is fast. The system is fast.", 16)
    assert isinstance(m, TextMeasures)
    assert m.as_dict() == {
        "words": 8,
        "target_words": 16,
        "length_ratio": 0.5,
        "repeated_sentences": 1,
        "readability": m.readability,
    }
    assert TextMeasures(**m.as_dict()) == m

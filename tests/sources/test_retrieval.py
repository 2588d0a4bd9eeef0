"""Relevance of retrieved chunks: stop words, stemming, corpus size, and wordless sources."""

from __future__ import annotations

import random
from pathlib import Path

from reporting.sources.read import Chunk, chunk_id, chunk_source
from reporting.sources.search import SourceIndex, tokenize


def chunk(name: str, text: str) -> Chunk:
    """A chunk with its real stable id."""
    return Chunk(chunk_id(name, text), name, text, 0)


FRUIT = chunk("fruit.md", "I ate the apple and the banana with the pear at the market.")
STORAGE = chunk(
    "storage.md", "The storage outage began when the firmware rollout disabled write caching."
)


def test_stop_words_alone_are_no_match() -> None:
    index = SourceIndex([FRUIT])
    assert tokenize("The outage of the storage") == ["outag", "storag"]
    assert index.search("The outage of the storage", k=3) == []


def test_stemming_matches_word_forms() -> None:
    index = SourceIndex([FRUIT, STORAGE])
    [(best, _)] = index.search("Storages: outages after rollouts", k=1)
    assert best is STORAGE
    assert index.relevance("Storages: outages after rollouts", STORAGE) == 1.0


def test_relevance_is_the_covered_share_of_the_query() -> None:
    index = SourceIndex([FRUIT, STORAGE])
    half = index.relevance("storage outage budget forecast", STORAGE)
    assert 0.0 < half < 1.0
    assert index.relevance("storage outage budget forecast", FRUIT) == 0.0
    assert index.relevance("the of and", STORAGE) == 0.0


def test_unrelated_files_barely_change_relevance() -> None:
    rng = random.Random(0)
    words = [
        "pasta",
        "sauce",
        "basil",
        "tomato",
        "garlic",
        "oven",
        "bread",
        "flour",
        "yeast",
        "salt",
    ]
    filler = [
        chunk(f"recipe-{i}.md", " ".join(rng.choices(words, k=40)) + f" recipe {i}")
        for i in range(60)
    ]
    query = "Why did the storage outage happen after the firmware rollout?"
    alone = SourceIndex([STORAGE, FRUIT]).relevance(query, STORAGE)
    crowded = SourceIndex([STORAGE, FRUIT, *filler]).relevance(query, STORAGE)
    assert abs(crowded - alone) < 0.1, (alone, crowded)


def test_a_source_without_words_is_searchable_and_matches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "rules.md"
    chunks = chunk_source(path, tmp_path, "---\n***\n\N{ROCKET}\N{ROCKET}\n")
    index = SourceIndex(chunks)
    assert index.search("anything at all", k=4) == []
    cached = SourceIndex.load_or_build(chunks, tmp_path / "cache")
    assert cached.search("anything", k=4) == []
    mixed = SourceIndex([*chunks, STORAGE])
    assert mixed.search("storage", k=4)[0][0] is STORAGE

"""Cost of grounding: reading, chunking, indexing and searching an outline's sources.

Run with `make bench`. Prints Markdown table rows of ratios measured in this one run.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import yaml

from reporting.outline.loader import load_outline
from reporting.sources.grounding import ground_outline
from reporting.sources.search import SourceIndex

WORDS = [
    "latency",
    "queue",
    "firmware",
    "rollout",
    "customer",
    "ticket",
    "storage",
    "rack",
    "cache",
    "replica",
    "region",
    "incident",
    "alert",
    "canary",
    "deploy",
    "release",
    "budget",
    "cost",
    "capacity",
    "throughput",
    "error",
    "rate",
    "backup",
    "restore",
    "disk",
    "network",
    "packet",
    "timeout",
    "retry",
    "quota",
    "tenant",
    "upload",
    "download",
]
CRITICAL_PATH_S = 4 * 0.2  # one section's three phases and the abstract at 200 ms a call


def write_corpus(folder: Path, files: int, kilobytes: int) -> int:
    """Markdown files of random sentences over a small vocabulary; returns total bytes."""
    rng = random.Random(0)
    total = 0
    for index in range(files):
        sentences = []
        while sum(len(s) for s in sentences) < kilobytes * 1024:
            words = rng.choices(WORDS, k=rng.randint(8, 16))
            sentences.append(f"{' '.join(words).capitalize()} {index}.")
        text = f"# Notes {index}\n\n" + "\n\n".join(
            " ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5)
        )
        (folder / "sources" / f"notes-{index:03d}.md").write_text(text, encoding="utf-8")
        total += len(text.encode())
    return total


def write_outline(folder: Path, sections: int) -> Path:
    """An outline whose sections all search the whole corpus."""
    rng = random.Random(1)
    data = {
        "title": "Grounding benchmark",
        "sources": ["sources/*.md"],
        "sections": [
            {"title": f"Section {i}", "brief": " ".join(rng.choices(WORDS, k=12))}
            for i in range(sections)
        ],
    }
    path = folder / "outline.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def timed(path: Path, cache: Path | None) -> float:
    """Seconds to ground the outline (load, extract, chunk, index or load index, search)."""
    outline = load_outline(path)
    started = time.perf_counter()
    ground_outline(outline, path, top_k=4, index_cache=cache)
    return time.perf_counter() - started


def main() -> None:
    """Measure cold and warm grounding of a 1 MB corpus and print the rows."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sources").mkdir()
        size = write_corpus(folder, files=200, kilobytes=5)
        outline = write_outline(folder, sections=20)
        cache = folder / "cache"
        builds = SourceIndex.builds
        cold = timed(outline, cache)
        warm = min(timed(outline, cache) for _ in range(3))
        assert SourceIndex.builds == builds + 1, "the warm runs loaded the index from disk"
    megabytes = size / 1e6
    print(
        f"| grounding {megabytes:.1f} MB in 200 files, 20 sections, cold ÷ critical path at 200 ms"
        f" | {cold / CRITICAL_PATH_S:.2f}x | {cold:.2f} s vs {CRITICAL_PATH_S:.2f} s |"
    )
    print(f"| grounding, index cached ÷ cold | {warm / cold:.2f} | {warm:.2f} s vs {cold:.2f} s |")


if __name__ == "__main__":
    main()

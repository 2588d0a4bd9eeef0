"""Cost of the quality checks on one call: a 1,000-word REFINE text against a realistic Given.

Run with `make bench`. Every run is cold, as every call of a build is: a new Given (its figure,
instruction and other-section indexes built again) and a text never read before.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

from reporting.compiler.prompts import section_messages
from reporting.outline.loader import load_outline
from reporting.phases import CompilationPhase
from reporting.quality.checks import read, run_checks
from reporting.quality.figures import given_figures, text_figures
from reporting.quality.given import Given, NamedText
from reporting.sources.read import Chunk

ROOT = Path(__file__).resolve().parent.parent
OUTLINE = ROOT / "examples" / "outlines" / "storage-outage.yaml"
SOURCES = ROOT / "examples" / "outlines" / "sources" / "storage-outage"

# Sentences in the style of the example report, with figures from its sources, citations, a
# list and an invented figure or two, so that every check has work to do.
SENTENCES = (
    "At 07:14 on 3 November 2026 the PUT latency p99 rose from 85 ms to 2.4 s [1].",
    "The firmware rollout on rack group B was paused at 07:39 after 7 of 12 racks [1].",
    "The error rate on PUT reached 6.5% before the rollback began at 08:10 [1].",
    "The new firmware disabled the write-back cache on the RAID controllers [2].",
    "Customers were affected for 2 hours 17 minutes, and no data was lost.",
    "About 1,900 customers opened 312 support tickets during the incident [3].",
    "The canary stage ran for only fifteen minutes, too short to see the slow writes.",
    "Service credits of $48,000 are owed under the storage SLA, an invented sum.",
    "Reads were never affected, because they are served from the cache tier.",
    "The team will test every firmware change on one canary rack for 24 hours first.",
)


def long_text(words: int) -> str:
    """Paragraphs of the sentences above, with a short list, until `words` words."""
    paragraphs: list[str] = []
    count = 0
    index = 0
    while count < words:
        paragraph = " ".join(SENTENCES[(index + k) % len(SENTENCES)] for k in range(4))
        paragraphs.append(f"{paragraph} (Paragraph {index + 1}.)")
        if index % 5 == 2:
            paragraphs.append("- Roll back one rack at a time.\n- Keep replication healthy.")
        count += len(paragraph.split())
        index += 1
    return "\n\n".join(paragraphs)


def realistic_given(text_words: int) -> tuple[Given, str]:
    """A REFINE call of the example's Timeline section, its sources, and six other sections."""
    outline = load_outline(OUTLINE)
    section = list(outline.walk())[1]
    chunks = [
        Chunk(path.name, f"sources/storage-outage/{path.name}", path.read_text("utf-8"), 0)
        for path in (SOURCES / name for name in ("timeline.md", "firmware-review.md", "impact.txt"))
    ]
    previous = long_text(text_words)
    messages = section_messages(CompilationPhase.REFINE, outline, section, previous, chunks)
    # Other sections say other things: each is the example's section brief, said at length.
    others = tuple(
        NamedText(
            s.title, " ".join([f"{s.brief} The {s.title.lower()} part {n}." for n in range(8)])
        )
        for s in outline.walk()
        if s is not section
    )
    given = Given.for_call(
        outline, section, CompilationPhase.REFINE, previous, chunks, messages, others=others
    )
    return given, long_text(text_words)


def measure(runs: int, text_words: int) -> list[tuple[str, str, str]]:
    """Median wall time of `run_checks`: all cold, and with the section's facts read before."""
    template, text = realistic_given(text_words)
    rows = []
    for warm in (False, True):
        read.cache_clear()
        times: list[float] = []
        findings = 0
        previous = template.previous or ""
        for run in range(runs):
            if not warm:
                given_figures.cache_clear()
                text_figures.cache_clear()
                previous = f"{template.previous}\n\nDraft {run}."
            # A new text each run; warm, the previous phase's text is the one checked last run.
            fresh = f"{text}\n\nRun {warm} {run} of the benchmark."
            prompt = template.prompt.replace(template.previous or "", previous)
            given = replace(template, previous=previous, prompt=prompt)
            started = time.perf_counter()
            results = run_checks(fresh, given)
            times.append(time.perf_counter() - started)
            findings = sum(len(result.findings) for result in results)
            if warm:
                previous = fresh
        median = statistics.median(times) * 1000
        worst = max(times) * 1000
        what = (
            "its facts, sources and previous text read by the earlier phase"
            if warm
            else "nothing read before"
        )
        rows.append(
            (
                f"quality checks per call, {len(text.split())}-word REFINE text, 3 sources, "
                f"6 other sections: {what}",
                f"{median:.2f} ms",
                f"median of {runs} runs (max {worst:.2f} ms), {findings} findings "
                "(`benchmarks/bench_quality.py`)",
            )
        )
    return rows


def main() -> None:
    """Print the row of the speed table of docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--words", type=int, default=1000)
    args = parser.parse_args()
    for measure_name, value, detail in measure(args.runs, args.words):
        print(f"| {measure_name} | {value} | {detail} |")


if __name__ == "__main__":
    main()

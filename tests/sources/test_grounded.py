"""Grounded builds: sources reach the prompts, citations resolve, invented ones are removed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import read_manifest, report_files
from docx import Document
from loopback import OllamaServer, OpenAIServer, last_user_text, refused_url
from typer.testing import CliRunner

from reporting.cli import app
from reporting.sources.search import SourceIndex

runner = CliRunner()

TIMELINE = """\
# Timeline

At 07:14 UTC the PUT latency of the eu-central bucket tier rose from 85 ms to 2.4 seconds.
The firmware rollout on rack group B was paused at 07:39 after seven racks were updated.
"""
IMPACT = """\
Customer impact: 1,840 customers had a failed upload and support received 312 tickets.
Service credits of EUR 18,400 are owed to 23 enterprise customers.
"""
OUTLINE = """\
title: Storage Incident Review
sources:
  - notes/*.md
sections:
  - title: Timeline
    type: results
    brief: When latency rose and when the firmware rollout on rack group B was paused.
    words: 60
  - title: Customer Impact
    type: results
    brief: Customers with failed uploads, support tickets and service credits owed.
    sources: [impact.txt]
    words: 60
  - title: Lessons
    type: discussion
    brief: What the team learned about cooking pasta.
    words: 60
"""


@pytest.fixture
def grounded(tmp_path: Path) -> Path:
    """An outline whose sections draw on a Markdown and a text file beside it."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "timeline.md").write_text(TIMELINE, encoding="utf-8")
    (tmp_path / "impact.txt").write_text(IMPACT, encoding="utf-8")
    path = tmp_path / "incident.yaml"
    path.write_text(OUTLINE, encoding="utf-8")
    return path


def citing_reply(body: dict[str, Any]) -> str:
    """A model that cites the first source it was given, and also invents source [9]."""
    prompt = last_user_text(body)
    if "Numbered sources" not in prompt:
        return "The abstract sums up the review [4]. It has no citations of its own."
    fact = re.search(r"\[1\] \(source: [^)]+\)\n([^\n]+)", prompt)
    assert fact is not None, "the prompt numbers its sources"
    return f"{fact.group(1).strip('# ')} [1]. A claim from nowhere [9]. More text [1][12]."


@pytest.fixture
def citing(
    hybrid_env: pytest.MonkeyPatch, openai_server: OpenAIServer, ollama_server: OllamaServer
) -> tuple[OpenAIServer, OllamaServer]:
    """Both loopback servers answer like citing_reply."""
    openai_server.reply = citing_reply
    ollama_server.reply = citing_reply
    return openai_server, ollama_server


def _build(outline: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["build", str(outline), "--out", str(out), *extra], catch_exceptions=False
    )
    return result.exit_code, result.stderr


def _prompts(servers: tuple[OpenAIServer, OllamaServer]) -> list[str]:
    return [last_user_text(body) for server in servers for body in server.chat_bodies]


def test_sources_reach_prompts_and_every_citation_resolves(
    grounded: Path, tmp_path: Path, citing: tuple[OpenAIServer, OllamaServer]
) -> None:
    code, stderr = _build(grounded, tmp_path / "out")
    assert code == 0, stderr
    prompts = _prompts(citing)
    # The source's facts reached the prompts of the sections that asked for them.
    assert any("1,840 customers had a failed upload" in p for p in prompts)
    assert any("rose from 85 ms to 2.4 seconds" in p for p in prompts)
    assert all("cite only the number" in p for p in prompts if "Numbered sources" in p)

    markdown = (tmp_path / "out" / "incident.md").read_text(encoding="utf-8")
    body, _, references = markdown.partition("\n## References\n")
    cited = {int(n) for group in re.findall(r"\[([\d, ]+)\]", body) for n in group.split(",")}
    listed = {int(n) for n in re.findall(r"^\\\[(\d+)\\\] ", references, flags=re.MULTILINE)}
    assert cited, "the report cites its sources"
    assert cited == listed == set(range(1, len(listed) + 1))
    assert "[9]" not in markdown and "[12]" not in markdown and "[4]" not in markdown
    assert "notes/timeline.md" in references and "impact.txt" in references

    manifest = read_manifest(tmp_path / "out", "incident")
    sources = manifest["sources"]
    assert [f["path"] for f in sources["files"]] == ["impact.txt", "notes/timeline.md"]
    # Sections 1 and 2 were given sources and invented [9] and [12] in each phase. Nothing in
    # the sources is about pasta: section 3 got no chunk, and its [4] went, like the abstract's.
    assert sources["citations_removed"] == 2 * 3 * 2 + 3 + 1
    assert sources["references"][0]["source"] in {"impact.txt", "notes/timeline.md"}
    impact = sources["sections"]["2"]
    assert impact["chunks"][0]["source"] == "impact.txt"
    assert impact["chunks"][0]["cited_as"] is not None
    calls = {(c["section"], c["phase"]): c for c in manifest["calls"]}
    assert calls[("2", "EXPAND")]["citations_removed"] == 2
    assert calls[("2", "EXPAND")]["sources_given"] == len(impact["chunks"])
    assert "Event=CITATIONS | Removed=2" in stderr


def test_docx_has_the_references_list(
    grounded: Path, tmp_path: Path, citing: tuple[OpenAIServer, OllamaServer]
) -> None:
    code, stderr = _build(grounded, tmp_path / "out")
    assert code == 0, stderr
    document = Document(str(tmp_path / "out" / "incident.docx"))
    texts = [p.text for p in document.paragraphs]
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[-1] == "References"
    entries = texts[texts.index("References") + 1 :]
    assert entries[0].startswith("[1] ")
    assert any("impact.txt" in entry for entry in entries)
    assert not any("“#" in entry for entry in entries), "Markdown markup is not quoted"


def test_provenance_appendix_names_writers_and_sources(
    grounded: Path, tmp_path: Path, citing: tuple[OpenAIServer, OllamaServer]
) -> None:
    citing_env = pytest.MonkeyPatch()
    citing_env.setenv("PROVENANCE_APPENDIX", "true")
    try:
        code, stderr = _build(grounded, tmp_path / "out")
    finally:
        citing_env.undo()
    assert code == 0, stderr
    markdown = (tmp_path / "out" / "incident.md").read_text(encoding="utf-8")
    appendix = markdown.split("\n## Provenance\n", 1)[1]
    lines = [line for line in appendix.splitlines() if line.startswith("- ")]
    assert len(lines) == 3
    assert lines[1].startswith(
        "- **2 Customer Impact**: written by local llama3:8b (DRAFT, EXPAND), "
        "openai gpt-4o (REFINE); "
    )
    assert "drew on impact.txt \\[" in lines[1]


def test_a_second_build_reuses_the_index_and_an_edited_source_reruns_its_sections(
    grounded: Path, tmp_path: Path, citing: tuple[OpenAIServer, OllamaServer]
) -> None:
    out = tmp_path / "out"
    assert _build(grounded, out)[0] == 0
    first = read_manifest(out, "incident")
    builds, sent = SourceIndex.builds, sum(server.count for server in citing)
    assert _build(grounded, out)[0] == 0
    assert SourceIndex.builds == builds, "the index came from the on-disk cache"
    second = read_manifest(out, "incident")
    # Cache state never changes what a section is given, or its scores.
    assert second["sources"]["sections"] == first["sources"]["sections"]
    assert [c["relevance"] for c in second["calls"]] == [c["relevance"] for c in first["calls"]]
    assert sum(server.count for server in citing) == sent, "every phase came from the cache"

    impact = tmp_path / "impact.txt"
    impact.write_text(impact.read_text(encoding="utf-8") + "Credits are paid in December.\n")
    assert _build(grounded, out)[0] == 0
    rerun = sum(server.count for server in citing) - sent
    # Only section 2 draws on impact.txt: its three phases run again. The abstract does not:
    # section 2's refined text (the chunk's first line) came out the same.
    assert rerun == 3


def test_source_outside_the_outline_folder_is_refused_unless_allowed(
    tmp_path: Path, citing: tuple[OpenAIServer, OllamaServer]
) -> None:
    (tmp_path / "shared.md").write_text("Shared fact: the rollout paused at 07:39.\n")
    project = tmp_path / "project"
    project.mkdir()
    outline = project / "review.yaml"
    outline.write_text(
        "title: T\nsections:\n  - title: Timeline\n    sources: [../shared.md]\n    words: 40\n"
    )
    code, stderr = _build(outline, tmp_path / "out")
    assert code == 2
    assert (
        f'{outline}: sections[1] "Timeline".sources[1]: source {tmp_path / "shared.md"}' in stderr
    )
    assert "--allow-outside" in stderr
    assert report_files(tmp_path / "out") == []
    assert sum(server.count for server in citing) == 0

    code, stderr = _build(outline, tmp_path / "out", "--allow-outside")
    assert code == 0, stderr


def test_every_source_problem_is_listed_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9 latin-1 text\n")
    (tmp_path / "deck.pptx").write_bytes(b"slides")
    outline = tmp_path / "review.yaml"
    outline.write_text(
        "title: T\nsources: [missing.md]\nsections:\n"
        "  - title: A\n    sources: [bad.txt, 'notes/*.md']\n"
        "  - title: B\n    sources: [deck.pptx]\n"
    )
    result = runner.invoke(app, ["plan", str(outline)], catch_exceptions=False)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "error: the outline has 4 problems; nothing was generated"
    assert [line.split(": ")[1] for line in lines[1:]] == [
        "sources[1]",
        'sections[1] "A".sources[1]',
        'sections[1] "A".sources[2]',
        'sections[2] "B".sources[1]',
    ]
    assert "no such file" in lines[1] and "not UTF-8" in lines[2]
    assert "matches no file" in lines[3] and "unsupported file type" in lines[4]
    assert all(line.startswith(f"  {outline}: ") for line in lines[1:])


def test_an_empty_source_entry_is_an_outline_error(tmp_path: Path) -> None:
    outline = tmp_path / "review.yaml"
    outline.write_text("title: T\nsections:\n  - title: A\n    sources: ['']\n")
    result = runner.invoke(app, ["plan", str(outline)], catch_exceptions=False)
    assert result.exit_code == 2
    assert f'{outline}: sections[1] "A".sources[1]: string should have at least 1' in result.stderr


def test_plan_shows_the_adaptive_scores(grounded: Path, hybrid_env: pytest.MonkeyPatch) -> None:
    hybrid_env.setenv("ROUTING_POLICY", "adaptive")
    result = runner.invoke(app, ["plan", str(grounded), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    calls = {(c["section"], c["phase"]): c for c in json.loads(result.stdout)["calls"]}
    impact = calls[("2", "DRAFT")]
    assert impact["reason"] == "ADAPTIVE"
    assert impact["role"] == "secondary"
    assert impact["relevance"] >= 0.6 and impact["complexity"] <= 0.5
    assert f"relevance {impact['relevance']:.2f} ≥ 0.60" in impact["rule"]
    # Nothing about pasta is in the sources: the primary writes it.
    lessons = calls[("3", "EXPAND")]
    assert (lessons["role"], lessons["reason"]) == ("primary", "ADAPTIVE")
    assert lessons["relevance"] < 0.6
    # ADAPTIVE decides DRAFT and EXPAND only; REFINE keeps the matrix.
    assert calls[("2", "REFINE")]["reason"] == "MATRIX"


def copying_reply(body: dict[str, Any]) -> str:
    """A model that restates the last line of its first source and never cites."""
    prompt = last_user_text(body)
    if "[1] (source: " not in prompt:
        return "An abstract without sources."
    first = prompt.split("[1] (source: ", 1)[1].split("[2] (source: ", 1)[0]
    fact = [line for line in (TIMELINE + IMPACT).splitlines() if line in first][-1]
    return f"In short: {fact} The team met on Friday afternoon to talk."


@pytest.mark.parametrize("attribution", ["true", "false"])
def test_sentences_restating_a_source_are_cited_for_a_model_that_does_not(
    grounded: Path,
    tmp_path: Path,
    hybrid_env: pytest.MonkeyPatch,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
    attribution: str,
) -> None:
    openai_server.reply = ollama_server.reply = copying_reply
    hybrid_env.setenv("CITATION_ATTRIBUTION", attribution)
    code, stderr = _build(grounded, tmp_path / "out")
    assert code == 0, stderr
    markdown = (tmp_path / "out" / "incident.md").read_text(encoding="utf-8")
    manifest = read_manifest(tmp_path / "out", "incident")
    timeline = markdown.split("## 1 Timeline\n", 1)[1].split("\n## ", 1)[0].strip()
    if attribution == "false":
        assert "[" not in markdown and "## References" not in markdown
        assert manifest["sources"]["citations_attributed"] == 0
        return
    # The copied sentence is cited; the one about Friday is not.
    assert timeline.startswith("In short: The firmware rollout on rack group B was paused")
    assert "seven racks were updated [1]. The team met on Friday afternoon to talk." in timeline
    assert "\\[1\\] notes/timeline.md" in markdown
    assert manifest["sources"]["citations_attributed"] == 2
    refine = [c for c in manifest["calls"] if c["phase"] == "REFINE"]
    assert [c["citations_attributed"] for c in refine] == [1, 1, 0]  # section 3 has no chunk


def test_batch_builds_grounded_outlines(
    grounded: Path, tmp_path: Path, citing: tuple[OpenAIServer, OllamaServer]
) -> None:
    result = runner.invoke(
        app, ["batch", str(grounded), "--out", str(tmp_path / "out")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    markdown = (tmp_path / "out" / "incident.md").read_text(encoding="utf-8")
    assert "\n## References\n" in markdown
    (tmp_path / "impact.txt").unlink()
    result = runner.invoke(
        app, ["batch", str(grounded), "--out", str(tmp_path / "out2")], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert 'sections[2] "Customer Impact".sources[1]' in result.stdout + result.stderr


def test_source_problems_come_before_the_provider_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECONDARY_PROVIDER", "local")
    monkeypatch.setenv("OLLAMA_HOST", refused_url())
    outline = tmp_path / "review.yaml"
    outline.write_text("title: T\nsections:\n  - title: A\n    sources: [gone.md]\n")
    code, stderr = _build(outline, tmp_path / "out")
    assert code == 2
    assert f'{outline}: sections[1] "A".sources[1]: source' in stderr and "no such file" in stderr
    assert "secondary provider" not in stderr


def test_cache_clear_removes_source_indexes(
    grounded: Path, tmp_path: Path, citing: tuple[OpenAIServer, OllamaServer]
) -> None:
    out = tmp_path / "out"
    assert _build(grounded, out)[0] == 0
    indexes = out / ".report_cache" / "sources"
    assert len(list(indexes.glob("bm25-*"))) == 2  # two scopes: notes/*.md, and + impact.txt
    kept = runner.invoke(
        app, ["cache", "clear", "--out", str(out), "--older-than", "1"], catch_exceptions=False
    )
    assert "and 0 source indexes" in kept.stdout
    result = runner.invoke(app, ["cache", "clear", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0 and "and 2 source indexes" in result.stdout
    assert list(indexes.glob("bm25-*")) == []

"""`report compare` runs the build's quality checks on both sides and uses them as evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from loopback import OllamaServer, OpenAIServer, last_user_text
from typer.testing import CliRunner

from reporting.cli import app

runner = CliRunner()

# Two analysis sections with the same facts, so their REFINE pairs form one group of two.
OUTLINE = """\
title: Reliability Review
audience: engineering leadership
sections:
  - title: Incidents
    type: analysis
    brief: How many incidents the quarter had.
    points: ["9 incidents in Q3, down from 14 in Q2"]
    words: 30
  - title: Incident trend
    type: analysis
    brief: How the incident count moved.
    points: ["9 incidents in Q3, down from 14 in Q2"]
    words: 30
"""
DRAFT = (
    "- The quarter had 9 incidents in Q3.\n- That is down from 14 in Q2.\n"
    "- Most incidents were small and quickly fixed.\n- The team plans more reliability work."
)
PROSE = (
    "The quarter had 9 incidents in Q3, down from 14 in Q2. Most of them were small, and "
    "the team fixed them quickly. The team now plans further reliability work across services."
)
# As long and as readable as PROSE, but with a figure nothing given supports.
INVENTED = PROSE.replace("9 incidents", "15 incidents")


def _phase(body: dict[str, Any]) -> str:
    text = last_user_text(body)
    if "Write a plan for its section" in text:
        return "DRAFT"
    if "Follow this plan" in text:
        return "EXPAND"
    return "REFINE" if "Here is a draft of the section" in text else "OTHER"


@pytest.fixture
def outline(tmp_path: Path) -> Path:
    path = tmp_path / "review.yaml"
    path.write_text(OUTLINE, encoding="utf-8")
    return path


@pytest.fixture
def servers(
    hybrid_env: pytest.MonkeyPatch, openai_server: OpenAIServer, ollama_server: OllamaServer
) -> tuple[OpenAIServer, OllamaServer]:
    """Both write the same plan and section; for REFINE the secondary invents a figure."""

    def reply(refined: str) -> Any:
        return lambda body: {"DRAFT": DRAFT, "EXPAND": PROSE, "REFINE": refined}.get(
            _phase(body), PROSE
        )

    openai_server.reply = reply(PROSE)
    ollama_server.reply = reply(INVENTED)
    return openai_server, ollama_server


def test_a_secondary_failing_the_checks_is_not_recommended(
    outline: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    """Equal length and readability would move REFINE; the secondary's failed checks keep it.

    The test suite runs with QUALITY_GATE=off: compare checks whatever the gate says.
    """
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["compare", str(outline), "--phases", "REFINE", "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    record = json.loads((out / "review.compare.json").read_text(encoding="utf-8"))
    assert record["compare_version"] == 2
    pairs = record["pairs"]
    assert [p["phase"] for p in pairs] == ["REFINE", "REFINE"]
    for pair in pairs:
        assert pair["primary"]["failed_checks"] == []
        assert pair["secondary"]["failed_checks"] == ["facts"]
        facts = pair["checks"]["secondary"]["facts"]
        assert facts["passed"] is False and "15" in facts["findings"][0]["message"]
        assert all(check["passed"] for check in pair["checks"]["primary"].values())
    [refine] = record["recommendations"]
    assert (refine["current_role"], refine["action"]) == ("primary", "keep")
    assert (
        refine["checked_pairs"],
        refine["primary_failing_checks"],
        refine["secondary_failing_checks"],
    ) == (2, 0, 2)
    assert (
        "checks: secondary fails in 2 of 2 REFINE pairs (facts 2), primary in 0 of 2, "
        "so the secondary does not hold up"
    ) in refine["evidence"]
    assert record["routing_file"] == ""
    assert "SecondaryFailed=facts" in result.stderr
    markdown = (out / "review.compare.md").read_text(encoding="utf-8")
    assert "| checks failed | none | facts |" in markdown
    assert "secondary fails in 2 of 2 REFINE pairs" in markdown
    assert "secondary 2/2, primary 0/2" in result.stdout


def test_with_equally_good_texts_the_move_stands(
    outline: Path,
    tmp_path: Path,
    servers: tuple[OpenAIServer, OllamaServer],
) -> None:
    """The same texts on both sides pass the same checks: the recommendation is unchanged."""
    _, ollama = servers
    ollama.reply = servers[0].reply
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["compare", str(outline), "--phases", "REFINE", "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    [refine] = json.loads((out / "review.compare.json").read_text())["recommendations"]
    assert refine["action"] == "move to secondary"
    assert "checks: secondary fails in 0 of 2 REFINE pairs, primary in 0 of 2" in refine["evidence"]


def test_stats_pool_checked_and_older_comparisons(
    outline: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    """A comparison written before the checks pools with a checked one; only checked pairs count."""
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["compare", str(outline), "--phases", "REFINE", "--out", str(out / "new")],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    record = json.loads((out / "new" / "review.compare.json").read_text())
    old = json.loads(json.dumps(record))
    for pair in old["pairs"]:
        for role in ("primary", "secondary"):
            del pair[role]["failed_checks"]
        del pair["checks"]
    (out / "old").mkdir()
    (out / "old" / "review.compare.json").write_text(json.dumps(old), encoding="utf-8")
    pooled = runner.invoke(app, ["stats", str(out), "--json"], catch_exceptions=False)
    assert pooled.exit_code == 0, pooled.stderr
    compare = json.loads(pooled.stdout)["compare"]
    assert (compare["runs"], compare["pairs"]) == (2, 4)
    [refine] = compare["recommendations"]
    assert refine["action"] == "keep"
    assert refine["checked_pairs"] == 2 and refine["secondary_failing_checks"] == 2

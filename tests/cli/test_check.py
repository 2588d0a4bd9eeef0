"""`report check`: the checks run again on a built report, as a person may have edited it.

The golden reports (tests/golden/) are ready-built reports of the example outlines: their texts
come from a loopback server that echoes its prompt, so every one of them fails its checks.
tests/conftest.py sets QUALITY_GATE=off; `report check` checks whatever that setting says.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reporting.cli import app

runner = CliRunner()

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"

# Good prose for "1 Introduction" of quarterly-review.yaml: every figure is one of its points.
INTRODUCTION = (
    "This review covers the payments platform from July to September 2026: the card "
    "authorization, ledger and settlement services. The headline is good. The quarter's p99 "
    "authorization latency target of 300 ms was met in September, and the platform saw 9 "
    "incidents in Q3, down from 14 in Q2. Reliability and latency goals were therefore reached. "
    "Some matters still need attention before the holiday peak. One regression slowed checkout "
    "for part of the quarter, and data-transfer costs kept rising as traffic grew. The sections "
    "that follow set the results against the plan, explain both issues and propose what the "
    "team should do next."
)

# "2 Timeline" of storage-outage.yaml, citing the timeline as the report numbers it: [3].
TIMELINE = (
    "The incident began at 06:58, when a routine firmware rollout started on storage rack group "
    "B in the Frankfurt data centre [3]. At 07:14 an alert showed that PUT latency p99 for the "
    "eu-central bucket tier had risen from 85 ms to 2.4 s [3]. The on-call engineer paged the "
    "storage team at 07:21, by which time the error rate on PUT had reached 6.5% [3]. The "
    "rollout was paused at 07:39 after 7 of 12 racks had been updated, and the root cause was "
    "identified at 07:52, when it was found that the new firmware disables the write-back cache "
    "on the RAID controllers [3]. Rollback began at 08:10, one rack at a time, to keep "
    "replication healthy. The last rack was rolled back at 09:31, when PUT latency p99 was back "
    "to 92 ms, and the incident was closed at 09:45 [3]."
)


def built(tmp_path: Path, stem: str) -> tuple[Path, Path]:
    """The example outlines and a golden report built from `stem`: (outline, output folder)."""
    shutil.copytree(ROOT / "examples" / "outlines", tmp_path / "outlines")
    out = tmp_path / "out"
    out.mkdir()
    for suffix in (".md", ".run.json"):
        shutil.copy(GOLDEN / f"{stem}{suffix}", out / f"{stem}{suffix}")
    return tmp_path / "outlines" / f"{stem}.yaml", out


def replace_body(markdown: Path, heading: str, body: str) -> None:
    """Put `body` under `heading` in place of what stood there up to the next heading."""
    text = markdown.read_text(encoding="utf-8")
    start = text.index(f"{heading}\n\n") + len(heading) + 2
    end = text.index("\n\n#", start)
    markdown.write_text(text[:start] + body + text[end:], encoding="utf-8")


def check(*args: str | Path) -> tuple[int, str, str]:
    """`report check ARGS…`: exit code, stdout and stderr."""
    result = runner.invoke(app, ["check", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_a_failing_report_exits_3_naming_each_finding(tmp_path: Path) -> None:
    outline, out = built(tmp_path, "quarterly-review")
    code, stdout, _ = check(outline, "--out", out)
    assert code == 3
    lines = stdout.splitlines()
    assert "1 Introduction: fails facts, length" in lines
    assert "3.1 Reliability and Latency: fails facts, length" in lines
    assert "abstract: fails facts, echo, length" in lines
    # Each finding on its own indented line under its text, its check named.
    intro = lines.index("1 Introduction: fails facts, length")
    assert lines[intro + 1].startswith("  facts: The text gives b648e7a9 ")
    assert any(line.startswith("  length: Write about 100 words; this has ") for line in lines)
    assert lines[-1] == "0 of 11 sections pass every check; abstract fails"


def test_an_edited_section_that_now_passes_is_counted(tmp_path: Path) -> None:
    outline, out = built(tmp_path, "quarterly-review")
    replace_body(out / "quarterly-review.md", "## 1 Introduction", INTRODUCTION)
    code, stdout, _ = check(outline, "--out", out)
    assert code == 3  # the other sections still fail
    assert not any(line.startswith("1 Introduction") for line in stdout.splitlines())
    assert "2 Context and Q3 Objectives: fails" in stdout
    assert stdout.splitlines()[-1] == "1 of 11 sections pass every check; abstract fails"


def test_citations_are_checked_in_the_report_numbering(tmp_path: Path) -> None:
    # In the report, the timeline is source [3]; to the section it was given as [1].
    outline, out = built(tmp_path, "storage-outage")
    markdown = out / "storage-outage.md"
    replace_body(markdown, "## 2 Timeline", TIMELINE)
    code, stdout, _ = check(outline, "--out", out)
    assert code == 3
    assert not any(line.startswith("2 Timeline") for line in stdout.splitlines())
    assert stdout.splitlines()[-1] == "1 of 5 sections pass every check; abstract fails"

    # A figure of the impact summary ([1]) cited as the timeline's is found out.
    wrong = TIMELINE + " During that time 1,840 customers had at least one failed upload [3]."
    replace_body(markdown, "## 2 Timeline", wrong)
    code, stdout, _ = check(outline, "--out", out)
    assert "2 Timeline: fails cited_figures" in stdout.splitlines()
    assert "gives 1,840, which source [3] does not have" in stdout


def test_json_has_the_manifest_s_checks_for_every_text(tmp_path: Path) -> None:
    outline, out = built(tmp_path, "storage-outage")
    code, stdout, _ = check(outline, "--out", out, "--json")
    assert code == 3
    result = json.loads(stdout)
    assert result["passed"] is False
    assert (result["sections"], result["sections_passing"]) == (5, 0)
    assert result["abstract_passing"] is False
    assert result["warnings"] == []
    manifest = json.loads((out / "storage-outage.run.json").read_text(encoding="utf-8"))
    built_checks = {
        (call["section"], call["phase"]): call["checks"]
        for call in manifest["calls"]
        if call["phase"] in ("REFINE", "ABSTRACT")
    }
    assert [(c["section"], c["phase"]) for c in result["calls"]] == list(built_checks)
    for call in result["calls"]:
        checks = built_checks[call["section"], call["phase"]]
        # The same shape as the manifest's, and for the text as built, the same verdicts.
        assert call["checks"].keys() == checks.keys()
        for name, check_record in call["checks"].items():
            assert check_record.keys() == {"passed", "findings"}
            assert check_record["passed"] == checks[name]["passed"], (call["section"], name)


def test_a_report_passing_every_check_exits_0(tmp_path: Path) -> None:
    outline = tmp_path / "club.yaml"
    outline.write_text(CLUB_OUTLINE, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "club.md").write_text(CLUB_REPORT, encoding="utf-8")
    (out / "club.run.json").write_text(json.dumps({"sources": {"references": []}}), "utf-8")
    code, stdout, stderr = check(outline, "--out", out)
    assert (code, stdout, stderr) == (0, "1 of 1 sections pass every check; abstract passes\n", "")


def test_a_missing_report_is_exit_2_naming_the_file(tmp_path: Path) -> None:
    outline, out = built(tmp_path, "quarterly-review")
    (out / "quarterly-review.md").unlink()
    code, _, stderr = check(outline, "--out", out)
    assert code == 2
    assert str(out / "quarterly-review.md") in stderr
    assert "Traceback" not in stderr


def test_a_missing_manifest_is_exit_2_naming_the_file(tmp_path: Path) -> None:
    outline, out = built(tmp_path, "quarterly-review")
    (out / "quarterly-review.run.json").unlink()
    code, _, stderr = check(outline, "--out", out)
    assert code == 2
    assert str(out / "quarterly-review.run.json") in stderr


def test_a_section_heading_removed_is_exit_2_naming_it(tmp_path: Path) -> None:
    outline, out = built(tmp_path, "quarterly-review")
    markdown = out / "quarterly-review.md"
    text = markdown.read_text(encoding="utf-8")
    markdown.write_text(text.replace("### 3.2 Delivery Throughput and Cost\n", ""), "utf-8")
    code, _, stderr = check(outline, "--out", out)
    assert code == 2
    assert '"### 3.2 Delivery Throughput and Cost"' in stderr


def test_a_changed_outline_is_a_warning(tmp_path: Path) -> None:
    outline, out = built(tmp_path, "quarterly-review")
    outline.write_text(outline.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    code, _, stderr = check(outline, "--out", out)
    assert code == 3
    assert "warning:" in stderr and "the outline has changed since the report was built" in stderr


@pytest.mark.parametrize("gate", ["off", "report"])
def test_the_check_runs_whatever_quality_gate_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gate: str
) -> None:
    monkeypatch.setenv("QUALITY_GATE", gate)
    outline, out = built(tmp_path, "quarterly-review")
    assert check(outline, "--out", out)[0] == 3


CLUB_OUTLINE = """\
title: Riverside Garden Club — Annual Summary
date: 2026-05-01
sections:
  - title: Membership
    brief: How membership changed over the year.
    points: [membership grew from 40 to 52 members]
    words: 60
"""

CLUB_REPORT = """\
# Riverside Garden Club — Annual Summary

*1 May 2026*

**Abstract.** The Riverside Garden Club had a good year. Membership grew from 40 to 52 members,
the largest rise in its history, and the newcomers changed the character of the club. Most of
them joined after the spring plant sale, which drew families from the new houses along the
river, and several older members came back once the Saturday sessions moved to the morning.
The club now has a wider mix of ages and skills than before. Younger members bring energy and
fresh ideas about planting for pollinators, while the longer-serving ones pass on what they
know about soil, pruning and the local climate. The committee sees this balance as the main
result of the year and plans to keep the morning sessions, repeat the plant sale and welcome
the new families properly. Volunteers will be asked to guide first-time gardeners through
their first season, so that the people who joined this year stay with the club and help it
grow further in the years ahead.

## 1 Membership

Over the year, membership grew from 40 to 52 members. Most newcomers joined after the spring
plant sale, which drew families from the new houses by the river. Several long-standing members
also returned once the Saturday sessions moved to the morning, so the club now has a healthier
mix of ages and experience.
"""

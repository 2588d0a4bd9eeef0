"""`report compare` against both loopback servers: pairs, guardrail, judge, files, adoption."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from loopback import Fault, OllamaServer, OpenAIServer, always, last_user_text
from typer.testing import CliRunner

from reporting.cli import app

runner = CliRunner()

# A secondary that writes about the target length (200 words, the default), and a primary
# that writes far too much. Sections 2.2 and 5 are both analysis: one group of two pairs.
GOOD = " ".join(
    f"Car {n} sends its data to the platform every hour, and the team keeps it for a year."
    for n in range(1, 12)
)
ANALYSIS = "2.2,5"
LONG = " ".join(
    f"Truck {n} sends its data to the platform every hour, and the team keeps it for a year."
    for n in range(1, 41)
)


def _is_judge(body: dict[str, Any]) -> bool:
    return "<<<TEXT A>>>" in last_user_text(body)


def _text_a(body: dict[str, Any]) -> str:
    prompt = last_user_text(body)
    return prompt.split("<<<TEXT A>>>", 1)[1].split("<<<END OF TEXT A>>>", 1)[0]


@pytest.fixture
def servers(
    hybrid_env: pytest.MonkeyPatch, openai_server: OpenAIServer, ollama_server: OllamaServer
) -> tuple[OpenAIServer, OllamaServer]:
    """The primary writes LONG and, as judge, prefers the secondary's text; Ollama writes GOOD."""

    def primary(body: dict[str, Any]) -> str:
        if _is_judge(body):
            return ("A" if "Car 1 sends" in _text_a(body) else "B") + ("\nIt is the right length.")
        return LONG

    openai_server.reply = primary
    ollama_server.reply = lambda body: GOOD
    return openai_server, ollama_server


def _compare(outline: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app, ["compare", str(outline), "--out", str(out), *extra], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def _record(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "fleet.compare.json").read_text(encoding="utf-8"))
    return data


def test_each_compared_call_goes_once_to_each_provider_with_the_same_prompt(
    outline_file: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    openai, ollama = servers
    code, stdout, stderr = _compare(
        outline_file, tmp_path / "out", "--phases", "EXPAND", "--sections", "1,2"
    )
    assert code == 0, stderr
    expand = [
        [last_user_text(b) for b in server.chat_bodies if "Follow this plan" in last_user_text(b)]
        for server in (openai, ollama)
    ]
    assert len(expand[0]) == len(expand[1]) == 2
    assert sorted(expand[0]) == sorted(expand[1]), "both sides got identical inputs"
    # Inputs: section 1's DRAFT (intro) goes to the primary, section 2's (background) does not.
    assert openai.count == 2 + 1 and ollama.count == 2 + 1
    record = _record(tmp_path / "out")
    assert [(p["section_id"], p["phase"]) for p in record["pairs"]] == [
        ("1", "EXPAND"),
        ("2", "EXPAND"),
    ]
    assert record["metrics"]["cloud_calls"] == openai.count
    assert "wrote" in stdout and "fleet.compare.md" in stdout


def test_the_guardrail_caps_comparison_and_judge_calls(
    outline_file: Path,
    tmp_path: Path,
    servers: tuple[OpenAIServer, OllamaServer],
    hybrid_env: pytest.MonkeyPatch,
) -> None:
    openai, _ = servers
    hybrid_env.setenv("MAX_CLOUD_CALLS", "7")
    code, _, stderr = _compare(outline_file, tmp_path / "out", "--phases", "DRAFT", "--judge")
    assert code == 0, stderr
    # A judged pair needs 3 cloud calls (the primary's side and two verdicts): 2 pairs fit in 7.
    assert openai.count <= 7
    record = _record(tmp_path / "out")
    included = [p for p in record["plan"] if p["included"]]
    assert len(included) == 2 and len(record["pairs"]) == 2
    assert record["metrics"]["cloud_calls"] == openai.count == 6
    assert "no: MAX_CLOUD_CALLS" in stderr


def test_judge_asks_both_orders_and_recommends_the_secondary(
    outline_file: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    openai, _ = servers
    code, _, stderr = _compare(
        outline_file, tmp_path / "out", "--phases", "DRAFT", "--sections", ANALYSIS, "--judge"
    )
    assert code == 0, stderr
    judges = [b for b in openai.chat_bodies if _is_judge(b)]
    assert len(judges) == 4  # two pairs, both orders
    firsts = [_text_a(b) for b in judges]
    assert sum("Car 1 sends" in a for a in firsts) == 2
    record = _record(tmp_path / "out")
    assert [p["verdict"] for p in record["pairs"]] == ["secondary", "secondary"]
    assert stderr.count("| Call=JUDGE | Provider=OPENAI | Model=gpt-4o") == 4
    assert stderr.count("| Call=COMPARE | Provider=LOCAL | Model=llama3:8b") == 2
    [draft] = record["recommendations"]
    assert (draft["phase"], draft["section_type"], draft["action"], draft["pairs"]) == (
        "DRAFT",
        "analysis",
        "move to secondary",
        2,
    )
    assert record["routing_file"] == "DRAFT:\n  analysis: secondary\n"


@pytest.mark.parametrize(
    ("answer", "verdicts"),
    [
        # The same letter in both orders names different providers: a tie.
        ("A\nThe first one.", ["tie", "tie"]),
        # No readable letter: no verdict at all, never a default winner.
        ("I cannot decide.", [None, None]),
    ],
)
def test_a_judge_that_cannot_tell_them_apart(
    outline_file: Path,
    tmp_path: Path,
    servers: tuple[OpenAIServer, OllamaServer],
    answer: str,
    verdicts: list[str | None],
) -> None:
    openai, _ = servers
    openai.reply = lambda body: answer if _is_judge(body) else LONG
    code, _, stderr = _compare(
        outline_file, tmp_path / "out", "--phases", "DRAFT", "--sections", ANALYSIS, "--judge"
    )
    assert code == 0, stderr
    record = _record(tmp_path / "out")
    assert [p["verdict"] for p in record["pairs"]] == verdicts
    assert record["pairs"][0]["judge_replies"] == [answer, answer]


def test_files_show_both_texts_side_by_side_with_recommendations(
    outline_file: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    code, _, stderr = _compare(
        outline_file, tmp_path / "out", "--phases", "EXPAND,REFINE", "--sections", ANALYSIS
    )
    assert code == 0, stderr
    markdown = (tmp_path / "out" / "fleet.compare.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Compare: Fleet Telemetry Platform — Annual Report\n")
    assert "## Recommendations" in markdown
    assert "## EXPAND · analysis" in markdown and "## REFINE · analysis" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| text |"))
    assert "Truck 40 sends" in row and "Car 6 sends" in row
    assert "| words / target |" in markdown
    assert "Judge" not in markdown and "\n\n### REFINE of 5 Analysis\n" in markdown
    record = _record(tmp_path / "out")
    pair = record["pairs"][0]
    assert pair["texts"]["primary"].startswith("Truck 1 sends")
    assert pair["primary"]["measures"]["length_ratio"] > 1.6
    # Without a judge: the secondary is adequate, the primary is too long; EXPAND is already local.
    actions = {(r["phase"], r["action"]) for r in record["recommendations"]}
    assert actions == {("EXPAND", "keep"), ("REFINE", "move to secondary")}


def test_adopting_the_recommendation_through_routing_file_changes_the_plan(
    outline_file: Path,
    tmp_path: Path,
    servers: tuple[OpenAIServer, OllamaServer],
    hybrid_env: pytest.MonkeyPatch,
) -> None:
    code, _, stderr = _compare(
        outline_file, tmp_path / "out", "--phases", "REFINE", "--sections", ANALYSIS
    )
    assert code == 0, stderr
    routing = tmp_path / "routing.yaml"
    routing.write_text(_record(tmp_path / "out")["routing_file"], encoding="utf-8")
    planned = runner.invoke(app, ["plan", str(outline_file), "--json"], catch_exceptions=False)
    before = json.loads(planned.stdout)
    hybrid_env.setenv("ROUTING_FILE", str(routing))
    result = runner.invoke(app, ["plan", str(outline_file), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    after = {(c["section"], c["phase"]): c for c in json.loads(result.stdout)["calls"]}
    for section in ("2.2", "5"):
        assert after[(section, "REFINE")]["role"] == "secondary"
        assert after[(section, "REFINE")]["reason"] == "OVERRIDE"
    assert before["cloud_calls"] - json.loads(result.stdout)["cloud_calls"] == 2


def test_unknown_phase_or_section_is_exit_2_before_any_call(
    outline_file: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    code, _, stderr = _compare(outline_file, tmp_path / "out", "--phases", "DRAFT,POLISH")
    assert code == 2 and "unknown phase POLISH" in stderr
    code, _, stderr = _compare(outline_file, tmp_path / "out", "--sections", "9")
    assert code == 2 and "no section 9" in stderr
    assert sum(server.count for server in servers) == 0
    assert not (tmp_path / "out").exists()


def test_compare_needs_the_primary(
    outline_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECONDARY_PROVIDER", "embedded")
    code, _, stderr = _compare(outline_file, tmp_path / "out")
    assert code == 2
    assert "compare needs both providers; unavailable: primary" in stderr


def test_stats_pool_comparisons_across_runs(
    outline_file: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    out = tmp_path / "out"
    for run in ("a", "b"):
        code, _, stderr = _compare(
            outline_file, out / run, "--phases", "REFINE", "--sections", ANALYSIS, "--no-cache"
        )
        assert code == 0, stderr
    (out / "a" / "broken.compare.json").write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, ["stats", str(out), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    pooled = json.loads(result.stdout)["compare"]
    assert (pooled["runs"], pooled["pairs"]) == (2, 4)
    [refine] = pooled["recommendations"]
    assert (refine["phase"], refine["action"], refine["pairs"]) == (
        "REFINE",
        "move to secondary",
        4,
    )
    # Two runs of one outline: the saving is per report run, the same as one run's.
    single = _record(out / "a")["recommendations"][0]["saving_usd_per_report"]
    assert refine["saving_usd_per_report"] == pytest.approx(single) and single > 0
    assert pooled["routing_file"] == "REFINE:\n  analysis: secondary\n"
    assert "broken.compare.json: unreadable comparison" in result.stderr

    text = runner.invoke(app, ["stats", str(out)], catch_exceptions=False)
    assert "Routing recommendations from 2 comparisons, 4 pairs" in text.stdout
    assert "REFINE:\n  analysis: secondary" in text.stdout


def test_a_failing_side_is_recorded_and_the_comparison_still_written(
    outline_file: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    openai, _ = servers
    openai.faults = always(Fault.http(500))
    code, _, stderr = _compare(
        outline_file, tmp_path / "out", "--phases", "EXPAND", "--sections", "2"
    )
    assert code == 0, stderr
    [pair] = _record(tmp_path / "out")["pairs"]
    assert pair["primary"]["ok"] is False and pair["secondary"]["ok"] is True
    assert "HTTP 500" in pair["errors"]["primary"][0]
    assert "Event=FAILED | Provider=OPENAI" in stderr
    markdown = (tmp_path / "out" / "fleet.compare.md").read_text(encoding="utf-8")
    assert "(failed: OPENAI: HTTP 500" in markdown


def test_an_input_step_failing_everywhere_writes_nothing(
    outline_file: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    _, ollama = servers
    ollama.faults = always(Fault.http(500))
    code, _, stderr = _compare(
        outline_file, tmp_path / "out", "--phases", "REFINE", "--sections", "2"
    )
    assert code == 1
    assert "error (generation failed): 2/DRAFT failed" in stderr
    assert not list((tmp_path / "out").glob("*.compare.*"))


def test_plan_only_prints_what_fits_and_sends_nothing(
    outline_file: Path,
    tmp_path: Path,
    servers: tuple[OpenAIServer, OllamaServer],
    hybrid_env: pytest.MonkeyPatch,
) -> None:
    hybrid_env.setenv("MAX_CLOUD_CALLS", "4")
    code, _, stderr = _compare(outline_file, tmp_path / "out", "--phases", "REFINE", "--plan")
    assert code == 0, stderr
    assert sum(server.count for server in servers) == 0
    assert not (tmp_path / "out").exists()
    rows = [line for line in stderr.splitlines() if "/REFINE" in line]
    assert len(rows) == 9
    assert sum("no: MAX_CLOUD_CALLS" in row for row in rows) == 9 - 4
    assert "4 cloud calls reserved of 4 allowed" in stderr


def test_a_cloud_secondary_counts_against_the_cap_too(
    outline_file: Path,
    tmp_path: Path,
    servers: tuple[OpenAIServer, OllamaServer],
    hybrid_env: pytest.MonkeyPatch,
) -> None:
    openai, ollama = servers
    hybrid_env.setenv("SECONDARY_PROVIDER", "openai")
    hybrid_env.setenv("SECONDARY_MODEL", "gpt-4o-mini")
    hybrid_env.setenv("MAX_CLOUD_CALLS", "9")
    code, _, stderr = _compare(outline_file, tmp_path / "out", "--phases", "EXPAND")
    assert code == 0, stderr
    record = _record(tmp_path / "out")
    # Each pair: 2 cloud calls; each section's DRAFT input: 1 more. 3 pairs fit in 9.
    assert sum(p["included"] for p in record["plan"]) == 3
    assert openai.count == record["metrics"]["cloud_calls"] == 9 and ollama.count == 0
    assert all(p["primary"]["ok"] and p["secondary"]["ok"] for p in record["pairs"])


def test_cached_sides_are_costed_from_their_recorded_tokens(
    outline_file: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    out = tmp_path / "out"
    args = ("--phases", "REFINE", "--sections", ANALYSIS)
    assert _compare(outline_file, out, *args)[0] == 0
    first = _record(out)
    assert _compare(outline_file, out, *args)[0] == 0
    again = _record(out)
    assert again["metrics"]["cache_hits"] > 0 and again["metrics"]["cloud_calls"] == 0
    for before, after in zip(first["pairs"], again["pairs"], strict=True):
        assert after["cached"] == {"primary": True, "secondary": True}
        assert after["primary"]["cost_usd"] == before["primary"]["cost_usd"] > 0
    saving = [r["saving_usd_per_report"] for r in again["recommendations"]]
    assert saving == [r["saving_usd_per_report"] for r in first["recommendations"]]
    assert "| latency | cached | cached |" in (out / "fleet.compare.md").read_text()


def test_sections_leave_the_abstract_out_unless_named(
    outline_file: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    code, _, stderr = _compare(outline_file, tmp_path / "a", "--sections", "3", "--plan")
    assert code == 0 and "ABSTRACT" not in stderr
    assert "0 input steps" in stderr
    code, _, stderr = _compare(outline_file, tmp_path / "b", "--sections", "3,abstract", "--plan")
    assert code == 0 and "│ ABSTRACT" in stderr


def test_nothing_that_fits_is_an_error_and_keeps_earlier_results(
    outline_file: Path,
    tmp_path: Path,
    servers: tuple[OpenAIServer, OllamaServer],
    hybrid_env: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    assert _compare(outline_file, out, "--phases", "REFINE", "--sections", "5")[0] == 0
    earlier = (out / "fleet.compare.json").read_bytes()
    hybrid_env.setenv("MAX_CLOUD_CALLS", "2")
    code, _, stderr = _compare(outline_file, out, "--phases", "REFINE", "--judge")
    assert code == 2
    assert "nothing to compare: MAX_CLOUD_CALLS=2 leaves no room for one pair" in stderr
    assert (out / "fleet.compare.json").read_bytes() == earlier


def test_with_hybrid_mode_off_the_adoption_note_says_to_turn_it_on(
    outline_file: Path,
    tmp_path: Path,
    servers: tuple[OpenAIServer, OllamaServer],
    hybrid_env: pytest.MonkeyPatch,
) -> None:
    hybrid_env.setenv("VRA_HYBRID_MODE", "false")
    code, _, stderr = _compare(
        outline_file, tmp_path / "out", "--phases", "REFINE", "--sections", ANALYSIS
    )
    assert code == 0, stderr
    assert "set VRA_HYBRID_MODE=true to adopt these moves" in stderr
    markdown = (tmp_path / "out" / "fleet.compare.md").read_text(encoding="utf-8")
    assert "and `VRA_HYBRID_MODE=true` (overrides apply in hybrid mode only" in markdown


def test_stats_skip_a_comparison_with_nan(tmp_path: Path) -> None:
    (tmp_path / "x.compare.json").write_text('{"pairs": [{"cost_usd": NaN}]}', encoding="utf-8")
    result = runner.invoke(app, ["stats", str(tmp_path), "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["compare"]["pairs"] == 0
    assert "x.compare.json: not a comparison (NaN is not a number JSON allows)" in result.stderr


def test_the_judge_sees_the_sources_of_a_grounded_section(
    tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    openai, _ = servers
    (tmp_path / "log.md").write_text("The queue peaked at 48,213 events per second.\n")
    outline = tmp_path / "fleet.yaml"
    outline.write_text(
        "title: T\nsources: [log.md]\nsections:\n"
        "  - title: Queue peak\n    type: analysis\n    brief: When the queue peaked.\n"
    )
    code, _, stderr = _compare(outline, tmp_path / "out", "--phases", "DRAFT", "--judge")
    assert code == 0, stderr
    judges = [last_user_text(b) for b in openai.chat_bodies if _is_judge(b)]
    assert len(judges) == 2
    assert all("[1] (source: log.md)\nThe queue peaked at 48,213" in j for j in judges)

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

# A secondary that writes about the target length, and a primary that writes far too much.
GOOD = " ".join(
    f"Car {n} sends its data to the platform every hour, and the team keeps it for a year."
    for n in range(1, 7)
)
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
    result = runner.invoke(app, ["compare", str(outline), "--out", str(out), *extra])
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
        outline_file, tmp_path / "out", "--phases", "DRAFT", "--sections", "1,6", "--judge"
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
    assert {(r["phase"], r["section_type"], r["action"]) for r in record["recommendations"]} == {
        ("DRAFT", "intro", "move to secondary"),
        ("DRAFT", "recommendations", "move to secondary"),
    }
    assert "DRAFT:\n  intro: secondary\n  recommendations: secondary\n" in record["routing_file"]


def test_a_judge_that_always_answers_a_gives_ties(
    outline_file: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    openai, _ = servers
    openai.reply = lambda body: "A\nThe first one." if _is_judge(body) else LONG
    code, _, stderr = _compare(
        outline_file, tmp_path / "out", "--phases", "DRAFT", "--sections", "1", "--judge"
    )
    assert code == 0, stderr
    assert [p["verdict"] for p in _record(tmp_path / "out")["pairs"]] == ["tie"]


def test_files_show_both_texts_side_by_side_with_recommendations(
    outline_file: Path, tmp_path: Path, servers: tuple[OpenAIServer, OllamaServer]
) -> None:
    code, _, stderr = _compare(
        outline_file, tmp_path / "out", "--phases", "EXPAND,REFINE", "--sections", "1"
    )
    assert code == 0, stderr
    markdown = (tmp_path / "out" / "fleet.compare.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Compare: Fleet Telemetry Platform — Annual Report\n")
    assert "## Recommendations" in markdown
    assert "## EXPAND · intro" in markdown and "## REFINE · intro" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| text |"))
    assert "Truck 40 sends" in row and "Car 6 sends" in row
    assert "| words / target |" in markdown
    assert "Judge" not in markdown and "\n\n### REFINE of 1 Introduction\n" in markdown
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
        outline_file, tmp_path / "out", "--phases", "REFINE", "--sections", "1"
    )
    assert code == 0, stderr
    routing = tmp_path / "routing.yaml"
    routing.write_text(_record(tmp_path / "out")["routing_file"], encoding="utf-8")
    before = json.loads(runner.invoke(app, ["plan", str(outline_file), "--json"]).stdout)
    hybrid_env.setenv("ROUTING_FILE", str(routing))
    result = runner.invoke(app, ["plan", str(outline_file), "--json"])
    assert result.exit_code == 0, result.stderr
    after = {(c["section"], c["phase"]): c for c in json.loads(result.stdout)["calls"]}
    assert after[("1", "REFINE")]["role"] == "secondary"
    assert after[("1", "REFINE")]["reason"] == "OVERRIDE"
    assert before["cloud_calls"] - json.loads(result.stdout)["cloud_calls"] == 1


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
            outline_file, out / run, "--phases", "REFINE", "--sections", "1", "--no-cache"
        )
        assert code == 0, stderr
    (out / "a" / "broken.compare.json").write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, ["stats", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    pooled = json.loads(result.stdout)["compare"]
    assert (pooled["runs"], pooled["pairs"]) == (2, 2)
    [refine] = pooled["recommendations"]
    assert (refine["phase"], refine["action"], refine["pairs"]) == (
        "REFINE",
        "move to secondary",
        2,
    )
    assert pooled["routing_file"] == "REFINE:\n  intro: secondary\n"
    assert "broken.compare.json: unreadable comparison" in result.stderr

    text = runner.invoke(app, ["stats", str(out)])
    assert "Routing recommendations from 2 comparisons, 2 pairs" in text.stdout
    assert "REFINE:\n  intro: secondary" in text.stdout


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

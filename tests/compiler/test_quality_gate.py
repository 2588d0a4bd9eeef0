"""The quality gate: failing texts are repaired, escalated to the primary, or kept and flagged."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fakes import EVERYONE, FakeProviders, compile_outline
from langchain_core.messages import BaseMessage
from passing import (
    ABSTRACT,
    DRAFT,
    DRAFT_INVENTED,
    OUTLINE,
    PROSE,
    PROSE_INVENTED,
    PROSE_WORSE,
)

from reporting.compiler.execute import CompiledReport
from reporting.compiler.models import ChatModels
from reporting.compiler.prompts import repair_messages
from reporting.compiler.runner import StepResult
from reporting.errors import ProviderServerError
from reporting.observe.manifest import build_manifest
from reporting.outline.loader import load_outline
from reporting.outline.model import Outline
from reporting.phases import CompilationPhase
from reporting.routing.roles import Role
from reporting.settings import Settings


def outline_at(tmp_path: Path) -> Outline:
    path = tmp_path / "outline.yaml"
    path.write_text(OUTLINE, encoding="utf-8")
    return load_outline(path)


def build(
    tmp_path: Path, fakes: FakeProviders, *, hybrid: bool = False, **settings: object
) -> CompiledReport:
    values = {
        "vra_hybrid_mode": hybrid,
        "openai_api_key": "sk-test-0000",
        "quality_gate": "repair",
        **settings,
    }
    config = Settings(_env_file=None, **values)  # type: ignore[arg-type]
    return compile_outline(
        outline_at(tmp_path), config, ChatModels(config, factory=fakes), available=EVERYONE
    )


def result(report: CompiledReport, phase: CompilationPhase) -> StepResult:
    section = None if phase is CompilationPhase.ABSTRACT else report.outline.sections[0].id
    [found] = [r for r in report.results if r.step.phase is phase and r.step.section_id == section]
    return found


def sequence(*texts: str) -> FakeProviders:
    """One provider answering `texts` in order (call n gets texts[n-1])."""
    return FakeProviders(scripts={"openai": lambda n: texts[n - 1]})


def test_the_default_gate_repairs_once_and_writes_no_comments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("QUALITY_GATE")  # the test suite's own default is off
    settings = Settings(_env_file=None)
    assert (settings.quality_gate, settings.quality_max_repairs) == ("repair", 1)
    assert settings.review_comments is False


def test_good_texts_pass_every_check_and_cost_no_extra_call(tmp_path: Path) -> None:
    fakes = sequence(DRAFT, PROSE, PROSE, ABSTRACT)
    report = build(tmp_path, fakes, quality_gate="repair")
    assert fakes.calls("openai") == 4
    for step in report.results:
        assert step.checks is not None and step.failed_checks == [], step.checks
        assert step.repairs == 0 and not step.escalated


def test_an_invented_figure_is_repaired_by_a_call_naming_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="reporting")
    fakes = sequence(DRAFT_INVENTED, DRAFT, PROSE, PROSE, ABSTRACT)
    report = build(tmp_path, fakes)
    draft = result(report, CompilationPhase.DRAFT)
    assert fakes.calls("openai") == 5
    assert draft.text == DRAFT and draft.failed_checks == []
    assert draft.repairs == 1 and draft.attempts == 2
    assert [call.kind for call in draft.extra_calls] == ["repair"]
    assert "Event=REPAIR" in caplog.text and "Failed=facts" in caplog.text


def test_the_repair_message_names_each_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[BaseMessage]] = []

    def spy(messages: list[BaseMessage], text: str, problems: list[str]) -> list[BaseMessage]:
        built = repair_messages(messages, text, problems)
        seen.append(built)
        return built

    monkeypatch.setattr("reporting.compiler.gate.repair_messages", spy)
    build(tmp_path, sequence(DRAFT_INVENTED, DRAFT, PROSE, PROSE, ABSTRACT))
    [built] = seen
    # The call again, the reply that failed, then the problems.
    assert built[-2].content == DRAFT_INVENTED
    message = str(built[-1].content)
    assert "15" in message and "18" in message and "9" in message and "14" in message
    assert message.startswith("Your text has these problems:")


def test_when_every_attempt_fails_the_best_is_kept_and_flagged(tmp_path: Path) -> None:
    # REFINE: the first text has one unsupported figure, its repair two, the EXPAND it polished
    # (itself repaired in vain) two: the first is kept.
    fakes = sequence(DRAFT, PROSE_WORSE, PROSE_WORSE, PROSE_INVENTED, PROSE_WORSE, ABSTRACT)
    report = build(tmp_path, fakes)
    refine = result(report, CompilationPhase.REFINE)
    assert refine.text == PROSE_INVENTED
    assert refine.failed_checks == ["facts"]
    assert refine.repairs == 1
    assert [call.findings for call in refine.extra_calls] == [2]


def test_report_gate_records_checks_but_never_calls_again(tmp_path: Path) -> None:
    fakes = sequence(DRAFT_INVENTED, PROSE, PROSE, ABSTRACT)
    report = build(tmp_path, fakes, quality_gate="report")
    draft = result(report, CompilationPhase.DRAFT)
    assert fakes.calls("openai") == 4
    assert draft.failed_checks == ["facts"] and draft.repairs == 0


def test_off_gate_checks_nothing(tmp_path: Path) -> None:
    fakes = sequence(DRAFT_INVENTED, PROSE, PROSE, ABSTRACT)
    report = build(tmp_path, fakes, quality_gate="off")
    assert all(step.checks is None for step in report.results)
    assert fakes.calls("openai") == 4


def test_a_failing_secondary_text_escalates_to_the_primary(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="reporting")
    # Hybrid: EXPAND goes to the secondary, which fails twice; the primary's text passes.
    fakes = FakeProviders(
        scripts={
            "openai": lambda n: [DRAFT, PROSE, PROSE, ABSTRACT][n - 1],
            "local": lambda n: PROSE_INVENTED,
        }
    )
    report = build(tmp_path, fakes, hybrid=True, max_cloud_calls=10)
    expand = result(report, CompilationPhase.EXPAND)
    assert expand.step.provider.role is Role.SECONDARY
    assert expand.escalated and expand.provider.role is Role.PRIMARY
    assert expand.first_provider is not None and expand.first_provider.role is Role.SECONDARY
    assert expand.text == PROSE and expand.failed_checks == []
    assert (fakes.calls("local"), fakes.calls("openai")) == (2, 4)
    line = next(r.getMessage() for r in caplog.records if "Event=ESCALATE" in r.getMessage())
    assert (
        "Phase=EXPAND | Section=1 | Event=ESCALATE | Reason=QUALITY | From=SECONDARY | "
        "To=PRIMARY | Failed=facts"
    ) in line
    assert report.metrics.cloud_calls == 4


def test_no_escalation_takes_a_call_a_planned_step_needs(tmp_path: Path) -> None:
    # Three planned cloud steps (DRAFT, REFINE, ABSTRACT) and exactly three calls allowed.
    fakes = FakeProviders(
        scripts={
            "openai": lambda n: [DRAFT, PROSE, ABSTRACT][n - 1],
            "local": lambda n: PROSE_INVENTED,
        }
    )
    report = build(tmp_path, fakes, hybrid=True, max_cloud_calls=3)
    expand = result(report, CompilationPhase.EXPAND)
    assert not expand.escalated and expand.failed_checks == ["facts"]
    assert result(report, CompilationPhase.ABSTRACT).provider.role is Role.PRIMARY
    assert report.metrics.cloud_calls == 3


def test_no_escalation_to_an_unreachable_primary(tmp_path: Path) -> None:
    # Every step on the secondary; its EXPAND (call 2) fails twice.
    texts = [DRAFT, PROSE_INVENTED, PROSE_INVENTED, PROSE, ABSTRACT]
    fakes = FakeProviders(scripts={"local": lambda n: texts[n - 1]})
    values = {"vra_hybrid_mode": True, "max_cloud_calls": 10, "quality_gate": "repair"}
    config = Settings(_env_file=None, **values)  # type: ignore[arg-type]
    report = compile_outline(
        outline_at(tmp_path),
        config,
        ChatModels(config, factory=fakes),
        available={Role.PRIMARY: False, Role.SECONDARY: True},
    )
    assert (fakes.calls("openai"), fakes.calls("local")) == (0, 5)
    assert result(report, CompilationPhase.EXPAND).failed_checks == ["facts"]
    assert not any(step.escalated for step in report.results)


def test_a_figure_kept_unsupported_is_not_support_for_the_next_phase(tmp_path: Path) -> None:
    # DRAFT invents 15 incidents and keeps it (report gate); EXPAND repeats it: still flagged.
    fakes = sequence(DRAFT_INVENTED, PROSE_INVENTED, PROSE_INVENTED, ABSTRACT)
    report = build(tmp_path, fakes, quality_gate="report")
    for phase in (CompilationPhase.EXPAND, CompilationPhase.REFINE):
        assert result(report, phase).failed_checks == ["facts"], phase
    # The message names the outline's figures, not the DRAFT's invented copy of them.
    [finding] = result(report, CompilationPhase.REFINE).checks[0].findings
    assert "the facts say 9 and 14" in finding.message


def test_any_section_may_name_a_date_of_the_outline(tmp_path: Path) -> None:
    outline = OUTLINE.replace(
        "sections:\n", "sections:\n  - title: Scope\n    brief: Covers July to September 2026.\n"
    )
    path = tmp_path / "dated.yaml"
    path.write_text(outline, encoding="utf-8")
    config = Settings(_env_file=None, quality_gate="report")  # type: ignore[call-arg]
    dated = PROSE.replace("The quarter had", "In September 2026 the quarter had")
    fakes = FakeProviders(scripts={"openai": lambda n: dated})
    report = compile_outline(
        load_outline(path), config, ChatModels(config, factory=fakes), available=EVERYONE
    )
    incidents = [r for r in report.results if r.step.section_id == "2" and r.checks]
    assert incidents and all("facts" not in r.failed_checks for r in incidents)


TWO_SECTIONS = (
    OUTLINE
    + """\
  - title: Outlook
    type: analysis
    brief: What the next quarter holds.
    words: 30
"""
)


@pytest.mark.parametrize("slow_call", [1, 2])
def test_the_spare_call_is_the_first_sections_whatever_finishes_first(
    tmp_path: Path, slow_call: int
) -> None:
    # Both EXPANDs fail on the secondary; one spare cloud call: section 1's, always.
    path = tmp_path / "two.yaml"
    path.write_text(TWO_SECTIONS, encoding="utf-8")
    config = Settings(
        _env_file=None,  # type: ignore[call-arg]
        vra_hybrid_mode=True,
        openai_api_key="sk-test-0000",
        quality_gate="repair",
        quality_max_repairs=0,
        max_cloud_calls=6,  # 5 planned (2 DRAFT, 2 REFINE, ABSTRACT) + 1 spare
    )

    def secondary(n: int) -> str:
        # Both EXPANDs are in flight at once (two secondary slots): the slow one finishes last,
        # whichever section it is.
        if n == slow_call:
            time.sleep(0.3)
        return PROSE_WORSE

    fakes = FakeProviders(scripts={"openai": lambda n: PROSE, "local": secondary})
    report = compile_outline(
        load_outline(path), config, ChatModels(config, factory=fakes), available=EVERYONE
    )
    escalated = {r.step.section_id for r in report.results if r.escalated}
    assert escalated == {"1"}
    assert report.metrics.cloud_calls == 6


def test_a_draft_is_repaired_for_what_it_carries_not_for_its_length_or_form(
    tmp_path: Path,
) -> None:
    # A prose DRAFT (form) of 60 words (length): recorded, not repaired; REFINE would rewrite it.
    draft = f"{PROSE} {PROSE.replace('The quarter', 'That quarter')}"
    fakes = sequence(draft, PROSE, PROSE, ABSTRACT)
    report = build(tmp_path, fakes)
    step = result(report, CompilationPhase.DRAFT)
    assert set(step.failed_checks) == {"form", "length"}
    assert step.repairs == 0 and fakes.calls("openai") == 4


def test_a_repair_that_keeps_a_quoted_sentence_is_no_echo(tmp_path: Path) -> None:
    # The repair message quotes the failing sentence; the repaired text keeps it, figure gone.
    invented = PROSE.replace("across services", "across 40 services")
    fakes = sequence(DRAFT, PROSE, invented, PROSE, ABSTRACT)
    report = build(tmp_path, fakes)
    refine = result(report, CompilationPhase.REFINE)
    assert refine.text == PROSE and refine.failed_checks == []


def test_a_failed_cloud_repair_is_not_retried_and_costs_only_its_call(tmp_path: Path) -> None:
    replies: list[str | BaseException] = [
        DRAFT_INVENTED,
        ProviderServerError("HTTP 503"),
        PROSE,
        PROSE,
        ABSTRACT,
    ]
    fakes = FakeProviders(scripts={"openai": lambda n: replies[n - 1]})
    report = build(tmp_path, fakes, max_cloud_calls=6, max_retries=2)
    draft = result(report, CompilationPhase.DRAFT)
    assert fakes.calls("openai") == 5  # the repair was sent once, not retried
    assert draft.text == DRAFT_INVENTED and draft.failed_checks == ["facts"]
    assert [call.findings for call in draft.extra_calls] == [None]
    assert report.metrics.cloud_calls == 5


def test_no_escalation_to_the_same_provider_and_model(tmp_path: Path) -> None:
    fakes = FakeProviders(scripts={"local": lambda n: [DRAFT, *[PROSE_INVENTED] * 9][n - 1]})
    report = build(
        tmp_path,
        fakes,
        hybrid=True,
        primary_provider="local",
        primary_model="llama3:8b",
        secondary_model="llama3:8b",
    )
    assert not any(step.escalated for step in report.results)


def test_the_manifest_puts_each_calls_tokens_on_the_provider_that_took_them(
    tmp_path: Path,
) -> None:
    # EXPAND: the secondary writes and repairs (2 calls), the primary's escalation is kept.
    fakes = FakeProviders(
        scripts={
            "openai": lambda n: [DRAFT, PROSE, PROSE, ABSTRACT][n - 1],
            "local": lambda n: PROSE_INVENTED,
        }
    )
    report = build(tmp_path, fakes, hybrid=True, max_cloud_calls=10)
    names = {"markdown": "x.md", "docx": "x.docx", "manifest": "x.run.json"}
    manifest = build_manifest(report, report_settings(report), tmp_path / "o.yaml", names)
    by_provider = manifest["metrics"]["by_provider"]
    # Every fake call reports 10 tokens in and 5 out.
    assert (by_provider["local"]["input_tokens"], by_provider["local"]["requests"]) == (20, 2)
    assert (by_provider["openai"]["input_tokens"], by_provider["openai"]["requests"]) == (40, 4)
    [expand] = [c for c in manifest["calls"] if c["phase"] == "EXPAND"]
    assert expand["provider"] == "openai" and expand["first_provider"] == "local"
    assert [q["kind"] for q in expand["quality_calls"]] == ["repair", "escalation"]
    assert manifest["quality"]["escalations"] == 1 and manifest["quality"]["repairs"] == 1


def report_settings(report: CompiledReport) -> Settings:
    """Settings as `build` made them in hybrid mode: the manifest reads prices from them."""
    return Settings(_env_file=None, vra_hybrid_mode=True, openai_api_key="sk-test-0000")  # type: ignore[call-arg]


def test_a_refine_that_made_the_section_worse_is_undone(tmp_path: Path) -> None:
    # The EXPAND passes; its REFINE and the repair invent figures: the EXPAND's text is kept.
    expand = PROSE.replace("The team now plans", "The team plans")
    fakes = sequence(DRAFT, expand, PROSE_INVENTED, PROSE_WORSE, ABSTRACT)
    report = build(tmp_path, fakes)
    refine = result(report, CompilationPhase.REFINE)
    assert refine.text == expand and refine.kept_previous
    assert refine.failed_checks == [] and refine.repairs == 1
    assert fakes.calls("openai") == 5  # keeping it cost no call

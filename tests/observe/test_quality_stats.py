"""Pass rates per provider and phase, and the repair cost, over hand-written manifests.

Version 3 manifests have no checks; version 4 ones record each call's checks, repairs,
escalation and quality calls, and the report's `quality`. Every figure below is worked out by
hand from the manifests in `runs()`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_dashboard import CHROMIUM_FLAGS, chromium
from typer.testing import CliRunner

from reporting.cli import app
from reporting.observe.dashboard import render_dashboard
from reporting.observe.quality import quality_record
from reporting.observe.stats import (
    EscalationRoute,
    PassRate,
    QualityStats,
    aggregate,
    load_manifests,
    most_failed,
)

GENERATED_AT = dt.datetime(2026, 3, 13, 9, 0, tzinfo=dt.UTC)
LOCAL = ("local", "llama3:8b")
CLOUD = ("openai", "gpt-4o")
CHECKS = ("facts", "cited_figures", "citations", "echo", "leaks", "form", "length", "duplication")

runner = CliRunner()


def checks(*failed: str) -> dict[str, Any]:
    """A `checks` record where the named checks fail with one finding each."""
    return {
        name: {
            "passed": name not in failed,
            "findings": (
                [{"message": f"{name} problem", "sentence": "A sentence."}]
                if name in failed
                else []
            ),
        }
        for name in CHECKS
    }


def extra(kind: str, who: tuple[str, str], *, cost: float = 0.0, findings: int | None = 0) -> Any:
    """One `quality_calls` entry."""
    provider, model = who
    return {
        "kind": kind,
        "provider": provider,
        "model": model,
        "cloud": provider == "openai",
        "requests": 1,
        "latency_s": 2.0 if provider == "openai" else 4.0,
        "cached": False,
        "input_tokens": 500,
        "output_tokens": 120,
        "cost_usd": cost,
        "findings": findings,
    }


def call(
    phase: str,
    who: tuple[str, str],
    *,
    section: str | None = "1",
    failed: tuple[str, ...] | None = (),
    extras: list[dict[str, Any]] | None = None,
    version: int = 4,
) -> dict[str, Any]:
    """A `calls` record: who wrote the final text, and (version 4) its checks and repairs."""
    provider, model = who
    record: dict[str, Any] = {
        "section": None if phase == "ABSTRACT" else section,
        "section_type": "analysis",
        "phase": phase,
        "role": "primary" if provider == "openai" else "secondary",
        "provider": provider,
        "model": model,
        "cloud": provider == "openai",
        "cached": False,
        "attempts": 1,
        "requests": {provider: 1},
        "failures": {},
        "latency_s": 1.0,
        "input_tokens": 400,
        "output_tokens": 100,
        "cost_usd": 0.0,
        "baseline_usd": 0.0,
        "fallback": None,
        "errors": [],
    }
    if version >= 4:
        found = extras or []
        record.update(
            checks=None if failed is None else checks(*failed),
            repairs=sum(1 for e in found if e["kind"] == "repair"),
            escalated=any(e["kind"] == "escalation" for e in found),
            quality_calls=found,
        )
    return record


def manifest(
    name: str, started_at: str, calls: list[dict[str, Any]], *, version: int, gate: str = "repair"
) -> dict[str, Any]:
    """A run manifest with the given calls; version 4 adds the report's `quality`."""
    data: dict[str, Any] = {
        "manifest_version": version,
        "outline": {"path": f"outlines/{name}.yaml", "title": name.title()},
        "started_at": started_at,
        "providers": {
            "primary": {"provider": "openai", "model": "gpt-4o", "cloud": True},
            "secondary": {"provider": "local", "model": "llama3:8b", "cloud": False},
        },
        "calls": calls,
        "metrics": {
            "cloud_calls": sum(1 for c in calls if c["cloud"]),
            "max_cloud_calls": 15,
            "cost_usd": 0.1,
            "baseline_usd": 0.2,
            "saving_usd": 0.1,
            "fallbacks": {},
        },
    }
    if version >= 4:
        data["quality"] = quality_record(calls, gate)
    return data


def runs() -> list[dict[str, Any]]:
    """An old run, an unchecked new one, and two checked ones with repairs and an escalation."""
    old = manifest(
        "old",
        "2026-03-01T09:00:00+00:00",
        [call("DRAFT", LOCAL, version=3), call("REFINE", CLOUD, version=3)],
        version=3,
    )
    unchecked = manifest(
        "unchecked",
        "2026-03-02T09:00:00+00:00",
        [call("DRAFT", LOCAL, failed=None), call("REFINE", CLOUD, failed=None)],
        version=4,
        gate="off",
    )
    alpha = manifest(
        "alpha",
        "2026-03-03T09:00:00+00:00",
        [
            # The local EXPAND failed its length, was repaired once, and still fails: flagged.
            call("DRAFT", LOCAL),
            call(
                "EXPAND",
                LOCAL,
                failed=("length",),
                extras=[extra("repair", LOCAL, findings=1)],
            ),
            # Section 1's REFINE: the local text failed twice; the primary's text was kept.
            # It counts for openai, the provider that wrote the final text.
            call(
                "REFINE",
                CLOUD,
                extras=[
                    extra("repair", LOCAL, findings=2),
                    extra("escalation", CLOUD, cost=0.004, findings=0),
                ],
            ),
            call("REFINE", CLOUD, section="2", failed=("facts", "echo")),
            call("ABSTRACT", CLOUD),
        ],
        version=4,
    )
    beta = manifest(
        "beta",
        "2026-03-04T09:00:00+00:00",
        [
            call("DRAFT", LOCAL, failed=("form",)),
            call("EXPAND", LOCAL, failed=("length", "facts")),
            # Escalated, but the escalation's text had more findings: the local text was kept.
            call(
                "REFINE",
                LOCAL,
                extras=[extra("escalation", CLOUD, cost=0.006, findings=3)],
            ),
            call("ABSTRACT", CLOUD),
        ],
        version=4,
        gate="strict",
    )
    return [old, unchecked, alpha, beta]


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    """The manifests as `*.run.json` files."""
    folder = tmp_path / "runs"
    folder.mkdir()
    for data in runs():
        name = Path(data["outline"]["path"]).stem
        (folder / f"{name}.run.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


@pytest.fixture
def quality(runs_dir: Path) -> QualityStats:
    manifests, skipped = load_manifests([runs_dir])
    assert len(manifests) == 4 and not skipped
    return aggregate(manifests).quality


def test_only_checked_runs_count(quality: QualityStats) -> None:
    """The version 3 run and the QUALITY_GATE=off run are counted as unchecked, nothing more."""
    assert (quality.checked_runs, quality.unchecked_runs) == (2, 2)
    assert quality.gates == {"repair": 1, "strict": 1}
    assert (quality.checked_calls, quality.passed_calls) == (9, 5)
    assert quality.pass_rate == round(5 / 9, 4)


def test_pass_rates_per_provider_and_phase(quality: QualityStats) -> None:
    """Rows in pipeline order; an escalated text counts for the provider that wrote it last."""
    assert quality.pass_rates == [
        PassRate("local", "llama3:8b", "DRAFT", 2, 1, 0.5, {"form": 1}),
        PassRate("local", "llama3:8b", "EXPAND", 2, 0, 0.0, {"length": 2, "facts": 1}),
        PassRate("local", "llama3:8b", "REFINE", 1, 1, 1.0, {}),
        PassRate("openai", "gpt-4o", "REFINE", 2, 1, 0.5, {"echo": 1, "facts": 1}),
        PassRate("openai", "gpt-4o", "ABSTRACT", 2, 2, 1.0, {}),
    ]


def test_repair_cost_and_escalations(quality: QualityStats) -> None:
    """Repairs, escalations from the secondary to the primary, what they cost, reports passing."""
    assert (quality.repairs, quality.escalations) == (2, 2)
    assert quality.escalation_routes == [
        EscalationRoute("local", "llama3:8b", "openai", "gpt-4o", escalations=2, kept=1)
    ]
    assert (quality.extra_requests, quality.extra_cloud_requests) == (4, 2)
    assert quality.extra_cost_usd == pytest.approx(0.01)
    assert quality.extra_latency_s == pytest.approx(12.0)  # 4 + 4 local, 2 + 2 cloud
    # alpha's REFINE of section 2 fails facts: one unsupported figure left, and alpha fails.
    assert quality.reports_passing == 1
    assert quality.unsupported_figures == 1


def test_runs_say_whether_their_checks_passed(runs_dir: Path) -> None:
    manifests, _ = load_manifests([runs_dir])
    summary = aggregate(manifests)
    assert [(r.title, r.quality_passed) for r in summary.runs] == [
        ("Old", None),
        ("Unchecked", None),
        ("Alpha", False),
        ("Beta", True),
    ]


def test_only_old_manifests_mean_nothing_checked() -> None:
    """Version 3 manifests only: no row, no cost, no crash."""
    old = runs()[0] | {"_path": "old.run.json"}
    quality = aggregate([old]).quality
    assert (quality.checked_runs, quality.unchecked_runs, quality.checked_calls) == (0, 1, 0)
    assert quality.pass_rates == [] and quality.escalation_routes == []
    assert (quality.pass_rate, quality.extra_cost_usd, quality.reports_passing) == (0.0, 0.0, 0)


def test_a_manifest_without_its_quality_record_is_worked_out_from_its_calls() -> None:
    alpha = runs()[2] | {"_path": "alpha.run.json"}
    del alpha["quality"]
    quality = aggregate([alpha]).quality
    assert (quality.checked_runs, quality.reports_passing, quality.unsupported_figures) == (1, 0, 1)


def test_most_failed_names_ties_together() -> None:
    assert most_failed({"length": 2, "facts": 1}) == "length (2)"
    assert most_failed({"facts": 3, "echo": 3, "form": 1}) == "echo, facts (3)"
    assert most_failed({}) == ""


def test_json_has_the_quality_figures(runs_dir: Path) -> None:
    result = runner.invoke(app, ["stats", str(runs_dir), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["quality"]
    assert list(data) == [
        "checked_runs",
        "unchecked_runs",
        "gates",
        "checked_calls",
        "passed_calls",
        "pass_rate",
        "pass_rates",
        "reports_passing",
        "unsupported_figures",
        "repairs",
        "escalations",
        "escalation_routes",
        "extra_requests",
        "extra_cloud_requests",
        "extra_cost_usd",
        "extra_latency_s",
    ]
    assert data["pass_rates"][1] == {
        "provider": "local",
        "model": "llama3:8b",
        "phase": "EXPAND",
        "checked": 2,
        "passed": 0,
        "pass_rate": 0.0,
        "failures": {"length": 2, "facts": 1},
    }
    assert data["escalation_routes"][0]["kept"] == 1


def test_cli_prints_the_pass_rate_table_and_the_repair_cost(runs_dir: Path) -> None:
    result = runner.invoke(
        app, ["stats", str(runs_dir)], catch_exceptions=False, env={"COLUMNS": "140"}
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Quality checks per provider and phase (2 of 4 runs checked)" in text
    rows = {
        tuple(cell.strip() for cell in line.strip("│ ").split("│"))
        for line in text.splitlines()
        if line.startswith("│")
    }
    assert ("EXPAND", "local", "llama3:8b", "2", "0", "0%", "length (2)") in rows
    assert ("REFINE", "openai", "gpt-4o", "2", "1", "50%", "echo, facts (1)") in rows
    assert ("ABSTRACT", "openai", "gpt-4o", "2", "2", "100%", "-") in rows
    assert (
        "checks: 5 of 9 texts passed (56%); reports passing: 1 of 2 "
        "(QUALITY_GATE repair 1, strict 1); unsupported figures left: 1"
    ) in text
    assert (
        "repair cost: 2 repairs, 2 escalations (local llama3:8b → openai gpt-4o 2 (1 kept)); "
        "4 extra requests (2 cloud), $0.0100, 12.0 s"
    ) in text
    assert "{" not in text and "}" not in text  # no Python dict printed raw


def test_cli_says_when_nothing_was_checked(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "old.run.json").write_text(json.dumps(runs()[0]), encoding="utf-8")
    result = runner.invoke(app, ["stats", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "quality checks: none of 1 runs checked" in result.stdout
    assert "Quality checks per provider" not in result.stdout


def card(page: str) -> str:
    """The quality card's HTML, whitespace collapsed."""
    return re.sub(r"\s+", " ", page.split('id="quality"')[1].split("</section>")[0])


def test_dashboard_shows_pass_rates_and_repair_cost(runs_dir: Path) -> None:
    manifests, _ = load_manifests([runs_dir])
    page = render_dashboard(aggregate(manifests), generated_at=GENERATED_AT)
    quality = card(page)
    assert "2 of 4 runs checked · QUALITY_GATE repair 1, strict 1" in quality
    assert quality.count("<tr") == 6  # the head, then DRAFT, EXPAND, REFINE (2 rows), ABSTRACT
    assert (
        '<td class="phase">REFINE</td><td>local<span class="sub">llama3:8b</span></td>' in quality
    )
    assert '<td class="phase"></td><td>openai<span class="sub">gpt-4o</span></td>' in quality
    assert '<td class="r low">0.0%</td>' in quality  # local EXPAND
    assert '<td class="r">100.0%</td>' in quality
    assert '<td title="length 2, facts 1">length (2)</td>' in quality
    assert "<b>5</b> of 9 texts passed every check (55.6%)" in quality
    assert "<b>1</b> of 2 reports passing" in quality
    assert "<b>1</b> unsupported figure left" in quality
    assert "<b>2</b> repairs, <b>2</b> escalations" in quality
    assert "<b>4</b> extra requests (2 cloud)" in quality
    assert "<b>$0.010</b> extra cost" in quality
    assert "<b>12.00 s</b> extra model time" in quality
    assert "Escalated local llama3:8b → openai gpt-4o: 2 (1 kept)" in quality
    # The runs table says which runs passed their checks.
    table = re.sub(r"\s+", " ", page.split('id="runs"')[1])
    assert table.count('<td class="fail">failing</td>') == 1
    assert table.count("<td>passed</td>") == 1
    assert table.count("<td>—</td>") == 2


def test_dashboard_without_checked_runs_says_so() -> None:
    old = runs()[0] | {"_path": "old.run.json"}
    quality = card(render_dashboard(aggregate([old]), generated_at=GENERATED_AT))
    assert "0 of 1 run checked" in quality
    assert "No checked run" in quality and "<table" not in quality


def test_dashboard_with_quality_in_headless_chromium(runs_dir: Path, tmp_path: Path) -> None:
    """The quality card loads in a real browser without a console error."""
    manifests, _ = load_manifests([runs_dir])
    page = tmp_path / "dashboard.html"
    page.write_text(render_dashboard(aggregate(manifests), generated_at=GENERATED_AT), "utf-8")
    flags = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert not [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert re.search(r'<table class="latency" id="pass-rates">', dom.stdout)
    assert dom.stdout.count('class="pass-low"') == 1  # local EXPAND; 50% is not low

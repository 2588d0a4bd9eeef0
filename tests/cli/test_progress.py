"""The live table on a terminal: marks for queued, running and written steps, time, estimate."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from rich.console import Console

from reporting.cli.common import configure_logging
from reporting.cli.progress import LiveProgress
from reporting.compiler.runner import StepResult
from reporting.logs import SkipRoutine, hybrid, hybrid_routine
from reporting.outline.loader import load_outline
from reporting.routing.plan import make_plan
from reporting.routing.roles import Role
from reporting.settings import load_settings
from reporting.text import duration


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _progress(outline_file: Path, clock: Clock) -> tuple[LiveProgress, Console]:
    outline = load_outline(outline_file)
    plan = make_plan(outline, load_settings(), {Role.PRIMARY: True, Role.SECONDARY: True})
    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    progress = LiveProgress(console, clock=clock)
    progress.planned(outline, plan)
    progress.close()
    progress.live = None  # drawn on demand below
    return progress, console


def _render(progress: LiveProgress) -> str:
    console = Console(file=io.StringIO(), width=120)
    console.print(progress._table())
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def test_marks_say_waiting_running_and_written(outline_file: Path) -> None:
    clock = Clock()
    progress, _ = _progress(outline_file, clock)
    assert progress.plan is not None
    first, second = progress.plan.steps[0], progress.plan.steps[1]
    progress.step("start", first, None)
    progress.step("start", second, None)
    progress.step("sent", first, None)
    row = next(line for line in _render(progress).splitlines() if "1 Introduction" in line)
    assert "▶" in row and "⋯" in row  # one request out, the next phase waiting
    result = StepResult(step=first, text="Text.", provider=first.provider)
    progress.step("done", first, result)
    progress.step("sent", first, None)  # a repair call after the step was written
    row = next(line for line in _render(progress).splitlines() if "1 Introduction" in line)
    assert "✓" in row and "▶" not in row


def test_the_heading_gives_elapsed_time_and_an_estimate_once_steps_are_written(
    outline_file: Path,
) -> None:
    clock = Clock()
    progress, _ = _progress(outline_file, clock)
    assert progress.plan is not None
    total = len(progress.plan.steps)
    clock.now += 5
    title = progress.outline.title if progress.outline else ""
    assert progress.heading() == f"0/{total} steps · 5 s · {title}"
    for step in progress.plan.steps[:3]:
        progress.step("done", step, StepResult(step=step, text="T.", provider=step.provider))
    clock.now += 25  # 30 s for 3 written steps: 10 s each
    assert progress.heading() == (
        f"3/{total} steps · 30 s · about {duration(10 * (total - 3))} left · {title}"
    )


def test_a_long_title_ends_in_an_ellipsis(outline_file: Path, tmp_path: Path) -> None:
    long = tmp_path / "long.yaml"
    long.write_text(
        outline_file.read_text().replace("Introduction", "Introduction " + "and more " * 10),
        encoding="utf-8",
    )
    progress, _ = _progress(long, Clock())
    row = next(line for line in _render(progress).splitlines() if "1 Introduction" in line)
    assert "…" in row and "and more and more and more and more and more" not in row


@pytest.mark.parametrize(("seconds", "shown"), [(0.4, "0 s"), (42, "42 s"), (185, "3 min 05 s")])
def test_durations_read_as_a_person_says_them(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_under_the_live_table_request_lines_give_way_but_fallbacks_stay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="reporting"):
        hybrid_routine(Phase="DRAFT", Section="1", Provider="LOCAL")
        hybrid(Phase="DRAFT", Section="1", Event="FALLBACK", Reason="ERROR")
    kept = [r.getMessage() for r in caplog.records if SkipRoutine().filter(r)]
    assert kept == ["[Hybrid] Phase=DRAFT | Section=1 | Event=FALLBACK | Reason=ERROR"]
    configure_logging(None, quiet=False, live_table=True)
    [handler] = logging.getLogger("reporting").handlers
    assert any(isinstance(f, SkipRoutine) for f in handler.filters)
    configure_logging(None, quiet=False)
    [handler] = logging.getLogger("reporting").handlers
    assert not any(isinstance(f, SkipRoutine) for f in handler.filters)

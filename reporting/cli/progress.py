"""The live progress display of `report build` on a terminal: sections by phases, and who writes."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.live import Live
from rich.table import Table

from reporting.compiler.runner import StepResult
from reporting.outline.model import Outline
from reporting.phases import SECTION_PHASES, CompilationPhase
from reporting.routing.plan import Plan, Step
from reporting.text import duration

TITLE_WIDTH = 40  # the section column; longer titles end in "…"
Key = tuple[str | None, CompilationPhase]


class LiveProgress:
    """A rich table redrawn as steps are queued, sent and written; log lines scroll above it.

    Marks: `·` planned, `⋯` waiting for its turn (a provider slot or an earlier phase),
    `▶` a request out now, `✓` written (`↺` by the other provider after a fallback), `✗` failed.
    """

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.clock = clock
        self.outline: Outline | None = None
        self.plan: Plan | None = None
        self.cells: dict[Key, str] = {}
        self.finished: set[Key] = set()
        self.done = 0
        self.sent_done = 0  # written steps that sent a request (cache hits take no time)
        self.started = clock()
        self.live: Live | None = None

    def planned(self, outline: Outline, plan: Plan) -> None:
        """Draw every step as planned, then start redrawing (the clock too)."""
        self.outline, self.plan = outline, plan
        self.started = self.clock()
        self.cells = {
            (s.section_id, s.phase): f"[dim]· {s.provider.name}[/dim]" for s in plan.steps
        }
        self.live = Live(
            get_renderable=self._table,
            console=self.console,
            refresh_per_second=4,
            redirect_stderr=True,
        )
        self.live.start()

    def step(self, event: str, step: Step, result: StepResult | None) -> None:
        """Mark a step waiting, running, written (✓, ↺ after a fallback) or failed (✗)."""
        key = (step.section_id, step.phase)
        if event == "start":
            self.cells[key] = f"[dim]⋯ {step.provider.name}[/dim]"
        elif event == "sent":
            if key not in self.finished:  # a repair call after the step was written
                who = result.provider.name if result is not None else step.provider.name
                self.cells[key] = f"[yellow]▶ {who}[/yellow]"
        elif event == "failed":
            self.cells[key] = "[red]✗ failed[/red]"
        elif result is not None:
            self.done += 1
            self.finished.add(key)
            if not result.cached:
                self.sent_done += 1
            who = "cached" if result.cached else result.provider.name
            mark = "[blue]↺" if result.fallback else "[green]✓"
            self.cells[key] = f"{mark} {who}[/]"
        if self.live is not None:
            self.live.refresh()

    def close(self) -> None:
        """Draw the last state and stop."""
        if self.live is not None:
            self.live.refresh()
            self.live.stop()

    def heading(self) -> str:
        """`12/34 steps · 1 min 10 s · about 2 min 05 s left · Title`: the figures first.

        A narrow terminal cuts the end of the line, so the title goes last.
        """
        assert self.outline is not None and self.plan is not None
        total = len(self.plan.steps)
        elapsed = self.clock() - self.started
        text = f"{self.done}/{total} steps · {duration(elapsed)}"
        left = total - self.done
        # The pace of written steps that sent a request; a guess only once a few are in.
        if left and self.sent_done >= 3:
            text += f" · about {duration(elapsed / self.sent_done * left)} left"
        return f"{text} · {self.outline.title}"

    def _table(self) -> Table:
        assert self.outline is not None
        table = Table(title=self.heading(), title_justify="left")
        # The phase columns ("✓ embedded") keep their width; the titles give way on 80 columns.
        width = max(12, min(TITLE_WIDTH, self.console.width - 46))
        table.add_column("section", overflow="ellipsis", no_wrap=True, max_width=width)
        for phase in SECTION_PHASES:
            table.add_column(phase.name, no_wrap=True)
        for section in self.outline.walk():
            table.add_row(
                f"{section.id} {section.title}",
                *(self.cells[(section.id, phase)] for phase in SECTION_PHASES),
            )
        table.add_row("abstract", self.cells[(None, CompilationPhase.ABSTRACT)], "", "")
        return table

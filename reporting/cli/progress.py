"""The live progress display of `report build` on a terminal: sections by phases, and who writes."""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.table import Table

from reporting.compiler.runner import StepResult
from reporting.outline.model import Outline
from reporting.phases import SECTION_PHASES, CompilationPhase
from reporting.routing.plan import Plan, Step


class LiveProgress:
    """A rich table redrawn as steps start and end; log lines scroll above it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.outline: Outline | None = None
        self.plan: Plan | None = None
        self.cells: dict[tuple[str | None, CompilationPhase], str] = {}
        self.done = 0
        self.live: Live | None = None

    def planned(self, outline: Outline, plan: Plan) -> None:
        """Draw every step as planned, then start redrawing."""
        self.outline, self.plan = outline, plan
        self.cells = {
            (s.section_id, s.phase): f"[dim]· {s.provider.name}[/dim]" for s in plan.steps
        }
        self.live = Live(
            self._table(), console=self.console, refresh_per_second=8, redirect_stderr=True
        )
        self.live.start()

    def step(self, event: str, step: Step, result: StepResult | None) -> None:
        """Mark a step running, written (✓, ↺ after a fallback) or failed (✗)."""
        key = (step.section_id, step.phase)
        if event == "start":
            self.cells[key] = f"[yellow]… {step.provider.name}[/yellow]"
        elif event == "failed":
            self.cells[key] = "[red]✗ failed[/red]"
        elif result is not None:
            self.done += 1
            who = "cached" if result.cached else result.provider.name
            mark = "[blue]↺" if result.fallback else "[green]✓"
            self.cells[key] = f"{mark} {who}[/]"
        if self.live is not None:
            self.live.update(self._table())

    def close(self) -> None:
        """Draw the last state and stop."""
        if self.live is not None:
            self.live.update(self._table())
            self.live.stop()

    def _table(self) -> Table:
        assert self.outline is not None and self.plan is not None
        table = Table(
            title=f"{self.outline.title}: {self.done}/{len(self.plan.steps)} steps",
            title_justify="left",
        )
        table.add_column("section")
        for phase in SECTION_PHASES:
            table.add_column(phase.name)
        for section in self.outline.walk():
            table.add_row(
                f"{section.id} {section.title}"[:40],
                *(self.cells[(section.id, phase)] for phase in SECTION_PHASES),
            )
        table.add_row("abstract", self.cells[(None, CompilationPhase.ABSTRACT)], "", "")
        return table

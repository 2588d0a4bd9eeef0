"""The comparison as Markdown: recommendations first, then both texts side by side per pair."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING

from reporting.render.markdown import environment
from reporting.routing.roles import Role

if TYPE_CHECKING:
    from reporting.compare.recommend import Side
    from reporting.compare.run import CompareRun, PairRun
    from reporting.compiler.runner import StepResult


@dataclass(frozen=True)
class SideView:
    """One side of a pair as the template shows it."""

    name: str
    words: int
    repeated: int
    readability: float
    latency: str
    tokens: str
    cost: float
    failed: str  # the quality checks its text fails: "none", their names, or "not checked"
    text: str


@dataclass(frozen=True)
class PairView:
    """One compared call as the template shows it."""

    label: str
    target: int
    current: str
    verdict: str | None
    primary: SideView
    secondary: SideView


@dataclass(frozen=True)
class GroupView:
    """The pairs of one phase and section type."""

    phase: str
    section_type: str
    pairs: list[PairView]


def _side(side: Side, result: StepResult) -> SideView:
    text = result.text if side.ok else "(failed: " + "; ".join(result.errors) + ")"
    return SideView(
        name=f"{side.provider} {side.model}",
        words=side.measures.words,
        repeated=side.measures.repeated_sentences,
        readability=side.measures.readability,
        latency="cached" if result.cached else f"{side.latency_s:.2f} s",
        tokens=f"{side.input_tokens} / {side.output_tokens}",
        cost=side.cost_usd,
        failed=(
            "not checked" if side.failed_checks is None else ", ".join(side.failed_checks) or "none"
        ),
        text=text,
    )


def _view(run: PairRun, titles: dict[str, str]) -> PairView:
    pair = run.pair
    where = f"{pair.section_id} {titles[pair.section_id]}" if pair.section_id else "Abstract"
    return PairView(
        label=f"{pair.phase} of {where}",
        target=pair.primary.measures.target_words,
        current=pair.current_role,
        verdict=pair.verdict.value if pair.verdict else None,
        primary=_side(pair.primary, run.results[Role.PRIMARY]),
        secondary=_side(pair.secondary, run.results[Role.SECONDARY]),
    )


def render_compare(run: CompareRun, routing_file: str, when: str, hybrid_mode: bool) -> str:
    """The whole comparison as Markdown."""
    titles = {section.id: section.title for section in run.outline.walk()}
    order = {name: i for i, name in enumerate(("DRAFT", "EXPAND", "REFINE", "ABSTRACT"))}
    ordered = sorted(run.pairs, key=lambda r: (order[r.pair.phase], r.pair.section_type))
    groups = [
        GroupView(phase, kind, [_view(r, titles) for r in runs])
        for (phase, kind), runs in groupby(
            ordered, key=lambda r: (r.pair.phase, r.pair.section_type)
        )
    ]
    primary, secondary = run.plan.providers[Role.PRIMARY], run.plan.providers[Role.SECONDARY]
    text = (
        environment()
        .get_template("compare.md.j2")
        .render(
            title=run.outline.title,
            when=when,
            primary=f"{primary.name} {primary.model}",
            secondary=f"{secondary.name} {secondary.model}",
            judge=run.plan.judge,
            pairs=run.pairs,
            cloud_calls=run.metrics.cloud_calls,
            max_cloud_calls=run.plan.max_cloud_calls,
            skipped=[t.label for t in run.plan.targets if not t.included],
            recommendations=run.recommendations,
            routing_file=routing_file,
            hybrid_mode=hybrid_mode,
            groups=groups,
        )
    )
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"

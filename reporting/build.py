"""One build, read top to bottom: outline → sources → availability → plan → execute → write.

Each stage's value is computed once and passed on; nothing is half-written when one fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reporting.compiler.cache import PhaseCache, cache_folder
from reporting.compiler.context import CallContext, Observer, Sleep
from reporting.compiler.execute import CompiledReport, execute
from reporting.compiler.models import ChatModels
from reporting.compiler.shared_cache import tiered
from reporting.data.results import DataResults
from reporting.data.stage import prepare_data
from reporting.errors import InputError
from reporting.logs import hybrid, redact
from reporting.observe.manifest import build_manifest, dump_manifest
from reporting.observe.quality import FIGURE_CHECKS
from reporting.outline.loader import load_outline
from reporting.outline.model import Outline
from reporting.phases import CompilationPhase
from reporting.render.charts import draw_chart
from reporting.render.comments import Placement, ReviewComment
from reporting.render.docx import render_docx
from reporting.render.html import render_html
from reporting.render.markdown import (
    ProvenanceEntry,
    RenderedSection,
    figure_markdown,
    render_markdown,
)
from reporting.render.outputs import Stage, check_output_folder, safe_stem, staged
from reporting.render.pdf import render_pdf
from reporting.render.tables import table_markdown
from reporting.render.theme import check_theme, theme_folder
from reporting.routing.availability import preflight
from reporting.routing.plan import Plan, make_plan
from reporting.routing.roles import Role
from reporting.settings import Settings
from reporting.sources.grounding import Grounding, ground_outline
from reporting.text import one_line

# A format's key in the manifest's `outputs` where it is not the format's own name.
OUTPUT_KEYS = {"md": "markdown"}


@dataclass(frozen=True)
class BuildSummary:
    """What a build took, in the figures `report build` and `report batch` print."""

    steps: int
    cache_hits: int
    cloud_calls: int
    max_cloud_calls: int
    fallbacks: int
    duration_s: float  # rounded to the millisecond, as in the manifest
    no_primary: str | None = None  # the setting a missing primary lacks (OPENAI_API_KEY)
    demonstration_model: str | None = None  # a demonstration model wrote some of the text
    sections: int = 0
    sections_passing: int = 0  # sections whose final text passes every check
    repairs: int = 0
    escalations: int = 0
    quality_passed: bool = True  # every final text (sections and abstract) passes every check
    checked: bool = False  # QUALITY_GATE was not off


@dataclass(frozen=True)
class BuildResult:
    """The files a build wrote and the record of how."""

    files: dict[str, Path]  # format (md, docx, pdf, html) → the file written, in that order
    manifest: Path
    report: CompiledReport
    record: dict[str, Any]

    @property
    def markdown(self) -> Path | None:
        """The Markdown file, if FORMATS has md."""
        return self.files.get("md")

    @property
    def docx(self) -> Path | None:
        """The DOCX file, if FORMATS has docx."""
        return self.files.get("docx")

    @property
    def written(self) -> list[Path]:
        """Every file written, the manifest last."""
        return [*self.files.values(), self.manifest]

    @property
    def summary(self) -> BuildSummary:
        """The build's figures, read from the compiled report (quality: from its record)."""
        report, quality = self.report, self.record["quality"]
        return BuildSummary(
            steps=len(report.results),
            cache_hits=sum(1 for result in report.results if result.cached),  # steps, not calls
            cloud_calls=report.metrics.cloud_calls,
            max_cloud_calls=report.plan.max_cloud_calls,
            fallbacks=sum(report.metrics.fallbacks.values()),
            duration_s=round((report.finished_at - report.started_at).total_seconds(), 3),
            no_primary=report.plan.primary_missing,
            demonstration_model=self.record["demonstration_model"],
            sections=quality["sections"],
            sections_passing=quality["sections_passing"],
            repairs=quality["repairs"],
            escalations=quality["escalations"],
            quality_passed=quality["passed"],
            checked=quality["checked_calls"] > 0,
        )


@dataclass(frozen=True)
class Resources:
    """What a build opens for its calls when it shares none (a batch shares its own)."""

    models: ChatModels | None = None  # None: the settings' providers
    sleep: Sleep = asyncio.sleep
    use_cache: bool = True


@dataclass(frozen=True)
class Inputs:
    """What the first three stages found: the outline, its sources, which providers are up."""

    outline_path: Path
    outline: Outline
    grounding: Grounding
    available: Mapping[Role, bool]
    data: DataResults = field(default_factory=DataResults)
    stem: str = ""  # of the output files: the outline's, and the parameters given, if any

    @property
    def output_stem(self) -> str:
        """The stem the outputs are written under."""
        return self.stem or self.outline_path.stem


def build_report(
    outline_path: Path,
    out_dir: Path,
    settings: Settings,
    *,
    available: Mapping[Role, bool] | None = None,
    models: ChatModels | None = None,
    sleep: Sleep = asyncio.sleep,
    use_cache: bool = True,
    refresh: frozenset[str] = frozenset(),
    observer: Observer | None = None,
    allow_outside: bool = False,
    params: Mapping[str, str] | None = None,
) -> BuildResult:
    """Build one report; on any failure no output file is written or changed."""
    # Stages 1-3 run before the event loop starts, so Ctrl-C stops a slow preflight or a large
    # PDF at once (a worker thread would hold the loop's shutdown until it finished).
    check_output_folder(out_dir)  # a folder that cannot take the files fails before any call
    inputs = read_inputs(
        outline_path,
        settings,
        available=available,
        allow_outside=allow_outside,
        index_cache=cache_folder(settings, out_dir) / "sources" if use_cache else None,
        check=lambda outline: check_refresh(outline, refresh),
        params=params,
    )
    own = Resources(models, sleep, use_cache)
    return asyncio.run(
        abuild_report(inputs, out_dir, settings, own=own, refresh=refresh, observer=observer)
    )


def read_inputs(
    outline_path: Path,
    settings: Settings,
    *,
    available: Mapping[Role, bool] | None = None,
    allow_outside: bool = False,
    index_cache: Path | None = None,
    check: Callable[[Outline], object] | None = None,
    params: Mapping[str, str] | None = None,
) -> Inputs:
    """Stages 1-3 of a build, and of `report plan` and `report compare`: no model is called."""
    if settings.theme_dir is not None:  # a bad theme is found before any call, not after
        check_theme(settings.theme_dir)
    # 1. Outline: every problem of the file at once, then the command's own checks of it
    # (--refresh, --sections); nothing runs for an invalid outline.
    outline = load_outline(outline_path)
    if check is not None:
        check(outline)

    # 1b. Data: parameters bound and checked, then every section's query run; its figures go
    # into that section's prompts, so the model restates them instead of computing them.
    data = prepare_data(outline, outline_path, params or {})
    stem = run_stem(outline_path.stem, outline, params or {})

    # 2. Sources: read, chunked and searched per section; a bad one is an outline error.
    grounding = ground_outline(
        outline,
        outline_path,
        top_k=settings.sources_top_k,
        allow_outside=allow_outside,
        index_cache=index_cache,
    )

    # 3. Availability: each provider checked once; an unavailable primary is routed around.
    if available is None:
        available = preflight(settings)
    return Inputs(outline_path, outline, grounding, available, data, stem)


def run_stem(stem: str, outline: Outline, given: Mapping[str, str]) -> str:
    """`payments-kpis--region=US--quarter=2026Q2`: runs with other parameters keep their files.

    Only the parameters given on this run, in the order the outline declares them; a run on
    the defaults keeps the plain stem. Made safe for a file name when written.
    """
    parts = [f"{name}={given[name]}" for name in outline.params if name in given]
    return "--".join([stem, *parts])


async def abuild_report(
    inputs: Inputs,
    out_dir: Path,
    settings: Settings,
    *,
    shared: CallContext | None = None,
    own: Resources = Resources(),
    refresh: frozenset[str] = frozenset(),
    observer: Observer | None = None,
    stem: str | None = None,
) -> BuildResult:
    """Stages 4-6 of a build; `report batch` runs many of these with one shared context."""
    outline, grounding = inputs.outline, inputs.grounding
    async with _calls(settings, out_dir, shared, own) as context:
        # 4. Plan: who writes every step, and the cloud calls reserved for them.
        plan = make_plan(outline, settings, inputs.available, grounding.relevance())

        # 5. Execute: sections side by side, then the abstract.
        report = await execute(plan, outline, grounding, context.with_report(observer, refresh))

    # 6. Write: every format and the manifest together, or none of them (in a thread).
    path, stem = inputs.outline_path, stem or inputs.output_stem
    return await asyncio.to_thread(write_report, report, path, out_dir, settings, stem, inputs.data)


def plan_report(
    outline_path: Path,
    settings: Settings,
    available: Mapping[Role, bool] | None = None,
    allow_outside: bool = False,
    params: Mapping[str, str] | None = None,
) -> tuple[Outline, Grounding, Plan]:
    """The first four stages of a build, which `report plan` shows: no model is called."""
    inputs = read_inputs(
        outline_path, settings, available=available, allow_outside=allow_outside, params=params
    )
    return inputs.outline, inputs.grounding, plan_inputs(inputs, settings)


def plan_inputs(inputs: Inputs, settings: Settings) -> Plan:
    """Stage 4 on inputs already read: who writes every step."""
    relevance = inputs.grounding.relevance()
    return make_plan(inputs.outline, settings, inputs.available, relevance)


def check_refresh(outline: Outline, refresh: frozenset[str]) -> None:
    """Every --refresh id must name a section of the outline."""
    known = [section.id for section in outline.walk()]
    unknown = sorted(refresh - set(known))
    if unknown:
        raise InputError(
            f"--refresh {', '.join(unknown)}: no such section; the outline has {', '.join(known)}"
        )


@contextlib.asynccontextmanager
async def _calls(
    settings: Settings, out_dir: Path, shared: CallContext | None, own: Resources
) -> AsyncIterator[CallContext]:
    """The shared context, or one of this build's own; what it opened is closed at the end."""
    if shared is not None:
        yield shared
        return
    cache = tiered(settings, PhaseCache(cache_folder(settings, out_dir))) if own.use_cache else None
    context = CallContext.for_settings(settings, models=own.models, cache=cache, sleep=own.sleep)
    try:
        yield context
    finally:
        if own.models is None:  # models a caller gave are the caller's to close
            await context.models.aclose()
        if cache is not None:
            cache.close()


def write_report(
    report: CompiledReport,
    outline_path: Path,
    out_dir: Path,
    settings: Settings,
    stem: str,
    data: DataResults | None = None,
) -> BuildResult:
    """Render the report in each of FORMATS, and its manifest, and write them atomically."""
    outline = report.outline
    date = outline.date or report.started_at.date()
    stem = safe_stem(stem)
    files = {fmt: f"{stem}.{fmt}" for fmt in settings.formats}
    # The manifest's names for them: `markdown` for md, as before there were other formats.
    names = {OUTPUT_KEYS.get(fmt, fmt): name for fmt, name in files.items()}
    names["manifest"] = f"{stem}.run.json"
    comments = review_comments(report, settings.secrets) if settings.review_comments else []
    placement: Placement | None = None
    with staged(out_dir) as stage, theme_folder(settings.theme_dir) as look:
        # Tables and charts come from the query results, never from the model.
        blocks, images = data_blocks(outline, data or DataResults(), stem, stage)
        # Every format is converted from these same bytes, so they say the same thing.
        markdown = redact(report_markdown(report, date, settings, blocks), settings.secrets)
        if "md" in files:
            stage(files["md"]).write_text(markdown, encoding="utf-8")
        if "docx" in files:
            placement = render_docx(
                markdown,
                stage(files["docx"]),
                title=outline.title,
                author=outline.author,
                created=report.started_at,
                reference_docx=look / "reference.docx",
                comments=comments,
                images=images,
                toc=outline.toc,
            )
            for comment in placement.unplaced:
                hybrid(
                    Event="COMMENT_UNPLACED",
                    Heading=comment.heading or "Abstract",
                    Sentence=f'"{one_line(comment.sentence, 80)}"',
                )
        if "pdf" in files:
            render_pdf(
                markdown,
                stage(files["pdf"]),
                template_dir=look,
                created=report.started_at,
                images=images,
                toc=outline.toc,
            )
        if "html" in files:
            render_html(
                markdown, stage(files["html"]), template_dir=look, images=images, toc=outline.toc
            )
        placed = placement if settings.review_comments else None
        record = build_manifest(report, settings, outline_path, names, placed, data)
        record["data"]["charts"] = list(images)  # beside the report, in outline order
        stage(names["manifest"]).write_text(
            redact(dump_manifest(record), settings.secrets), encoding="utf-8"
        )
    return BuildResult(
        files={fmt: out_dir / name for fmt, name in files.items()},
        manifest=out_dir / names["manifest"],
        report=report,
        record=record,
    )


def review_comments(report: CompiledReport, secrets: list[str]) -> list[ReviewComment]:
    """The final texts' unsupported figures as comments: one per sentence, under its heading."""
    headings = {section.id: f"{section.id} {section.title}" for section in report.outline.walk()}
    messages: dict[tuple[str | None, str], list[str]] = {}
    for result in report.results:
        if result.step.phase not in (CompilationPhase.REFINE, CompilationPhase.ABSTRACT):
            continue
        for check in result.checks or ():
            if check.name in FIGURE_CHECKS:
                for finding in check.findings:
                    key = (result.step.section_id, finding.sentence)
                    messages.setdefault(key, []).append(finding.message)
    return [
        ReviewComment(
            redact(sentence, secrets),
            redact("\n".join(dict.fromkeys(said)), secrets),  # one paragraph per message
            headings[section] if section is not None else None,
        )
        for (section, sentence), said in messages.items()
    ]


def data_blocks(
    outline: Outline, data: DataResults, stem: str, stage: Stage
) -> tuple[dict[str, str], dict[str, Path]]:
    """Per section with a query: its table and chart as Markdown, and the charts drawn (staged).

    Charts go to `<stem>.files/`, so runs under other stems (other parameters) keep theirs.
    """
    blocks: dict[str, str] = {}
    images: dict[str, Path] = {}
    stage.own(f"{stem}.files")  # charts an earlier build drew and this one did not are removed
    for section in outline.walk():
        result = data.queries.get(section.id)
        if result is None:
            continue
        parts: list[str] = []
        index = {name: i for i, name in enumerate(result.columns)}
        if section.table is not None:
            columns = section.table.columns or list(result.columns)
            rows = [[row[index[c]] for c in columns] for row in result.rows]
            parts.append(
                table_markdown(
                    columns,
                    rows[: section.table.max_rows],
                    caption=section.table.caption,
                    max_rows=section.table.max_rows,
                    total_rows=result.row_count,
                )
            )
        chart = section.chart
        if chart is not None and result.rows:
            src = f"{stem}.files/chart-{section.id}.png"
            path = stage(src)
            draw_chart(
                path,
                kind=chart.kind.value,
                x_label=chart.x,
                x=[row[index[chart.x]] for row in result.rows],
                series={y: [row[index[y]] for row in result.rows] for y in chart.y},
                title=None,  # the caption under the figure says it once
            )
            images[src] = path
            caption = chart.title or f"{', '.join(chart.y)} by {chart.x}"
            parts.append(figure_markdown(src, caption, chart.alt))
        if not result.rows and section.table is None:
            parts.append("No data.")
        blocks[section.id] = "\n\n".join(parts)
    return blocks, images


def report_markdown(
    report: CompiledReport,
    date: dt.date,
    settings: Settings,
    blocks: Mapping[str, str] | None = None,
) -> str:
    """The compiled report as Markdown; headings come from the outline, never from the model."""
    outline, blocks = report.outline, blocks or {}
    sections = [
        RenderedSection(s.id, s.title, s.depth, report.body(s.id), blocks.get(s.id, ""))
        for s in outline.walk()
    ]
    return render_markdown(
        outline.title,
        outline.author,
        date,
        report.abstract,
        sections,
        references=report.citations.references(),
        provenance=provenance(report) if settings.provenance_appendix else None,
        note=demonstration_note(report, settings),
    )


def demonstration_note(report: CompiledReport, settings: Settings) -> str | None:
    """The reader's warning when a demonstration model wrote any text (unless DEMO_NOTE=false)."""
    model = report.demonstration_model(settings) if settings.demo_note else None
    return f"Draft written by the {model} demonstration model." if model else None


def provenance(report: CompiledReport) -> list[ProvenanceEntry]:
    """Per section: the provider and model that wrote each phase, and the sources it cites."""
    entries: list[ProvenanceEntry] = []
    for section in report.outline.walk():
        phases_by_writer: dict[str, list[str]] = {}
        for result in report.written_by(section.id):
            writer = f"{result.provider.name} {result.provider.model}"
            phases_by_writer.setdefault(writer, []).append(result.step.phase.name)
        if len(phases_by_writer) == 1:
            wrote = f"{next(iter(phases_by_writer))} (every phase)"
        else:
            wrote = ", ".join(f"{w} ({', '.join(p)})" for w, p in phases_by_writer.items())
        by_file: dict[str, list[int]] = {}
        for reference in report.citations.references():
            if reference.number in report.citations.by_section.get(section.id, []):
                by_file.setdefault(reference.source, []).append(reference.number)
        drew = (
            "drew on " + ", ".join(f"{f} [{', '.join(map(str, n))}]" for f, n in by_file.items())
            if by_file
            else "cites no source"
        )
        entries.append(ProvenanceEntry(section.id, section.title, wrote, drew))
    return entries

"""`report build` as one pipeline: load → plan → compile → render → write, nothing half-written."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reporting.assets import templates_dir
from reporting.compiler.cache import PhaseCache
from reporting.compiler.execute import CompiledReport, SectionCompiler
from reporting.compiler.runner import Observer, Sleep
from reporting.errors import InputError
from reporting.logs import redact
from reporting.observe.manifest import build_manifest, dump_manifest
from reporting.outline.model import Outline, load_outline
from reporting.render.docx import render_docx
from reporting.render.markdown import ProvenanceEntry, RenderedSection, render_markdown
from reporting.render.outputs import safe_stem, staged
from reporting.routing.availability import preflight
from reporting.routing.plan import Plan, Role
from reporting.settings import Settings
from reporting.sources.grounding import Grounding, ground_outline


@dataclass(frozen=True)
class BuildSummary:
    """What a build took, in the figures `report build` and `report batch` print."""

    steps: int
    cache_hits: int
    cloud_calls: int
    max_cloud_calls: int
    fallbacks: int
    duration_s: float  # rounded to the millisecond, as in the manifest


@dataclass(frozen=True)
class BuildResult:
    """The files a build wrote and the record of how."""

    markdown: Path
    docx: Path
    manifest: Path
    report: CompiledReport
    record: dict[str, Any]

    @property
    def summary(self) -> BuildSummary:
        """The build's figures, read from the compiled report rather than the manifest."""
        report = self.report
        return BuildSummary(
            steps=len(report.results),
            cache_hits=report.metrics.cache_hits,
            cloud_calls=report.metrics.cloud_calls,
            max_cloud_calls=report.plan.max_cloud_calls,
            fallbacks=sum(report.metrics.fallbacks.values()),
            duration_s=round((report.finished_at - report.started_at).total_seconds(), 3),
        )


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


def report_markdown(report: CompiledReport, date: dt.date, settings: Settings) -> str:
    """The compiled report as Markdown; headings come from the outline, never from the model."""
    outline = report.outline
    sections = [RenderedSection(s.id, s.title, s.depth, report.body(s.id)) for s in outline.walk()]
    return render_markdown(
        outline.title,
        outline.author,
        date,
        report.abstract,
        sections,
        references=report.citations.references(),
        provenance=provenance(report) if settings.provenance_appendix else None,
    )


def ground(
    outline: Outline,
    outline_path: Path,
    settings: Settings,
    allow_outside: bool,
    index_cache: Path | None,
) -> Grounding:
    """The outline's sources, read and searched for every section (no model is called)."""
    return ground_outline(
        outline,
        outline_path,
        top_k=settings.sources_top_k,
        allow_outside=allow_outside,
        index_cache=index_cache,
    )


def plan_outline(
    outline_path: Path,
    settings: Settings,
    available: Mapping[Role, bool] | None = None,
    allow_outside: bool = False,
) -> tuple[Outline, Plan, Grounding]:
    """Load an outline, search its sources and make its plan, without calling any model."""
    outline = load_outline(outline_path)
    grounding = ground(outline, outline_path, settings, allow_outside, None)
    if available is None:
        available = preflight(settings)
    return (
        outline,
        SectionCompiler(settings, available=available).plan(outline, grounding),
        grounding,
    )


def cache_folder(settings: Settings, out_dir: Path) -> Path:
    """REPORT_CACHE_DIR, else `.report_cache/` in the output folder."""
    return settings.report_cache_dir or out_dir / ".report_cache"


def check_refresh(outline: Outline, refresh: frozenset[str]) -> None:
    """Every --refresh id must name a section of the outline."""
    known = [section.id for section in outline.walk()]
    unknown = sorted(refresh - set(known))
    if unknown:
        raise InputError(
            f"--refresh {', '.join(unknown)}: no such section; the outline has {', '.join(known)}"
        )


def build_report(
    outline_path: Path,
    out_dir: Path,
    settings: Settings,
    *,
    available: Mapping[Role, bool] | None = None,
    compiler: SectionCompiler | None = None,
    sleep: Sleep | None = None,
    use_cache: bool = True,
    refresh: frozenset[str] = frozenset(),
    observer: Observer | None = None,
    allow_outside: bool = False,
) -> BuildResult:
    """Build one report; on any failure no output file is written or changed."""
    # Load first: an invalid outline stops here, before preflight or any model call.
    outline = load_outline(outline_path)
    check_refresh(outline, refresh)
    # Sources next: a bad one is an outline error, reported before any provider is asked.
    index_cache = cache_folder(settings, out_dir) / "sources" if use_cache else None
    grounding = ground(outline, outline_path, settings, allow_outside, index_cache)
    if compiler is None:
        # Preflight: an unavailable primary is routed around from the start.
        if available is None:
            available = preflight(settings)
        cache = PhaseCache(cache_folder(settings, out_dir)) if use_cache else None
        compiler = SectionCompiler(
            settings,
            available=available,
            sleep=sleep or asyncio.sleep,
            cache=cache,
            refresh=refresh,
            observer=observer,
        )
    try:
        return asyncio.run(
            abuild_report(
                outline_path,
                out_dir,
                settings,
                compiler,
                allow_outside=allow_outside,
                grounding=grounding,
            )
        )
    finally:
        if compiler.cache is not None:
            compiler.cache.close()


async def abuild_report(
    outline_path: Path,
    out_dir: Path,
    settings: Settings,
    compiler: SectionCompiler,
    stem: str | None = None,
    allow_outside: bool = False,
    grounding: Grounding | None = None,
) -> BuildResult:
    """Build one report with a ready compiler (the async core that `report batch` shares)."""
    # Load, read the sources and plan: bad input stops here, before any model is called.
    outline = load_outline(outline_path)
    if grounding is None:
        index_cache = cache_folder(settings, out_dir) / "sources" if compiler.cache else None
        grounding = await asyncio.to_thread(
            ground, outline, outline_path, settings, allow_outside, index_cache
        )

    # Draft, expand, refine every section, then the abstract.
    report = await compiler.acompile(outline, grounding=grounding)

    # Render and write all three files together (pandoc runs in a worker thread).
    return await asyncio.to_thread(
        write_report, report, outline_path, out_dir, settings, stem or outline_path.stem
    )


def write_report(
    report: CompiledReport, outline_path: Path, out_dir: Path, settings: Settings, stem: str
) -> BuildResult:
    """Render the Markdown, DOCX and manifest of a compiled report and write them atomically."""
    outline = report.outline
    date = outline.date or report.started_at.date()
    markdown = redact(report_markdown(report, date, settings), settings.secrets)
    stem = safe_stem(stem)
    names = {"markdown": f"{stem}.md", "docx": f"{stem}.docx", "manifest": f"{stem}.run.json"}
    record = build_manifest(report, settings, outline_path, names)
    with staged(out_dir) as stage:
        stage(names["markdown"]).write_text(markdown, encoding="utf-8")
        render_docx(
            markdown,
            stage(names["docx"]),
            title=outline.title,
            author=outline.author,
            created=report.started_at,
            reference_docx=templates_dir() / "reference.docx",
        )
        stage(names["manifest"]).write_text(
            redact(dump_manifest(record), settings.secrets), encoding="utf-8"
        )
    return BuildResult(
        markdown=out_dir / names["markdown"],
        docx=out_dir / names["docx"],
        manifest=out_dir / names["manifest"],
        report=report,
        record=record,
    )

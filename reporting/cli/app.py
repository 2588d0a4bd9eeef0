"""The `report` command line: the only place that prints and picks exit codes.

Exit codes: 0 report written · 1 generation failed (providers) · 2 bad input or configuration
· 130 interrupted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.highlighter import NullHighlighter
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from reporting import __version__
from reporting.errors import InputError, OutlineError, ReportingError
from reporting.logs import RedactSecrets, redact
from reporting.routing.roles import Role
from reporting.settings import Settings, load_settings

app = typer.Typer(
    name="report",
    help="Compile a YAML outline into a Markdown and DOCX report with routed LLM calls.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
if not out.is_terminal:  # pipes and CI logs get full rows, not 80-column wraps
    out.width = 160

DEFAULT_OUT = Path("reports_out")
OutlineArg = Annotated[Path, typer.Argument(help="Outline YAML file.", show_default=False)]


def _configure_logging(settings: Settings | None, quiet: bool) -> None:
    """`[Hybrid]` lines to stderr, plain, with every secret redacted."""
    handler: logging.Handler
    if err.is_terminal:  # through the console, so lines scroll above the live progress table
        handler = RichHandler(
            console=err,
            show_time=False,
            show_level=False,
            show_path=False,
            markup=False,
            highlighter=NullHighlighter(),
        )
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactSecrets(settings.secrets if settings else []))
    root = logging.getLogger("reporting")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    root.propagate = False
    # pypdf warns on stderr about every oddity of a PDF it can still read ("invalid pdf
    # header"); an unreadable one becomes our own one-line error instead.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


@contextlib.contextmanager
def _guard(settings: Settings | None = None) -> Iterator[None]:
    """Turn every failure into one line on stderr and the exit code of its kind."""
    secrets = settings.secrets if settings else []
    try:
        yield
    except OutlineError as exc:
        count = len(exc.problems)
        err.print(
            f"error: the outline has {count} problem{'s' if count > 1 else ''}; "
            "nothing was generated",
            markup=False,
        )
        for problem in exc.problems:
            err.print(f"  {exc.path}: {problem}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    except ReportingError as exc:
        kind = "invalid input" if exc.exit_code == 2 else "generation failed"
        err.print(f"error ({kind}): {redact(str(exc), secrets)}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted: no report was written", markup=False)
        raise typer.Exit(130) from None
    except typer.Exit:
        raise
    except Exception as exc:  # a bug: still no traceback for the user unless asked
        if os.environ.get("REPORT_DEBUG"):
            raise
        message = redact(f"{type(exc).__name__}: {exc}", secrets)
        err.print(f"internal error: {message} (set REPORT_DEBUG=1 for details)", markup=False)
        raise typer.Exit(1) from None


def _settings() -> Settings:
    with _guard():
        return load_settings()
    raise AssertionError("unreachable")  # pragma: no cover


OutDir = Annotated[Path, typer.Option("--out", help="Output folder.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No [Hybrid] lines.")]
NoCache = Annotated[
    bool, typer.Option("--no-cache", help="Neither read nor write the phase cache.")
]
AllowOutside = Annotated[
    bool,
    typer.Option("--allow-outside", help="Accept source files outside the outline's folder."),
]


@app.command()
def build(
    outline: OutlineArg,
    out_dir: OutDir = DEFAULT_OUT,
    quiet: Quiet = False,
    no_cache: NoCache = False,
    refresh: Annotated[
        list[str] | None,
        typer.Option(
            "--refresh", metavar="SECTION_ID", help="Regenerate this section (repeatable)."
        ),
    ] = None,
    allow_outside: AllowOutside = False,
) -> None:
    """Build OUTLINE into <stem>.md, <stem>.docx and <stem>.run.json."""
    from reporting.build import build_report
    from reporting.cli.progress import LiveProgress

    settings = _settings()
    _configure_logging(settings, quiet)
    # A live table on a terminal; plain one-line [Hybrid] events everywhere else (cron, CI).
    progress = LiveProgress(err) if err.is_terminal and not quiet else None
    with _guard(settings):
        try:
            result = build_report(
                outline,
                out_dir,
                settings,
                use_cache=not no_cache,
                refresh=frozenset(refresh or []),
                observer=progress,
                allow_outside=allow_outside,
            )
        finally:
            if progress is not None:
                progress.close()
        metrics = result.record["metrics"]
        fallbacks = sum(metrics["fallbacks"].values())
        out.print(
            f"wrote {result.markdown}, {result.docx.name} and {result.manifest.name}: "
            f"{metrics['steps']} steps ({metrics['cache_hits']} from cache), "
            f"{metrics['cloud_calls']} cloud calls of "
            f"{metrics['max_cloud_calls']} allowed, {fallbacks} fallbacks, "
            f"{result.record['duration_s']:.1f} s",
            markup=False,
        )


@app.command()
def batch(
    paths: Annotated[
        list[Path], typer.Argument(help="Outline files or folders of outlines.", show_default=False)
    ],
    out_dir: OutDir = DEFAULT_OUT,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Reports built at once.")] = 4,
    quiet: Quiet = False,
    no_cache: NoCache = False,
    allow_outside: AllowOutside = False,
) -> None:
    """Build many outlines, JOBS at a time, sharing the providers' concurrency limits."""
    import asyncio

    from reporting.batch import BatchOutcome, batch_exit_code, collect_outlines, run_batch
    from reporting.compiler.cache import PhaseCache, cache_folder
    from reporting.routing.availability import preflight

    settings = _settings()
    _configure_logging(settings, quiet)
    with _guard(settings):
        outlines, missing = collect_outlines(paths)
        if not outlines and not missing:
            raise InputError("no outline (*.yaml, *.yml) found in " + ", ".join(map(str, paths)))
        available = preflight(settings)
        cache = None if no_cache else PhaseCache(cache_folder(settings, out_dir))
        outcomes = asyncio.run(
            run_batch(outlines, out_dir, settings, available, jobs, cache, allow_outside)
        )
        outcomes += [BatchOutcome(Path(m), "-", "invalid", f"{m}: not found", 0.0) for m in missing]
        table = Table(title=f"Batch: {len(outcomes)} outlines")
        for column in ("outline", "status", "calls", "cloud", "seconds", "detail"):
            table.add_column(column)
        for outcome in outcomes:
            metrics = outcome.result.record["metrics"] if outcome.result else None
            colour = {"ok": "green", "invalid": "yellow", "failed": "red"}[outcome.status]
            table.add_row(
                str(outcome.outline),
                f"[{colour}]{outcome.status}[/{colour}]",
                str(metrics["steps"]) if metrics else "-",
                str(metrics["cloud_calls"]) if metrics else "-",
                f"{outcome.seconds:.1f}",
                redact(outcome.detail.replace("\n", "; "), settings.secrets),
            )
        out.print(table)
        for outcome in outcomes:  # whole messages, unwrapped, for logs and people
            if outcome.status != "ok":
                detail = redact(outcome.detail, settings.secrets).replace("\n", "\n  ")
                err.print(f"{outcome.status}: {outcome.outline}:\n  {detail}", markup=False)
        counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "invalid", "failed")}
        out.print(
            f"{counts['ok']} written, {counts['failed']} failed, {counts['invalid']} invalid",
            markup=False,
        )
        code = batch_exit_code(outcomes)
        if code:
            raise typer.Exit(code)


@app.command()
def plan(
    outline: OutlineArg,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    allow_outside: AllowOutside = False,
) -> None:
    """Show who will write each step of OUTLINE and what it will cost, sending no model call."""
    from reporting.build import plan_report
    from reporting.compiler.estimate import project_plan

    settings = _settings()
    _configure_logging(settings, quiet=as_json)
    with _guard(settings):
        the_outline, grounding, the_plan = plan_report(
            outline, settings, allow_outside=allow_outside
        )
        projected = project_plan(the_outline, the_plan, settings, grounding)
        if as_json:
            out.print_json(data=projected)
            return
        table = Table(title=f"Plan for {outline}", show_lines=False)
        for column in (
            "section",
            "title",
            "phase",
            "role",
            "provider",
            "model",
            "reason",
            "why",
            "tokens in/out",
            "cost",
        ):
            table.add_column(
                column,
                overflow="ellipsis",
                no_wrap=column == "title",
                max_width=28 if column == "title" else None,
            )
        for call in projected["calls"]:
            table.add_row(
                call["section"] or "-",
                call["title"] or "(abstract)",
                call["phase"],
                call["role"],
                call["provider"],
                call["model"],
                call["reason"],
                call["rule"],
                f"{call['projected_input_tokens']}/{call['projected_output_tokens']}",
                f"${call['projected_cost_usd']:.4f}",
            )
        out.print(table)
        total = projected["projected"]
        out.print(
            f"cloud calls: {projected['cloud_calls']} planned of {projected['max_cloud_calls']} "
            f"allowed (MAX_CLOUD_CALLS); projected tokens {total['input_tokens']} in, "
            f"{total['output_tokens']} out; cost ${total['cost_usd']:.4f} vs "
            f"${total['baseline_usd']:.4f} all-cloud (saving ${total['saving_usd']:.4f})",
            markup=False,
        )


@app.command()
def compare(
    outline: OutlineArg,
    phases: Annotated[
        str | None,
        typer.Option(
            "--phases", metavar="DRAFT,EXPAND,REFINE,ABSTRACT", help="Phases to compare (all)."
        ),
    ] = None,
    sections: Annotated[
        str | None,
        typer.Option(
            "--sections",
            metavar="IDS",
            help="Section ids to compare, e.g. 1,2.1,abstract (all, and the abstract).",
        ),
    ] = None,
    judge: Annotated[
        bool, typer.Option("--judge", help="Ask the primary which text is better, both orders.")
    ] = False,
    plan_only: Annotated[
        bool, typer.Option("--plan", help="Print the compare plan and stop; no model call.")
    ] = False,
    out_dir: OutDir = DEFAULT_OUT,
    quiet: Quiet = False,
    no_cache: NoCache = False,
    allow_outside: AllowOutside = False,
) -> None:
    """Run chosen calls of OUTLINE on both providers; write <stem>.compare.md and .compare.json."""
    from reporting.comparison import prepare_compare, run_compare

    settings = _settings()
    _configure_logging(settings, quiet)
    with _guard(settings):
        prepared = prepare_compare(
            outline,
            out_dir,
            settings,
            phases=phases,
            sections=sections,
            judge=judge,
            allow_outside=allow_outside,
            use_cache=not no_cache,
        )
        plan = prepared.plan
        # The plan before any call: what fits under MAX_CLOUD_CALLS, and what does not.
        planned = Table(title=f"Compare plan for {outline}")
        for column in ("call", "routed today", "compared", "cloud calls"):
            planned.add_column(column)
        for target in plan.targets:
            planned.add_row(
                target.label,
                target.step.role.value,
                "yes" if target.included else "no: MAX_CLOUD_CALLS",
                str(target.cloud_calls),
            )
        err.print(planned)
        err.print(
            f"{plan.cloud_calls} cloud calls reserved of {plan.max_cloud_calls} allowed "
            f"({len(plan.inputs)} input steps run once, as routed)",
            markup=False,
        )
        if plan_only:
            return
        result = run_compare(prepared, out_dir, settings, use_cache=not no_cache)
        table = Table(title="Recommendations")
        for column in ("phase", "section type", "today", "recommendation", "pairs", "saving"):
            table.add_column(column)
        for r in result.run.recommendations:
            table.add_row(
                r.phase,
                r.section_type,
                r.current_role,
                r.action,
                str(r.pairs),
                f"${r.saving_usd_per_report:.4f}",
            )
        out.print(table)
        if result.record["routing_file"] and not settings.vra_hybrid_mode:
            err.print(
                "note: ROUTING_FILE overrides apply in hybrid mode only; "
                "set VRA_HYBRID_MODE=true to adopt these moves",
                markup=False,
            )
        metrics = result.record["metrics"]
        out.print(
            f"wrote {result.markdown} and {result.json.name}: {len(result.run.pairs)} pairs, "
            f"{metrics['cloud_calls']} cloud calls of {plan.max_cloud_calls} allowed",
            markup=False,
        )


@app.command()
def stats(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Folders (searched recursively) or manifest files.", show_default="reports_out"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    html: Annotated[
        Path | None, typer.Option("--html", metavar="FILE", help="Write an HTML dashboard.")
    ] = None,
) -> None:
    """Aggregate every run manifest found: routing, fallbacks, latency, cost and saving."""
    from reporting.observe.stats import aggregate, load_manifests, pool_comparisons

    with _guard():
        manifests, skipped = load_manifests(paths or [DEFAULT_OUT])
        pooled, skipped_compare = pool_comparisons(paths or [DEFAULT_OUT])
        for note in skipped + skipped_compare:
            err.print(f"skipped {note}", markup=False)
        summary = aggregate(manifests)
        summary["compare"] = pooled
        if html is not None:
            import datetime as dt

            from reporting.observe.dashboard import render_dashboard
            from reporting.render.outputs import staged

            page = render_dashboard(summary, generated_at=dt.datetime.now(dt.UTC))
            with staged(html.parent if str(html.parent) else Path(".")) as stage:
                stage(html.name).write_text(page, encoding="utf-8")
            err.print(f"wrote {html}", markup=False)
        if as_json:
            out.print_json(data=summary)
        elif html is None:
            _print_stats(summary)
            _print_pooled(pooled)


def _print_pooled(pooled: dict[str, Any]) -> None:
    """Recommendations pooled over every `report compare` result found."""
    if not pooled["pairs"]:
        return
    table = Table(
        title=f"Routing recommendations from {pooled['runs']} comparisons, {pooled['pairs']} pairs"
    )
    for column in ("phase", "section type", "today", "recommendation", "pairs", "evidence"):
        table.add_column(column)
    for r in pooled["recommendations"]:
        table.add_row(
            r["phase"],
            r["section_type"],
            r["current_role"],
            r["action"],
            str(r["pairs"]),
            r["evidence"],
        )
    out.print(table)
    if pooled["routing_file"]:
        out.print(
            "To adopt the moves, use this as ROUTING_FILE:\n" + pooled["routing_file"], markup=False
        )


def _print_stats(summary: dict[str, object]) -> None:
    """The human summary of `report stats`."""
    s = summary
    per = s["cloud_calls_per_report"]
    share = s["local_share"]
    assert isinstance(per, dict) and isinstance(share, dict)
    out.print(
        f"{s['reports']} reports, {s['calls']} calls ({s['cache_hits']} from cache), "
        f"{s['cloud_calls']} cloud calls (mean {per['mean']} per report, max {per['max']}, "
        f"limit {per['limit']})\n"
        f"local share: {float(share['calls']):.0%} of calls, "
        f"{float(share['output_tokens']):.0%} of output tokens\n"
        f"cost ${s['cost']:.4f}, all-cloud baseline ${s['baseline']:.4f}, "
        f"saving ${s['saving']:.4f} ({float(str(s['saving_share'])):.0%})\n"
        f"fallbacks: {s['fallbacks'] or 'none'}",
        markup=False,
    )
    latency = s["latency"]
    assert isinstance(latency, list)
    if latency:
        table = Table(title="Latency per provider and phase")
        for column in ("provider", "phase", "calls", "p50 s", "p95 s"):
            table.add_column(column)
        for row in latency:
            table.add_row(
                row["provider"],
                row["phase"],
                str(row["calls"]),
                f"{row['p50_s']:.2f}",
                f"{row['p95_s']:.2f}",
            )
        out.print(table)


@app.command()
def doctor() -> None:
    """Check the providers a build would use; exit 0 only when a build can run."""
    from reporting.providers.registry import provider
    from reporting.routing.availability import check_roles

    settings = _settings()
    with _guard(settings):
        checks = check_roles(settings)
        table = Table(title="Providers")
        for column in ("role", "provider", "model", "kind", "status", "fix"):
            table.add_column(column)
        for role, check in checks.items():
            kind = "cloud" if provider(check.name).cloud else "local"
            detail = escape(redact(check.status, settings.secrets))  # a URL may hold a password
            status = (
                f"[green]ok[/green]: {detail}" if check.ok else f"[red]unavailable[/red]: {detail}"
            )
            table.add_row(role.value, check.name, check.model, kind, status, check.fix or "-")
        out.print(table)
        primary, secondary = checks[Role.PRIMARY], checks[Role.SECONDARY]
        hybrid_mode = "on" if settings.vra_hybrid_mode else "off"
        out.print(
            f"hybrid mode {hybrid_mode}; MAX_CLOUD_CALLS={settings.max_cloud_calls}", markup=False
        )
        if not secondary.ok:
            out.print(
                "verdict: a build cannot run: the secondary provider is unavailable", markup=False
            )
            raise typer.Exit(2)
        if not primary.ok:
            out.print(
                "verdict: a build can run; every primary step goes to the secondary (UNAVAILABLE)",
                markup=False,
            )
        else:
            out.print("verdict: a build can run on both providers", markup=False)


cache_app = typer.Typer(help="Inspect or clear the phase cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")
CacheOut = Annotated[
    Path, typer.Option("--out", help="Output folder whose cache to use (or REPORT_CACHE_DIR).")
]


@cache_app.command("stats")
def cache_stats(
    out_dir: CacheOut = DEFAULT_OUT,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Entries, size and age of the phase cache."""
    from reporting.compiler.cache import PhaseCache, cache_folder

    settings = _settings()
    with _guard(settings):
        stats = PhaseCache(cache_folder(settings, out_dir)).stats()
        if as_json:
            out.print_json(data=stats)
            return
        out.print(
            f"{stats['path']}: {stats['entries']} entries, {stats['bytes'] / 1e6:.2f} MB, "
            f"oldest {stats['oldest'] or '-'}, newest {stats['newest'] or '-'}",
            markup=False,
        )
        for row in stats["by_model"]:
            out.print(
                f"  {row['provider']} {row['model']}: {row['entries']} entries, "
                f"{row['output_tokens']} output tokens",
                markup=False,
            )


@cache_app.command("clear")
def cache_clear(
    out_dir: CacheOut = DEFAULT_OUT,
    older_than: Annotated[
        float | None,
        typer.Option(
            "--older-than", metavar="DAYS", min=0, help="Only entries older than this many days."
        ),
    ] = None,
) -> None:
    """Delete cached phase results and source indexes."""
    from reporting.compiler.cache import PhaseCache, cache_folder
    from reporting.sources.search import clear_indexes

    settings = _settings()
    with _guard(settings):
        folder = cache_folder(settings, out_dir)
        removed = PhaseCache(folder).clear(older_than)
        indexes = clear_indexes(folder / "sources", older_than)
        out.print(f"removed {removed} cached results and {indexes} source indexes", markup=False)


def _version(value: bool) -> None:
    if value:
        out.print(f"reporting {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Compile a YAML outline into a Markdown and DOCX report with routed LLM calls."""


def main() -> None:
    """Console-script entry point."""
    app()

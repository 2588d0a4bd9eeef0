"""`report build` and `report batch`: write reports and say what it took."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

if TYPE_CHECKING:
    from reporting.batch import BatchOutcome
    from reporting.build import BuildSummary
    from reporting.settings import Settings

from reporting.cli.common import (
    DEFAULT_OUT,
    AllowOutside,
    Formats,
    NoCache,
    OutDir,
    OutlineArg,
    Params,
    Quiet,
    Theme,
    Verbose,
    configure_logging,
    err,
    guard,
    out,
    parse_params,
    settings_or_exit,
    with_formats,
    with_theme,
)
from reporting.errors import ConfigError, InputError, QualityFailed
from reporting.logs import redact


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
    param: Params = None,
    verbose: Verbose = False,
    formats: Formats = None,
    theme: Theme = None,
) -> None:
    """Build OUTLINE into <stem>.md, <stem>.docx and <stem>.run.json (--format: also .pdf, .html).

    With --param, the files' stem names the values given: <stem>--region=US.md.

    Examples:

      report build examples/outlines/quarterly-review.yaml

      report build kpis.yaml --param region=US --out reports/

      report build quarterly-review.yaml --refresh 3
    """
    from reporting.build import build_report
    from reporting.cli.progress import LiveProgress

    settings = settings_or_exit()
    # A live table on a terminal; plain one-line [Hybrid] events everywhere else (cron, CI).
    live = err.is_terminal and not quiet
    configure_logging(settings, quiet, live_table=live and not verbose)
    progress = LiveProgress(err) if live else None
    with guard(settings):
        settings = with_theme(with_formats(settings, formats), theme)
        try:
            result = build_report(
                outline,
                out_dir,
                settings,
                use_cache=not no_cache,
                refresh=frozenset(refresh or []),
                observer=progress,
                allow_outside=allow_outside,
                params=parse_params(param),
            )
        finally:
            if progress is not None:
                progress.close()
        summary = result.summary
        first, *others = result.written
        out.print(
            f"wrote {first}, {', '.join(path.name for path in others[:-1])}"
            f"{' and ' if len(others) > 1 else ''}{others[-1].name}: "
            f"{summary_line(summary)}",
            markup=False,
        )
        if summary.checked:
            out.print(quality_line(summary), markup=False)
        if summary.demonstration_model:
            err.print(demonstration_line(summary.demonstration_model), markup=False)
        if settings.quality_gate == "strict" and not summary.quality_passed:
            err.print(
                f'QUALITY_GATE=strict: a final text fails its checks; see "quality" in '
                f"{result.manifest} (the files are written so you can look)",
                markup=False,
            )
            raise typer.Exit(QualityFailed.exit_code)


def summary_line(summary: BuildSummary) -> str:
    """`34 steps (0 from cache), 3 cloud calls of 15 allowed, 1 fallbacks, 12.3 s`."""
    steps = f"{summary.steps} steps ({summary.cache_hits} from cache)"
    if summary.no_primary:
        # Nothing fell back: every step was planned on the secondary, so no count to show.
        return f"{steps}, no cloud primary ({summary.no_primary} unset), {summary.duration_s:.1f} s"
    return (
        f"{steps}, {summary.cloud_calls} cloud calls of {summary.max_cloud_calls} allowed, "
        f"{summary.fallbacks} fallbacks, {summary.duration_s:.1f} s"
    )


def demonstration_line(model: str) -> str:
    """The one line saying a demonstration model wrote the text, and what to do instead."""
    return (
        f"note: the text was written by the {model} demonstration model; "
        "configure Ollama or OpenAI for real reports (README)"
    )


def quality_line(summary: BuildSummary) -> str:
    """`checks: 9 of 11 sections pass every check, abstract fails; 4 repairs, 1 escalation`."""
    text = f"checks: {summary.sections_passing} of {summary.sections} sections pass every check"
    if not summary.quality_passed and summary.sections_passing == summary.sections:
        text += ", the abstract does not"
    escalations = "escalation" if summary.escalations == 1 else "escalations"
    repairs = "repair" if summary.repairs == 1 else "repairs"
    return f"{text}; {summary.repairs} {repairs}, {summary.escalations} {escalations}"


Engine = Annotated[
    str,
    typer.Option(
        "--engine",
        metavar="local|celery",
        help="local: build here · celery: queue one task per report for `report worker`s.",
        case_sensitive=False,
    ),
]
Broker = Annotated[
    str | None,
    typer.Option(
        "--broker",
        metavar="URL",
        help="Redis URL of the workers' queue (default REPORT_BROKER_URL).",
        show_default=False,
    ),
]


def batch(
    paths: Annotated[
        list[Path], typer.Argument(help="Outline files or folders of outlines.", show_default=False)
    ],
    out_dir: OutDir = DEFAULT_OUT,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Reports built at once (local engine).")
    ] = 4,
    quiet: Quiet = False,
    no_cache: NoCache = False,
    allow_outside: AllowOutside = False,
    params_file: Annotated[
        Path | None,
        typer.Option(
            "--params",
            metavar="CSV",
            help="One run per row: a header of param names, a row of values per report.",
            show_default=False,
        ),
    ] = None,
    formats: Formats = None,
    theme: Theme = None,
    engine: Engine = "local",
    broker: Broker = None,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="celery: wait for every report, then print the table."),
    ] = False,
    queue: Annotated[
        str | None,
        typer.Option(
            "--queue", metavar="Q", help="celery: the queue to send to.", show_default=False
        ),
    ] = None,
) -> None:
    """Build many outlines, JOBS at a time, sharing the providers' concurrency limits.

    With --params, every outline is built once per row of the CSV file, each run under its
    own stem (<stem>--region=US--quarter=2026Q2.md). With --engine celery, each report is
    queued as one task for the workers (`report worker`); --wait follows them to the end.

    Examples:

      report batch examples/outlines/ --jobs 2

      report batch kpis.yaml --params runs.csv

      report batch outlines/ --engine celery --broker redis://host:6379/0 --wait
    """
    import asyncio

    from reporting.batch import (
        BatchOutcome,
        batch_runs,
        collect_outlines,
        read_param_rows,
        run_batch,
    )
    from reporting.compiler.cache import PhaseCache, cache_folder
    from reporting.compiler.shared_cache import tiered
    from reporting.render.outputs import check_output_folder
    from reporting.routing.availability import preflight

    settings = settings_or_exit()
    configure_logging(settings, quiet)
    engine = engine.lower()
    if engine not in ("local", "celery"):
        err.print(
            f"error (invalid input): --engine must be local or celery, not {engine!r}", markup=False
        )
        raise typer.Exit(2)
    with guard(settings):
        settings = with_theme(with_formats(settings, formats), theme)
        outlines, missing = collect_outlines(paths)
        if not outlines and not missing:
            raise InputError("no outline (*.yaml, *.yml) found in " + ", ".join(map(str, paths)))
        rows = read_param_rows(params_file) if params_file is not None else None
        if engine == "celery":
            url = broker or settings.report_broker_url
            if not url:
                raise ConfigError(
                    "--engine celery needs a broker: --broker redis://… or REPORT_BROKER_URL"
                )
            settings = settings.model_copy(update={"report_broker_url": url})
            outcomes = _celery_batch(
                batch_runs(outlines, rows),
                missing,
                out_dir,
                settings,
                url,
                wait,
                queue,
                allow_outside,
                no_cache,
                quiet,
            )
            if outcomes is None:
                return
            missing = []  # already among the outcomes
        else:
            check_output_folder(out_dir)  # before the preflight, the cache and any call
            available = preflight(settings)
            cache = (
                None if no_cache else tiered(settings, PhaseCache(cache_folder(settings, out_dir)))
            )
            outcomes = asyncio.run(
                run_batch(outlines, out_dir, settings, available, jobs, cache, allow_outside, rows)
            )
        outcomes += [BatchOutcome(Path(m), "-", "invalid", f"{m}: not found", 0.0) for m in missing]
        code = report_outcomes(outcomes, rows is not None, settings)
        if code:
            raise typer.Exit(code)


def _celery_batch(
    runs: list[tuple[Path, str, dict[str, str]]],
    missing: list[str],
    out_dir: Path,
    settings: Settings,
    url: str,
    wait: bool,
    queue: str | None,
    allow_outside: bool,
    no_cache: bool,
    quiet: bool,
) -> list[BatchOutcome] | None:
    """Queue the batch's reports; with --wait, their outcomes (else None, once queued)."""
    from reporting.batch import BatchOutcome
    from reporting.engines.submit import enqueue, wait_for
    from reporting.errors import OutlineError
    from reporting.outline.loader import load_outline
    from reporting.settings import hide_userinfo

    # An invalid outline is reported now, as a local batch would, and never queued.
    invalid: dict[Path, str] = {}
    for path in dict.fromkeys(path for path, _, _ in runs):
        try:
            load_outline(path)
        except OutlineError as exc:
            invalid[path] = "\n".join(f"{exc.path}: {problem}" for problem in exc.problems)
    rejected = [
        BatchOutcome(path, stem, "invalid", invalid[path], 0.0)
        for path, stem, _ in runs
        if path in invalid
    ] + [BatchOutcome(Path(m), "-", "invalid", f"{m}: not found", 0.0) for m in missing]
    runs = [run for run in runs if run[0] not in invalid]
    jobs = enqueue(
        runs,
        out_dir,
        settings,
        url,
        queue=queue,
        allow_outside=allow_outside,
        use_cache=not no_cache,
    )
    fresh = sum(job.queued for job in jobs)
    err.print(
        f"queued {fresh} report(s) on {hide_userinfo(url)}"
        + (f" ({len(jobs) - fresh} already queued or running)" if fresh < len(jobs) else ""),
        markup=False,
    )
    if not wait:
        for job in jobs:
            out.print(f"{job.task_id}  {job.outline}", markup=False)
        if rejected:
            report_outcomes(rejected, False, settings)
            raise typer.Exit(InputError.exit_code)
        return None
    progress = BatchProgress(len(jobs), quiet)
    try:
        return rejected + wait_for(jobs, settings, url, on_change=progress.update)
    except KeyboardInterrupt:
        # The reports are the workers' now: they go on, and the same command finds them again.
        err.print(
            "interrupted: the queued reports go on on the workers; run the same command "
            "with --wait to follow them",
            markup=False,
        )
        raise typer.Exit(130) from None
    finally:
        progress.close()


def report_outcomes(outcomes: list[BatchOutcome], by_stem: bool, settings: Settings) -> int:
    """Print the batch's table, each failure in full and the totals; the batch's exit code."""
    from reporting.batch import batch_exit_code

    table = Table(title=f"Batch: {len(outcomes)} outlines")
    for column in ("outline", "status", "calls", "cloud", "checks", "seconds", "detail"):
        table.add_column(column)
    for outcome in outcomes:
        summary = outcome.summary
        name = str(outcome.outline) if not by_stem else outcome.stem
        colour = {"ok": "green", "invalid": "yellow", "failed": "red"}[outcome.status]
        table.add_row(
            name,
            f"[{colour}]{outcome.status}[/{colour}]",
            str(summary.steps) if summary else "-",
            str(summary.cloud_calls) if summary else "-",
            f"{summary.sections_passing}/{summary.sections}"
            if summary and summary.checked
            else "-",
            f"{outcome.seconds:.1f}",
            redact(outcome.detail.replace("\n", "; "), settings.secrets),
        )
    out.print(table)
    for outcome in outcomes:  # whole messages, unwrapped, for logs and people
        if outcome.status != "ok":
            detail = redact(outcome.detail, settings.secrets).replace("\n", "\n  ")
            what = outcome.outline if not by_stem else f"{outcome.outline} ({outcome.stem})"
            err.print(f"{outcome.status}: {what}:\n  {detail}", markup=False)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "invalid", "failed")}
    out.print(
        f"{counts['ok']} written, {counts['failed']} failed, {counts['invalid']} invalid",
        markup=False,
    )
    written = {o.summary.demonstration_model for o in outcomes if o.summary}
    for model in sorted(model for model in written if model):  # once per batch, not per report
        err.print(demonstration_line(model), markup=False)
    code = batch_exit_code(outcomes)
    flagged = [o for o in outcomes if o.summary and not o.summary.quality_passed]
    if flagged and settings.quality_gate == "strict":
        err.print(
            f"QUALITY_GATE=strict: {len(flagged)} report(s) have a final text that fails "
            'its checks; see "quality" in their .run.json',
            markup=False,
        )
        code = code or QualityFailed.exit_code
    return code


class BatchProgress:
    """How many of the queued reports are waiting, running and finished, as they change."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total = total
        self.quiet = quiet
        self.last: tuple[int, int, int] | None = None

    def update(self, states: dict[str, str]) -> None:
        """Called after each poll with every task's Celery state."""
        finished = sum(s in ("SUCCESS", "FAILURE", "REVOKED", "LOST") for s in states.values())
        running = sum(s in ("STARTED", "RETRY") for s in states.values())
        waiting = self.total - finished - running
        now = (waiting, running, finished)
        if now != self.last and not self.quiet:
            err.print(
                f"{finished} of {self.total} finished, {running} running, {waiting} queued",
                markup=False,
            )
        self.last = now

    def close(self) -> None:
        """Nothing to tear down: lines, not a live display."""

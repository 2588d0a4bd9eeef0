"""`report cache stats` and `report cache clear`: the phase cache of an output folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reporting.cli.common import DEFAULT_OUT, AsJson, guard, out, settings_or_exit

cache_app = typer.Typer(help="Inspect or clear the phase cache.", no_args_is_help=True)

CacheOut = Annotated[
    Path, typer.Option("--out", help="Output folder whose cache to use (or REPORT_CACHE_DIR).")
]


@cache_app.command("stats")
def cache_stats(
    out_dir: CacheOut = DEFAULT_OUT,
    as_json: AsJson = False,
) -> None:
    """Entries, size and age of the phase cache."""
    from reporting.compiler.cache import PhaseCache, cache_folder

    settings = settings_or_exit()
    with guard(settings):
        stats = PhaseCache(cache_folder(settings, out_dir)).stats()
        if as_json:
            out.print_json(data=stats.to_json())
            return
        out.print(
            f"{stats.path}: {stats.entries} entries, {stats.bytes / 1e6:.2f} MB, "
            f"oldest {stats.oldest or '-'}, newest {stats.newest or '-'}",
            markup=False,
        )
        for row in stats.by_model:
            out.print(
                f"  {row.provider} {row.model}: {row.entries} entries, "
                f"{row.output_tokens} output tokens",
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

    settings = settings_or_exit()
    with guard(settings):
        folder = cache_folder(settings, out_dir)
        removed = PhaseCache(folder).clear(older_than)
        indexes = clear_indexes(folder / "sources", older_than)
        out.print(f"removed {removed} cached results and {indexes} source indexes", markup=False)

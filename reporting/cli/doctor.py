"""`report doctor`: can a build run, and on which providers."""

from __future__ import annotations

import typer
from rich.markup import escape

from reporting.cli.common import guard, out, settings_or_exit
from reporting.logs import redact
from reporting.routing.roles import Role


def doctor() -> None:
    """Check the providers a build would use; exit 0 only when a build can run."""
    from reporting.providers.registry import provider
    from reporting.routing.availability import check_roles

    settings = settings_or_exit()
    with guard(settings):
        checks = check_roles(settings)
        # One block per role, each fact on its own line: at any width a setting's name (the
        # thing a user must type) wraps whole instead of being cut by a table column.
        for role, check in checks.items():
            kind = "cloud" if provider(check.name).cloud else "local"
            detail = escape(redact(check.status, settings.secrets))  # a URL may hold a password
            verdict = "[green]ok[/green]" if check.ok else "[red]unavailable[/red]"
            out.print(
                f"[bold]{role.value}[/bold]: {escape(check.name)} {escape(check.model)} ({kind})"
            )
            out.print(f"  {verdict}: {detail}")
            if check.fix:
                out.print(f"  fix: {escape(check.fix)}")
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
        missing = None if primary.ok else provider(primary.name).missing_setting(settings)
        if missing:
            out.print(
                f"verdict: a build can run on the secondary alone; no primary is configured "
                f"({missing} is not set), so its steps are planned there (NO_PRIMARY)",
                markup=False,
            )
        elif not primary.ok:
            out.print(
                "verdict: a build can run; every primary step goes to the secondary (UNAVAILABLE)",
                markup=False,
            )
        else:
            out.print("verdict: a build can run on both providers", markup=False)

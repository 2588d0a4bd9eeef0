"""`report budget show`: today's use of the shared cloud budget (CLOUD_BUDGET_DAILY), per scope."""

from __future__ import annotations

import typer

from reporting.cli.common import AsJson, err, guard, out, settings_or_exit

budget_app = typer.Typer(help="Inspect the shared cloud budget in Redis.", no_args_is_help=True)


@budget_app.command("show")
def budget_show(as_json: AsJson = False) -> None:
    """Today's (UTC) cloud calls per scope: `scope  used/cap  day`."""
    settings = settings_or_exit()
    url = settings.state_url
    if not url:
        err.print(
            "error (invalid input): no shared state: set REPORT_STATE_URL or REPORT_BROKER_URL",
            markup=False,
        )
        raise typer.Exit(2)
    with guard(settings):
        from reporting.compiler.shared_budget import RedisState, StateUnavailable, today

        state = RedisState(url, settings.secrets)
        try:
            rows = state.usage(today())
        except StateUnavailable as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from None
        finally:
            state.close()
        if as_json:
            out.print_json(
                data=[{"scope": r.scope, "used": r.used, "cap": r.cap, "day": r.day} for r in rows]
            )
            return
        if not rows:
            out.print(f"no cloud calls charged today ({today()}, UTC)", markup=False)
            return
        width = max(len(r.scope) for r in rows)
        for r in rows:
            cap = "-" if r.cap is None else str(r.cap)
            out.print(f"{r.scope:<{width}}  {r.used}/{cap}  {r.day}", markup=False)

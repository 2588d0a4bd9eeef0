"""`report plan`: who will write each step and what it will cost, with no model call."""

from __future__ import annotations

from rich.table import Table

from reporting.cli.common import (
    AllowOutside,
    AsJson,
    OutlineArg,
    configure_logging,
    guard,
    out,
    settings_or_exit,
)
from reporting.settings import Settings


def plan(
    outline: OutlineArg,
    as_json: AsJson = False,
    allow_outside: AllowOutside = False,
) -> None:
    """Show who will write each step of OUTLINE and what it will cost, sending no model call."""
    from reporting.build import plan_report
    from reporting.compiler.estimate import project_plan

    settings = settings_or_exit()
    configure_logging(settings, quiet=as_json)
    with guard(settings):
        the_outline, grounding, the_plan = plan_report(
            outline, settings, allow_outside=allow_outside
        )
        estimate = project_plan(the_outline, the_plan, settings, grounding)
        if as_json:
            out.print_json(data=estimate.to_json())
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
        for call in estimate.calls:
            step = call.step
            table.add_row(
                step.section_id or "-",
                call.title or "(abstract)",
                step.phase.name,
                step.role.value,
                step.provider.name,
                step.provider.model,
                step.reason.value,
                step.rule,
                f"{call.input_tokens}/{call.output_tokens}",
                f"${call.cost_usd:.4f}",
            )
        out.print(table)
        total = estimate.projected
        out.print(
            f"cloud calls: {estimate.cloud_calls} planned of {estimate.max_cloud_calls} "
            f"allowed (MAX_CLOUD_CALLS); projected tokens {total.input_tokens} in, "
            f"{total.output_tokens} out; cost ${total.cost_usd:.4f} vs "
            f"${total.baseline_usd:.4f} all-cloud (saving ${total.saving_usd:.4f})",
            markup=False,
        )
        out.print(
            gate_line(settings, estimate.max_cloud_calls - estimate.cloud_calls), markup=False
        )


def gate_line(settings: Settings, spare: int) -> str:
    """What the quality gate may add to the plan: repairs and escalations are not in it."""
    gate = settings.quality_gate
    if gate in ("off", "report"):
        return f"quality gate: {gate} (no repair or escalation call)"
    return (
        f"quality gate: {gate}; a step whose text fails a check gets up to "
        f"{settings.quality_max_repairs} repair call(s), not in the projection above; cloud "
        f"repairs and escalations may use only the {spare} cloud call(s) no planned step needs"
    )

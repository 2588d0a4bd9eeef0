"""`report plan`: who will write each step and what it will cost, with no model call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table

from reporting.cli.common import (
    DEFAULT_OUT,
    AllowOutside,
    AsJson,
    OutDir,
    OutlineArg,
    Params,
    configure_logging,
    guard,
    out,
    parse_params,
    settings_or_exit,
)
from reporting.settings import Settings

if TYPE_CHECKING:
    from reporting.compiler.estimate import Estimate
    from reporting.routing.plan import Plan


def plan(
    outline: OutlineArg,
    as_json: AsJson = False,
    allow_outside: AllowOutside = False,
    param: Params = None,
    out_dir: OutDir = DEFAULT_OUT,
) -> None:
    """Show who will write each step of OUTLINE and what it will cost, sending no model call.

    Sections with a query are run (no model is called) and compared with the last build's
    manifest in --out: the ones whose data changed will be written again.

    Examples:

      report plan examples/outlines/quarterly-review.yaml

      report plan kpis.yaml --param region=US --json
    """
    from reporting.build import plan_inputs, read_inputs
    from reporting.compiler.estimate import project_plan
    from reporting.observe.data_changes import data_changes
    from reporting.render.outputs import safe_stem

    settings = settings_or_exit()
    configure_logging(settings, quiet=as_json)
    with guard(settings):
        inputs = read_inputs(
            outline, settings, allow_outside=allow_outside, params=parse_params(param)
        )
        the_plan = plan_inputs(inputs, settings)
        estimate = project_plan(inputs.outline, the_plan, settings, inputs.grounding)
        stem = safe_stem(inputs.output_stem)
        changes = data_changes(inputs.data, out_dir / f"{stem}.run.json")
        shared = shared_budget_state(settings)
        if as_json:
            extra = {"data": changes.to_json()}
            if shared is not None:
                extra["shared_budget"] = shared
            out.print_json(data={**estimate.to_json(), **extra})
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
        out.print(cost_line(estimate, the_plan), markup=False)
        out.print(
            gate_line(settings, estimate.max_cloud_calls - estimate.cloud_calls), markup=False
        )
        if shared is not None:
            out.print(shared_budget_line(shared, estimate.cloud_calls), markup=False)
        if inputs.data.queries:
            out.print(changes.line(), markup=False)


def cost_line(estimate: Estimate, the_plan: Plan) -> str:
    """Cloud calls, tokens and cost; a saving only when there is a cloud primary to compare."""
    total = estimate.projected
    line = (
        f"cloud calls: {estimate.cloud_calls} planned of {estimate.max_cloud_calls} "
        f"allowed (MAX_CLOUD_CALLS); projected tokens {total.input_tokens} in, "
        f"{total.output_tokens} out; cost ${total.cost_usd:.4f}"
    )
    if the_plan.baseline_provider is not None:
        return f"{line} vs ${total.baseline_usd:.4f} all-cloud (saving ${total.saving_usd:.4f})"
    why = f"{the_plan.primary_missing} is not set" if the_plan.primary_missing else "it is local"
    return f"{line}; no cloud primary ({why}): no all-cloud baseline, no saving"


def shared_budget_state(settings: Settings) -> dict[str, Any] | None:
    """Today's use of the shared budget (CLOUD_BUDGET_DAILY), None when there is none.

    Read, never charged: the plan stays the same whatever the budget's state, and the build
    charges each request when it is sent.
    """
    from reporting.compiler.shared_budget import StateUnavailable, from_settings

    budget = from_settings(settings)
    if budget is None:
        return None
    try:
        use = budget.use()
    except StateUnavailable as exc:
        return {"scope": budget.scope, "cap": budget.cap, "used": None, "error": str(exc)}
    return {"scope": use.scope, "cap": budget.cap, "used": use.used, "day": use.day}


def shared_budget_line(shared: dict[str, Any], planned: int) -> str:
    """`shared budget (CLOUD_BUDGET_DAILY): 12 of 40 used today by scope default; …`."""
    head = f"shared budget (CLOUD_BUDGET_DAILY={shared['cap']}, scope {shared['scope']})"
    if shared["used"] is None:
        return f"{head}: {shared['error']}; no cloud call would be sent"
    left = max(0, shared["cap"] - shared["used"])
    line = f"{head}: {shared['used']} used today, {left} left"
    if left < planned:
        line += f"; fewer than the {planned} planned: the rest would go to the secondary"
    return line


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

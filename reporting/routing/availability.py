"""Preflight before any generation: each provider the build may use is checked once."""

from __future__ import annotations

from dataclasses import replace

from reporting.errors import ConfigError
from reporting.logs import hybrid
from reporting.providers.base import ProviderCheck
from reporting.providers.registry import provider
from reporting.routing.roles import Role, provider_specs
from reporting.settings import Settings


def check_roles(settings: Settings) -> dict[Role, ProviderCheck]:
    """The verdict on the primary and the secondary; a provider in both roles is checked once."""
    verdicts: dict[tuple[str, str], ProviderCheck] = {}
    checks: dict[Role, ProviderCheck] = {}
    for role, spec in provider_specs(settings).items():
        key = (spec.name, spec.model)
        if key not in verdicts:
            check = provider(spec.name).check(spec.model, settings)
            verdicts[key] = replace(check, name=spec.name)  # the name as the user wrote it
        checks[role] = verdicts[key]
    return checks


def preflight(settings: Settings) -> dict[Role, bool]:
    """Check both providers, log the verdicts, and fail when the secondary is unusable."""
    checks = check_roles(settings)
    for role, check in checks.items():
        hybrid(
            Event="PREFLIGHT",
            Role=role.name,
            Provider=check.name.upper(),
            Model=check.model,
            Status="OK" if check.ok else "UNAVAILABLE",
            Detail=check.status,
        )
    secondary = checks[Role.SECONDARY]
    if not secondary.ok:
        raise ConfigError(
            f"the secondary provider {secondary.name} ({secondary.model}) is unavailable: "
            f"{secondary.status}; fix: {secondary.fix}"
        )
    return {role: check.ok for role, check in checks.items()}

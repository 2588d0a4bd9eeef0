"""How many calls each provider may have in flight, shared by every report of a process."""

from __future__ import annotations

import asyncio

from reporting.routing.roles import ProviderSpec, Role
from reporting.settings import Settings


class ProviderLimits:
    """One semaphore per provider and model; a batch shares it across all its reports."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._slots: dict[tuple[str, str], asyncio.Semaphore] = {}

    def limit(self, spec: ProviderSpec) -> int:
        """The concurrency limit of a provider in a role."""
        if spec.role is Role.PRIMARY:
            configured = self.settings.primary_max_concurrency
        else:
            configured = self.settings.secondary_max_concurrency
        return spec.kind.max_concurrency(configured)

    def slot(self, spec: ProviderSpec) -> asyncio.Semaphore:
        """The semaphore a call to this provider holds while its request is in flight."""
        key = (spec.name, spec.model)
        if key not in self._slots:
            self._slots[key] = asyncio.Semaphore(self.limit(spec))
        return self._slots[key]

"""The two roles a provider can have, why a step goes to one, and the providers configured."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from reporting.providers.base import Provider
from reporting.providers.registry import provider
from reporting.settings import Settings


class Role(Enum):
    """The two providers a report may use."""

    PRIMARY = "primary"
    SECONDARY = "secondary"

    @property
    def other(self) -> Role:
        """The role a step falls back to."""
        return Role.SECONDARY if self is Role.PRIMARY else Role.PRIMARY


class Reason(Enum):
    """Why a step goes where it goes."""

    MATRIX = "MATRIX"  # a row of the hybrid routing matrix
    ADAPTIVE = "ADAPTIVE"  # ROUTING_POLICY=adaptive: source relevance and section complexity
    OVERRIDE = "OVERRIDE"  # a row of ROUTING_FILE
    HYBRID_OFF = "HYBRID_OFF"  # hybrid mode off: everything on the primary
    ABSTRACT_POLICY = "ABSTRACT_POLICY"  # the abstract rule
    COST_LIMIT = "COST_LIMIT"  # MAX_CLOUD_CALLS leaves no call for this step
    UNAVAILABLE = "UNAVAILABLE"  # preflight found the planned provider unusable
    NO_PRIMARY = "NO_PRIMARY"  # no primary is configured (no key): the secondary, as planned
    COMPARE = "COMPARE"  # one side of a `report compare` pair
    JUDGE = "JUDGE"  # the primary judging a `report compare` pair


@dataclass(frozen=True)
class ProviderSpec:
    """A configured provider: its role, name as written, kind and model."""

    role: Role
    name: str
    model: str

    @property
    def kind(self) -> Provider:
        """What runs this provider."""
        return provider(self.name)

    @property
    def is_cloud(self) -> bool:
        """Whether calls to it count against MAX_CLOUD_CALLS."""
        return self.kind.cloud

    @property
    def label(self) -> str:
        """The name as shown in `[Hybrid]` log lines."""
        return self.name.upper()


def provider_specs(settings: Settings) -> dict[Role, ProviderSpec]:
    """The primary and secondary providers the settings name."""
    return {
        Role.PRIMARY: ProviderSpec(Role.PRIMARY, settings.primary_provider, settings.primary_model),
        Role.SECONDARY: ProviderSpec(
            Role.SECONDARY, settings.secondary_provider, settings.secondary_model
        ),
    }

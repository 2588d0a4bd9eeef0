"""What calls cost: prices of common cloud models, overridable from a file or the environment.

Prices are USD per million input and output tokens. Local and embedded models cost nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from reporting.errors import ConfigError
from reporting.providers import registry
from reporting.settings import Settings

# Public list prices (USD per 1M tokens, input / output) when this table was written; set
# PRICES_FILE or PRICES for your contract's prices or a model missing here.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
}


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """USD for a number of tokens."""
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


FREE = Price(0.0, 0.0)


def _parse_overrides(data: Any, where: str) -> dict[str, Price]:
    """`{model: {input: x, output: y}}` as Prices; anything else is a ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of model → {{input, output}}")
    prices = {}
    for model, entry in data.items():
        try:
            prices[str(model)] = Price(float(entry["input"]), float(entry["output"]))
        except (TypeError, KeyError, ValueError):
            raise ConfigError(
                f"{where}: {model}: expected {{input: USD per 1M tokens, output: USD per 1M}}"
            ) from None
    return prices


class PriceTable:
    """Prices of the models a run used; unknown cloud models are reported, not guessed."""

    def __init__(self, settings: Settings) -> None:
        self.prices = {model: Price(*pair) for model, pair in DEFAULT_PRICES.items()}
        if settings.prices_file is not None:
            where = str(settings.prices_file)
            try:
                text = settings.prices_file.read_text(encoding="utf-8")
                data = yaml.safe_load(text)
            except (OSError, yaml.YAMLError) as exc:
                raise ConfigError(f"PRICES_FILE {where}: cannot read it: {exc}") from None
            self.prices.update(_parse_overrides(data, f"PRICES_FILE {where}"))
        if settings.prices:
            try:
                data = json.loads(settings.prices)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"PRICES: not JSON: {exc}") from None
            self.prices.update(_parse_overrides(data, "PRICES"))

    def price(self, provider: str, model: str) -> Price | None:
        """The price of a model; free when local, None when a cloud model has no known price."""
        if provider in registry.known_names() and not registry.provider(provider).cloud:
            return FREE
        if model in self.prices:
            return self.prices[model]
        # Dated snapshots (gpt-4o-2024-08-06) cost what their family costs.
        family = max((m for m in self.prices if model.startswith(m + "-")), key=len, default=None)
        return self.prices[family] if family else None

    def cost(self, provider: str, model: str, input_tokens: int, output_tokens: int) -> float:
        """USD of one call; 0 when the price is unknown (the manifest says which)."""
        price = self.price(provider, model)
        return price.cost(input_tokens, output_tokens) if price else 0.0

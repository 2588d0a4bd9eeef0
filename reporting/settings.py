"""Every setting, read once from the environment and `.env` and validated (pydantic-settings)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from reporting.envfile import EnvFile, read_env_file
from reporting.errors import SettingsError
from reporting.providers import registry


def normalise_provider(value: str) -> str:
    """Lower-case a provider name and check the registry knows it."""
    name = value.strip().lower()
    known_names = registry.known_names()
    if name not in known_names:
        known = ", ".join(known_names)
        raise ValueError(f"unknown provider {value!r}; use one of: {known}")
    return name


# The report's formats, in the order they are written; the manifest is always written too.
OUTPUT_FORMATS = ("md", "docx", "pdf", "html")


def parse_formats(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`md,docx,pdf` as known formats in their canonical order; ValueError naming an unknown one."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [item.strip().lower() for item in items if item.strip()]
    unknown = [name for name in names if name not in OUTPUT_FORMATS]
    if unknown:
        raise ValueError(
            f"unknown format {', '.join(map(repr, unknown))}; use {', '.join(OUTPUT_FORMATS)}"
        )
    if not names:
        raise ValueError(f"no format given; use some of {', '.join(OUTPUT_FORMATS)}")
    return tuple(name for name in OUTPUT_FORMATS if name in names)


class Settings(BaseSettings):
    """Configuration of one build; names are case-insensitive environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        extra="ignore",
        frozen=True,
    )

    vra_hybrid_mode: bool = Field(False, description="Route phases between primary and secondary.")
    report_provider: str | None = Field(None, description="Fallback name for PRIMARY_PROVIDER.")
    primary_provider: str = Field(
        "",
        validate_default=True,  # unset still falls back, and a bad REPORT_PROVIDER is named
        description="High-reasoning provider: REPORT_PROVIDER, else openai.",
    )
    primary_model: str = Field(
        "gpt-4o", description="Model of the primary provider; unset: the provider's own."
    )
    secondary_provider: str = Field("local", description="High-volume provider (local = Ollama).")
    secondary_model: str = Field(
        "llama3:8b", description="Model of the secondary provider; unset: the provider's own."
    )
    max_cloud_calls: int = Field(15, ge=0, description="Cloud requests allowed per report.")
    request_timeout: float = Field(120.0, gt=0, description="Seconds allowed per request.")
    max_retries: int = Field(2, ge=0, le=10, description="Retries after the first attempt.")
    retry_backoff_max: float = Field(20.0, ge=0, description="Cap in seconds of the backoff.")
    temperature: float = Field(0.2, ge=0, le=2, description="Sampling temperature of every call.")
    routing_policy: Literal["matrix", "adaptive"] = Field(
        "matrix",
        description="matrix, or adaptive: DRAFT/EXPAND by source relevance and complexity.",
    )
    routing_file: Path | None = Field(
        None,
        description="YAML file: phase × section type → primary|secondary, overriding the "  # noqa: RUF001
        "routing matrix.",
    )
    adaptive_min_relevance: float = Field(
        0.6, ge=0, le=1, description="Adaptive: source coverage a section needs to go local."
    )
    adaptive_max_complexity: float = Field(
        0.5, ge=0, le=1, description="Adaptive: highest complexity that may go local."
    )
    sources_top_k: int = Field(4, ge=1, le=20, description="Source chunks given to each section.")
    citation_attribution: bool = Field(
        True, description="Cite uncited sentences that mostly restate one given source chunk."
    )
    quality_gate: Literal["repair", "report", "strict", "off"] = Field(
        "repair",
        description="Failed checks: repair (call again), report (record only), strict "
        "(repair; exit 3 if still failing), off.",
    )
    quality_max_repairs: int = Field(
        1, ge=0, le=5, description="Repair calls per step whose text fails a check."
    )
    review_comments: bool = Field(
        False, description="Word comments in the DOCX on sentences with unsupported figures."
    )
    # NoDecode: the variable is `md,docx`, not JSON.
    formats: Annotated[tuple[str, ...], NoDecode] = Field(
        ("md", "docx"), description="Files written besides the manifest: md, docx, pdf, html."
    )
    provenance_appendix: bool = Field(
        False, description="Append who wrote each section and the sources it drew on."
    )
    demo_note: bool = Field(
        True, description="Say under the byline when the SmolLM2-135M demonstration model wrote."
    )
    primary_max_concurrency: int = Field(8, ge=1, description="Primary calls in flight at once.")
    secondary_max_concurrency: int = Field(2, ge=1, description="Secondary calls in flight.")
    theme_dir: Path | None = Field(
        None,
        description="Theme folder: reference.docx, report.typst, report.css or report.html "
        "over the shipped ones.",
    )
    report_cache_dir: Path | None = Field(
        None, description="Folder of the phase cache; default .report_cache/ in the output folder."
    )
    prices_file: Path | None = Field(
        None, description="YAML/JSON file: model → {input, output} USD per million tokens."
    )
    prices: str | None = Field(None, description="The same as PRICES_FILE, inline JSON.")
    embedded_model_path: Path | None = Field(None, description="GGUF file of the embedded model.")
    openai_api_key: SecretStr | None = Field(None, description="Key of the OpenAI API.")
    openai_base_url: str | None = Field(None, description="Any OpenAI-compatible server.")
    ollama_host: str | None = Field(None, description="Address of the Ollama server.")
    cloud_budget_daily: int | None = Field(
        None, ge=0, description="Cloud requests per UTC day shared by every build (Redis)."
    )
    cloud_budget_scope: str = Field(
        "default", min_length=1, description="Whose shared budget: e.g. a team name."
    )
    report_broker_url: str | None = Field(None, description="Redis URL of the workers' broker.")
    report_state_url: str | None = Field(
        None, description="Redis URL of the shared budget and cache; default REPORT_BROKER_URL."
    )
    shared_cache_days: int = Field(
        14, ge=0, description="Days a result stays in the shared cache in Redis (0: off)."
    )
    report_visibility_timeout: int = Field(
        6 * 3600,
        ge=60,
        description="Seconds before a report a dead worker held is given to another worker.",
    )

    @field_validator("routing_policy", "quality_gate", mode="before")
    @classmethod
    def _lower_policy(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(
        "report_provider",
        "routing_file",
        "report_cache_dir",
        "prices_file",
        "embedded_model_path",
        "cloud_budget_daily",
        "report_broker_url",
        "report_state_url",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("formats", mode="before")
    @classmethod
    def _formats(cls, value: Any) -> Any:
        return parse_formats(value) if isinstance(value, str | list | tuple) else value

    @field_validator("cloud_budget_scope", mode="before")
    @classmethod
    def _strip_scope(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("report_provider", "secondary_provider")
    @classmethod
    def _known_provider(cls, value: str | None) -> str | None:
        return None if value is None else normalise_provider(value)

    @field_validator("openai_api_key", mode="before")
    @classmethod
    def _blank_key_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("primary_provider")
    @classmethod
    def _default_primary(cls, value: str, info: ValidationInfo) -> str:
        # PRIMARY_PROVIDER falls back to REPORT_PROVIDER (validated before it), then to openai.
        return normalise_provider(value.strip() or info.data.get("report_provider") or "openai")

    @model_validator(mode="after")
    def _default_models(self) -> Settings:
        # An unset model is the provider's own (the embedded kind: its GGUF file), never another
        # kind's default that would be shown in every log line but never loaded.
        for role in ("primary", "secondary"):
            if f"{role}_model" not in self.model_fields_set:
                kind = registry.provider(getattr(self, f"{role}_provider"))
                object.__setattr__(self, f"{role}_model", kind.default_model(self))
        return self

    @property
    def state_url(self) -> str | None:
        """Where shared state (budget, cache) lives: REPORT_STATE_URL, else the broker."""
        return self.report_state_url or self.report_broker_url

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in any output."""
        key = self.openai_api_key.get_secret_value() if self.openai_api_key else ""
        values = [key]
        for url in (self.openai_base_url, self.report_broker_url, self.report_state_url):
            userinfo = _userinfo(url)
            if userinfo:
                # The whole `user:password` first, so a URL shows as `https://***@host`.
                password = userinfo.partition(":")[2]
                values += [userinfo, unquote(userinfo), password, unquote(password)]
        return list(dict.fromkeys(value for value in values if len(value) >= 4))

    def snapshot(self) -> dict[str, Any]:
        """The settings as JSON-ready data, secrets replaced by whether they are set."""
        data = self.model_dump(mode="json", exclude={"openai_api_key"})
        data["openai_api_key"] = "set" if self.openai_api_key else None
        for name in ("openai_base_url", "report_broker_url", "report_state_url"):
            data[name] = hide_userinfo(getattr(self, name))
        return data


def _userinfo(url: str | None) -> str:
    """The `user:password` part of a URL as written, empty when it has none."""
    if not url:
        return ""
    try:
        netloc = urlsplit(url.strip()).netloc
    except ValueError:  # not a URL at all; take whatever stands before an `@`
        netloc = url.strip()
    return netloc.rpartition("@")[0]


def hide_userinfo(url: str | None) -> str | None:
    """A URL with its `user:password` replaced by `***`, for showing it."""
    userinfo = _userinfo(url)
    if url is None or not userinfo:
        return url
    return url.replace(f"{userinfo}@", "***@", 1)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; every problem, each with its source, becomes one SettingsError.

    Unknown keys in `.env` are problems (a variable of the environment is not: it holds many
    that are not ours); a bad value names where it came from, the environment winning.
    """
    env_files = overrides.get("_env_file", Settings.model_config.get("env_file"))
    files = [read_env_file(Path(path)) for path in _paths(env_files)]
    problems = [problem for env in files for problem in env.problems(Settings.model_fields)]
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        given = {name.upper() for name in overrides}
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            where = "" if not name or name in given else _source(name, files)
            problems.append(f"{where}{name}: {message}" if name else message)
    else:
        if not problems:
            return settings
    raise SettingsError(problems)


def _paths(env_files: Any) -> list[str | Path]:
    """The `.env` files pydantic-settings reads: none, one, or several (later ones win)."""
    if env_files is None:
        return []
    return [env_files] if isinstance(env_files, str | Path) else list(env_files)


def _source(name: str, files: list[EnvFile]) -> str:
    """Where a value came from: `environment: `, else the last `.env` with it: `.env line 4: `."""
    if any(variable.upper() == name for variable in os.environ):
        return "environment: "
    places = [place for env in files if (place := env.where(name)) is not None]
    return f"{places[-1]}: " if places else ""

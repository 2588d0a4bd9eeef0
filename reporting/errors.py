"""The exception tree of reporting; every error a user can meet is one of these.

ReportingError                 exit_code 1 unless said otherwise
├── InputError                 exit 2: the user's files or settings are wrong
│   ├── OutlineError           an outline file fails to load or validate (lists every problem)
│   └── ConfigError            a setting is invalid, or a needed provider is unusable
│       └── SettingsError      the settings fail to read or validate (lists every problem)
├── ProviderError              one model call failed; `retryable` says if trying again may help
│   ├── ProviderTimeout        no answer within REQUEST_TIMEOUT (retryable)
│   ├── ProviderUnreachable    connection refused or dropped (retryable)
│   ├── ProviderRateLimited    HTTP 429; `retry_after` seconds when the server said (retryable)
│   ├── ProviderServerError    HTTP 5xx (retryable)
│   ├── ProviderRejected       HTTP 4xx other than 429: bad key, unknown model… (not retried)
│   └── ProviderBadResponse    a reply that is not usable text (retryable)
├── CostLimitExceededError     the report's MAX_CLOUD_CALLS budget has no call left
├── GenerationError            a step failed on every provider it may use (exit 1)
└── QualityFailed              exit 3: QUALITY_GATE=strict and a final text fails a check;
                               the report's files are written so a person can look
"""

from __future__ import annotations


class ReportingError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 1


class InputError(ReportingError):
    """The user's input (outline, settings) is wrong; nothing was generated."""

    exit_code = 2


class OutlineError(InputError):
    """An outline failed to load; `problems` holds one `place: what` line per problem."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {problem}" for problem in problems))


class ConfigError(InputError):
    """A setting is invalid or a provider the plan needs cannot be used."""


class SettingsError(ConfigError):
    """The settings failed to load; `problems` holds one `source: what` line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings: " + "; ".join(problems))


class ProviderError(ReportingError):
    """A single model call failed."""

    retryable = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderTimeout(ProviderError):
    """The provider did not answer within REQUEST_TIMEOUT."""

    retryable = True


class ProviderUnreachable(ProviderError):
    """The connection was refused, reset or dropped."""

    retryable = True


class ProviderRateLimited(ProviderError):
    """HTTP 429: too many requests."""

    retryable = True


class ProviderServerError(ProviderError):
    """HTTP 5xx from the provider."""

    retryable = True


class ProviderRejected(ProviderError):
    """HTTP 4xx other than 429: retrying the same request cannot help."""


class ProviderBadResponse(ProviderError):
    """The provider answered, but not with usable text."""

    retryable = True


class CostLimitExceededError(ReportingError):
    """No cloud call is left in this report's MAX_CLOUD_CALLS budget."""


class GenerationError(ReportingError):
    """A step failed on every provider it may use; the report cannot be completed."""


class QualityFailed(ReportingError):
    """QUALITY_GATE=strict and a final text still fails a check (the files are written)."""

    exit_code = 3


class WriteFailed(GenerationError):
    """The report was generated, its files could not be written (exit 1); its calls are cached."""

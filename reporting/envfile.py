"""The `.env` file as written: each key with its line, and which keys it may hold."""

from __future__ import annotations

import difflib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from dotenv.parser import parse_stream

from reporting.errors import ConfigError

# A `.env` is often shared with the tools around a build (docker compose `env_file:`,
# `set -a; . ./.env`, an Ollama server), so it may hold their variables besides our settings:
# whatever the OpenAI and Ollama clients and servers read, and process-wide variables.
SHARED_PREFIXES = ("OPENAI_", "OLLAMA_")
SHARED_NAMES = frozenset(
    {
        "REPORT_DEBUG",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
    }
)


@dataclass(frozen=True)
class EnvFile:
    """The keys of one `.env` file with the line each is on, and the lines that are not keys."""

    path: str
    lines: dict[str, int] = field(default_factory=dict)  # upper-case key -> its last line
    written: dict[str, str] = field(default_factory=dict)  # upper-case key -> as written
    unreadable: list[int] = field(default_factory=list)

    def where(self, name: str) -> str | None:
        """`.env line 4`, the place of a key (any case), or None when the file lacks it."""
        line = self.lines.get(name.upper())
        return None if line is None else f"{self.path} line {line}"

    def problems(self, settings: Iterable[str]) -> list[str]:
        """One line per unreadable line and per key that is neither a setting nor shared."""
        known = sorted(name.upper() for name in settings)
        found = [(line, "cannot read this line; write NAME=value") for line in self.unreadable]
        for key, line in self.lines.items():
            if key in known or key in SHARED_NAMES or key.startswith(SHARED_PREFIXES):
                continue
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f"; did you mean {hint[0]}?" if hint else ""
            found.append((line, f"{self.written[key]} is not a setting{suggestion}"))
        return [f"{self.path} line {line}: {what}" for line, what in sorted(found)]


def read_env_file(path: Path) -> EnvFile:
    """The keys of a `.env` file read by python-dotenv's parser; no file: an empty one."""
    env = EnvFile(str(path))
    if not path.is_file():  # as pydantic-settings: a missing `.env` is no `.env`
        return env
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        where = f"{path} line {line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x})"
        raise ConfigError(f"{where}; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc.strerror}") from None
    for binding in parse_stream(io.StringIO(text)):
        # A binding's text starts with the blank lines before it; its key is on the next.
        written = binding.original.string
        blank = written[: len(written) - len(written.lstrip())].count("\n")
        line = binding.original.line + blank
        if binding.error:
            env.unreadable.append(line)
        elif binding.key is not None:
            env.lines[binding.key.upper()] = line
            env.written[binding.key.upper()] = binding.key
    return env

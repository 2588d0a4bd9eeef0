"""reporting: a batch document compiler; a YAML outline becomes an LLM-written report."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("reporting")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]

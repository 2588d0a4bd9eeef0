"""The installed version of reporting, as the manifest and `report --version` show it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("reporting")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

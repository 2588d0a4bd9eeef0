"""reporting: a batch document compiler; a YAML outline becomes an LLM-written report.

The public API, for use from Python (the `report` command is built on the same calls):

    from reporting import build_report, load_settings

    result = build_report(Path("outline.yaml"), Path("reports_out"), load_settings())
    print(result.markdown, result.report.metrics.cloud_calls)

Names are imported on first use, so `import reporting` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from reporting.version import __version__

# Each public name and the module that defines it.
_EXPORTS = {
    "load_outline": "reporting.outline.loader",
    "Outline": "reporting.outline.model",
    "Section": "reporting.outline.model",
    "Settings": "reporting.settings",
    "load_settings": "reporting.settings",
    "make_plan": "reporting.routing.plan",
    "Plan": "reporting.routing.plan",
    "Step": "reporting.routing.plan",
    "plan_report": "reporting.build",
    "build_report": "reporting.build",
    "BuildResult": "reporting.build",
    "CompiledReport": "reporting.compiler.execute",
    "ReportingError": "reporting.errors",
    "InputError": "reporting.errors",
    "OutlineError": "reporting.errors",
    "ConfigError": "reporting.errors",
    "GenerationError": "reporting.errors",
}

__all__ = [
    "BuildResult",
    "CompiledReport",
    "ConfigError",
    "GenerationError",
    "InputError",
    "Outline",
    "OutlineError",
    "Plan",
    "ReportingError",
    "Section",
    "Settings",
    "Step",
    "__version__",
    "build_report",
    "load_outline",
    "load_settings",
    "make_plan",
    "plan_report",
]

if TYPE_CHECKING:
    from reporting.build import BuildResult, build_report, plan_report
    from reporting.compiler.execute import CompiledReport
    from reporting.errors import (
        ConfigError,
        GenerationError,
        InputError,
        OutlineError,
        ReportingError,
    )
    from reporting.outline.loader import load_outline
    from reporting.outline.model import Outline, Section
    from reporting.routing.plan import Plan, Step, make_plan
    from reporting.settings import Settings, load_settings


def __getattr__(name: str) -> Any:
    """Import a public name from its module the first time it is asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'reporting' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value

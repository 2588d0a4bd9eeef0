"""The public API: what `reporting` exports, and the Python example of the docs, run as written."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import reporting

REPO = Path(__file__).resolve().parent.parent


def _readme_example() -> str:
    """The Python block of docs/python.md ("Use it from Python")."""
    page = (REPO / "docs" / "python.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", page, re.DOTALL)
    assert match is not None, "docs/python.md lost its Python example"
    return match.group(1)


def test_every_public_name_resolves() -> None:
    for name in reporting.__all__:
        assert getattr(reporting, name) is not None
    assert reporting.build_report.__module__ == "reporting.build"
    assert issubclass(reporting.OutlineError, reporting.InputError)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'SectionCompiler'"):
        _ = reporting.SectionCompiler  # type: ignore[attr-defined]


def test_importing_the_package_imports_no_pipeline() -> None:
    code = (
        "import sys, reporting; print(sorted(m for m in sys.modules if m.startswith('reporting')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['reporting', 'reporting.version']"


@pytest.mark.usefixtures("hybrid_env")
def test_the_readme_example_builds_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    exec(compile(_readme_example(), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert re.search(r"^34 steps, \d+ cloud calls reserved$", printed, re.MULTILINE)
    assert "wrote reports_out/quarterly-review.md with" in printed
    assert (tmp_path / "reports_out" / "quarterly-review.docx").is_file()
    assert (tmp_path / "reports_out" / "quarterly-review.run.json").is_file()

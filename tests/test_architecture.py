"""The import layers of docs/architecture.md, checked by import-linter on the real package."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# `lint-imports` as a module call, so the check runs wherever import-linter is installed.
LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """Run the contracts of `project`'s pyproject.toml on the `reporting` package in it."""
    # lint-imports puts its working folder first on sys.path, so the package analysed is the
    # one in `project`, not the installed one.
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_project(target: Path) -> Path:
    """The package and its pyproject.toml, copied so a test can break the copy."""
    shutil.copytree(
        ROOT / "reporting", target / "reporting", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_no_module_imports_a_higher_layer() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 1 kept, 0 broken." in done.stdout


def test_the_page_shows_the_layers_of_the_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [contract] = config["tool"]["importlinter"]["contracts"]
    checked = [sorted(name.strip() for name in layer.split(":")) for layer in contract["layers"]]
    section = ARCHITECTURE.read_text(encoding="utf-8").split("\n## Layers\n")[1].split("\n## ")[0]
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", section, re.M)
    documented = [sorted(re.findall(r"`reporting\.(\w+)`", cell)) for _, cell in rows]
    assert [int(number) for number, _ in rows] == list(range(1, len(checked) + 1))
    assert documented == checked


def test_every_test_the_page_names_exists() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named: list[tuple[str, str | None]] = []
    file = ""
    # `test_x.py::test_y` names a test; a following `::test_z` is another test of the same file;
    # `tests/dir/test_x.py` names a file by its path.
    pattern = r"`((?:tests/(?:\w+/)*)?test_\w+\.py)(?:::(\w+))?`|`::(\w+)`"
    for found in re.finditer(pattern, text):
        file = found[1] or file
        named.append((file, found[2] or found[3]))
    assert len(named) > 40
    for file, test in named:
        # A bare name is found wherever it is in the tree the tests follow; a path, there only.
        [path] = [ROOT / file] if "/" in file else (ROOT / "tests").rglob(file)
        assert path.is_file(), file
        source = path.read_text(encoding="utf-8")
        if test is not None:
            assert re.search(rf"^(?:async )?def {test}\(", source, re.M), f"{file}::{test}"


@pytest.mark.parametrize(
    ("module", "added", "reported"),
    [
        pytest.param(
            "outline/model.py",
            "from reporting.cli import app\n",
            "reporting.outline.model -> reporting.cli",
            id="module-level",
        ),
        pytest.param(
            "sources/read.py",
            "def _late() -> None:\n    from reporting.build import build_report\n",
            "reporting.sources.read -> reporting.build",
            id="inside-a-function",
        ),
        pytest.param(
            "routing/plan.py",
            "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
            "    from reporting.compiler.runner import StepResult\n",
            "reporting.routing.plan -> reporting.compiler.runner",
            id="type-checking-only",
        ),
        pytest.param(
            "settings.py",
            "def _late() -> None:\n    from reporting.routing.plan import Role\n",
            "reporting.settings -> reporting.routing.plan",
            id="base-importing-a-stage",
        ),
        pytest.param(
            "render/markdown.py",
            "from reporting.observe.manifest import MANIFEST_VERSION\n",
            "reporting.render.markdown -> reporting.observe.manifest",
            id="one-layer-up",
        ),
    ],
)
def test_an_import_of_a_higher_layer_breaks_the_check(
    tmp_path: Path, module: str, added: str, reported: str
) -> None:
    project = copy_project(tmp_path / "project")
    with (project / "reporting" / module).open("a", encoding="utf-8") as source:
        source.write("\n\n" + added)
    done = lint_imports(project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Contracts: 0 kept, 1 broken." in done.stdout
    assert reported in done.stdout


def test_a_module_outside_every_layer_breaks_the_check(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    (project / "reporting" / "publish").mkdir()
    (project / "reporting" / "publish" / "__init__.py").write_text('"""Publishing."""\n')
    done = lint_imports(project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "reporting.publish" in done.stdout

"""The DOCX as a reader gets it: a built report opened by LibreOffice, read back from its PDF."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import missing_service
from loopback import OllamaServer, OpenAIServer
from pypdf import PdfReader
from reader import Unavailable, to_pdf
from typer.testing import CliRunner

from reporting.cli import app
from reporting.outline.loader import load_outline

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "outlines"


def _text(pdf: Path) -> tuple[int, str]:
    """Page count and the text of every page, whitespace collapsed (lines wrap anywhere)."""
    pages = PdfReader(pdf).pages
    return len(pages), re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))


@pytest.fixture
def storage_outage(tmp_path: Path) -> Path:
    """The grounded example with its sources, copied so the build writes next to it."""
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder)
    return folder / "storage-outage.yaml"


def test_the_built_docx_opens_in_libreoffice_with_every_heading_and_the_references(
    hybrid_env: pytest.MonkeyPatch,
    storage_outage: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    result = CliRunner().invoke(app, ["build", str(storage_outage), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    try:
        pdf = to_pdf(tmp_path / "out" / "storage-outage.docx", tmp_path / "pdf")
    except Unavailable as exc:
        missing_service(str(exc))
    pages, text = _text(pdf)
    outline = load_outline(storage_outage)
    assert pages > 0
    assert outline.title in text
    for section in outline.walk():
        assert f"{section.id} {section.title}" in text
    assert "Abstract" in text and "References" in text
    assert re.search(r"\[1\] sources/storage-outage/\S+: “", text)  # a reference, not "\\[1\\]"
    assert f"Page 1 of {pages}" in text

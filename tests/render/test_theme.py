"""A theme folder over the shipped templates: the user's look, never the user's markup rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import report_files
from docx import Document
from docx.oxml.ns import qn
from docx.shared import RGBColor
from loopback import OllamaServer, OpenAIServer
from pypdf import PdfReader
from typer.testing import CliRunner

from reporting.assets import templates_dir
from reporting.cli import app
from reporting.render.theme import THEME_FILES, theme_folder

runner = CliRunner()
BRAND = RGBColor(0xC0, 0x1E, 0x5A)


def _theme(folder: Path) -> Path:
    """A theme with its own Title colour, a marker in the Typst page and a stylesheet rule."""
    folder.mkdir()
    reference = Document(str(templates_dir() / "reference.docx"))
    reference.styles["Title"].font.color.rgb = BRAND
    reference.save(str(folder / "reference.docx"))
    typst = (templates_dir() / "report.typst").read_text(encoding="utf-8")
    (folder / "report.typst").write_text(typst + "\nThemed by ACME.\n", encoding="utf-8")
    (folder / "report.css").write_text("body { color: rebeccapurple; }\n", encoding="utf-8")
    return folder


def test_a_theme_changes_the_look_of_every_format(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    theme = _theme(tmp_path / "acme")
    out = tmp_path / "out"
    args = ["build", str(outline_file), "--out", str(out), "--format", "md,docx,pdf,html"]
    result = runner.invoke(app, [*args, "--theme", str(theme)])
    assert result.exit_code == 0, result.stderr
    assert Document(str(out / "fleet.docx")).styles["Title"].font.color.rgb == BRAND
    pdf = " ".join(page.extract_text() for page in PdfReader(out / "fleet.pdf").pages)
    assert "Themed by ACME." in pdf
    html = (out / "fleet.html").read_text(encoding="utf-8")
    assert "rebeccapurple" in html
    hybrid_env.setenv("THEME_DIR", str(theme))  # the setting does the same
    plain = runner.invoke(app, [*args[:3], str(tmp_path / "again"), "--format", "html"])
    assert plain.exit_code == 0, plain.stderr
    assert "rebeccapurple" in (tmp_path / "again" / "fleet.html").read_text(encoding="utf-8")


def test_a_theme_cannot_replace_the_filter_that_keeps_model_text_plain(tmp_path: Path) -> None:
    theme = _theme(tmp_path / "acme")
    (theme / "report.lua").write_text("-- lets everything through\n", encoding="utf-8")
    with theme_folder(theme) as folder:
        assert (folder / "report.lua").read_bytes() == (templates_dir() / "report.lua").read_bytes()
        assert (folder / "report.css").read_text(encoding="utf-8").startswith("body { color")
        assert (folder / "report.html").read_bytes() == (
            templates_dir() / "report.html"
        ).read_bytes()  # not in the theme: the shipped one


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_a_bad_theme_is_exit_2_before_any_call(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
    kind: str,
) -> None:
    theme = tmp_path / "acme"
    if kind == "empty":
        theme.mkdir()
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", str(outline_file), "--out", str(out), "--theme", str(theme)]
    )
    assert result.exit_code == 2
    expected = "not a folder" if kind == "missing" else f"holds none of {', '.join(THEME_FILES)}"
    assert f"theme {theme}: {expected}" in result.stderr
    assert openai_server.count == ollama_server.count == 0
    assert report_files(out) == []


def test_toc_true_puts_contents_after_the_abstract_in_every_format(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    original = outline_file.read_text(encoding="utf-8")
    outline_file.write_text("toc: true\n" + original, encoding="utf-8")
    out = tmp_path / "out"
    args = ["build", str(outline_file), "--out", str(out), "--format", "md,docx,pdf,html"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    html = (out / "fleet.html").read_text(encoding="utf-8")
    nav = " ".join(html.split('<nav class="toc"', 1)[1].split("</nav>", 1)[0].split())
    assert 'href="#' in nav and "2.1 Previous architecture" in nav and "7 Conclusion" in nav
    pdf = " ".join(page.extract_text() for page in PdfReader(out / "fleet.pdf").pages)
    assert "Contents" in pdf and pdf.count("7 Conclusion") == 2  # listed, then the heading
    document = Document(str(out / "fleet.docx"))
    fields = [t.text for t in document.element.body.iter(qn("w:instrText"))]
    assert any(field.strip().startswith("TOC") for field in fields)
    settings = document.settings.element
    assert settings.find(qn("w:updateFields")).get(qn("w:val")) == "true"  # Word fills it in
    outline_file.write_text(original, encoding="utf-8")  # toc: false, the default
    plain = runner.invoke(app, [*args[:3], str(tmp_path / "plain"), "--format", "html"])
    assert plain.exit_code == 0
    assert '<nav class="toc"' not in (tmp_path / "plain" / "fleet.html").read_text()

"""PDF and HTML outputs read back by real readers: pypdf for the PDF, a parser for the HTML."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import report_files
from loopback import OllamaServer, OpenAIServer
from pypdf import PdfReader
from typer.testing import CliRunner

from reporting.assets import templates_dir
from reporting.cli import app
from reporting.outline.loader import load_outline
from reporting.render.charts import draw_chart
from reporting.render.docx import render_docx
from reporting.render.html import render_html
from reporting.render.markdown import RenderedSection, figure_markdown, render_markdown
from reporting.render.pdf import render_pdf
from reporting.settings import load_settings, parse_formats

runner = CliRunner()
DATA = Path(__file__).resolve().parents[2] / "examples" / "data"

OUTLINE = """\
title: Payments Review — Q3 & Outlook
author: Payments Platform Engineering
date: 2026-10-05
data:
  payments: data/payments.csv
sources: [notes.md]
sections:
  - title: Summary
    brief: The quarter for EU in a few sentences.
  - title: Volume and latency
    brief: How authorization volume and p99 latency moved month to month.
    query: |
      select month, authorizations, p99_ms from payments
      where region = 'EU' and quarter = '2026Q3' order by month
    table: {columns: [month, authorizations, p99_ms], caption: Monthly volume and latency}
    chart:
      kind: line
      x: month
      y: [p99_ms]
      title: p99 latency by month (ms)
      alt: Line chart of the p99 latency for each month.
  - title: Outlook
    brief: What comes next.
    sections:
      - title: Risks
        brief: The risks for next quarter.
"""

NOTES = (
    "The quarter: authorization volume grew and p99 latency moved up in August, when the card "
    "network rotated its TLS certificates. Risks for the next quarter: more rotations.\n"
)


def _reply(body: dict[str, Any]) -> str:
    """A reply that cites the first source, so the report has a References list."""
    return "The quarter went as planned [1]. Volume grew and latency stayed within target."


@pytest.fixture
def review(tmp_path: Path, openai_server: OpenAIServer, ollama_server: OllamaServer) -> Path:
    """An outline with a source, a query with a table and a chart, and a subsection."""
    (tmp_path / "data").mkdir()
    shutil.copy(DATA / "payments.csv", tmp_path / "data")
    (tmp_path / "notes.md").write_text(NOTES, encoding="utf-8")
    path = tmp_path / "review.yaml"
    path.write_text(OUTLINE, encoding="utf-8")
    openai_server.reply = _reply
    ollama_server.reply = _reply
    return path


def _headings(outline: Path) -> list[str]:
    return [f"{section.id} {section.title}" for section in load_outline(outline).walk()]


class Page(HTMLParser):
    """What the tests read from an HTML page: text, headings, title and resource references."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.headings: list[tuple[str, str]] = []  # (tag, text)
        self.title = ""
        self.references: list[str] = []  # every src and href, and <link>/<script> elements
        self.images: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.references += [value or "" for name, value in attrs if name in ("src", "href")]
        if tag in ("link", "script", "iframe", "object", "embed"):
            self.references.append(f"<{tag}>")
        if tag == "img":
            self.images.append(values.get("src") or "")
        if tag in ("title", "h1", "h2", "h3", "h4"):
            self._open.append(tag)
            if tag != "title":
                self.headings.append((tag, ""))

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()
            if tag != "title":  # pandoc wraps long lines: one space between words, as read
                level, text = self.headings[-1]
                self.headings[-1] = (level, " ".join(text.split()))

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if not self._open:
            return
        if self._open[-1] == "title":
            self.title += data
        else:
            tag, text = self.headings[-1]
            self.headings[-1] = (tag, text + data)


def _pdf_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(text.split())


@pytest.mark.usefixtures("hybrid_env")
def test_one_build_writes_every_format_with_the_same_content(review: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", str(review), "--out", str(out), "--format", "md,docx,pdf,html"]
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in report_files(out)] == [
        "review.docx",
        "review.files",
        "review.html",
        "review.md",
        "review.pdf",
        "review.run.json",
    ]
    assert "review.pdf, review.html and review.run.json" in result.stdout
    manifest = json.loads((out / "review.run.json").read_text(encoding="utf-8"))
    assert manifest["outputs"] == {
        "markdown": "review.md",
        "docx": "review.docx",
        "pdf": "review.pdf",
        "html": "review.html",
        "manifest": "review.run.json",
    }
    assert manifest["settings"]["formats"] == ["md", "docx", "pdf", "html"]
    headings = _headings(review)
    markdown = (out / "review.md").read_text(encoding="utf-8")
    assert "## References" in markdown and "[1]" in markdown  # the content both must carry

    pages, text = _pdf_text(out / "review.pdf")
    assert pages > 0
    assert text.startswith("Payments Review — Q3 & Outlook Payments Platform Engineering")
    assert "Abstract." in text
    at = [text.find(heading) for heading in [*headings, "References"]]
    assert -1 not in at and at == sorted(at), (headings, text)  # all there, in outline order
    assert "Table 1: Monthly volume and latency" in text
    assert "Figure 1: p99 latency by month (ms)" in text
    assert "notes.md" in text and "[1]" in text  # the citation and what it resolves to
    assert sum(len(page.images) for page in PdfReader(out / "review.pdf").pages) == 1  # chart
    assert f"Page 1 of {pages}" in text

    page = Page()
    page.feed((out / "review.html").read_text(encoding="utf-8"))
    html_text = " ".join("".join(page.text).split())
    assert page.title == "Payments Review — Q3 & Outlook"
    assert page.headings[0] == ("h1", "Payments Review — Q3 & Outlook")
    assert [text for _, text in page.headings[1:]] == [*headings, "References"]
    assert [tag for tag, _ in page.headings[1:]] == ["h2", "h2", "h2", "h3", "h2"]
    assert "Payments Platform Engineering · 5 October 2026" in html_text
    assert "Abstract" in html_text and "Monthly volume and latency" in html_text
    assert "notes.md" in html_text and "[1]" in html_text
    assert len(page.images) == 1 and page.images[0].startswith("data:image/png;base64,")
    # Self-contained: nothing fetched from the web or the disk when the page is opened.
    assert [ref for ref in page.references if not ref.startswith(("data:", "#"))] == []
    assert "<style>" in (out / "review.html").read_text(encoding="utf-8")


@pytest.mark.usefixtures("hybrid_env")
def test_formats_setting_chooses_the_files_and_the_manifest_is_always_written(
    review: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORMATS", "html")
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(review), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in report_files(out)] == [
        "review.files",
        "review.html",
        "review.run.json",
    ]
    # --format wins over FORMATS.
    result = runner.invoke(app, ["build", str(review), "--out", str(out), "--format", "pdf"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in report_files(out)} >= {"review.pdf", "review.run.json"}


@pytest.mark.usefixtures("hybrid_env")
def test_batch_writes_the_formats_asked_for(review: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(review), "--out", str(out), "--format", "pdf,md"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in report_files(out)] == [
        "review.files",
        "review.md",
        "review.pdf",
        "review.run.json",
    ]
    assert PdfReader(out / "review.pdf").pages


def test_a_failed_pdf_compile_writes_nothing(
    hybrid_env: pytest.MonkeyPatch, review: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "theme"  # a theme whose Typst page does not compile
    broken.mkdir()
    (broken / "report.typst").write_text("#let broken = (\n$body$\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["build", str(review), "--out", str(out), "--format", "md,docx,pdf,html"]
    result = runner.invoke(app, [*args, "--theme", str(broken)])
    assert result.exit_code == 1
    assert "typst could not compile the PDF" in result.stderr
    assert "Traceback" not in result.output
    assert report_files(out) == []  # not the Markdown, the DOCX, a chart nor the manifest
    assert not any(path.name.endswith(".tmp") for path in out.rglob("*"))


@pytest.mark.parametrize("how", ["option", "setting"])
def test_an_unknown_format_is_exit_2_naming_it(
    how: str,
    review: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    out = tmp_path / "out"
    args = ["build", str(review), "--out", str(out)]
    if how == "option":
        args += ["--format", "md,pfd"]
    else:
        monkeypatch.setenv("FORMATS", "md,pfd")
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "'pfd'" in result.stderr and "md, docx, pdf, html" in result.stderr
    lines = result.stderr.strip().splitlines()
    if how == "option":
        assert len(lines) == 1 and "--format" in lines[0]
    else:  # as every bad setting: a header, then the setting with its source
        assert lines == [
            "error: the settings have 1 problem; nothing was generated",
            "  environment: FORMATS: unknown format 'pfd'; use md, docx, pdf, html",
        ]
    assert openai_server.count == ollama_server.count == 0
    assert report_files(out) == []


def test_formats_are_read_in_their_own_order_once() -> None:
    assert parse_formats(" HTML, md ,pdf,md ") == ("md", "pdf", "html")
    assert load_settings().formats == ("md", "docx")
    with pytest.raises(ValueError, match="no format"):
        parse_formats(" , ")


def test_the_same_markdown_gives_the_same_pdf(tmp_path: Path) -> None:
    markdown = "# Title\n\n*A. Author · 1 May 2026*\n\n**Abstract.** Short.\n\n## 1 One\n\nText.\n"
    created = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
    for name in ("a.pdf", "b.pdf"):
        render_pdf(markdown, tmp_path / name, template_dir=templates_dir(), created=created)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    reader = PdfReader(tmp_path / "a.pdf")
    assert reader.metadata is not None and reader.metadata.title == "Title"
    assert "1 One" in reader.pages[0].extract_text()


HOSTILE = (
    "Ask @oncall and [@a; @b] first.\n\n"
    '```{=typst}\n#panic("raw typst ran")\n```\n\n'
    "<script>alert(1)</script>\n\n"
    "See ![tracker](http://tracker.example/x.png) and ![secret](/etc/passwd).\n"
)


def test_model_text_cannot_break_the_pdf_or_reach_out_of_the_page(tmp_path: Path) -> None:
    """Raw markup, citations Typst cannot resolve and foreign images become plain text."""
    chart = "r--region=US.files/chart-1.png"
    sections = [
        RenderedSection("1", "#set page(width: 1cm) <x> @ref", 1, HOSTILE, ""),
        RenderedSection("2", "Data", 1, "Text.", figure_markdown(chart, "Chart one", None)),
    ]
    markdown = render_markdown("A $5 & #tag title", None, dt.date(2026, 5, 1), "Short.", sections)
    png = tmp_path / "chart.png"
    draw_chart(png, kind="bar", x_label="m", x=["a", "b"], series={"y": [1, 2]}, title="t")
    created = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    render_pdf(
        markdown,
        tmp_path / "r.pdf",
        template_dir=templates_dir(),
        created=created,
        images={chart: png},
    )
    render_html(markdown, tmp_path / "r.html", template_dir=templates_dir(), images={chart: png})

    reader = PdfReader(tmp_path / "r.pdf")
    pdf_text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "1 #set page(width: 1cm) <x> @ref" in pdf_text
    assert "Ask @oncall and [@a; @b] first." in pdf_text
    assert "See tracker and secret." in pdf_text
    # A raw Typst block is not read as one (no raw_attribute): its text is shown, never run.
    assert "alert" not in pdf_text
    assert sum(len(page.images) for page in reader.pages) == 1  # the chart, and only it

    page = Page()
    page.feed((tmp_path / "r.html").read_text(encoding="utf-8"))
    html_text = " ".join("".join(page.text).split())
    assert [text for _, text in page.headings] == [
        "A $5 & #tag title",
        "1 #set page(width: 1cm) <x> @ref",
        "2 Data",
    ]
    assert "Ask @oncall and [@a; @b] first." in html_text and "See tracker and secret." in html_text
    assert "alert(1)" not in html_text  # the raw Typst block shows as the code it is
    assert len(page.images) == 1 and page.images[0].startswith("data:image/png;base64,")
    assert [ref for ref in page.references if not ref.startswith(("data:", "#"))] == []


def test_links_keep_only_web_mail_and_in_page_targets(tmp_path: Path) -> None:
    body = (
        "See [the site](https://example.com), [mail](mailto:ops@example.com), "
        "[a trap](javascript:alert(1)), [a file](file:///etc/passwd) and [data](data:text/html,x)."
    )
    markdown = render_markdown(
        "Links",
        None,
        dt.date(2026, 12, 2),
        "Abstract.",
        [RenderedSection("1", "One", 1, body, "")],
        [],
    )
    html_path, docx_path = tmp_path / "r.html", tmp_path / "r.docx"
    render_html(markdown, html_path, template_dir=templates_dir())
    html = html_path.read_text(encoding="utf-8")
    assert 'href="https://example.com"' in html and 'href="mailto:ops@example.com"' in html
    for bad in ("javascript:", "file:", "data:text"):
        assert bad not in html
    assert "a trap" in html and "a file" in html  # the words stay, as text
    render_docx(
        markdown,
        docx_path,
        title="Links",
        author=None,
        created=dt.datetime(2026, 12, 2, tzinfo=dt.UTC),
        reference_docx=templates_dir() / "reference.docx",
    )
    with zipfile.ZipFile(docx_path) as archive:
        rels = archive.read("word/_rels/document.xml.rels").decode("utf-8")
    assert 'Target="https://example.com"' in rels
    assert "javascript:" not in rels and "file:" not in rels

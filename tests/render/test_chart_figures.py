"""Figures: their Markdown, their place in a section, and their embedding in the DOCX."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pypandoc
import pytest
from lxml import etree

from reporting.errors import ReportingError
from reporting.render.charts import draw_chart
from reporting.render.docx import PANDOC_INPUT_FORMAT, embed_images, render_docx
from reporting.render.markdown import RenderedSection, figure_markdown, render_markdown
from reporting.render.tables import table_markdown

REFERENCE_DOCX = Path(__file__).resolve().parents[2] / "templates" / "reference.docx"
CREATED = dt.datetime(2026, 12, 31, tzinfo=dt.UTC)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
SRC = "payments-kpis.files/chart-1.png"
ALT = 'Line chart of p99 latency by month; it peaks at 140 ms in October ("peak").'


def pandoc_blocks(markdown: str) -> list[Any]:
    result = subprocess.run(
        [str(pypandoc.get_pandoc_path()), f"--from={PANDOC_INPUT_FORMAT}", "--to=json"],
        input=markdown.encode("utf-8"),
        capture_output=True,
        check=True,
    )
    blocks: list[Any] = json.loads(result.stdout)["blocks"]
    return blocks


def plain(inlines: list[Any]) -> str:
    return "".join(
        inline["c"] if inline["t"] == "Str" else " "
        for inline in inlines
        if inline["t"] in ("Str", "Space", "SoftBreak")
    )


def test_a_figure_without_alt_text_is_a_plain_image() -> None:
    assert figure_markdown(SRC, "p99 latency by month", None) == f"![p99 latency by month]({SRC})"


def test_alt_text_equal_to_the_caption_is_not_repeated() -> None:
    assert figure_markdown(SRC, "Latency", " Latency ") == f"![Latency]({SRC})"


def test_the_alt_text_is_an_attribute_with_quotes_escaped() -> None:
    text = figure_markdown(SRC, "p99 *latency*", 'say "hi" \\ there')
    assert text == f'![p99 \\*latency\\*]({SRC}){{alt="say \\"hi\\" \\\\ there"}}'


def test_pandoc_reads_a_figure_with_its_caption_and_alt_text() -> None:
    [figure] = pandoc_blocks(figure_markdown(SRC, "p99 [ms] by *month*", ALT))
    assert figure["t"] == "Figure"
    _attr, (_short, caption), [body] = figure["c"]
    assert plain(caption[0]["c"]) == "p99 [ms] by *month*"
    [image] = body["c"]
    _image_attr, description, (target, _title) = image["c"]
    assert plain(description) == ALT
    assert target == SRC


@pytest.mark.parametrize(
    ("src", "link"),
    [
        ("report.files/chart 1.png", "report.files/chart%201.png"),
        ("report.files/a).png", "report.files/a%29.png"),
        ("data:image/png;base64,AAAA", "data%3Aimage/png%3Bbase64,AAAA"),
        ("r--region=US.files/c.png", "r--region=US.files/c.png"),
    ],
)
def test_a_source_cannot_end_the_link_or_become_a_url(src: str, link: str) -> None:
    assert figure_markdown(src, "Chart", None) == f"![Chart]({link})"


def test_a_figure_needs_a_caption() -> None:
    with pytest.raises(ValueError, match="caption"):
        figure_markdown(SRC, "  ", ALT)


def test_a_sections_data_follows_its_body_before_its_subsections() -> None:
    sections = [
        RenderedSection("1", "Volume", 1, "Volume grew.", data="| a |\n|---|\n| 1 |"),
        RenderedSection("1.1", "Detail", 2, "Detail body."),
        RenderedSection("2", "Close", 1, "Close body.", data=""),
    ]
    text = render_markdown("Report", None, dt.date(2026, 12, 31), "Abstract.", sections)
    expected = (
        "## 1 Volume\n\nVolume grew.\n\n"
        "<!-- data: tables and charts from the section's query -->\n\n"
        "| a |\n|---|\n| 1 |\n\n### 1.1 Detail\n\n"
        "Detail body.\n\n## 2 Close\n\nClose body.\n"
    )
    assert text.endswith(expected)


def test_embedding_rewrites_only_the_given_sources(tmp_path: Path) -> None:
    other = "![Other](payments-kpis.files/chart-10.png)"
    link = "[the chart file](payments-kpis.files/chart-1.png)"
    markdown = f"{figure_markdown(SRC, 'Chart', ALT)}\n\n{other}\n\n{link}\n"
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 8
    text = embed_images(markdown, {SRC: png, "unused.files/x.png": b"not read"})
    assert text.startswith("![Chart](data:image/png;base64,iVBORw0KGgoAAAAAAAAAAA==){alt=")
    assert text.endswith(f"\n\n{other}\n\n{link}\n")


def test_embedding_refuses_a_file_that_is_not_an_image() -> None:
    with pytest.raises(ReportingError, match="not a PNG"):
        embed_images(f"![Chart]({SRC})", {SRC: b"<svg/>"})


def test_embedding_reports_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ReportingError, match="could not read the image"):
        embed_images(f"![Chart]({SRC})", {SRC: tmp_path / "missing.png"})


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A report with a table and a chart rendered to DOCX; an unlisted image beside it."""
    folder = tmp_path_factory.mktemp("figures")
    (folder / "payments-kpis.files").mkdir()
    chart = folder / SRC
    months = [dt.date(2026, month, 1) for month in range(7, 13)]
    draw_chart(
        chart,
        kind="line",
        x_label="month",
        x=months,
        series={"p99_ms": [85.4, 91.25, 88, 140.1, 97, 96]},
        title=None,
    )
    # A file the model could name: it must not get into the DOCX.
    (folder / "secret.png").write_bytes(chart.read_bytes())
    table = table_markdown(("month", "p99_ms"), [(months[0], 85.4)], caption="Volume", max_rows=5)
    data = f"{table}\n\n{figure_markdown(SRC, 'p99 latency by month', ALT)}"
    sections = [
        RenderedSection("1", "Latency", 1, f"Latency peaked.\n\n![x]({folder}/secret.png)", data)
    ]
    markdown = render_markdown("Report", None, dt.date(2026, 12, 31), "Abstract.", sections)
    out = folder / "report.docx"
    render_docx(
        markdown,
        out,
        title="Report",
        author=None,
        created=CREATED,
        reference_docx=REFERENCE_DOCX,
        images={SRC: chart},
    )
    return out, chart.read_bytes()


def test_the_chart_is_embedded_with_its_alt_text_and_caption(report: tuple[Path, bytes]) -> None:
    out, png = report
    with zipfile.ZipFile(out) as docx:
        media = [name for name in docx.namelist() if name.startswith("word/media/")]
        assert len(media) == 1  # the chart, and not the file the text named
        assert docx.read(media[0]) == png
        root = etree.fromstring(docx.read("word/document.xml"))
    [drawing] = root.findall(f".//{WP}docPr")
    assert drawing.get("descr") == ALT
    paragraph = drawing.getparent().getparent().getparent().getparent()
    assert paragraph.find(f"{W}pPr/{W}pStyle").get(f"{W}val") == "CaptionedFigure"
    caption = paragraph.getnext()
    assert caption.find(f"{W}pPr/{W}pStyle").get(f"{W}val") == "ImageCaption"
    assert "".join(caption.itertext()) == "p99 latency by month"


def test_the_chart_fits_the_text_width(report: tuple[Path, bytes]) -> None:
    out, _png = report
    with zipfile.ZipFile(out) as docx:
        root = etree.fromstring(docx.read("word/document.xml"))
    [extent] = root.findall(f".//{WP}extent")
    text_width_emu = (11906 - 2 * 1417) * 635  # the reference DOCX's A4 less its margins
    assert 0.95 * text_width_emu <= int(extent.get("cx")) <= text_width_emu


def test_pandoc_still_runs_sandboxed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    commands: list[list[str]] = []
    real_run = subprocess.run

    def spy(command: list[str], **kwargs: Any) -> Any:
        commands.append(command)
        return real_run(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    chart = tmp_path / "chart.png"
    draw_chart(chart, kind="bar", x_label="x", x=["a"], series={"y": [1]}, title=None)
    render_docx(
        f"# R\n\n{figure_markdown('r.files/chart.png', 'Chart', None)}\n",
        tmp_path / "r.docx",
        title="R",
        author=None,
        created=CREATED,
        reference_docx=REFERENCE_DOCX,
        images={"r.files/chart.png": chart.read_bytes()},
    )
    assert "--sandbox" in commands[0]
    assert not any(part.startswith("--resource-path") for part in commands[0])

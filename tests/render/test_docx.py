"""Tests for reporting.render.docx: pandoc conversion, styles and document properties."""

from __future__ import annotations

import struct
import zipfile
import zlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from reporting.errors import ReportingError
from reporting.render.docx import render_docx

REFERENCE_DOCX = Path(__file__).resolve().parents[2] / "templates" / "reference.docx"

TITLE = "Fleet Telemetry Platform — Annual Report"
AUTHOR = "Platform Reliability Group"
CREATED = datetime(2026, 11, 23, 9, 30, 15, tzinfo=UTC)

CODE = "def partition_for(vehicle_id: str) -> int:\n    return hash(vehicle_id) % 48"

SAMPLE = f"""\
# {TITLE}

*{AUTHOR} · 23 November 2026*

**Abstract.** The platform met its availability objective in eleven of twelve months.

## 1 Introduction

Body text with **bold words**, *emphasised words* and `metrics-prod` inline code.

- first bullet
- second bullet

### 1.1 Background

1. first step
2. second step

#### 1.1.1 Exclusions

| Indicator    | Target | Achieved |
|--------------|-------:|---------:|
| Availability | 99.9 % | 99.93 %  |
| Latency      | 2.0 s  | 1.1 s    |

```python
{CODE}
```

## 2 Results

Costs went from $5 to $10 per vehicle; `C:\\temp` and \\textbf{{kept}} stay literal.
"""


def render(
    tmp_path: Path,
    markdown: str = SAMPLE,
    *,
    author: str | None = AUTHOR,
    created: datetime = CREATED,
) -> DocumentObject:
    """Render `markdown` into tmp_path and open the result."""
    out = tmp_path / "report.docx"
    render_docx(
        markdown,
        out,
        title=TITLE,
        author=author,
        created=created,
        reference_docx=REFERENCE_DOCX,
    )
    return Document(str(out))


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> DocumentObject:
    """The sample report rendered once for the whole module."""
    return render(tmp_path_factory.mktemp("docx"))


def style_name(paragraph: Paragraph) -> str:
    """The paragraph's style name ("" if none)."""
    style = paragraph.style
    return style.name or "" if style is not None else ""


def num_id(paragraph: Paragraph) -> int | None:
    """The list numbering id of a paragraph, or None if it is not a list item."""
    num = paragraph._p.find(f"{qn('w:pPr')}/{qn('w:numPr')}/{qn('w:numId')}")
    return None if num is None else int(num.get(qn("w:val")))


def list_format(document: DocumentObject, num: int) -> str:
    """The level-0 number format ("bullet", "decimal"…) of numbering instance `num`."""
    numbering = document.part.numbering_part.element
    instance = numbering.num_having_numId(num)
    abstract_id = instance.abstractNumId.val
    for abstract in numbering.findall(qn("w:abstractNum")):
        if abstract.get(qn("w:abstractNumId")) == str(abstract_id):
            level = abstract.find(qn("w:lvl"))
            assert level is not None
            fmt = level.find(qn("w:numFmt"))
            assert fmt is not None
            return str(fmt.get(qn("w:val")))
    raise AssertionError(f"no abstractNum {abstract_id}")


def test_reference_docx_exists() -> None:
    assert REFERENCE_DOCX.is_file()


def test_leading_heading_becomes_the_title(document: DocumentObject) -> None:
    titles = [p.text for p in document.paragraphs if style_name(p) == "Title"]
    assert titles == [TITLE]
    assert document.paragraphs[0].text == TITLE
    assert not any(p.text.startswith("#") for p in document.paragraphs)


def test_headings_shift_up_one_level(document: DocumentObject) -> None:
    headings = [
        (style_name(p), p.text) for p in document.paragraphs if style_name(p).startswith("Heading")
    ]
    assert headings == [
        ("Heading 1", "1 Introduction"),
        ("Heading 2", "1.1 Background"),
        ("Heading 3", "1.1.1 Exclusions"),
        ("Heading 1", "2 Results"),
    ]


def test_the_title_block_is_words_own(document: DocumentObject) -> None:
    title, byline, heading, abstract = document.paragraphs[:4]
    assert (title.style.name, title.text) == ("Title", TITLE)
    assert (byline.style.name, byline.text) == ("Author", f"{AUTHOR} · 23 November 2026")
    assert (heading.style.name, heading.text) == ("Abstract Title", "Abstract")
    assert abstract.style.name == "Abstract"
    assert (
        abstract.text == "The platform met its availability objective in eleven of twelve months."
    )


def test_table_cells(document: DocumentObject) -> None:
    assert len(document.tables) == 1
    table = document.tables[0]
    assert table.style is not None and table.style.name == "Table"
    cells = [[cell.text for cell in row.cells] for row in table.rows]
    assert cells == [
        ["Indicator", "Target", "Achieved"],
        ["Availability", "99.9 %", "99.93 %"],
        ["Latency", "2.0 s", "1.1 s"],
    ]


def test_lists_are_numbered_compact_paragraphs(document: DocumentObject) -> None:
    items = [(p.text, style_name(p), num_id(p)) for p in document.paragraphs if num_id(p)]
    assert [text for text, _, _ in items] == [
        "first bullet",
        "second bullet",
        "first step",
        "second step",
    ]
    assert {style for _, style, _ in items} == {"Compact"}  # tight lists
    bullets, steps = items[0][2], items[2][2]
    assert bullets is not None and steps is not None
    assert items[1][2] == bullets and items[3][2] == steps
    assert list_format(document, bullets) == "bullet"
    assert list_format(document, steps) == "decimal"


def test_bold_italic_and_inline_code_runs(document: DocumentObject) -> None:
    runs = [run for p in document.paragraphs for run in p.runs]
    assert any(run.bold and run.text == "bold words" for run in runs)
    assert any(run.italic and run.text == "emphasised words" for run in runs)
    code_runs = [run for run in runs if run.text == "metrics-prod"]
    assert len(code_runs) == 1
    assert code_runs[0].style is not None and code_runs[0].style.name == "Verbatim Char"
    assert document.styles["Verbatim Char"].font.name == "Courier New"


def test_code_block_in_monospace_paragraph(document: DocumentObject) -> None:
    blocks = [p for p in document.paragraphs if style_name(p) == "Source Code"]
    assert [p.text for p in blocks] == [CODE]
    assert document.styles["Source Code"].font.name == "Courier New"


def test_prose_is_not_reinterpreted(document: DocumentObject) -> None:
    last = document.paragraphs[-1].text
    assert last == (
        "Costs went from $5 to $10 per vehicle; C:\\temp and \\textbf{kept} stay literal."
    )


def test_core_properties(document: DocumentObject) -> None:
    props = document.core_properties
    assert props.title == TITLE
    assert props.author == AUTHOR
    assert props.created == CREATED
    assert props.modified == CREATED
    assert props.last_modified_by == ""
    assert props.comments == ""
    assert props.keywords == ""
    assert props.subject == ""


def test_no_other_metadata(tmp_path: Path) -> None:
    render(tmp_path, author=None)
    with zipfile.ZipFile(tmp_path / "report.docx") as archive:
        names = set(archive.namelist())
        custom = archive.read("docProps/custom.xml").decode()
        core = archive.read("docProps/core.xml").decode()
    assert "<property" not in custom
    assert "<dc:creator></dc:creator>" in core or "<dc:creator/>" in core
    assert not any(name.startswith("customXml/") for name in names)


def test_missing_author_is_empty(tmp_path: Path) -> None:
    assert render(tmp_path, author=None).core_properties.author == ""


def test_created_is_stored_in_utc(tmp_path: Path) -> None:
    local = datetime(2026, 11, 23, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    props = render(tmp_path, created=local).core_properties
    assert props.created == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def test_naive_created_is_taken_as_utc(tmp_path: Path) -> None:
    props = render(tmp_path, created=datetime(2026, 1, 2, 3, 4, 5)).core_properties
    assert props.created == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_title_metadata_used_when_markdown_has_no_title(tmp_path: Path) -> None:
    document = render(tmp_path, "## 1 Introduction\n\nText.\n")
    assert [(style_name(p), p.text) for p in document.paragraphs[:2]] == [
        ("Title", TITLE),
        ("Heading 1", "1 Introduction"),
    ]


def test_dashes_do_not_open_a_metadata_block(tmp_path: Path) -> None:
    markdown = f"# {TITLE}\n\nBefore.\n\n---\ntitle: injected\n---\n\nAfter.\n"
    document = render(tmp_path, markdown)
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == TITLE
    assert "Before." in texts and "After." in texts
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert "title: injected" in texts + cells  # kept as content, not swallowed as metadata
    assert document.core_properties.title == TITLE


def test_a_list_right_after_a_sentence_is_a_list(tmp_path: Path) -> None:
    # Models start a list on the next line, as CommonMark allows; the DOCX keeps it a list.
    markdown = f"# {TITLE}\n\nThe team agreed on three steps:\n- test the canary\n- roll out\n"
    document = render(tmp_path, markdown)
    items = [p.text for p in document.paragraphs if num_id(p)]
    assert items == ["test the canary", "roll out"]
    assert "The team agreed on three steps:" in [p.text for p in document.paragraphs]


def _png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_local_files_named_in_markdown_are_not_embedded(tmp_path: Path) -> None:
    image = tmp_path / "secret.png"
    image.write_bytes(_png())
    document = render(tmp_path, f"# {TITLE}\n\n![leak]({image})\n")
    assert len(document.inline_shapes) == 0
    with zipfile.ZipFile(tmp_path / "report.docx") as archive:
        assert not any(name.startswith("word/media/") for name in archive.namelist())


def test_pandoc_failure_is_a_reporting_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"not a zip archive")
    with pytest.raises(ReportingError, match=r"^pandoc failed: \S"):
        render_docx(
            SAMPLE,
            tmp_path / "out.docx",
            title=TITLE,
            author=AUTHOR,
            created=CREATED,
            reference_docx=broken,
        )


def test_missing_reference_is_a_reporting_error(tmp_path: Path) -> None:
    with pytest.raises(ReportingError, match="reference DOCX not found"):
        render_docx(
            SAMPLE,
            tmp_path / "out.docx",
            title=TITLE,
            author=AUTHOR,
            created=CREATED,
            reference_docx=tmp_path / "missing.docx",
        )


def test_reference_page_setup() -> None:
    section = Document(str(REFERENCE_DOCX)).sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    for margin in (section.left_margin, section.right_margin, section.top_margin):
        assert margin is not None and round(margin.cm, 1) == 2.5
    footer_xml = section.footer._element.xml
    assert "PAGE" in footer_xml


def test_header_shows_the_title_after_the_first_page_and_the_footer_page_x_of_y(
    tmp_path: Path,
) -> None:
    document = render(tmp_path)
    section = document.sections[0]
    assert section.different_first_page_header_footer
    [field] = section.header._element.iter(qn("w:fldSimple"))
    assert field.get(qn("w:instr")).strip() == "TITLE"  # Word keeps it current
    assert "".join(t.text for t in field.iter(qn("w:t"))) == TITLE  # shown before any update
    assert section.first_page_header.paragraphs[0].text == ""  # the title page has the title
    for footer in (section.footer, section.first_page_footer):
        instructions = [t.text.strip() for t in footer._element.iter(qn("w:instrText"))]
        assert instructions == ["PAGE", "NUMPAGES"]
        assert footer.paragraphs[0].text.startswith("Page ") and " of " in footer.paragraphs[0].text


def test_app_properties_are_the_documents_own(tmp_path: Path) -> None:
    document = render(tmp_path)
    with zipfile.ZipFile(tmp_path / "report.docx") as archive:
        app = archive.read("docProps/app.xml").decode("utf-8")
    words = sum(len(p.text.split()) for p in document.paragraphs) + sum(
        len(cell.text.split()) for t in document.tables for row in t.rows for cell in row.cells
    )
    assert "<Application>reporting</Application>" in app
    assert f"<Words>{words}</Words>" in app and words > 40
    assert "Microsoft Word" not in app and "<Pages>" not in app


def test_fonts_are_ones_word_has_with_twins_for_other_readers(tmp_path: Path) -> None:
    render(tmp_path)
    with zipfile.ZipFile(tmp_path / "report.docx") as archive:
        theme = archive.read("word/theme/theme1.xml").decode("utf-8")
        fonts = archive.read("word/fontTable.xml").decode("utf-8")
        styles = archive.read("word/styles.xml").decode("utf-8")
    assert "Aptos" not in theme and "Aptos" not in styles
    assert 'typeface="Calibri"' in theme and 'typeface="Cambria"' in theme
    for font, twin in (("Cambria", "Caladea"), ("Calibri", "Carlito")):
        assert f'w:name="{font}"' in fonts and f'w:val="{twin}"' in fonts


def test_raw_openxml_in_model_text_stays_text(tmp_path: Path) -> None:
    planted = "<w:p><w:r><w:t>PLANTED</w:t></w:r></w:p>"
    markdown = (
        SAMPLE + f"\n```{{=openxml}}\n{planted}\n```\n\nInline `{planted}`{{=openxml}} too.\n"
    )
    document = render(tmp_path, markdown)
    texts = [p.text for p in document.paragraphs]
    assert not any(text == "PLANTED" for text in texts)  # no paragraph of its own: not markup
    assert any("<w:t>PLANTED</w:t>" in text for text in texts)  # shown as the text it is

"""Markdown → DOCX through pandoc; python-docx then sets the properties and adds review comments."""

from __future__ import annotations

import base64
import re
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.shared import Pt

from reporting.errors import ReportingError
from reporting.render.comments import Placement, ReviewComment, add_comments
from reporting.render.markdown import md_link
from reporting.render.pandoc import PANDOC_INPUT_FORMAT, run_pandoc

__all__ = ["PANDOC_INPUT_FORMAT", "embed_images", "render_docx"]

CORE_TEXT_LIMIT = 255  # characters python-docx accepts in a core property

SPACE_AFTER_TABLE = Pt(9)


def _as_utc_naive(moment: datetime) -> datetime:
    """`moment` in UTC without tzinfo (naive datetimes are taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


_IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
}


def _data_uri(src: str, image: bytes | Path) -> str:
    """An image file's bytes as a `data:` URI, which pandoc embeds even under --sandbox."""
    try:
        data = image if isinstance(image, bytes) else image.read_bytes()
    except OSError as exc:
        raise ReportingError(f"could not read the image {src}: {exc}") from exc
    mime = next((kind for magic, kind in _IMAGE_TYPES.items() if data.startswith(magic)), None)
    if mime is None:
        raise ReportingError(f"not a PNG, JPEG or GIF image: {src}")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def embed_images(markdown: str, images: Mapping[str, bytes | Path]) -> str:
    """The Markdown with each image whose source is a key of `images` carrying its data inline.

    Only images (`![...](src)`) with exactly that source are rewritten; every other image
    keeps its source, which pandoc's --sandbox then refuses to read.
    """
    for src, image in images.items():
        pattern = re.compile(r"(!\[(?:\\.|[^\]\\])*\]\()" + re.escape(md_link(src)) + r"(\))")
        if pattern.search(markdown) is None:
            continue
        uri = _data_uri(src, image)  # base64: no backslash, so literal in a sub template
        markdown = pattern.sub(r"\g<1>" + uri + r"\g<2>", markdown)
    return markdown


def _run_pandoc(
    markdown: str, out_path: Path, *, title: str, reference_docx: Path, toc: bool = False
) -> None:
    """Convert `markdown` to the DOCX file `out_path` with pandoc."""
    run_pandoc(
        markdown,
        [
            "--to=docx",
            # The lone leading `#` heading becomes the DOCX Title; `##` → Heading 1, and so on.
            "--shift-heading-level-by=-1",
            f"--reference-doc={reference_docx}",
            # The same filter as the PDF and HTML: the title block (title, byline, abstract)
            # becomes Word's own (Title, Author, Abstract styles) and model markup stays text.
            f"--lua-filter={reference_docx.parent / 'report.lua'}",
            # Title only used if the Markdown lacks its leading `#` heading.
            "--metadata",
            f"title={title}",
            f"--output={out_path}",
            # A TOC field: Word fills it in when it opens the file (pandoc asks it to).
            *(["--toc", "--toc-depth=3"] if toc else []),
        ],
    )


def _space_after_tables(document: DocumentObject) -> None:
    """Give a paragraph that directly follows a table some space before it (styles cannot)."""
    for paragraph in document.paragraphs:
        previous = paragraph._p.getprevious()
        if previous is None or previous.tag != qn("w:tbl"):
            continue
        if paragraph.paragraph_format.space_before is None:
            paragraph.paragraph_format.space_before = SPACE_AFTER_TABLE


def _finish(
    path: Path,
    *,
    title: str,
    author: str | None,
    created: datetime,
    comments: Sequence[ReviewComment],
    toc: bool = False,
) -> Placement:
    """Space out tables, add the comments and set the core properties, dropping pandoc's."""
    document = Document(str(path))
    _space_after_tables(document)
    if toc:  # Word fills the contents (and their page numbers) in as it opens the file
        update = document.settings.element.makeelement(qn("w:updateFields"), {qn("w:val"): "true"})
        document.settings.element.append(update)
    _fill_title_fields(document, title)
    # Nothing to comment on, nothing touched: pandoc's own comments part stays empty.
    placement = add_comments(document, comments, when=created) if comments else Placement()
    props = document.core_properties
    moment = _as_utc_naive(created)
    props.title = title[:CORE_TEXT_LIMIT]
    props.author = (author or "")[:CORE_TEXT_LIMIT]
    props.created = moment
    props.modified = moment
    for name in (
        "last_modified_by",
        "comments",
        "keywords",
        "subject",
        "category",
        "content_status",
        "identifier",
        "language",
        "version",
    ):
        setattr(props, name, "")
    words, characters = _counts(document)
    document.save(str(path))
    _write_app_properties(path, words, characters)
    return placement


def _fill_title_fields(document: DocumentObject, title: str) -> None:
    """Show the title in the header's TITLE field now, before Word or LibreOffice update it."""
    for section in document.sections:
        for header in (section.header, section.first_page_header):
            for field in header._element.iter(qn("w:fldSimple")):
                if field.get(qn("w:instr"), "").strip().upper() != "TITLE":
                    continue
                texts = list(field.iter(qn("w:t")))
                if texts:
                    texts[0].text = title
                    for extra in texts[1:]:
                        extra.text = ""


def _counts(document: DocumentObject) -> tuple[int, int]:
    """Words and characters (spaces included) of the body, tables included, as Word counts."""
    texts = [p.text for p in document.paragraphs]
    texts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return sum(len(t.split()) for t in texts), sum(len(t) for t in texts)


APP_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" \
xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">\
<Application>reporting</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>\
<Words>{words}</Words><CharactersWithSpaces>{characters}</CharactersWithSpaces>\
<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged>\
<LinksUpToDate>false</LinksUpToDate></Properties>"""


CUSTOM_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"'
    b' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"/>'
)


def _write_app_properties(path: Path, words: int, characters: int) -> None:
    """Replace the template's stale docProps/app.xml (its word count, "Microsoft Word 12").

    docProps/custom.xml is emptied too: pandoc copies the abstract there as a property.

    Pages and lines are left out: only a layout engine knows them, and Word recounts on open.
    """
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    app = APP_XML.format(words=words, characters=characters).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            if info.filename == "docProps/app.xml":
                data = app
            elif info.filename == "docProps/custom.xml":
                data = CUSTOM_XML  # pandoc copies metadata (the abstract) here: none of ours
            target.writestr(info, data)


def render_docx(
    markdown: str,
    out_path: Path,
    *,
    title: str,
    author: str | None,
    created: datetime,
    reference_docx: Path,
    comments: Sequence[ReviewComment] = (),
    images: Mapping[str, bytes | Path] | None = None,
    toc: bool = False,
) -> Placement:
    """Convert report Markdown to DOCX with pandoc, add review comments, set the properties.

    `images` maps an image source in the Markdown (as given to `figure_markdown`, e.g.
    `report.files/chart-1.png`) to the image's bytes or file: those images, and only those,
    are embedded; pandoc itself still reads no file the Markdown names.
    """
    if not reference_docx.is_file():
        raise ReportingError(f"reference DOCX not found: {reference_docx}")
    if images:
        markdown = embed_images(markdown, images)
    _run_pandoc(markdown, out_path, title=title, reference_docx=reference_docx, toc=toc)
    try:
        return _finish(
            out_path, title=title, author=author, created=created, comments=comments, toc=toc
        )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, PackageNotFoundError) as exc:
        raise ReportingError(f"could not set DOCX properties of {out_path}: {exc}") from exc

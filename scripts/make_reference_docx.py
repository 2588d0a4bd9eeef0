"""Generate templates/reference.docx: pandoc's default reference restyled as a clean report."""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import cast

import pypandoc
from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Twips
from docx.styles.style import BaseStyle
from lxml.etree import _Element

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "templates" / "reference.docx"

# Fonts Word has on Windows and macOS; elsewhere their metric-compatible twins (Caladea,
# Carlito, Liberation Mono: Debian's fonts-crosextra-* and fonts-liberation) keep the layout.
SERIF = "Cambria"
SANS = "Calibri"
MONO = "Courier New"

ACCENT = "1F4E79"  # restrained dark steel blue
TEXT = "1A1A1A"
MUTED = "595959"
RULE = "BFBFBF"
CODE_BG = "F3F5F7"
CODE_RULE = "D0D7DE"
TABLE_HEAD_BG = "E9EEF4"

# The font table names each font's metric-compatible twin, which readers other than Word
# (LibreOffice, Pages) use when the font itself is missing.
FONT_TABLE = {
    SERIF: ("Caladea", "02040503050406030204", "roman", "variable"),
    SANS: ("Carlito", "020F0502020204030204", "swiss", "variable"),
    MONO: ("Liberation Mono", "02070309020205020404", "modern", "fixed"),
}


def _words(text: str) -> list[str]:
    """Split a space-separated list of element names."""
    return text.split()


# Element order inside w:pPr and w:rPr, as the OOXML schema requires it.
PPR_ORDER = _words(
    "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr "
    "suppressLineNumbers pBdr shd tabs suppressAutoHyphens kinsoku wordWrap overflowPunct "
    "topLinePunct autoSpaceDE autoSpaceDN bidi adjustRightInd snapToGrid spacing ind "
    "contextualSpacing mirrorIndents suppressOverlap jc textDirection textAlignment "
    "textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange"
)
RPR_ORDER = _words(
    "rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss imprint "
    "noProof snapToGrid vanish webHidden color spacing w kern position sz szCs highlight u "
    "effect bdr shd fitText vertAlign rtl cs em lang eastAsianLayout specVanish oMath"
)


def pandoc_default_reference(dest: Path) -> None:
    """Write pandoc's built-in reference.docx to `dest`."""
    pandoc = pypandoc.get_pandoc_path()
    subprocess.run(
        [pandoc, "-o", str(dest), "--print-default-data-file", "reference.docx"],
        check=True,
        capture_output=True,
    )


def _set_child(parent: _Element, tag: str, order: list[str], **attrs: str) -> _Element:
    """Replace (or create) child `w:tag` of `parent` at its schema position, with `attrs`."""
    old = parent.find(qn(f"w:{tag}"))
    if old is not None:
        parent.remove(old)
    new = OxmlElement(f"w:{tag}")
    for key, value in attrs.items():
        new.set(qn(f"w:{key}"), value)
    rank = order.index(tag)
    for index, child in enumerate(parent):
        local = child.tag.rsplit("}", 1)[-1]
        if local in order and order.index(local) > rank:
            parent.insert(index, new)
            break
    else:
        parent.append(new)
    return new


def _remove_child(parent: _Element, tag: str) -> None:
    """Remove child `w:tag` of `parent` if present."""
    old = parent.find(qn(f"w:{tag}"))
    if old is not None:
        parent.remove(old)


def _get_or_add(parent: _Element, tag: str, order: list[str] | None = None) -> _Element:
    """Return child `w:tag` of `parent`, creating it (at its schema position) if missing."""
    found = parent.find(qn(f"w:{tag}"))
    if found is not None:
        return found
    if order is None:
        new = OxmlElement(f"w:{tag}")
        parent.append(new)
        return new
    return _set_child(parent, tag, order)


def _style_ppr(style: BaseStyle) -> _Element:
    """The w:pPr of a style, created at its schema position if missing."""
    element = style.element
    ppr = element.find(qn("w:pPr"))
    if ppr is None:
        ppr = OxmlElement("w:pPr")
        rpr = element.find(qn("w:rPr"))
        if rpr is not None:
            rpr.addprevious(ppr)
        else:
            element.append(ppr)
    return ppr


def _style_rpr(style: BaseStyle) -> _Element:
    """The w:rPr of a style, created at the end if missing."""
    element = style.element
    rpr = element.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        element.append(rpr)
    return rpr


def set_run_props(
    rpr: _Element,
    *,
    font: str | None = None,
    size: float | None = None,
    color: str | None = None,
    bold: bool | None = None,
    italic: bool | None = None,
) -> None:
    """Set explicit font, size (pt), colour, bold and italic on a w:rPr; theme fonts are dropped."""
    if font is not None:
        _set_child(rpr, "rFonts", RPR_ORDER, ascii=font, hAnsi=font, cs=font, eastAsia=font)
    if bold is not None:
        for tag in ("b", "bCs"):
            _set_child(rpr, tag, RPR_ORDER, val="1" if bold else "0")
    if italic is not None:
        for tag in ("i", "iCs"):
            _set_child(rpr, tag, RPR_ORDER, val="1" if italic else "0")
    if color is not None:
        _set_child(rpr, "color", RPR_ORDER, val=color)
    if size is not None:
        half_points = str(round(size * 2))
        _set_child(rpr, "sz", RPR_ORDER, val=half_points)
        _set_child(rpr, "szCs", RPR_ORDER, val=half_points)


def set_spacing(ppr: _Element, *, before: float, after: float, line: float | None = None) -> None:
    """Set paragraph spacing in points; `line` is a multiple of single spacing."""
    attrs = {"before": str(round(before * 20)), "after": str(round(after * 20))}
    if line is not None:
        attrs.update(line=str(round(line * 240)), lineRule="auto")
    _set_child(ppr, "spacing", PPR_ORDER, **attrs)


def _border(parent: _Element, side: str, *, size: int, color: str, space: int = 0) -> None:
    """Append a single-line border `side` (size in eighths of a point) to a borders element."""
    edge = OxmlElement(f"w:{side}")
    edge.set(qn("w:val"), "single")
    edge.set(qn("w:sz"), str(size))
    edge.set(qn("w:space"), str(space))
    edge.set(qn("w:color"), color)
    parent.append(edge)


def find_style(document: DocumentObject, name: str) -> BaseStyle | None:
    """The style whose w:name is `name` (case-insensitive), or None."""
    for style in document.styles:
        if (style.name or "").lower() == name.lower():
            return cast(BaseStyle, style)
    return None


def get_style(document: DocumentObject, name: str) -> BaseStyle:
    """The style named `name`; pandoc's reference must define it."""
    style = find_style(document, name)
    if style is None:
        raise KeyError(f"pandoc's reference.docx has no style {name!r}")
    return style


def paragraph_style(document: DocumentObject, name: str, based_on: str | None = None) -> BaseStyle:
    """Return the paragraph style `name`, adding it if pandoc's reference lacks it."""
    style = find_style(document, name)
    if style is None:
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        if based_on is not None:
            style.base_style = get_style(document, based_on)
    return style


def character_style(document: DocumentObject, name: str) -> BaseStyle:
    """Return the character style `name`, adding it if pandoc's reference lacks it."""
    style = find_style(document, name)
    if style is None:
        style = document.styles.add_style(name, WD_STYLE_TYPE.CHARACTER)
    return style


def style_defaults(document: DocumentObject) -> None:
    """Body defaults: serif 11pt, 1.15 line spacing, British English."""
    styles_el = document.styles.element
    defaults = styles_el.find(qn("w:docDefaults"))
    assert defaults is not None
    rpr = _get_or_add(_get_or_add(defaults, "rPrDefault"), "rPr")
    set_run_props(rpr, font=SERIF, size=11, color=TEXT)
    lang = _get_or_add(rpr, "lang", RPR_ORDER)
    lang.set(qn("w:val"), "en-GB")
    ppr = _get_or_add(_get_or_add(defaults, "pPrDefault"), "pPr")
    set_spacing(ppr, before=0, after=6, line=1.15)


def style_body(document: DocumentObject) -> None:
    """Body Text, First Paragraph, Compact (list items and table cells), Block Text."""
    set_spacing(_style_ppr(get_style(document, "Body Text")), before=0, after=7, line=1.15)
    # Compact: tight list items and table cells.
    set_spacing(_style_ppr(get_style(document, "Compact")), before=1.5, after=1.5)
    quote = get_style(document, "Block Text")
    ppr = _style_ppr(quote)
    set_spacing(ppr, before=4, after=8)
    _set_child(ppr, "ind", PPR_ORDER, left="340", right="340", firstLine="0")
    borders = _set_child(ppr, "pBdr", PPR_ORDER)
    _border(borders, "left", size=18, color=RULE, space=8)
    set_run_props(_style_rpr(quote), color=MUTED, italic=True)


def style_headings(document: DocumentObject) -> None:
    """Title and Heading 1-6: sans, accent colour, decreasing sizes."""
    title = get_style(document, "Title")
    ppr = _style_ppr(title)
    set_spacing(ppr, before=0, after=10, line=1.0)
    _set_child(ppr, "jc", PPR_ORDER, val="left")
    borders = _set_child(ppr, "pBdr", PPR_ORDER)
    _border(borders, "bottom", size=12, color=ACCENT, space=6)
    set_run_props(_style_rpr(title), font=SANS, size=22, color=ACCENT, bold=True)
    title_char = get_style(document, "Title Char")
    set_run_props(_style_rpr(title_char), font=SANS, size=22, color=ACCENT, bold=True)

    # The subtitle line carries the demonstration-model note: quiet, but on page 1.
    subtitle = get_style(document, "Subtitle")
    set_run_props(_style_rpr(subtitle), font=SANS, size=10, color=MUTED, bold=False, italic=True)
    subtitle_ppr = _style_ppr(subtitle)
    _set_child(subtitle_ppr, "jc", PPR_ORDER, val="left")
    set_spacing(subtitle_ppr, before=0, after=4, line=1.0)

    levels = {
        # level: (size pt, colour, bold, italic, space before, space after)
        1: (15.0, ACCENT, True, False, 18.0, 6.0),
        2: (12.5, ACCENT, True, False, 14.0, 4.0),
        3: (11.0, TEXT, True, False, 11.0, 3.0),
        4: (11.0, TEXT, False, True, 9.0, 2.0),
        5: (10.5, MUTED, True, False, 8.0, 2.0),
        6: (10.5, MUTED, False, True, 8.0, 2.0),
    }
    for level, (size, color, bold, italic, before, after) in levels.items():
        for name in (f"Heading {level}", f"Heading {level} Char"):
            style = get_style(document, name)
            set_run_props(
                _style_rpr(style), font=SANS, size=size, color=color, bold=bold, italic=italic
            )
        set_spacing(_style_ppr(get_style(document, f"Heading {level}")), before=before, after=after)


def style_captions_and_notes(document: DocumentObject) -> None:
    """Captions, abstract, footnotes, hyperlinks."""
    caption = get_style(document, "Caption")
    set_spacing(_style_ppr(caption), before=3, after=9)
    set_run_props(_style_rpr(caption), font=SANS, size=9, color=MUTED, italic=False)
    table_caption = get_style(document, "Table Caption")
    set_spacing(_style_ppr(table_caption), before=9, after=3)
    image_caption = get_style(document, "Image Caption")
    _set_child(_style_ppr(image_caption), "jc", PPR_ORDER, val="center")
    _set_child(_style_ppr(get_style(document, "Captioned Figure")), "jc", PPR_ORDER, val="center")
    _set_child(_style_ppr(get_style(document, "Figure")), "jc", PPR_ORDER, val="center")

    # The title block under the Title: the byline (Author), then the abstract, set apart.
    author = get_style(document, "Author")
    author_ppr = _style_ppr(author)
    _set_child(author_ppr, "jc", PPR_ORDER, val="left")
    set_spacing(author_ppr, before=0, after=14, line=1.0)
    set_run_props(_style_rpr(author), size=10.5, color=MUTED, italic=True, bold=False)
    abstract_title = get_style(document, "Abstract Title")
    title_ppr = _style_ppr(abstract_title)
    _set_child(title_ppr, "keepNext", PPR_ORDER)
    _set_child(title_ppr, "jc", PPR_ORDER, val="left")
    set_spacing(title_ppr, before=0, after=3, line=1.0)
    set_run_props(
        _style_rpr(abstract_title), font=SANS, size=10, color=ACCENT, bold=True, italic=False
    )
    abstract = get_style(document, "Abstract")
    abstract_ppr = _style_ppr(abstract)
    _set_child(abstract_ppr, "jc", PPR_ORDER, val="both")
    _set_child(abstract_ppr, "ind", PPR_ORDER, left="0", right="0", firstLine="0")
    set_spacing(abstract_ppr, before=0, after=16, line=1.15)
    set_run_props(_style_rpr(abstract), size=10, color=TEXT)
    set_run_props(_style_rpr(get_style(document, "Footnote Text")), size=9)
    set_spacing(_style_ppr(get_style(document, "Footnote Text")), before=0, after=2, line=1.0)
    set_run_props(_style_rpr(get_style(document, "Hyperlink")), color=ACCENT)
    set_run_props(_style_rpr(get_style(document, "Definition Term")), font=SANS, size=10.5)


def style_code(document: DocumentObject) -> None:
    """Inline code (Verbatim Char) and code blocks (Source Code): monospace on a pale panel."""
    verbatim = character_style(document, "Verbatim Char")
    set_run_props(_style_rpr(verbatim), font=MONO, size=9.5, color="24292F")

    source = paragraph_style(document, "Source Code", based_on="Normal")
    source.element.set(qn("w:customStyle"), "1")
    ppr = _style_ppr(source)
    set_spacing(ppr, before=3, after=9, line=1.0)
    _set_child(ppr, "ind", PPR_ORDER, left="115", right="115")
    borders = _set_child(ppr, "pBdr", PPR_ORDER)
    for side in ("top", "left", "bottom", "right"):
        _border(borders, side, size=4, color=CODE_RULE, space=4)
    _set_child(ppr, "shd", PPR_ORDER, val="clear", color="auto", fill=CODE_BG)
    set_run_props(_style_rpr(source), font=MONO, size=9, color="24292F")


def style_table(document: DocumentObject) -> None:
    """The "Table" style pandoc applies to every table: ruled, compact, shaded header row."""
    table = get_style(document, "Table").element
    for child in list(table):
        local = child.tag.rsplit("}", 1)[-1]
        if local in ("pPr", "rPr", "tblPr", "trPr", "tcPr", "tblStylePr"):
            table.remove(child)

    ppr = OxmlElement("w:pPr")
    spacing = OxmlElement("w:spacing")
    for key, value in (("before", "20"), ("after", "20"), ("line", "240"), ("lineRule", "auto")):
        spacing.set(qn(f"w:{key}"), value)
    ppr.append(spacing)
    table.append(ppr)
    rpr = OxmlElement("w:rPr")
    set_run_props(rpr, font=SANS, size=9.5)
    table.append(rpr)

    tbl_pr = OxmlElement("w:tblPr")
    ind = OxmlElement("w:tblInd")
    ind.set(qn("w:w"), "0")
    ind.set(qn("w:type"), "dxa")
    tbl_pr.append(ind)
    borders = OxmlElement("w:tblBorders")
    _border(borders, "top", size=8, color="404040")
    _border(borders, "bottom", size=8, color="404040")
    _border(borders, "insideH", size=2, color=RULE)
    tbl_pr.append(borders)
    margins = OxmlElement("w:tblCellMar")
    for side, width in (("top", "30"), ("left", "100"), ("bottom", "30"), ("right", "100")):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:w"), width)
        edge.set(qn("w:type"), "dxa")
        margins.append(edge)
    tbl_pr.append(margins)
    table.append(tbl_pr)

    header = OxmlElement("w:tblStylePr")
    header.set(qn("w:type"), "firstRow")
    header_ppr = OxmlElement("w:pPr")
    header_ppr.append(OxmlElement("w:keepNext"))  # never leave the header row alone
    header.append(header_ppr)
    header_rpr = OxmlElement("w:rPr")
    set_run_props(header_rpr, bold=True)
    header.append(header_rpr)
    header_tc = OxmlElement("w:tcPr")
    header_borders = OxmlElement("w:tcBorders")
    _border(header_borders, "bottom", size=6, color="404040")
    header_tc.append(header_borders)
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), TABLE_HEAD_BG)
    header_tc.append(shd)
    header.append(header_tc)
    table.append(header)


def _field_run(paragraph_el: _Element, instruction: str, placeholder: str) -> None:
    """Append a complex field (e.g. PAGE) with a cached `placeholder` result."""

    def run(*children: _Element) -> None:
        r = OxmlElement("w:r")
        for child in children:
            r.append(child)
        paragraph_el.append(r)

    def fld(kind: str) -> _Element:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        return el

    instr = OxmlElement("w:instrText")
    instr.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    instr.text = f" {instruction} "
    text = OxmlElement("w:t")
    text.text = placeholder
    run(fld("begin"))
    run(instr)
    run(fld("separate"))
    run(text)
    run(fld("end"))


def _simple_field(paragraph_el: _Element, instruction: str, placeholder: str) -> None:
    """Append a simple field (e.g. TITLE) whose shown text `render.docx` fills in."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), f" {instruction} ")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = placeholder
    run.append(text)
    field.append(run)
    paragraph_el.append(field)


def _text_run(paragraph_el: _Element, text: str) -> None:
    """Append plain text, spaces kept."""
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    t.text = text
    run.append(t)
    paragraph_el.append(run)


def style_page(document: DocumentObject) -> None:
    """A4, 2.5 cm margins; the report's title in the header and "Page X of Y" in the footer.

    The first page, which carries the title itself, has no header.
    """
    section = document.sections[0]
    section.page_width = Twips(11906)
    section.page_height = Twips(16838)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.5))
    section.header_distance = Cm(1.25)
    section.footer_distance = Cm(1.25)
    section.gutter = Twips(0)

    footer_style = paragraph_style(document, "Footer", based_on="Normal")
    set_run_props(_style_rpr(footer_style), font=SANS, size=9, color=MUTED)
    set_spacing(_style_ppr(footer_style), before=0, after=0, line=1.0)

    header_style = paragraph_style(document, "Header", based_on="Normal")
    set_run_props(_style_rpr(header_style), font=SANS, size=9, color=MUTED)
    header_ppr = _style_ppr(header_style)
    set_spacing(header_ppr, before=0, after=0, line=1.0)
    _border(_set_child(header_ppr, "pBdr", PPR_ORDER), "bottom", size=4, color=RULE, space=4)

    section.different_first_page_header_footer = True
    header = section.header
    header.is_linked_to_previous = False
    title = header.paragraphs[0]
    title.style = header_style
    title.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _simple_field(title._p, "TITLE", "Title")
    section.first_page_header.paragraphs[0].style = footer_style  # empty, no rule

    for footer in (section.footer, section.first_page_footer):
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0]
        paragraph.style = footer_style
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _text_run(paragraph._p, "Page ")
        _field_run(paragraph._p, "PAGE", "1")
        _text_run(paragraph._p, " of ")
        _field_run(paragraph._p, "NUMPAGES", "1")


def set_theme_fonts(document: DocumentObject) -> None:
    """The theme's heading and body fonts: the ones the styles use, not pandoc's Aptos."""
    from lxml import etree

    part = document.part.part_related_by(
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/theme"
    )
    root = etree.fromstring(part.blob)
    a = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
    for kind, face in (("majorFont", SANS), ("minorFont", SERIF)):
        latin = root.find(f".//{a}{kind}/{a}latin")
        assert latin is not None
        latin.set("typeface", face)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def fix_font_table(document: DocumentObject) -> None:
    """Declare the fonts with their metric-compatible twins as alternatives."""
    part = document.part.part_related_by(
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable"
    )
    from lxml import etree

    root = etree.fromstring(part.blob)
    for name, (alt, panose, family, pitch) in FONT_TABLE.items():
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        for tag, value in (
            ("altName", alt),
            ("panose1", panose),
            ("charset", "00"),
            ("family", family),
            ("pitch", pitch),
        ):
            child = OxmlElement(f"w:{tag}")
            child.set(qn("w:val"), value)
            font.append(child)
        root.append(font)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def scrub_properties(document: DocumentObject) -> None:
    """Blank the sample title/author pandoc's reference carries."""
    props = document.core_properties
    props.title = ""
    props.author = ""
    props.last_modified_by = ""
    props.comments = ""
    props.keywords = ""


def normalise_zip(path: Path) -> None:
    """Rewrite the archive with fixed timestamps so the output is byte-for-byte reproducible."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, data)


def build(output: Path) -> None:
    """Build the restyled reference document at `output`."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "pandoc-reference.docx"
        pandoc_default_reference(base)
        document = Document(str(base))
    style_defaults(document)
    style_body(document)
    style_headings(document)
    style_captions_and_notes(document)
    style_code(document)
    style_table(document)
    style_page(document)
    set_theme_fonts(document)
    fix_font_table(document)
    scrub_properties(document)
    output.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(output))
    normalise_zip(output)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    build(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

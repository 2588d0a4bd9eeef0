"""Source documents for a report: resolve paths, extract their text, and cut it into chunks."""

from __future__ import annotations

import bisect
import fnmatch
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reporting.errors import InputError
from reporting.text import one_line

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument

SUPPORTED_SUFFIXES = frozenset({".md", ".txt", ".pdf", ".docx"})
MAX_SOURCE_BYTES = 20_000_000  # a bigger file is almost surely not meant as a report's source
CHUNK_SIZE = 800  # characters per chunk, at most
CHUNK_OVERLAP = 100  # characters shared by neighbouring chunks
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of a source: a stable id, its source (relative to the outline), text, offset."""

    id: str
    source: str
    text: str
    start: int
    page: int | None = None  # the PDF page the chunk starts on, from 1


@dataclass(frozen=True, slots=True)
class Extracted:
    """A source's plain text, and where each PDF page starts in it (empty for other types)."""

    text: str
    page_starts: tuple[int, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """The page (from 1) that holds a character offset, None for a source without pages."""
        return bisect.bisect_right(self.page_starts, offset) if self.page_starts else None


def _is_glob(pattern: str) -> bool:
    """Whether a pattern holds a glob wildcard."""
    return any(char in _GLOB_CHARS for char in pattern)


def _check_file(path: Path, pattern: str, base: Path, allow_outside: bool) -> Path:
    """Resolve one matched path and refuse it if it is outside base or of an unknown type."""
    resolved = path.resolve()
    if not allow_outside and not resolved.is_relative_to(base):
        raise InputError(
            f"source {resolved} (from {pattern!r}) is outside the outline's folder {base}; "
            "move it inside the folder, or pass --allow-outside"
        )
    if resolved.suffix.lower() not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise InputError(f"source {resolved}: unsupported file type; use one of {kinds}")
    return resolved


def _glob(pattern: Path, base: Path) -> list[Path]:
    """Expand a glob relative to base (or absolute); `**` enters no symlinked folder."""
    # pathlib's `**` (Python 3.11) does not follow symlinked folders, so a link back up the
    # tree (`loop -> ..`) is not walked again and again, as glob.glob's would be.
    start = Path(pattern.anchor) if pattern.is_absolute() else base
    relative = pattern.relative_to(pattern.anchor) if pattern.is_absolute() else pattern
    # Like glob.glob, a wildcard matches no hidden file or folder; a part written with a dot does.
    written = {part for part in relative.parts if part.startswith(".")}
    return sorted(
        match
        for match in start.glob(str(relative))
        if not any(
            part.startswith(".") and not any(fnmatch.fnmatchcase(part, w) for w in written)
            for part in match.relative_to(start).parts
        )
    )


def _glob_root(pattern: Path, base: Path) -> Path:
    """The folder a glob starts walking from: its parts before the first wildcard, resolved."""
    fixed: list[str] = []
    for part in pattern.parts:
        if _is_glob(part):
            break
        fixed.append(part)
    root = Path(*fixed) if fixed else Path()
    return (root if root.is_absolute() else base / root).resolve()


def _reason(error: Exception) -> str:
    """A parser's complaint about a broken file, as one short line."""
    return one_line(str(error) or type(error).__name__, 160)


def resolve_sources(patterns: list[str], base: Path, allow_outside: bool = False) -> list[Path]:
    """Resolve paths and globs relative to base into sorted, unique, absolute source files."""
    base = base.resolve()
    found: set[Path] = set()
    for pattern in patterns:
        if not pattern.strip():
            raise InputError("a source path is empty")
        joined = base / Path(pattern).expanduser()
        # A name holding `[`, `*` or `?` that exists as such is that file, not a glob.
        if _is_glob(pattern) and not joined.is_file():
            # Refused before it is walked: `/**` would read the whole disk first, and its
            # error would name a file outside the folder.
            root = _glob_root(Path(pattern).expanduser(), base)
            if not allow_outside and not root.is_relative_to(base):
                raise InputError(
                    f"source pattern {pattern!r} starts outside the outline's folder {base}; "
                    "move the files inside the folder, or pass --allow-outside"
                )
            # Components are matched one by one under base, so glob characters in base's
            # own name never act as wildcards.
            files = [m for m in _glob(Path(pattern).expanduser(), base) if m.is_file()]
            if not files:
                hint = (
                    "; `**` alone matches folders: write `**/*.md`"
                    if pattern.endswith("**")
                    else ""
                )
                raise InputError(f"source pattern {pattern!r} matches no file under {base}{hint}")
            found.update(_check_file(m, pattern, base, allow_outside) for m in files)
        else:
            if not joined.exists():
                raise InputError(f"source {joined}: no such file")
            if not joined.is_file():
                raise InputError(f"source {joined} is not a file; use a glob like 'dir/**/*.md'")
            found.add(_check_file(joined, pattern, base, allow_outside))
    return sorted(found)


def _read_plain(path: Path) -> str:
    """Read a .md or .txt file as UTF-8 (a leading BOM is dropped)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"source {path}: not UTF-8 text (bad byte at offset {error.start}); save it as UTF-8"
        ) from None


def _read_pdf(path: Path) -> Extracted:
    """Extract the text of every page of a PDF, pages separated by blank lines."""
    from pypdf import PdfReader

    # A PDF is untrusted input: a broken one can make the parser raise almost anything.
    try:
        reader = PdfReader(path)
        encrypted = reader.is_encrypted
        pages = [] if encrypted else [page.extract_text() or "" for page in reader.pages]
    except OSError:
        raise  # the file itself cannot be read: reported as such by extract()
    except Exception as error:
        raise InputError(f"source {path}: not a readable PDF ({_reason(error)})") from None
    if encrypted:
        raise InputError(f"source {path}: the PDF is encrypted; give an unencrypted copy")
    text, starts = "", []
    for page in pages:
        starts.append(len(text) + (2 if text else 0))  # an empty page starts where the next does
        if page.strip():
            text = f"{text}\n\n{page.strip()}" if text else page.strip()
    return Extracted(text, tuple(starts))


def _docx_blocks(document: DocxDocument) -> list[str]:
    """A parsed .docx document's non-empty paragraphs and table rows, in document order."""
    from docx.table import Table

    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells: list[str] = []
                for cell in row.cells:
                    text = cell.text.strip()
                    if text and (not cells or cells[-1] != text):  # merged cells repeat
                        cells.append(text)
                if cells:
                    blocks.append(" | ".join(cells))
        elif item.text.strip():
            blocks.append(item.text.strip())
    return blocks


def _read_docx(path: Path) -> str:
    """Extract a .docx file's paragraphs and table cells, in document order."""
    import docx

    # A .docx is untrusted input: a broken zip or XML can make the parser raise almost anything.
    try:
        blocks = _docx_blocks(docx.Document(str(path)))
    except OSError:
        raise  # the file itself cannot be read: reported as such by extract()
    except Exception as error:
        raise InputError(f"source {path}: not a readable .docx file ({_reason(error)})") from None
    return "\n\n".join(blocks)


def extract(path: Path) -> Extracted:
    """The plain text of a .md, .txt, .pdf or .docx source, with PDF page offsets."""
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise InputError(
                f"source {path}: {size:,} bytes; the limit is {MAX_SOURCE_BYTES:,} per file"
            )
        if suffix in {".md", ".txt"}:
            return Extracted(_read_plain(path))
        if suffix == ".pdf":
            return _read_pdf(path)
        if suffix == ".docx":
            return Extracted(_read_docx(path))
    except OSError as error:
        raise InputError(f"source {path}: cannot be read ({error.strerror or error})") from None
    raise InputError(f"source {path}: unsupported file type {suffix or '(none)'}")


def relative_source(path: Path, base: Path) -> str:
    """The path of a source relative to base, with forward slashes on every platform."""
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def chunk_id(source: str, text: str) -> str:
    """A chunk's stable id: its relative source path and the start of its text's SHA-256."""
    return f"{source}#{hashlib.sha256(text.encode('utf-8')).hexdigest()[:10]}"


def chunk_source(path: Path, base: Path, text: str | Extracted) -> list[Chunk]:
    """Split one source's text into overlapping chunks with stable ids (repeats dropped)."""
    extracted = text if isinstance(text, Extracted) else Extracted(text)
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    source = relative_source(path, base)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
    )
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for document in splitter.create_documents([extracted.text]):
        body = document.page_content
        identifier = chunk_id(source, body)
        if not body.strip() or identifier in seen:
            continue  # the same text twice in one source says nothing new
        seen.add(identifier)
        start = int(document.metadata["start_index"])
        chunks.append(Chunk(identifier, source, body, start, extracted.page_at(start)))
    return chunks

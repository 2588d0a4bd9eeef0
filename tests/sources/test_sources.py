"""Source documents: path resolution, text extraction, stable chunks, and BM25 retrieval."""

from __future__ import annotations

import logging
import shutil
import signal
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import docx
import pytest
from typer.testing import CliRunner

from reporting.cli import app
from reporting.cli.common import configure_logging
from reporting.errors import InputError
from reporting.sources.read import (
    CHUNK_SIZE,
    MAX_SOURCE_BYTES,
    Chunk,
    chunk_id,
    chunk_source,
    extract,
    resolve_sources,
)
from reporting.sources.search import SourceIndex, tokenize


def _load_chunks(paths: list[Path], base: Path) -> list[Chunk]:
    """Every source's chunks in the order given, as grounding reads them."""
    return [chunk for path in paths for chunk in chunk_source(path, base, extract(path))]


def make_pdf(path: Path, *pages: str) -> None:
    """Write a minimal valid PDF, one page per text, in Helvetica, with a correct xref."""
    streams = [f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1") for text in pages]
    write_pdf(path, [(b"", stream) for stream in streams])


def write_pdf(path: Path, contents: list[tuple[bytes, bytes]]) -> None:
    """Write a PDF, one page per (extra stream dictionary entries, content stream) pair."""
    count = len(contents)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count)).encode()
    font = 3 + 2 * count
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
    ]
    for i, (entries, stream) in enumerate(contents):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (font, 4 + 2 * i)
        )
        objects.append(
            b"<< /Length %d %s>>\nstream\n" % (len(stream), entries) + stream + b"\nendstream"
        )
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))


def make_docx(path: Path) -> None:
    """Write a .docx with two paragraphs and a 2x2 table."""
    document = docx.Document()
    document.add_paragraph("Quarterly throughput doubled.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Region"
    table.cell(0, 1).text = "Latency"
    table.cell(1, 0).text = "EU"
    table.cell(1, 1).text = "42 ms"
    document.add_paragraph("Closing remark after the table.")
    document.save(str(path))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An outline folder with one source of each supported type."""
    root = tmp_path / "project"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "a.md").write_text("# Alpha\n\nThe alpha notes.\n", encoding="utf-8")
    (root / "notes" / "b.txt").write_text("Beta plain text.\n", encoding="utf-8")
    make_pdf(root / "paper.pdf", "Gamma rays were measured")
    make_docx(root / "memo.docx")
    return root


# --- extraction ---------------------------------------------------------------------------


def test_extract_markdown_and_text(project: Path) -> None:
    assert extract(project / "notes" / "a.md").text == "# Alpha\n\nThe alpha notes.\n"
    assert extract(project / "notes" / "b.txt").text == "Beta plain text.\n"


def test_extract_pdf(project: Path) -> None:
    assert extract(project / "paper.pdf").text == "Gamma rays were measured"


def test_extract_docx_paragraphs_and_table_cells_in_order(project: Path) -> None:
    assert extract(project / "memo.docx").text == (
        "Quarterly throughput doubled.\n\nRegion | Latency\n\nEU | 42 ms\n\n"
        "Closing remark after the table."
    )


def test_pdf_chunks_know_their_page(tmp_path: Path) -> None:
    long = "Deltas are measured at the gauge every hour " * 25  # over one chunk
    make_pdf(tmp_path / "spec.pdf", "Page one about alphas", "", long.strip(), "Last page epsilon")
    extracted = extract(tmp_path / "spec.pdf")
    assert extracted.text.startswith("Page one about alphas\n\nDeltas are measured")
    chunks = chunk_source(tmp_path / "spec.pdf", tmp_path, extracted)
    pages = {chunk.page for chunk in chunks if "Deltas" in chunk.text}
    assert chunks[0].page == 1 and pages == {3}  # the empty page 2 holds nothing
    assert chunks[-1].page == 4 and chunks[-1].text.endswith("Last page epsilon")
    assert all(c.page is None for c in chunk_source(tmp_path / "a.md", tmp_path, "text"))


def test_non_utf8_text_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "latin.txt"
    bad.write_bytes("café".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.txt: not UTF-8"):
        extract(bad)


def test_broken_pdf_and_docx_are_input_errors(tmp_path: Path) -> None:
    (tmp_path / "x.pdf").write_bytes(b"not a pdf at all")
    (tmp_path / "x.docx").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"x\.pdf"):
        extract(tmp_path / "x.pdf")
    with pytest.raises(InputError, match=r"x\.docx"):
        extract(tmp_path / "x.docx")


def test_docx_with_malformed_xml_is_an_input_error(tmp_path: Path) -> None:
    docx.Document().save(str(tmp_path / "valid.docx"))
    broken = tmp_path / "broken.docx"
    with zipfile.ZipFile(tmp_path / "valid.docx") as valid, zipfile.ZipFile(broken, "w") as out:
        for item in valid.infolist():
            body = valid.read(item.filename)
            out.writestr(
                item, b"<w:document><unclosed>" if item.filename == "word/document.xml" else body
            )
    with pytest.raises(
        InputError, match=r"broken\.docx: not a readable \.docx file \(.+\)$"
    ) as caught:
        extract(broken)
    assert "\n" not in str(caught.value)


def test_pdf_with_a_broken_ascii85_stream_is_an_input_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    write_pdf(broken, [(b"/Filter /ASCII85Decode ", b"vwxyz{|}~~>")])  # no Ascii85 digits
    with pytest.raises(InputError, match=r"broken\.pdf: not a readable PDF \(.*Ascii85.*\)$"):
        extract(broken)


@pytest.mark.parametrize(
    "contents",
    [
        [(b"/Filter /Nope ", b"abc")],  # pypdf: NotImplementedError
        [(b"/Filter /LZWDecode ", b"\xff\xff\xff\xff")],
        [(b"/Filter /ASCIIHexDecode ", b"zz>")],
    ],
)
def test_any_undecodable_pdf_is_an_input_error_of_one_line(
    tmp_path: Path, contents: list[tuple[bytes, bytes]]
) -> None:
    broken = tmp_path / "odd.pdf"
    write_pdf(broken, contents)
    with pytest.raises(InputError, match=r"odd\.pdf: not a readable PDF \(.+\)$") as caught:
        extract(broken)
    assert "\n" not in str(caught.value)


@pytest.fixture
def pypdf_logger() -> Iterator[logging.Logger]:
    """pypdf's logger at its default level, and the loggers as they were after the test."""
    pypdf, ours = logging.getLogger("pypdf"), logging.getLogger("reporting")
    saved = (pypdf.level, ours.handlers[:], ours.level, ours.propagate)
    pypdf.setLevel(logging.NOTSET)
    try:
        yield pypdf
    finally:
        pypdf.setLevel(saved[0])
        ours.handlers[:] = saved[1]
        ours.setLevel(saved[2])
        ours.propagate = saved[3]


def test_cli_logging_keeps_pypdf_warnings_back(pypdf_logger: logging.Logger) -> None:
    configure_logging(None, False)
    assert pypdf_logger.getEffectiveLevel() == logging.ERROR


def test_cli_shows_only_our_error_for_a_broken_pdf(
    tmp_path: Path, pypdf_logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "junk.pdf").write_bytes(b"junk")  # pypdf: "invalid pdf header", "EOF marker …"
    outline = tmp_path / "review.yaml"
    outline.write_text("title: T\nsections:\n  - title: A\n    sources: [junk.pdf]\n")
    result = CliRunner().invoke(app, ["plan", str(outline)], catch_exceptions=False)
    assert result.exit_code == 2
    assert "junk.pdf: not a readable PDF (" in result.stderr
    assert [r.getMessage() for r in caplog.records if r.name.startswith("pypdf")] == []
    assert "invalid pdf header" not in result.stderr


def test_a_source_over_20_mb_is_refused(tmp_path: Path) -> None:
    assert MAX_SOURCE_BYTES == 20_000_000
    big = tmp_path / "dump.txt"
    with big.open("wb") as handle:
        handle.truncate(20_000_001)  # sparse: no 20 MB written
    with pytest.raises(InputError, match=r"dump\.txt: 20,000,001 bytes; the limit is 20,000,000"):
        extract(big)


def test_oversized_source_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reporting.sources.read.MAX_SOURCE_BYTES", 10)
    big = tmp_path / "dump.txt"
    big.write_text("eleven char")
    with pytest.raises(InputError, match=r"dump\.txt: 11 bytes; the limit is 10 per file"):
        extract(big)


# --- resolving paths ----------------------------------------------------------------------


def test_globs_resolve_sorted_and_deduplicated(project: Path) -> None:
    found = resolve_sources(["notes/*", "notes/a.md", "**/*.pdf", "memo.docx"], project)
    base = project.resolve()
    assert found == sorted(
        [base / "memo.docx", base / "notes" / "a.md", base / "notes" / "b.txt", base / "paper.pdf"]
    )


def test_pattern_matching_nothing_is_an_input_error(project: Path) -> None:
    with pytest.raises(InputError, match=r"'missing/\*\.md' matches no file"):
        resolve_sources(["missing/*.md"], project)
    with pytest.raises(InputError, match=r"nope\.md: no such file"):
        resolve_sources(["nope.md"], project)
    with pytest.raises(InputError, match=r"`\*\*` alone matches folders: write `\*\*/\*\.md`"):
        resolve_sources(["notes/**"], project)


def test_unknown_extension_is_refused(project: Path) -> None:
    (project / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(InputError, match=r"image\.png: unsupported file type"):
        resolve_sources(["image.png"], project)
    with pytest.raises(InputError, match=r"image\.png: unsupported file type"):
        resolve_sources(["*"], project)


def test_outside_the_folder_is_refused_unless_allowed(project: Path) -> None:
    outside = project.parent / "secret.md"
    outside.write_text("outside", encoding="utf-8")
    with pytest.raises(InputError, match=r"secret\.md.*outside the outline's folder"):
        resolve_sources(["../secret.md"], project)
    with pytest.raises(InputError, match=r"secret\.md.*outside"):
        resolve_sources([str(outside)], project)
    assert resolve_sources(["../secret.md"], project, allow_outside=True) == [outside.resolve()]
    chunks = _load_chunks([outside], project)
    assert [c.source for c in chunks] == ["../secret.md"]


def test_symlink_escaping_the_folder_is_refused(project: Path) -> None:
    outside = project.parent / "elsewhere.md"
    outside.write_text("outside", encoding="utf-8")
    (project / "link.md").symlink_to(outside)
    with pytest.raises(InputError, match=r"elsewhere\.md.*outside"):
        resolve_sources(["*.md"], project)


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail the test, instead of hanging, when it runs for more than 10 seconds."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("still running after 10 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 10)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.usefixtures("deadline")
def test_recursive_glob_does_not_walk_symlink_loops(project: Path) -> None:
    sub = project / "notes" / "sub"
    sub.mkdir()
    (sub / "c.md").write_text("deep", encoding="utf-8")
    (sub / "loop").symlink_to("..")  # notes/sub/loop/sub/loop/… without end
    (sub / "again").symlink_to("../..")
    (project / "notes" / "alias.md").symlink_to("a.md")  # a linked file still counts, once
    started = time.monotonic()
    found = resolve_sources(["notes/**/*.md", "**/*.md"], project)
    assert time.monotonic() - started < 2
    notes = project.resolve() / "notes"
    assert found == [notes / "a.md", notes / "sub" / "c.md"]
    assert resolve_sources(["notes/*/loop/*.md"], project) == [notes / "a.md"]  # one level: fine


def test_recursive_glob_skips_hidden_folders_and_files(project: Path) -> None:
    (project / ".cache").mkdir()
    (project / ".cache" / "x.md").write_text("cached", encoding="utf-8")
    (project / "notes" / ".draft.md").write_text("draft", encoding="utf-8")
    found = resolve_sources(["**/*.md"], project)
    assert found == [project.resolve() / "notes" / "a.md"]
    assert resolve_sources(["notes/.*.md"], project) == [project.resolve() / "notes" / ".draft.md"]


def test_absolute_glob_is_expanded_and_checked(project: Path) -> None:
    outside = project.parent / "other"
    outside.mkdir()
    (outside / "o.md").write_text("other", encoding="utf-8")
    inside = f"{project.resolve()}/**/*.md"
    assert resolve_sources([inside], project) == [project.resolve() / "notes" / "a.md"]
    with pytest.raises(InputError, match=r"/other/\*\.md' starts outside"):  # before walking
        resolve_sources([f"{outside.resolve()}/*.md"], project)
    allowed = resolve_sources([f"{outside.resolve()}/**/*.md"], project, allow_outside=True)
    assert allowed == [outside.resolve() / "o.md"]


def test_a_file_named_with_glob_characters_is_that_file(project: Path) -> None:
    notes = project.resolve() / "notes"
    for name in ("[1].md", "what?.md", "all*.md"):
        (notes / name).write_text(name, encoding="utf-8")
    assert resolve_sources(["notes/[1].md"], project) == [notes / "[1].md"]
    assert resolve_sources(["notes/what?.md"], project) == [notes / "what?.md"]
    assert resolve_sources(["notes/all*.md"], project) == [notes / "all*.md"]
    # A name that does not exist as such is still a glob.
    assert resolve_sources(["notes/[ab].*"], project) == [notes / "a.md", notes / "b.txt"]
    assert resolve_sources(["notes/[[]1].md"], project) == [notes / "[1].md"]
    with pytest.raises(InputError, match=r"'notes/\[2\]\.md' matches no file"):
        resolve_sources(["notes/[2].md"], project)


# --- chunks -------------------------------------------------------------------------------


def long_text() -> str:
    """About 3,000 characters of distinct paragraphs."""
    return "\n\n".join(
        f"Paragraph {n} talks about topic {n} in some detail. " * 4 for n in range(12)
    )


def test_chunks_are_bounded_overlapping_and_offsets_point_into_the_text(tmp_path: Path) -> None:
    text = long_text()
    source = tmp_path / "long.md"
    chunks = chunk_source(source, tmp_path, text)
    assert len(chunks) > 2
    for chunk in chunks:
        assert len(chunk.text) <= CHUNK_SIZE
        assert text[chunk.start : chunk.start + len(chunk.text)] == chunk.text
        assert chunk.source == "long.md"
        assert chunk.id == chunk_id("long.md", chunk.text)
        assert chunk.id.startswith("long.md#") and len(chunk.id.split("#")[1]) == 10
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


def test_chunk_ids_are_stable_across_runs_and_folder_copies(project: Path, tmp_path: Path) -> None:
    (project / "notes" / "long.md").write_text(long_text(), encoding="utf-8")
    paths = resolve_sources(["**/*"], project)
    first = _load_chunks(paths, project)
    second = _load_chunks(resolve_sources(["**/*"], project), project)
    copy = tmp_path / "copied"
    shutil.copytree(project, copy)
    copied = _load_chunks(resolve_sources(["**/*"], copy), copy)
    assert [c.id for c in first] == [c.id for c in second] == [c.id for c in copied]
    assert first == copied
    assert len({c.id for c in first}) == len(first)
    assert "notes/long.md" in {c.source for c in first}


def test_repeated_text_in_one_source_gives_one_chunk(tmp_path: Path) -> None:
    block = "x" * 700
    chunks = chunk_source(tmp_path / "r.txt", tmp_path, f"{block}\n\n{block}")
    assert len(chunks) == 1
    assert chunk_source(tmp_path / "e.txt", tmp_path, "  \n ") == []


# --- retrieval ----------------------------------------------------------------------------

CORPUS = {
    "volcano": "Volcanic eruptions release lava, ash and sulfur dioxide into the atmosphere.",
    "bread": "Sourdough bread rises slowly because wild yeast ferments the flour and water.",
    "chess": "In chess the queen is the strongest piece; castling protects the king.",
    "orbit": "Satellites in low Earth orbit circle the planet roughly every ninety minutes.",
    "whale": "Blue whales are the largest animals and feed almost entirely on krill.",
    "tax": "Value added tax is collected at each stage of production and distribution.",
    "python": "Python list comprehensions build lists from iterables in a single expression.",
}


def corpus_chunks() -> list[Chunk]:
    """One chunk per topic in CORPUS."""
    return [Chunk(chunk_id(f"{k}.md", v), f"{k}.md", v, 0) for k, v in CORPUS.items()]


def test_tokenize_is_lowercase_words() -> None:
    assert tokenize("Low-Earth ORBIT, 90 min!") == ["low", "earth", "orbit", "90", "min"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("how does sourdough yeast ferment flour", "bread"),
        ("what do blue whales eat? krill", "whale"),
        ("satellite orbit period around Earth", "orbit"),
        ("volcanic ash and lava", "volcano"),
        ("the king and the queen in chess", "chess"),
    ],
)
def test_search_ranks_the_right_chunk_first(query: str, expected: str) -> None:
    hits = SourceIndex(corpus_chunks()).search(query, k=3)
    assert hits[0][0].source == f"{expected}.md"
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_search_relevance_and_no_match() -> None:
    index = SourceIndex(corpus_chunks())
    hits = index.search("krill whales", k=2)
    assert hits and all(score > 0 for _, score in hits)
    assert 0 < index.relevance("krill whales", hits[0][0]) <= 1
    assert index.search("zzz unknownword", k=3) == []
    assert index.search("krill", k=0) == []
    assert SourceIndex([]).search("anything", k=3) == []


def test_index_cache_hit_on_second_build(tmp_path: Path) -> None:
    chunks = corpus_chunks()
    cache = tmp_path / "cache"
    before = SourceIndex.builds
    first = SourceIndex.load_or_build(chunks, cache)
    assert SourceIndex.builds == before + 1 and not first.from_cache
    second = SourceIndex.load_or_build(chunks, cache)
    assert SourceIndex.builds == before + 1 and second.from_cache
    query = "sourdough yeast"
    assert [(c.id, s) for c, s in first.search(query, 3)] == [
        (c.id, s) for c, s in second.search(query, 3)
    ]
    changed = [*chunks[:-1], Chunk(chunk_id("new.md", "new text"), "new.md", "new text", 0)]
    third = SourceIndex.load_or_build(changed, cache)
    assert SourceIndex.builds == before + 2 and not third.from_cache
    assert len(list(cache.iterdir())) == 2


def test_damaged_cache_entry_is_rebuilt(tmp_path: Path) -> None:
    chunks = corpus_chunks()
    cache = tmp_path / "cache"
    SourceIndex.load_or_build(chunks, cache)
    (entry,) = cache.iterdir()
    for file in entry.glob("*.npy"):
        file.write_bytes(b"garbage")
    before = SourceIndex.builds
    rebuilt = SourceIndex.load_or_build(chunks, cache)
    assert SourceIndex.builds == before + 1 and not rebuilt.from_cache
    assert rebuilt.search("chess queen", 1)[0][0].source == "chess.md"
    assert SourceIndex.load_or_build(chunks, cache).from_cache


@pytest.mark.parametrize("pattern", ["/**", "/**/*.md", "../**/*.md", "../*.md", "~/**/*.md"])
def test_a_glob_starting_outside_is_refused_before_it_is_walked(
    project: Path, pattern: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project.parent / "secret.md").write_text("outside", encoding="utf-8")
    walked: list[str] = []
    real_glob = Path.glob
    monkeypatch.setattr(Path, "glob", lambda self, p: walked.append(p) or real_glob(self, p))
    with pytest.raises(InputError) as refused:
        resolve_sources([pattern], project)
    assert str(refused.value).startswith(f"source pattern {pattern!r} starts outside")
    assert "secret.md" not in str(refused.value)  # no file outside the folder is named
    assert walked == []  # not a folder was read
    # With --allow-outside the same pattern is walked as before.
    if pattern.startswith("../"):
        assert resolve_sources([pattern], project, allow_outside=True)

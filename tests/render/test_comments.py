"""REVIEW_COMMENTS: unsupported figures of the final texts as Word comments on their sentences."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml.ns import qn
from fakes import EVERYONE, FakeProviders, compile_outline

from reporting.build import BuildResult, write_report
from reporting.compiler.models import ChatModels
from reporting.outline.loader import load_outline
from reporting.render.comments import ReviewComment
from reporting.render.docx import render_docx
from reporting.settings import Settings

REFERENCE_DOCX = Path(__file__).resolve().parents[2] / "templates" / "reference.docx"
CREATED = datetime(2026, 11, 23, 9, 30, 15, tzinfo=UTC)

OUTLINE = """\
title: Reliability Review
audience: engineering leadership
sections:
  - title: Incidents
    type: analysis
    brief: How many incidents the quarter had.
    points: ["9 incidents in Q3, down from 14 in Q2"]
    words: 30
"""
DRAFT = (
    "- The quarter had 9 incidents in Q3.\n- That is down from 14 in Q2.\n"
    "- Most incidents were small and quickly fixed.\n- The team plans more reliability work."
)
PROSE = (
    "The quarter had 9 incidents in Q3, down from 14 in Q2. Most of them were small, and "
    "the team fixed them quickly. The team now plans further reliability work across services."
)
INVENTED = "The quarter had *15 incidents* in Q3, down from 14 in Q2."
PROSE_INVENTED = PROSE.replace("The quarter had 9 incidents in Q3, down from 14 in Q2.", INVENTED)
ABSTRACT = " ".join(
    [
        "This review looks at service reliability for engineering leadership.",
        "It counts 27 incidents across the whole year.",
        "The count fell, and most problems were small and short.",
        "Engineers fixed them quickly, with little effect on customers.",
        "Those lessons now shape the work planned for the coming months.",
        "Leadership is asked to keep time for that work in every team's plan.",
    ]
)

SAMPLE = """\
# Report

**Abstract.** Costs rose by 12% in Q3 [2]. Nothing else changed.

## 1 Costs

Costs rose by 12% in Q3 [1]. The *main* driver was "storage" -- **31 %** of it [1, 2]. Done.

| item | share |
|------|------:|
| Storage grew by 31 units. | 31 |
"""


def build(tmp_path: Path, refine: str = PROSE_INVENTED, **values: object) -> BuildResult:
    """The one-section report with invented figures in its REFINE and abstract, written out."""
    path = tmp_path / "outline.yaml"
    path.write_text(OUTLINE, encoding="utf-8")
    values = {"quality_gate": "report", **values}
    settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]
    texts = [DRAFT, PROSE, refine, ABSTRACT]
    fakes = FakeProviders(scripts={"openai": lambda n: texts[n - 1]})
    models = ChatModels(settings, factory=fakes)
    report = compile_outline(load_outline(path), settings, models, available=EVERYONE)
    return write_report(report, path, tmp_path / "out", settings, "review")


def render(tmp_path: Path, comments: list[ReviewComment]) -> tuple[DocumentObject, list[str]]:
    """SAMPLE rendered with `comments`; the document and the sentences left unplaced."""
    out = tmp_path / "sample.docx"
    placement = render_docx(
        SAMPLE,
        out,
        title="Report",
        author=None,
        created=CREATED,
        reference_docx=REFERENCE_DOCX,
        comments=comments,
    )
    assert len(placement.added) + len(placement.unplaced) == len(comments)
    return Document(str(out)), [comment.sentence for comment in placement.unplaced]


def anchored(document: DocumentObject) -> dict[str, str]:
    """Each comment's text → the document text its range covers."""
    texts: dict[int, list[str]] = {}
    open_ids: set[int] = set()
    for element in document.element.body.iter():
        if element.tag == qn("w:commentRangeStart"):
            open_ids.add(int(element.get(qn("w:id"))))
        elif element.tag == qn("w:commentRangeEnd"):
            open_ids.discard(int(element.get(qn("w:id"))))
        elif element.tag == qn("w:t"):
            for number in open_ids:
                texts.setdefault(number, []).append(element.text or "")
    return {c.text: "".join(texts.get(c.comment_id, [])) for c in document.comments}


def test_unsupported_figures_become_comments_on_their_sentences(tmp_path: Path) -> None:
    result = build(tmp_path, review_comments=True)
    document = Document(str(result.docx))
    comments = list(document.comments)
    assert len(comments) == 2
    assert {(c.author, c.initials) for c in comments} == {("reporting", "R")}
    # The build's time (to the second, as Word keeps it), so a rebuild gives the same file.
    assert {c.timestamp for c in comments} == {result.report.started_at.replace(microsecond=0)}
    covered = anchored(document)
    [section] = [text for text in covered if "15" in text]
    [abstract] = [text for text in covered if "27" in text]
    assert section.startswith("The text gives 15 ")
    # Exactly the sentence, though pandoc split it at the emphasis; the runs around it are cut.
    assert covered[section] == "The quarter had 15 incidents in Q3, down from 14 in Q2."
    assert covered[abstract] == "It counts 27 incidents across the whole year."
    paragraph = next(p for p in document.paragraphs if p.text.startswith("The quarter had 15"))
    assert any(run.italic and run.text == "15 incidents" for run in paragraph.runs)
    assert paragraph.text == PROSE_INVENTED.replace("*", "")  # cutting runs changed no text
    quality = result.record["quality"]
    assert (quality["comments_added"], quality["comments_unplaced"]) == (2, 0)
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    assert manifest["quality"]["comments_added"] == 2
    assert len(manifest["quality"]["unsupported_figures"]) == 2


def comments_part(path: Path) -> str:
    """The DOCX's comments part: pandoc always writes one, empty."""
    with zipfile.ZipFile(path) as archive:
        assert b"commentRangeStart" not in archive.read("word/document.xml")
        return archive.read("word/comments.xml").decode("utf-8")


def test_without_review_comments_the_docx_has_no_comment(tmp_path: Path) -> None:
    result = build(tmp_path)
    assert "<w:comment " not in comments_part(result.docx)
    assert len(Document(str(result.docx)).comments) == 0
    quality = result.record["quality"]
    assert len(quality["unsupported_figures"]) == 2  # still listed in the manifest
    assert (quality["comments_added"], quality["comments_unplaced"]) == (None, None)


def test_nothing_to_comment_leaves_the_comments_part_empty(tmp_path: Path) -> None:
    document, unplaced = render(tmp_path, [])
    assert unplaced == []
    assert "<w:comment " not in comments_part(tmp_path / "sample.docx")
    assert len(document.comments) == 0


def test_the_sentence_is_matched_across_markdown_and_pandoc_typography(tmp_path: Path) -> None:
    said = 'The *main* driver was "storage" -- **31 %** of it [4].'  # citations renumbered since
    document, unplaced = render(tmp_path, [ReviewComment(said, "31 %", "1 Costs")])
    assert unplaced == []
    assert anchored(document) == {
        "31 %": "The main driver was \u201cstorage\u201d \u2013 31 % of it [1, 2]."
    }


def test_the_heading_says_which_copy_of_a_sentence_is_meant(tmp_path: Path) -> None:
    comments = [
        ReviewComment("Costs rose by 12% in Q3 [1].", "section", "1 Costs"),
        ReviewComment("Costs rose by 12% in Q3.", "abstract", None),
    ]
    document, unplaced = render(tmp_path, comments)
    assert unplaced == []
    paragraphs = {
        "abstract" if p.style.name == "Abstract" else p.text.split(" ")[0]: p._p
        for p in document.paragraphs
    }
    ids = {c.text: str(c.comment_id) for c in document.comments}

    def marks(paragraph: object) -> set[str]:
        found = paragraph.iter(qn("w:commentRangeStart"))  # type: ignore[attr-defined]
        return {element.get(qn("w:id")) for element in found}

    assert marks(paragraphs["abstract"]) == {ids["abstract"]}
    assert marks(paragraphs["Costs"]) == {ids["section"]}
    assert anchored(document) == {
        "section": "Costs rose by 12% in Q3 [1].",
        "abstract": "Costs rose by 12% in Q3 [2].",
    }


def test_a_sentence_in_a_table_cell_is_found(tmp_path: Path) -> None:
    document, unplaced = render(tmp_path, [ReviewComment("Storage grew by 31 units.", "cell")])
    assert unplaced == []
    assert anchored(document) == {"cell": "Storage grew by 31 units."}


def test_a_sentence_not_in_the_document_is_left_unplaced(tmp_path: Path) -> None:
    comments = [
        ReviewComment("Costs fell by 40% in Q4.", "absent", "1 Costs"),
        ReviewComment("Nothing else changed.", "elsewhere", "1 Costs"),  # in the abstract only
        ReviewComment("Costs rose", "part of a sentence", "1 Costs"),  # found: words match
        ReviewComment("osts rose by", "not whole words", None),
        ReviewComment("", "no sentence", None),
    ]
    document, unplaced = render(tmp_path, comments)
    assert unplaced == ["Costs fell by 40% in Q4.", "Nothing else changed.", "osts rose by", ""]
    assert [c.text for c in document.comments] == ["part of a sentence"]


def test_an_unplaced_comment_is_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="reporting")
    real = ReviewComment("It counts 27 incidents across the whole year.", "27", None)
    lost = ReviewComment("A sentence the document does not have.", "lost", "1 Incidents")
    monkeypatch.setattr("reporting.build.review_comments", lambda report, secrets: [real, lost])
    result = build(tmp_path, review_comments=True)
    quality = result.record["quality"]
    assert (quality["comments_added"], quality["comments_unplaced"]) == (1, 1)
    assert (
        'Event=COMMENT_UNPLACED | Heading=1 Incidents | Sentence="A sentence the document'
    ) in caplog.text


def test_a_secret_in_a_commented_sentence_stays_out_of_the_docx(tmp_path: Path) -> None:
    key = "sk-comment-7c1e4b9a"
    leaky = PROSE_INVENTED.replace("in Q3,", f"in Q3 (key {key}),")
    result = build(tmp_path, leaky, review_comments=True, openai_api_key=key)
    with zipfile.ZipFile(result.docx) as archive:
        assert not any(key.encode() in archive.read(name) for name in archive.namelist())
    covered = anchored(Document(str(result.docx)))
    assert "The quarter had 15 incidents in Q3 (key ***), down from 14 in Q2." in covered.values()
    # The finding quotes the sentence as redacted before the checks ran: no key in any message.
    assert covered and all(key not in message for message in covered)


def _office() -> str | None:
    """LibreOffice's command, if it is installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_office() is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_commented_docx(tmp_path: Path) -> None:
    result = build(tmp_path, review_comments=True)
    office = _office()
    assert office is not None
    for target in ("pdf", "fodt"):
        done = subprocess.run(
            [
                office,
                f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                "--headless",
                "--convert-to",
                target,
                "--outdir",
                str(tmp_path / "converted"),
                str(result.docx),
            ],
            capture_output=True,
            timeout=180,
            check=False,
            env={**os.environ, "HOME": str(tmp_path)},
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
    pdf = tmp_path / "converted" / "review.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    flat = (tmp_path / "converted" / "review.fodt").read_text(encoding="utf-8")
    assert flat.count("<office:annotation ") == 2
    assert "<dc:creator>reporting</dc:creator>" in flat

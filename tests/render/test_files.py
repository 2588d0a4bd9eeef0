"""Atomic output with `staged`, and file stems that cannot escape their folder."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from reporting.render.outputs import safe_stem, staged


class Boom(Exception):
    """Raised inside a staged block to simulate a failed build."""


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_files_appear_only_after_the_block_succeeds(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged(out) as stage:
        stage("report.md").write_text("# Report\n", encoding="utf-8")
        stage("report.docx").write_bytes(b"PK\x03\x04")
        assert not (out / "report.md").exists()
        assert not (out / "report.docx").exists()
    assert names(out) == ["report.docx", "report.md"]
    assert (out / "report.md").read_text(encoding="utf-8") == "# Report\n"
    assert (out / "report.docx").read_bytes() == b"PK\x03\x04"


def test_success_replaces_an_older_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("old", encoding="utf-8")
    with staged(out) as stage:
        stage("report.md").write_text("new", encoding="utf-8")
        assert (out / "report.md").read_text(encoding="utf-8") == "old"
    assert (out / "report.md").read_text(encoding="utf-8") == "new"
    assert names(out) == ["report.md"]


def test_failure_leaves_no_target_and_no_temp_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(Boom), staged(out) as stage:
        stage("report.md").write_text("half", encoding="utf-8")
        stage("report.docx").write_bytes(b"half")
        raise Boom
    assert out.is_dir()
    assert names(out) == []


def test_failure_leaves_an_older_target_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("old report", encoding="utf-8")
    with pytest.raises(Boom), staged(out) as stage:
        stage("report.md").write_text("broken", encoding="utf-8")
        stage("extra.md").write_text("broken", encoding="utf-8")
        raise Boom
    assert names(out) == ["report.md"]
    assert (out / "report.md").read_text(encoding="utf-8") == "old report"


def test_the_exception_propagates_unchanged(tmp_path: Path) -> None:
    error = Boom("disk full")
    with pytest.raises(Boom) as info, staged(tmp_path / "out") as stage:
        stage("a.md")
        raise error
    assert info.value is error


def test_temp_files_are_hidden_and_in_the_same_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged(out) as stage:
        temp = stage("report.md")
        assert temp.parent == out
        assert temp.name.startswith(".report.md.")
        assert temp.name.endswith(".tmp")
        assert temp.exists()
        other = stage("report.docx")
        assert other != temp
    assert not temp.exists()
    assert not other.exists()


def test_out_folder_is_created(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "c"
    with staged(out) as stage:
        assert out.is_dir()
        stage("r.md").write_text("x", encoding="utf-8")
    assert (out / "r.md").read_text(encoding="utf-8") == "x"


def test_out_folder_exists_already(tmp_path: Path) -> None:
    with staged(tmp_path) as stage:
        stage("r.md").write_text("x", encoding="utf-8")
    assert (tmp_path / "r.md").read_text(encoding="utf-8") == "x"


def test_a_staged_file_left_empty_still_appears(tmp_path: Path) -> None:
    with staged(tmp_path / "out") as stage:
        stage("empty.md")
    assert (tmp_path / "out" / "empty.md").read_bytes() == b""


def test_staging_a_name_twice_leaves_no_temp_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged(out) as stage:
        stage("report.md").write_text("first", encoding="utf-8")
        stage("report.md").write_text("second", encoding="utf-8")
    assert (out / "report.md").read_text(encoding="utf-8") == "second"
    assert names(out) == ["report.md"]


@pytest.fixture
def umask() -> Iterator[None]:
    """Run with a umask of 022, the usual one, restoring the caller's afterwards."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("umask")
def test_files_get_the_mode_open_would_give_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged(out) as stage:
        stage("report.md").write_text("# Report\n", encoding="utf-8")
        stage("report.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "plain.md").write_text("x", encoding="utf-8")
    expected = stat.S_IMODE((tmp_path / "plain.md").stat().st_mode)
    assert expected == 0o644
    for name in ("report.md", "report.docx"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name


def test_files_follow_a_stricter_umask(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        with staged(tmp_path) as stage:
            stage("private.md").write_text("x", encoding="utf-8")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "private.md").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "report"),
        ("Q3 review (final)", "Q3-review-final"),
        ("fleet-report_2026.v2", "fleet-report_2026.v2"),
        ("...", "report"),
        ("---", "report"),
        (".hidden", "hidden"),
        ("a/b\\c", "a-b-c"),
        ("café menu", "caf-menu"),
    ],
)
def test_safe_stem_table(name: str, expected: str) -> None:
    assert safe_stem(name) == expected


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "/etc/passwd", "..\\..\\windows", "./.env", ". . /x", "..", "a/../b"],
)
def test_safe_stem_cannot_leave_its_folder_or_hide(name: str) -> None:
    stem = safe_stem(name)
    assert stem
    assert "/" not in stem and "\\" not in stem
    assert not stem.startswith((".", "-"))
    assert stem not in {".", ".."}
    assert (Path("out") / stem).parent == Path("out")


def test_safe_stem_of_a_traversal_keeps_the_words() -> None:
    assert safe_stem("../../etc/passwd") == "etc-passwd"


@pytest.mark.parametrize("length", [121, 300, 5000])
def test_safe_stem_cuts_long_names(length: int) -> None:
    stem = safe_stem("x" * length)
    assert stem == "x" * 120


def test_safe_stem_keeps_a_name_of_exactly_120() -> None:
    name = "y" * 120
    assert safe_stem(name) == name


def test_safe_stem_is_idempotent() -> None:
    for name in ["Q3 review (final)", "../../etc/passwd", "", "z" * 400]:
        once = safe_stem(name)
        assert safe_stem(once) == once

"""`staged` with a report's `<stem>.files/` folder: charts staged, renamed, stale ones removed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reporting.errors import WriteFailed
from reporting.render import outputs
from reporting.render.outputs import staged


class Boom(Exception):
    """Raised inside a staged block to simulate a failed build."""


def tree(folder: Path) -> list[str]:
    """Every file and folder under `folder`, relative, sorted."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def test_files_in_a_subfolder_appear_with_the_others(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged(out) as stage:
        stage("r.md").write_text("![c](r.files/chart-1.png)", encoding="utf-8")
        stage("r.files/chart-1.png").write_bytes(b"one")
        stage("r.files/chart-2.png").write_bytes(b"two")
        assert not (out / "r.files" / "chart-1.png").exists()
        assert not (out / "r.md").exists()
    assert tree(out) == ["r.files", "r.files/chart-1.png", "r.files/chart-2.png", "r.md"]
    assert (out / "r.files" / "chart-2.png").read_bytes() == b"two"


def test_the_temp_files_are_hidden_in_the_subfolder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged(out) as stage:
        temp = stage("r.files/chart-1.png")
        assert temp.parent == out / "r.files"
        assert temp.name.startswith(".chart-1.png.")
        assert temp.name.endswith(".tmp")


def test_stale_files_of_the_folder_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "r.files").mkdir(parents=True)
    for name in ("chart-1.png", "chart-2.png", "chart-3.png"):
        (out / "r.files" / name).write_bytes(b"old")
    (out / "other.files").mkdir()
    (out / "other.files" / "chart-1.png").write_bytes(b"another report's")
    with staged(out) as stage:
        stage("r.files/chart-1.png").write_bytes(b"new")
        assert (out / "r.files" / "chart-3.png").exists()  # nothing changes before the end
    assert tree(out / "r.files") == ["chart-1.png"]
    assert (out / "r.files" / "chart-1.png").read_bytes() == b"new"
    assert (out / "other.files" / "chart-1.png").read_bytes() == b"another report's"


def test_an_owned_folder_with_nothing_staged_is_emptied_and_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "r.files").mkdir(parents=True)
    (out / "r.files" / "chart-1.png").write_bytes(b"old")
    with staged(out) as stage:
        stage.own("r.files")
        stage("r.md").write_text("no charts now", encoding="utf-8")
    assert tree(out) == ["r.md"]


def test_owning_a_missing_folder_is_fine(tmp_path: Path) -> None:
    with staged(tmp_path) as stage:
        stage.own("r.files")
        stage("r.md").write_text("x", encoding="utf-8")
    assert tree(tmp_path) == ["r.md"]


def test_hidden_files_and_folders_in_an_owned_folder_stay(tmp_path: Path) -> None:
    folder = tmp_path / "r.files"
    (folder / "keep").mkdir(parents=True)
    (folder / ".chart-1.png.1234abcd.tmp").write_bytes(b"another build's temp file")
    (folder / "old.png").write_bytes(b"old")
    with staged(tmp_path) as stage:
        stage.own("r.files")
    assert tree(folder) == [".chart-1.png.1234abcd.tmp", "keep"]


def test_failure_removes_the_folder_it_made(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(Boom), staged(out) as stage:
        stage("r.md").write_text("x", encoding="utf-8")
        stage("r.files/chart-1.png").write_bytes(b"half")
        raise Boom
    assert tree(out) == []


def test_failure_leaves_an_older_folder_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "r.files").mkdir(parents=True)
    (out / "r.files" / "chart-1.png").write_bytes(b"old 1")
    (out / "r.files" / "chart-2.png").write_bytes(b"old 2")
    with pytest.raises(Boom), staged(out) as stage:
        stage("r.files/chart-1.png").write_bytes(b"new 1")
        raise Boom
    assert tree(out) == ["r.files", "r.files/chart-1.png", "r.files/chart-2.png"]
    assert (out / "r.files" / "chart-1.png").read_bytes() == b"old 1"


def test_subfolder_files_are_renamed_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renamed: list[str] = []
    real_replace = os.replace

    def spy(source: Path, target: Path) -> None:
        renamed.append(str(Path(target).relative_to(tmp_path)))
        real_replace(source, target)

    monkeypatch.setattr(outputs.os, "replace", spy)
    with staged(tmp_path) as stage:
        stage("r.md").write_text("x", encoding="utf-8")
        stage("r.docx").write_bytes(b"x")
        stage("r.files/chart-1.png").write_bytes(b"x")
    assert renamed == ["r.files/chart-1.png", "r.md", "r.docx"]


def test_every_file_is_synced_before_the_first_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor: int) -> None:
        events.append("fsync")
        real_fsync(descriptor)

    def replace(source: Path, target: Path) -> None:
        events.append("replace")
        real_replace(source, target)

    monkeypatch.setattr(outputs.os, "fsync", fsync)
    monkeypatch.setattr(outputs.os, "replace", replace)
    with staged(tmp_path) as stage:
        stage("r.md").write_text("x", encoding="utf-8")
        stage("r.files/chart-1.png").write_bytes(b"x")
    assert events == ["fsync", "fsync", "replace", "replace"]


@pytest.mark.parametrize(
    "name",
    [
        "../r.md",
        "r.files/../../x.png",
        "a/b/c.png",
        "/etc/passwd",
        ".hidden/x.png",
        "r.files/",
        "r.files/..",
        "r.files/a\\b.png",
    ],
)
def test_a_name_that_leaves_its_folder_is_refused(tmp_path: Path, name: str) -> None:
    with staged(tmp_path) as stage, pytest.raises(ValueError):
        stage(name)
    assert tree(tmp_path) == []


def test_a_file_where_the_folder_should_be_fails_the_build(tmp_path: Path) -> None:
    (tmp_path / "r.files").write_bytes(b"a file, not a folder")
    with pytest.raises(WriteFailed, match=r"r\.files"), staged(tmp_path) as stage:
        stage("r.md").write_text("x", encoding="utf-8")
        stage("r.files/chart-1.png")
    assert tree(tmp_path) == ["r.files"]
